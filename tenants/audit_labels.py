"""Human labels of the actions the audit log records, grouped for the activity page's filter.

`ACTION_LABELS` maps an action name (as `tenants.audit.record` stores it) to its label. Apps above `tenants`
(infra, billing, …) add theirs with `register_actions` from their AppConfig.ready, since tenants cannot import them.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

ACTION_GROUPS: dict[str, tuple[str | Promise, dict[str, str | Promise]]] = {
    "organization": (
        _("Organization"),
        {
            "organization.create": _("Organization created"),
            "organization.update": _("Organization renamed"),
            "organization.delete": _("Organization deleted"),
            "organization.mfa_policy": _("Two-factor requirement changed"),
            "organization.suspend": _("Organization suspended"),
            "organization.resume": _("Organization resumed"),
        },
    ),
    "project": (
        _("Project"),
        {
            "project.create": _("Project created"),
            "project.update": _("Project changed"),
            "project.delete": _("Project deleted"),
        },
    ),
    "member": (
        _("Members"),
        {
            "member.role": _("Role changed"),
            "member.remove": _("Member removed"),
            "member.leave": _("Member left"),
            "member.transfer_ownership": _("Ownership transferred"),
        },
    ),
    "invitation": (
        _("Invitations"),
        {
            "invitation.create": _("Invitation sent"),
            "invitation.resend": _("Invitation resent"),
            "invitation.revoke": _("Invitation revoked"),
            "invitation.accept": _("Invitation accepted"),
        },
    ),
    "api_token": (
        _("API tokens"),
        {
            "api_token.create": _("API token created"),
            "api_token.revoke": _("API token revoked"),
        },
    ),
    "operator": (
        _("Operators"),
        {
            "operator.visit": _("Operator visit (read-only)"),
        },
    ),
}

ACTION_LABELS: dict[str, str | Promise] = {
    action: label for _group, labels in ACTION_GROUPS.values() for action, label in labels.items()
}

# The fields `before`/`after` name, as the activity page shows them (the CSV keeps the keys).
FIELD_LABELS: dict[str, str | Promise] = {
    "name": _("name"),
    "slug": _("slug"),
    "description": _("description"),
    "role": _("role"),
    "email": _("e-mail address"),
    "require_mfa": _("require two-factor authentication"),
    "reason": _("reason for suspension"),
    "owner": _("Owner"),
    "path": _("page"),
    "expires": _("expires"),
}

# Actions shown in red: they take something away.
DESTRUCTIVE_SUFFIXES = (".delete", ".remove", ".revoke", ".suspend")


def register_actions(group: str, group_label: str | Promise, labels: dict[str, str | Promise]) -> None:
    """Add (or extend) a group of actions, e.g. `register_actions("server", _("Instances"), {...})`."""
    _label, existing = ACTION_GROUPS.get(group, (group_label, {}))
    existing.update(labels)
    ACTION_GROUPS[group] = (group_label, existing)
    ACTION_LABELS.update(labels)


def action_label(action: str) -> str:
    """The action's label in the active language; an action nobody labelled shows its name."""
    return str(ACTION_LABELS.get(action, action))


def field_label(key: str) -> str:
    return str(FIELD_LABELS.get(key, key))


# The labels of coded values, per field (e.g. a server's "status": "ACTIVE" shows as "Running").
VALUE_LABELS: dict[str, dict[str, str | Promise]] = {}


def register_fields(
    labels: dict[str, str | Promise], values: dict[str, dict[str, str | Promise]] | None = None
) -> None:
    """Label the `before`/`after` fields an app records, and the coded values of some of them (from AppConfig.ready):
    `register_fields({"status": _("status")}, {"status": dict(Status.choices)})`."""
    FIELD_LABELS.update(labels)
    for key, mapping in (values or {}).items():
        VALUE_LABELS.setdefault(key, {}).update(mapping)


def value_label(key: str, value: str) -> str:
    """A coded value's label, or the value itself when its field has no labels for it."""
    return str(VALUE_LABELS.get(key, {}).get(value, value))


def action_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Grouped choices for a select: [(group label, [(action, label), …]), …]."""
    return [
        (str(group_label), [(action, str(label)) for action, label in labels.items()])
        for group_label, labels in ACTION_GROUPS.values()
    ]


def action_tone(action: str) -> str:
    """A Tabler badge colour: red for what takes away, purple for operators, green for what adds, blue otherwise."""
    if action.endswith(DESTRUCTIVE_SUFFIXES):
        return "red"
    if action.startswith("operator.") or action == "organization.resume":
        return "purple"
    if action.endswith((".create", ".accept")):
        return "green"
    return "blue"
