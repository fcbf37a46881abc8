from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = _("Organizations")

    def ready(self) -> None:
        from console.core import live
        from tenants import notify

        live.register(notify.LIVE_KIND, notify.render_live)  # the bell, on the user's own group
