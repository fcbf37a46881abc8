"""infra's models: regions and their catalog, and the mirror of tenants' cloud resources."""

from infra.models.catalog import CloudProject, Flavor, Image, Provider, Region
from infra.models.servers import Server

__all__ = ["CloudProject", "Flavor", "Image", "Provider", "Region", "Server"]
