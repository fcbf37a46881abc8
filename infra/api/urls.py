"""infra's /api/v1/… routes (mounted by console/urls.py in the `api` namespace, beside tenants.api.urls)."""

from infra.api import catalog, keypairs, quotas, regions, servers

urlpatterns = [
    *catalog.urlpatterns,
    *keypairs.urlpatterns,
    *quotas.urlpatterns,
    *regions.urlpatterns,
    *servers.urlpatterns,
]
