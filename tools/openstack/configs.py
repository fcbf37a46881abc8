"""The config files of the local OpenStack: one function per service, all on 127.0.0.1.

Every value that differs between machines or clones (paths, the database and RabbitMQ names, the passwords made at
each build) comes from `Settings`; everything else is the fixed recipe measured in ../shared/TESTING.md.
"""

from __future__ import annotations

import configparser
import io
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"
REGION = "RegionOne"
COMPUTE_HOST = "haneul-local"  # nova-compute's and cinder-volume's host name
PORTS = {"keystone": 5000, "placement": 8778, "nova": 8774, "neutron": 9696, "glance": 9292, "cinder": 8776}
KEYSTONE_URL = f"http://{HOST}:{PORTS['keystone']}/v3"
# Service users, each with the admin and service roles in the "service" project.
SERVICE_USERS = ("nova", "placement", "neutron", "glance", "cinder")
# VPNaaS API and database with no agent behind it: VPN services stay PENDING_CREATE.
VPN_PROVIDER = "VPN:strongswan:neutron_vpnaas.services.vpn.service_drivers.ipsec.IPsecVPNDriver:default"
DATABASES = ("keystone", "placement", "nova_api", "nova", "nova_cell0", "neutron", "glance", "cinder")

Sections = dict[str, dict[str, object]]


@dataclass(frozen=True)
class Settings:
    prefix: str  # database names and the RabbitMQ vhost derive from it
    state: Path  # .openstack/ of the clone
    venv: Path  # the OpenStack venv (its etc/ holds the packages' paste and filter files)
    db_url: str  # mysql+pymysql://user[:password]@host:port, without a database
    service_password: str
    admin_password: str

    @property
    def etc(self) -> Path:
        return self.state / "etc"

    @property
    def data(self) -> Path:
        return self.state / "data"

    def database(self, name: str) -> str:
        return f"{self.prefix}_{name}"

    def db_connection(self, name: str) -> str:
        return f"{self.db_url}/{self.database(name)}?charset=utf8"

    @property
    def transport_url(self) -> str:
        return f"rabbit://guest:guest@{HOST}:5672/{self.prefix}"


def render(sections: Sections) -> str:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keep option names as written
    for section, options in sections.items():
        if section != "DEFAULT":
            parser.add_section(section)
        for key, value in options.items():
            parser.set(section, key, _ini_value(value))
    out = io.StringIO()
    parser.write(out)
    return out.getvalue()


def _ini_value(value: object) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, list | tuple):
        return ",".join(str(item) for item in value)
    return str(value)


def _auth(s: Settings, username: str) -> dict[str, object]:
    """Password auth as a service user in the service project (keystonemiddleware and keystoneauth sections)."""
    return {
        "auth_type": "password",
        "auth_url": KEYSTONE_URL,
        "username": username,
        "password": s.service_password,
        "project_name": "service",
        "user_domain_name": "Default",
        "project_domain_name": "Default",
        "region_name": REGION,
    }


def _authtoken(s: Settings, username: str) -> dict[str, object]:
    return {"www_authenticate_uri": f"http://{HOST}:{PORTS['keystone']}", **_auth(s, username)}


def _common(s: Settings, service: str) -> Sections:
    return {
        "DEFAULT": {"debug": False, "use_stderr": True, "transport_url": s.transport_url},
        "oslo_concurrency": {"lock_path": s.data / service / "lock"},
    }


def keystone(s: Settings) -> Sections:
    return {
        "DEFAULT": {"debug": False, "use_stderr": True},
        "database": {"connection": s.db_connection("keystone")},
        "token": {"provider": "fernet"},
        "identity": {"password_hash_rounds": 4},  # bcrypt's least: a local cloud needs fast logins, not strong hashes
        "fernet_tokens": {"key_repository": s.data / "keystone" / "fernet-keys"},
        "fernet_receipts": {"key_repository": s.data / "keystone" / "fernet-keys"},
        "credential": {"key_repository": s.data / "keystone" / "credential-keys"},
    }


def placement(s: Settings) -> Sections:
    return {
        "DEFAULT": {"debug": False, "use_stderr": True},
        "placement_database": {"connection": s.db_connection("placement")},
        "api": {"auth_strategy": "keystone"},
        "keystone_authtoken": _authtoken(s, "placement"),
    }


def nova(s: Settings, *, with_database: bool = True) -> Sections:
    """nova.conf for the API, conductor and scheduler; nova-compute gets it without database URLs."""
    sections = _common(s, "nova")
    sections["DEFAULT"] |= {
        "host": COMPUTE_HOST,
        "my_ip": HOST,
        "state_path": s.data / "nova",
        "instances_path": s.data / "nova" / "instances",
        "compute_driver": "fake.FakeDriver",
        "allow_resize_to_same_host": True,
        "vif_plugging_is_fatal": False,
        "vif_plugging_timeout": 0,
        "enabled_apis": "osapi_compute",
    }
    sections |= {
        "api": {"auth_strategy": "keystone"},
        "wsgi": {"api_paste_config": s.etc / "nova" / "api-paste.ini"},
        "keystone_authtoken": _authtoken(s, "nova"),
        "service_user": {"send_service_user_token": True, **_auth(s, "nova")},
        "placement": _auth(s, "placement"),
        "neutron": _auth(s, "neutron"),
        "cinder": {"os_region_name": REGION, **_auth(s, "cinder")},
        "glance": {"region_name": REGION},
        "conductor": {"workers": 1},
        "scheduler": {"workers": 1, "discover_hosts_in_cells_interval": -1},
        "vnc": {"enabled": False},
        "oslo_messaging_notifications": {"driver": "noop"},
    }
    if with_database:
        sections["api_database"] = {"connection": s.db_connection("nova_api")}
        sections["database"] = {"connection": s.db_connection("nova")}
    return sections


