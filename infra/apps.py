from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InfraConfig(AppConfig):
    name = "infra"
    verbose_name = _("Infrastructure")

    def ready(self) -> None:
        from infra import live
        from infra.actions import catalog, keypairs, projects, quotas, regions, servers
        from infra.models import Server
        from tenants.resources import register_project_resources

        for actions in (regions, projects, servers, catalog, keypairs, quotas):
            actions.register_audit_labels()  # their labels on the activity pages
        live.register()  # the servers' fragments on the live channel

        # A project cannot be deleted while it holds servers (deleted ones stay as rows, for audit and billing).
        register_project_resources(
            _("instances"), lambda project: Server.objects.filter(project=project).live().count()
        )
