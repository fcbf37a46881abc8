"""Nova's words in the console's: server statuses (with task states) and the server record itself.

Kept apart from the driver because it is pure (no calls): the mapping can be read, and tested, on its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from django.utils.translation import gettext as _

from infra.providers.base import Address, CloudServer, Status, request_id_from_tags

# nova's `status` -> ours. Paused, suspended and shelved servers are not running: the console shows them stopped.
NOVA_STATUS: dict[str, Status] = {
    "BUILD": Status.BUILDING,
    "ACTIVE": Status.ACTIVE,
    "SHUTOFF": Status.STOPPED,
    "REBOOT": Status.REBOOTING,
    "HARD_REBOOT": Status.REBOOTING,
    "RESIZE": Status.RESIZING,
    "MIGRATING": Status.RESIZING,
    "VERIFY_RESIZE": Status.VERIFY_RESIZE,
    "REVERT_RESIZE": Status.REVERTING,
    "REBUILD": Status.REBUILDING,
    "ERROR": Status.ERROR,
    "DELETED": Status.DELETED,
    "SOFT_DELETED": Status.DELETED,
    "PAUSED": Status.STOPPED,
    "SUSPENDED": Status.STOPPED,
    "SHELVED": Status.STOPPED,
    "SHELVED_OFFLOADED": Status.STOPPED,
    # Rare ones: a server being rescued or having its password set is still running.
    "RESCUE": Status.ACTIVE,
    "PASSWORD": Status.ACTIVE,
}


def map_status(status: str | None, task_state: str | None) -> Status:
    """Our status for nova's status and task state. The task state tells what nova is doing to a server whose status
    has not moved yet (an ACTIVE server being powered off is STOPPING, not ACTIVE)."""
    status = (status or "").upper()
    task = (task_state or "").lower()
    if task == "deleting":
        return Status.DELETING
    if status == "ACTIVE" and task == "powering-off":
        return Status.STOPPING
    if status == "SHUTOFF" and task == "powering-on":
        return Status.STARTING
    # UNKNOWN (its compute host does not answer) and anything newer than this table: not usable, say so.
    return NOVA_STATUS.get(status, Status.ERROR)


def fault_message(server: Any, status: Status) -> str | None:
    """Why a server is in ERROR, in nova's words when nova says."""
    fault = getattr(server, "fault", None) or {}
    message = fault.get("message") if isinstance(fault, Mapping) else None
    if message:
        return str(message)
    if status == Status.ERROR:
        if (server.status or "").upper() == "UNKNOWN":
            return _("The cloud cannot tell this server's state: its compute host does not answer.")
        if (server.status or "").upper() not in NOVA_STATUS:
            return _("The cloud reports a status the console does not know: %(status)s") % {"status": server.status}
    return None


def addresses(raw: Mapping[str, Any] | None) -> tuple[Address, ...]:
    """`server.addresses` ({network name: [{addr, version, OS-EXT-IPS:type, OS-EXT-IPS-MAC:mac_addr}]}), flattened."""
    found: list[Address] = []
    for network, entries in sorted((raw or {}).items()):
        for entry in entries or []:
            kind = "floating" if entry.get("OS-EXT-IPS:type") == "floating" else "fixed"
            found.append(
                Address(
                    ip=str(entry.get("addr", "")),
                    version=int(entry.get("version") or 4),
                    kind=kind,
                    network=network,
                    mac=str(entry.get("OS-EXT-IPS-MAC:mac_addr") or ""),
                )
            )
    return tuple(found)


def parse_time(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def cloud_server(server: Any, flavor_id_for: Callable[[Any], str]) -> CloudServer:
    """A nova server (openstacksdk's resource) as the console's `CloudServer`.

    `flavor_id_for` turns the server's flavor into an id: from 2.47 nova embeds the flavor (name, sizes) without its
    id, so the driver looks the id up by name.
    """
    status = map_status(server.status, server.task_state)
    image = server.image
    image_id = (image.get("id") if isinstance(image, Mapping) else getattr(image, "id", None)) or ""
    return CloudServer(
        id=server.id,
        name=server.name or "",
        status=status,
        cloud_status=server.status or "",
        flavor_id=flavor_id_for(server.flavor),
        image_id=image_id,
        request_id=request_id_from_tags(server.tags or []),
        addresses=addresses(server.addresses),
        locked=bool(server.is_locked),
        task_state=server.task_state or None,
        fault=fault_message(server, status),
        created_at=parse_time(server.created_at),
        keypair_name=server.key_name or None,
    )