def neutron(s: Settings) -> Sections:
    sections = _common(s, "neutron")
    sections["DEFAULT"] |= {
        "state_path": s.data / "neutron",
        "api_paste_config": s.etc / "neutron" / "api-paste.ini",
        "auth_strategy": "keystone",
        "core_plugin": "ml2",
        "service_plugins": "router,vpnaas",
        "allow_overlapping_ips": True,
        "dhcp_agent_notification": False,
        # Without these a floating IP never shows in a server's addresses.
        "notify_nova_on_port_status_changes": True,
        "notify_nova_on_port_data_changes": True,
    }
    sections |= {
        "database": {"connection": s.db_connection("neutron")},
        "keystone_authtoken": _authtoken(s, "neutron"),
        "nova": _auth(s, "nova"),
        "service_providers": {"service_provider": VPN_PROVIDER},
        "oslo_messaging_notifications": {"driver": "noop"},
    }
    return sections


def ml2(s: Settings) -> Sections:
    return {
        "ml2": {
            "type_drivers": "flat,vxlan",
            "tenant_network_types": "vxlan",
            "mechanism_drivers": "haneul_bind_all",  # tools/openstack/harness: binds every port, ACTIVE
            "extension_drivers": "port_security",
        },
        "ml2_type_flat": {"flat_networks": "public"},
        "ml2_type_vxlan": {"vni_ranges": "1:10000"},
    }


def glance(s: Settings) -> Sections:
    images = s.data / "glance"
    return {
        "DEFAULT": {
            "debug": False,
            "use_stderr": True,
            "enabled_backends": "local:file",
            "worker_self_reference_url": f"http://{HOST}:{PORTS['glance']}",
        },
        "database": {"connection": s.db_connection("glance")},
        "keystone_authtoken": _authtoken(s, "glance"),
        "paste_deploy": {"flavor": "keystone"},
        "glance_store": {"default_backend": "local"},
        "local": {"filesystem_store_datadir": images / "images"},
        "os_glance_staging_store": {"filesystem_store_datadir": images / "staging"},
        "os_glance_tasks_store": {"filesystem_store_datadir": images / "tasks"},
        "oslo_concurrency": {"lock_path": images / "lock"},
    }


def cinder(s: Settings) -> Sections:
    sections = _common(s, "cinder")
    sections["DEFAULT"] |= {
        "host": COMPUTE_HOST,
        "my_ip": HOST,
        "state_path": s.data / "cinder",
        "api_paste_config": s.etc / "cinder" / "api-paste.ini",
        "resource_query_filters_file": s.etc / "cinder" / "resource_filters.json",
        "auth_strategy": "keystone",
        "enabled_backends": "fake",
        "osapi_volume_workers": 1,
    }
    sections |= {
        "database": {"connection": s.db_connection("cinder")},
        "keystone_authtoken": _authtoken(s, "cinder"),
        "service_user": {"send_service_user_token": True, **_auth(s, "cinder")},
        "nova": _auth(s, "nova"),
        "fake": {
            "volume_driver": "cinder.tests.fake_driver.FakeLoggingVolumeDriver",
            "volume_backend_name": "fake",
        },
        "oslo_messaging_notifications": {"driver": "noop"},
    }
    return sections


def files(s: Settings) -> dict[Path, str]:
    """Every config file of the stack, by path: ours, and the packages' own paste and filter files beside them."""
    etc = s.etc
    shipped = ["nova/api-paste.ini", "neutron/api-paste.ini", "glance/glance-api-paste.ini", "cinder/api-paste.ini",
               "cinder/resource_filters.json"]  # fmt: skip
    return {
        **{etc / name: (s.venv / "etc" / name).read_text() for name in shipped},
        etc / "keystone" / "keystone.conf": render(keystone(s)),
        etc / "placement" / "placement.conf": render(placement(s)),
        etc / "nova" / "nova.conf": render(nova(s)),
        etc / "nova" / "nova-compute.conf": render(nova(s, with_database=False)),
        # Read after nova.conf to make cell0's schema with the same command as cell1's.
        etc / "nova" / "nova-cell0.conf": render({"database": {"connection": s.db_connection("nova_cell0")}}),
        etc / "neutron" / "neutron.conf": render(neutron(s)),
        etc / "neutron" / "ml2_conf.ini": render(ml2(s)),
        etc / "glance" / "glance-api.conf": render(glance(s)),
        etc / "cinder" / "cinder.conf": render(cinder(s)),
    }
