"""infra's models: regions and their catalog, quotas, key pairs, and the mirror of tenants' cloud resources."""

from infra.models.catalog import CloudProject, Flavor, Image, ImageLogo, Provider, Region
from infra.models.keypairs import Keypair
from infra.models.quotas import ProjectQuota, QuotaRequest, RegionQuotaDefaults, Resource
from infra.models.servers import Server

__all__ = [
    "CloudProject",
    "Flavor",
    "Image",
    "ImageLogo",
    "Keypair",
    "ProjectQuota",
    "Provider",
    "QuotaRequest",
    "Region",
    "RegionQuotaDefaults",
    "Resource",
    "Server",
]
