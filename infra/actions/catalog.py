"""Operators' curation of a region's catalog: show or hide flavors and images, order them, label them, and choose one
default of each per region.

Each is an operator-only action (anyone else: NotFound) with an audit row without an organisation (the catalog
belongs to the platform, as regions do). The reconciler mirrors the cloud's fields and never touches these ones
(`infra.reconcile.sync_catalog`). A change takes the region's row lock, so two operators' moves and defaults in one
region happen one after the other.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from infra.models import Flavor, Image, ImageLogo, Region
from tenants.audit import Actor, record
from tenants.audit_labels import FIELD_LABELS, register_actions
from tenants.policy import ActionError, NotFound, ensure_operator

Item = TypeVar("Item", Flavor, Image)

KINDS: dict[str, type[Flavor] | type[Image]] = {"flavor": Flavor, "image": Image}


def register_audit_labels() -> None:
    """The activity pages' labels of these actions (called from InfraConfig.ready)."""
    register_actions(
        "catalog",
        gettext_lazy("Catalog"),
        {
            "flavor.show": gettext_lazy("Instance type shown to tenants"),
            "flavor.hide": gettext_lazy("Instance type hidden from tenants"),
            "flavor.move": gettext_lazy("Instance type moved"),
            "flavor.default": gettext_lazy("Default instance type changed"),
            "flavor.update": gettext_lazy("Instance type label changed"),
            "image.show": gettext_lazy("Image shown to tenants"),
            "image.hide": gettext_lazy("Image hidden from tenants"),
            "image.move": gettext_lazy("Image moved"),
            "image.default": gettext_lazy("Default image changed"),
            "image.update": gettext_lazy("Image labels changed"),
        },
    )
    FIELD_LABELS.update(
        {
            "visible": gettext_lazy("shown to tenants"),
            "label": gettext_lazy("label"),
            "position": gettext_lazy("order"),
            "is_default": gettext_lazy("default"),
            "default": gettext_lazy("default"),
            "os_label": gettext_lazy("operating system label"),
            "version_label": gettext_lazy("version label"),
            "logo": gettext_lazy("logo"),
        }
    )


def kind_of(item: Flavor | Image) -> str:
    return "flavor" if isinstance(item, Flavor) else "image"


def _lock(item: Item) -> tuple[Region, Item]:
    """Lock the item's region (one catalog change at a time per region), then the item; NotFound if it is gone."""
    region = Region.objects.select_for_update().filter(pk=item.region_id).first()
    fresh = type(item).objects.select_for_update().filter(pk=item.pk).first()
    if region is None or fresh is None:
        raise NotFound()
    return region, fresh


def _record(actor: Actor, item: Flavor | Image, verb: str, region: Region, **changes: Any) -> None:
    record(
        actor,
        f"{kind_of(item)}.{verb}",
        target=item,
        target_repr=f"{region.name}: {item.name}",
        before=changes.get("before"),
        after=changes.get("after"),
    )


def _not_offered_reason(item: Flavor | Image) -> str | None:
    """Why an item cannot be the default (None when it can)."""
    if item.deleted_at is not None:
        return _("%(name)s was deleted in the cloud: it cannot be the default.") % {"name": item.name}
    if not item.visible:
        return _("%(name)s is hidden from tenants: show it first, then make it the default.") % {"name": item.name}
    if isinstance(item, Image) and item.status != "active":
        return _("%(name)s is not active in the cloud: it cannot be the default.") % {"name": item.name}
    return None


# Show / hide ----------------------------------------------------------------------------------------------------------


@transaction.atomic
def set_visible(*, actor: Actor, item: Item, visible: bool) -> Item:
    """Show an instance type or image to tenants, or hide it (what already runs with it keeps running). Hiding the
    default also stops it being the default. Asking for what already is changes nothing."""
    ensure_operator(actor)
    region, item = _lock(item)
    if item.visible == visible:
        return item
    before: dict[str, Any] = {"visible": item.visible}
    after: dict[str, Any] = {"visible": visible}
    item.visible = visible
    fields = ["visible"]
    if not visible and item.is_default:
        item.is_default = False
        fields.append("is_default")
        before["is_default"], after["is_default"] = True, False
    item.save(update_fields=fields)
    _record(actor, item, "show" if visible else "hide", region, before=before, after=after)
    return item


@transaction.atomic
def set_visible_many(*, actor: Actor, region: Region, kind: str, ids: Iterable[Any], visible: bool) -> int:
    """Show or hide several items of one region at once; returns how many changed. Ids of other regions are ignored
    (no hint that they exist)."""
    ensure_operator(actor)
    model = KINDS[kind]
    changed = 0
    for item in model.objects.filter(region=region, pk__in=list(ids)).order_by("position", "name"):
        if item.visible != visible:
            set_visible(actor=actor, item=item, visible=visible)
            changed += 1
    return changed


# Order ---------------------------------------------------------------------------------------------------------------


