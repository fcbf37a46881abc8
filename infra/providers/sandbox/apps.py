from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SandboxConfig(AppConfig):
    """The sandbox cloud's own tables live in their own app, so they never mix with the console's mirror."""

    name = "infra.providers.sandbox"
    label = "sandbox"
    verbose_name = _("Sandbox cloud")
    default_auto_field = "django.db.models.BigAutoField"
