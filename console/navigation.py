"""The console's left navigation, by domain, in one place.

An item names a URL; an item whose URL is not routed yet is shown disabled ("soon"), so a domain appears in
the navigation from the start and each item becomes a link as soon as its pages land, without touching this file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

Scope = Literal["global", "organization", "project", "operator"]


@dataclass(frozen=True)
class NavItem:
    label: str | Promise
    url_name: str
    icon: str
    scope: Scope = "project"


@dataclass(frozen=True)
class NavSection:
    label: str | Promise
    icon: str
    items: tuple[NavItem, ...]
    operators_only: bool = False


MENU: tuple[NavSection, ...] = (
    NavSection(
        _("Overview"),
        "layout-dashboard",
        (
            NavItem(_("Dashboard"), "dashboard", "layout-dashboard", "global"),
            NavItem(_("Project overview"), "project_overview", "folder"),
        ),
    ),
    NavSection(
        _("Compute"),
        "server",
        (
            NavItem(_("Instances"), "servers", "server"),
            NavItem(_("Key pairs"), "keypairs", "key"),
            NavItem(_("Images"), "images", "disc"),
        ),
    ),
    NavSection(
        _("Network"),
        "network",
        (
            NavItem(_("Networks"), "networks", "network"),
            NavItem(_("Routers"), "routers", "router"),
            NavItem(_("Floating IPs"), "floating_ips", "world"),
            NavItem(_("Security groups"), "security_groups", "shield-lock"),
            NavItem(_("VPN connections"), "vpn_connections", "lock-access"),
        ),
    ),
    NavSection(
        _("Storage"),
        "database",
        (
            NavItem(_("Volumes"), "volumes", "database"),
            NavItem(_("Snapshots"), "snapshots", "camera"),
        ),
    ),
    NavSection(
        _("Platform services"),
        "apps",
        (
            NavItem(_("In-app purchase"), "iap", "receipt"),
            NavItem(_("Analytics"), "analytics", "chart-line"),
            NavItem(_("Player authentication"), "appauth", "user-shield"),
        ),
    ),
    NavSection(
        _("Usage & billing"),
        "receipt-2",
        (
            NavItem(_("Usage"), "usage", "chart-bar"),
            NavItem(_("Invoices"), "invoices", "file-invoice"),
            NavItem(_("Budgets"), "budgets", "pig-money"),
        ),
    ),
    NavSection(
        _("Monitoring"),
        "activity-heartbeat",
        (
            NavItem(_("Metrics"), "metrics", "activity"),
            NavItem(_("Alarms"), "alarms", "bell"),
        ),
    ),
    NavSection(
        _("Settings"),
        "settings",
        (
            NavItem(_("Regions"), "project_regions", "map-pin"),
            NavItem(_("Quotas"), "quotas", "gauge"),
            NavItem(_("Organization"), "organization_overview", "building", "organization"),
            NavItem(_("Members"), "members", "users", "organization"),
            NavItem(_("API tokens"), "api_tokens", "key", "organization"),
            NavItem(_("Activity"), "activity", "list-details", "organization"),
        ),
    ),
    NavSection(
        _("Operator"),
        "building-cog",
        (
            NavItem(_("Organizations"), "operator_organizations", "building", "operator"),
            NavItem(_("Regions"), "operator_regions", "map-pin", "operator"),
            NavItem(_("Catalog"), "operator_catalog", "category", "operator"),
            NavItem(_("Instances"), "operator_servers", "server", "operator"),
            NavItem(_("Quota requests"), "operator_quota_requests", "inbox", "operator"),
            NavItem(_("Usage review"), "operator_usage", "report-analytics", "operator"),
        ),
        operators_only=True,
    ),
)


@dataclass(frozen=True)
class ResolvedItem:
    label: str | Promise
    icon: str
    url: str | None
    active: bool
    reason: str | Promise = ""


@dataclass(frozen=True)
class ResolvedSection:
    label: str | Promise
    icon: str
    items: tuple[ResolvedItem, ...]


def resolve_menu(
    *,
    current_url_name: str | None,
    project_kwargs: dict[str, str] | None,
    organization_kwargs: dict[str, str] | None = None,
    is_operator: bool,
) -> list[ResolvedSection]:
    """The menu for one request: links where a route exists, disabled items (with the reason) elsewhere."""
    sections = []
    for section in MENU:
        if section.operators_only and not is_operator:
            continue
        items = []
        for item in section.items:
            url, reason = None, ""
            if item.scope == "project" and project_kwargs is None:
                reason = _("Choose a project first")
            elif item.scope == "organization" and organization_kwargs is None:
                reason = _("Create or join an organization first")
            else:
                kwargs = {"project": project_kwargs, "organization": organization_kwargs}.get(item.scope)
                try:
                    url = reverse(item.url_name, kwargs=kwargs)
                except NoReverseMatch:
                    reason = _("Coming soon")
            items.append(ResolvedItem(item.label, item.icon, url, item.url_name == current_url_name, reason))
        sections.append(ResolvedSection(section.label, section.icon, tuple(items)))
    return sections