def _place(actor: Actor, item: Item, index: int) -> Item:
    """Put the item at `index` (0-based, clamped) among the region's live items and renumber them 1…n."""
    region, item = _lock(item)
    if item.deleted_at is not None:
        raise ActionError(_("%(name)s was deleted in the cloud: it has no place in the order.") % {"name": item.name})
    model = type(item)
    ordering = ["position", "vcpus", "ram_mb", "name"] if model is Flavor else ["position", "name"]
    rows = list(model.objects.select_for_update().live().filter(region=region).order_by(*ordering, "pk"))
    old_index = next(number for number, row in enumerate(rows) if row.pk == item.pk)
    index = max(0, min(index, len(rows) - 1))
    old_position = rows[old_index].position
    rows.insert(index, rows.pop(old_index))
    changed = []
    for number, row in enumerate(rows, start=1):
        if row.position != number:
            row.position = number
            changed.append(row)
    model.objects.bulk_update(changed, ["position"])
    item.position = index + 1
    if index != old_index:
        _record(actor, item, "move", region, before={"position": old_position}, after={"position": item.position})
    return item


@transaction.atomic
def move(*, actor: Actor, item: Item, offset: int) -> Item:
    """Move an item up (`offset=-1`) or down (`offset=1`) in the order tenants see; the region's items are renumbered
    1…n. At the top (or bottom) already, nothing moves."""
    ensure_operator(actor)
    region, locked = _lock(item)
    if locked.deleted_at is not None:
        return _place(actor, locked, 0)  # refuses
    model = type(locked)
    ordering = ["position", "vcpus", "ram_mb", "name"] if model is Flavor else ["position", "name"]
    ids = list(model.objects.live().filter(region=region).order_by(*ordering, "pk").values_list("pk", flat=True))
    return _place(actor, locked, ids.index(locked.pk) + offset)


@transaction.atomic
def set_position(*, actor: Actor, item: Item, position: int) -> Item:
    """Put an item at a place in the order (1 is first; past the end is last); the others shift."""
    ensure_operator(actor)
    if position < 1:
        raise ActionError(_("The order starts at 1."))
    return _place(actor, item, position - 1)


# Default -------------------------------------------------------------------------------------------------------------


@transaction.atomic
def set_default(*, actor: Actor, item: Item) -> Item:
    """Make an item the region's default (the launch wizard's first choice); the previous default stops being it.
    A hidden, deleted or (image) inactive item cannot be the default."""
    ensure_operator(actor)
    region, item = _lock(item)
    reason = _not_offered_reason(item)
    if reason:
        raise ActionError(reason)
    if item.is_default:
        return item
    model = type(item)
    previous = model.objects.select_for_update().filter(region=region, is_default=True).exclude(pk=item.pk).first()
    if previous is not None:
        previous.is_default = False
        previous.save(update_fields=["is_default"])
    item.is_default = True
    item.save(update_fields=["is_default"])
    _record(
        actor,
        item,
        "default",
        region,
        before={"default": previous.name if previous is not None else None},
        after={"default": item.name},
    )
    return item


@transaction.atomic
def clear_default(*, actor: Actor, item: Item) -> Item:
    """The item stops being the default (the region then has none of this kind)."""
    ensure_operator(actor)
    region, item = _lock(item)
    if not item.is_default:
        return item
    item.is_default = False
    item.save(update_fields=["is_default"])
    _record(actor, item, "default", region, before={"default": item.name}, after={"default": None})
    return item


# Labels --------------------------------------------------------------------------------------------------------------


def _text(value: str, *, field: str, model: type[Flavor] | type[Image]) -> str:
    value = (value or "").strip()
    limit = model._meta.get_field(field).max_length
    if len(value) > limit:
        raise ActionError(
            _("%(field)s is limited to %(limit)s characters.")
            % {"field": str(model._meta.get_field(field).verbose_name).capitalize(), "limit": limit}
        )
    return value


def _update(actor: Actor, item: Item, values: dict[str, Any]) -> Item:
    region, item = _lock(item)
    before = {key: getattr(item, key) for key, value in values.items() if getattr(item, key) != value}
    if not before:
        return item
    for key in before:
        setattr(item, key, values[key])
    item.save(update_fields=list(before))
    _record(actor, item, "update", region, before=before, after={key: values[key] for key in before})
    return item


@transaction.atomic
def update_flavor(*, actor: Actor, flavor: Flavor, label: str) -> Flavor:
    """Label an instance type for tenants (e.g. "General purpose"); blank shows none."""
    ensure_operator(actor)
    return _update(actor, flavor, {"label": _text(label, field="label", model=Flavor)})


@transaction.atomic
def update_image(*, actor: Actor, image: Image, label: str, os_label: str, version_label: str, logo: str) -> Image:
    """Label an image for tenants: a display name, the operating system and version shown, and a logo. A blank one
    shows the cloud's value (the logo: the one its operating system suggests)."""
    ensure_operator(actor)
    if logo and logo not in ImageLogo.values:
        raise ActionError(_("Choose one of the logos offered."))
    values = {
        "label": _text(label, field="label", model=Image),
        "os_label": _text(os_label, field="os_label", model=Image),
        "version_label": _text(version_label, field="version_label", model=Image),
        "logo": logo or "",
    }
    return _update(actor, image, values)
