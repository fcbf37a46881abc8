"""Connections to one region's OpenStack: the service user's admin-scoped one, and one per cloud project.

Why per project: nova, neutron and glance act in the project a token is scoped to, so a server or network made with
a token scoped to project X belongs to X. The console's service user (the region's clouds.yaml entry) is given a
role on every project it serves (`grant_access`) and keeps one `Connection` per project, each with its own token,
reused across calls and threads (keystoneauth's session and token cache are thread-safe).

The compute microversion is negotiated once, on the admin connection, and pinned on every connection: responses
keep one shape whatever the cloud offers (up to `COMPUTE_MICROVERSION_MAX`), and a cloud too old for server tags
(2.52, what makes creates idempotent) is refused with a message an operator can act on.
"""

from __future__ import annotations

import copy
import threading
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _
from keystoneauth1 import discover
from openstack import exceptions as sdk
from openstack.config.loader import OpenStackConfig
from openstack.connection import Connection

from infra.providers.base import CloudError
from infra.providers.openstack.errors import translated

COMPUTE_MICROVERSION_MIN = "2.52"  # server tags at create time (ServerSpec.request_id) and the tags filter
COMPUTE_MICROVERSION_MAX = "2.96"  # the newest this driver is written and tested for (OpenStack 2025.1 offers 2.100)

# Keys that scope a token; a project connection replaces them all with `project_id`.
_SCOPE_KEYS = (
    "project_id",
    "project_name",
    "project_domain_id",
    "project_domain_name",
    "tenant_id",
    "tenant_name",
    "domain_id",
    "domain_name",
    "system_scope",
)


def _version(text: str) -> tuple[int, int]:
    major, minor = discover.normalize_version_number(text)[:2]
    return int(major), int(minor)


def _version_text(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


class Connections:
    """The connections of one region, made lazily (no network call until the first use) and cached."""

    def __init__(self, settings: dict[str, Any], *, region_label: str) -> None:
        self.cloud_name = str(settings.get("cloud") or "")
        self.clouds_file = settings.get("clouds_file") or None
        self.region_name = settings.get("region_name") or None
        self.timeout = float(settings.get("timeout") or 30)
        self.region_label = region_label
        self._lock = threading.Lock()
        self._config: Any = None  # openstack.config.cloud_region.CloudRegion
        self._admin: Connection | None = None
        self._projects: dict[str, Connection] = {}
        self._microversion: str | None = None

    # --- configuration -------------------------------------------------------------------------------------------

    def _cloud_config(self) -> Any:
        """The clouds.yaml entry, read once. Nothing secret comes from the database: only the entry's name."""
        if self._config is None:
            if not self.cloud_name:
                raise CloudError(
                    _("Region %(region)s names no clouds.yaml entry (settings: cloud).") % {"region": self.region_label}
                )
            if self.clouds_file and not Path(self.clouds_file).is_file():
                raise CloudError(
                    _("The clouds.yaml of region %(region)s (settings: clouds_file) does not exist: %(path)s")
                    % {"region": self.region_label, "path": self.clouds_file}
                )
            with translated():
                try:
                    if self.clouds_file:
                        loader = OpenStackConfig(config_files=[str(self.clouds_file)], vendor_files=[])
                    else:  # openstacksdk's usual search: OS_CLIENT_CONFIG_FILE, ./clouds.yaml, ~/.config/openstack…
                        loader = OpenStackConfig()
                    kwargs: dict[str, Any] = {"api_timeout": self.timeout}
                    if self.region_name:
                        kwargs["region_name"] = self.region_name
                    self._config = loader.get_one(cloud=self.cloud_name, **kwargs)
                except Exception as error:
                    if isinstance(error, (sdk.ConfigException, KeyError, OSError)):
                        where = self.clouds_file or _("openstacksdk's usual places")
                        raise CloudError(
                            _(
                                "The clouds.yaml entry %(cloud)s of region %(region)s cannot be used "
                                "(%(where)s): %(reason)s"
                            )
                            % {"cloud": self.cloud_name, "region": self.region_label, "where": where, "reason": error}
                        ) from error
                    raise
        return self._config

    # --- connections ---------------------------------------------------------------------------------------------

    def admin(self) -> Connection:
        """The service user's connection as its clouds.yaml entry scopes it: identity, catalog, quotas, health."""
        with self._lock:
            if self._admin is None:
                self._admin = Connection(config=self._cloud_config())
            conn = self._admin
        self._pin(conn)
        return conn

    def project(self, project_id: str) -> Connection:
        """The service user's connection scoped to one cloud project (same credentials, `project_id=` that project):
        servers, key pairs and networks made through it belong to that project."""
        microversion = self.compute_microversion()
        with self._lock:
            conn = self._projects.get(project_id)
            if conn is None:
                config = copy.deepcopy(self._cloud_config().config)
                auth = config.setdefault("auth", {})
                for key in _SCOPE_KEYS:
                    auth.pop(key, None)
                auth["project_id"] = project_id
                with translated():
                    region = OpenStackConfig(load_yaml_config=False, load_envvars=False).get_one(**config)
                conn = Connection(config=region)
                conn.compute.default_microversion = microversion
                self._projects[project_id] = conn
        return conn

    def forget_project(self, project_id: str) -> None:
        """Drop a project's connection (the project was deleted: its token is useless)."""
        with self._lock:
            conn = self._projects.pop(project_id, None)
        if conn is not None:
            conn.close()

    def cached_projects(self) -> list[str]:
        with self._lock:
            return list(self._projects)

    # --- compute microversion ------------------------------------------------------------------------------------

    def compute_microversion(self) -> str:
        """The compute microversion every call of this region uses: the newest both sides know, at least 2.52."""
        if self._microversion is None:
            self._pin(self.admin())
        assert self._microversion is not None
        return self._microversion

    def _pin(self, conn: Connection) -> None:
        if self._microversion is None:
            with translated():
                endpoint = conn.compute.get_endpoint_data()
            offered = endpoint.max_microversion if endpoint is not None else None
            if not offered or offered < _version(COMPUTE_MICROVERSION_MIN):
                shown = _version_text(offered) if offered else _("no microversions")
                raise CloudError(
                    _(
                        "The compute API (nova) of region %(region)s is too old: it offers %(offered)s, the console "
                        "needs microversion %(needed)s or newer (server tags)."
                    )
                    % {"region": self.region_label, "offered": shown, "needed": COMPUTE_MICROVERSION_MIN}
                )
            self._microversion = _version_text(min(offered, _version(COMPUTE_MICROVERSION_MAX)))
        conn.compute.default_microversion = self._microversion

    def close(self) -> None:
        with self._lock:
            conns = [*self._projects.values(), *([self._admin] if self._admin else [])]
            self._projects.clear()
            self._admin = None
        for conn in conns:
            conn.close()
