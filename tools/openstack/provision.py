"""The parts of the bring-up that talk to MariaDB, RabbitMQ and the OpenStack APIs (run in the OpenStack venv).

Databases and the vhost are dropped and made again from the prefix; each service's schema is made with its own
`*-manage` tool; keystone is bootstrapped (admin in project admin) and given the service project, users and
endpoints; then the compute host is discovered and the seed data made: flavors, the public network with its
floating-IP range, and a small public image.
"""

from __future__ import annotations

import base64
import os
import subprocess
import time
import urllib.parse
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import configs
import openstack
import pymysql
from common import StackError, log_tail
from configs import HOST, PORTS, REGION, Settings
from openstack.config.loader import OpenStackConfig
from openstack.connection import Connection

PUBLIC_CIDR = "203.0.113.0/24"  # TEST-NET-3, a documentation range: nothing is routed anyway
FLAVORS = [  # name, vCPUs, RAM MiB, disk GiB
    ("m1.nano", 1, 128, 1),
    ("m1.micro", 1, 256, 1),
    ("m1.small", 1, 2048, 20),
    ("m1.medium", 2, 4096, 40),
]
IMAGE_NAME = "haneul-tiny"
SERVICES = [  # name, type, URL
    ("placement", "placement", f"http://{HOST}:{PORTS['placement']}"),
    ("nova", "compute", f"http://{HOST}:{PORTS['nova']}/v2.1"),
    ("neutron", "network", f"http://{HOST}:{PORTS['neutron']}"),
    ("glance", "image", f"http://{HOST}:{PORTS['glance']}"),
    ("cinderv3", "volumev3", f"http://{HOST}:{PORTS['cinder']}/v3/%(project_id)s"),
    ("cinder", "block-storage", f"http://{HOST}:{PORTS['cinder']}/v3/%(project_id)s"),
]
READY_TIMEOUT_SECONDS = 120.0


# --- MariaDB and RabbitMQ ----------------------------------------------------------------------------------------


def _mysql(db_url: str) -> pymysql.Connection:
    url = urllib.parse.urlsplit(db_url)
    return pymysql.connect(
        host=url.hostname or HOST,
        port=url.port or 3306,
        user=urllib.parse.unquote(url.username or "root"),
        password=urllib.parse.unquote(url.password or ""),
        autocommit=True,
    )


def recreate_databases(s: Settings) -> None:
    """Drop and create the stack's databases: only the names this prefix gives, nothing matched by pattern."""
    try:
        connection = _mysql(s.db_url)
    except pymysql.MySQLError as error:
        raise StackError(f"cannot reach MariaDB at {s.db_url}: {error}") from error
    with connection, connection.cursor() as cursor:
        for name in configs.DATABASES:
            cursor.execute(f"DROP DATABASE IF EXISTS `{s.database(name)}`")
            cursor.execute(f"CREATE DATABASE `{s.database(name)}` CHARACTER SET utf8")


def recreate_vhost(s: Settings) -> None:
    """A fresh RabbitMQ vhost named after the prefix, open to the machine's guest user (127.0.0.1 only)."""
    ctl = ["rabbitmqctl", "-q"]
    subprocess.run([*ctl, "delete_vhost", s.prefix], capture_output=True, check=False)  # absent the first time
    for args in (["add_vhost", s.prefix], ["set_permissions", "-p", s.prefix, "guest", ".*", ".*", ".*"]):
        result = subprocess.run([*ctl, *args], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise StackError(f"rabbitmqctl {' '.join(args)} failed: {result.stderr.strip() or result.stdout.strip()}")


# --- schemas -----------------------------------------------------------------------------------------------------


def _manage(s: Settings, log_name: str, *argv: str | Path) -> None:
    """Run one of the venv's management commands, output appended to logs/<log_name>.log.

    Keystone's steps are the bring-up's critical path (every service needs its users): the others yield the CPU.
    """
    log_file = s.state / "logs" / f"{log_name}.log"
    command = [str(s.venv / "bin" / str(argv[0])), *map(str, argv[1:])]
    if not log_name.startswith("db-keystone"):
        command = ["nice", "-n", "10", *command]
    with log_file.open("ab") as output:
        output.write(f"$ {' '.join(command)}\n".encode())
        output.flush()
        result = subprocess.run(command, stdout=output, stderr=subprocess.STDOUT, check=False, cwd=s.state)
    if result.returncode != 0:
        raise StackError(f"{' '.join(command[:3])} ... failed ({result.returncode}):\n{log_tail(log_file)}")


def _parallel(s: Settings, commands: dict[str, tuple[str | Path, ...]]) -> None:
    """Run management commands at once, each logging to logs/<its name>.log; raise the first failure."""
    with ThreadPoolExecutor(max_workers=len(commands)) as pool:
        futures = [pool.submit(_manage, s, log_name, *argv) for log_name, argv in commands.items()]
        for future in futures:
            future.result()


def _key_repository(path: Path) -> None:
    """What `keystone-manage fernet_setup` (or credential_setup) makes: a staged key 0 and a primary key 1."""
    path.mkdir(mode=0o700, parents=True)
    for name in ("0", "1"):
        key = path / name
        key.write_bytes(base64.urlsafe_b64encode(os.urandom(32)))
        key.chmod(0o600)


def sync_database(s: Settings, service: str) -> None:
    """Make one service's schema (and keystone's keys and bootstrap admin)."""
    etc = s.etc
    if service == "keystone":
        _key_repository(s.data / "keystone" / "fernet-keys")
        _key_repository(s.data / "keystone" / "credential-keys")
        conf = etc / "keystone" / "keystone.conf"
        _manage(s, "db-keystone", "keystone-manage", "--config-file", conf, "db_sync")
        url = configs.KEYSTONE_URL
        urls = ("--bootstrap-admin-url", url, "--bootstrap-internal-url", url, "--bootstrap-public-url", url)
        _manage(s, "db-keystone", "keystone-manage", "--config-file", conf, "bootstrap",
                "--bootstrap-password", s.admin_password, "--bootstrap-region-id", REGION, *urls)  # fmt: skip
    elif service == "placement":
        _manage(s, "db-placement", "placement-manage", "--config-file", etc / "placement/placement.conf", "db", "sync")
    elif service == "nova":
        # The API database and both cells' schemas at once, then the cell mappings (cell0, and cell1 with RabbitMQ).
        manage = ("nova-manage", "--config-file", etc / "nova/nova.conf")
        cell0 = (*manage, "--config-file", etc / "nova/nova-cell0.conf")
        _parallel(
            s,
            {
                "db-nova-api": (*manage, "api_db", "sync"),
                "db-nova-cell1": (*manage, "db", "sync", "--local_cell"),
                "db-nova-cell0": (*cell0, "db", "sync", "--local_cell"),
            },
        )
        cell0_url, cell1_url = s.db_connection("nova_cell0"), s.db_connection("nova")
        _parallel(
            s,
            {
                "db-nova-map-cell0": (*manage, "cell_v2", "map_cell0", "--database_connection", cell0_url),
                "db-nova-create-cell1": (*manage, "cell_v2", "create_cell", "--name", "cell1",
                                         "--database_connection", cell1_url, "--transport-url", s.transport_url),
            },
        )  # fmt: skip
    elif service == "neutron":
        _manage(s, "db-neutron", "neutron-db-manage", "--config-file", etc / "neutron/neutron.conf",
                "--config-file", etc / "neutron/ml2_conf.ini", "upgrade", "heads")  # fmt: skip
    elif service == "glance":
        _manage(s, "db-glance", "glance-manage", "--config-file", etc / "glance/glance-api.conf", "db_sync")
    elif service == "cinder":
        _manage(s, "db-cinder", "cinder-manage", "--config-file", etc / "cinder/cinder.conf", "db", "sync")
    else:
        raise ValueError(service)


# --- keystone catalog ----------------------------------------------------------------------------------------------


def _admin(s: Settings) -> Connection:
    """The bootstrap admin, from these arguments alone (no clouds.yaml, no OS_* variables)."""
    return Connection(
        auth_url=configs.KEYSTONE_URL,
        username="admin",
        password=s.admin_password,
        project_name="admin",
        user_domain_name="Default",
        project_domain_name="Default",
        region_name=REGION,
        identity_api_version="3",
    )


def register_catalog(s: Settings) -> None:
    """The service project, a service user per service (roles admin and service) and the endpoints."""
    conn = _admin(s)
    identity = conn.identity
    project = identity.create_project(name="service", domain_id="default", description="OpenStack's own services")
    roles = {role.name: role for role in identity.roles()}
    if "service" not in roles:
        roles["service"] = identity.create_role(name="service")
    for name in configs.SERVICE_USERS:
        user = identity.create_user(name=name, password=s.service_password, domain_id="default")
        for role in ("admin", "service"):
            identity.assign_project_role_to_user(project, user, roles[role])
    for name, service_type, url in SERVICES:
        service = identity.create_service(name=name, type=service_type)
        for interface in ("public", "internal"):
            identity.create_endpoint(service_id=service.id, interface=interface, url=url, region_id=REGION)


# --- after the processes are up ------------------------------------------------------------------------------------


def _wait(what: str, ready: Callable[[], bool], check: Callable[[], None]) -> None:
    """Poll `ready` until true; `check` raises if a process we depend on has died."""
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        check()
        try:
            if ready():
                return
        except openstack.exceptions.SDKException:
            pass  # the service may answer 503 while it starts
        time.sleep(0.5)
    raise StackError(f"{what} not ready in {READY_TIMEOUT_SECONDS:.0f} s")


def finish(s: Settings, procs: dict[str, subprocess.Popen[bytes]]) -> None:
    """Discover the compute host, wait for the volume backend, then make flavors, the public network and an image."""
    conn = _admin(s)

    def check() -> None:
        for name, proc in procs.items():
            if proc.poll() is not None:
                raise StackError(f"{name} exited ({proc.returncode}):\n{log_tail(s.state / 'logs' / f'{name}.log')}")

    _wait(
        "nova-compute's resource provider",
        lambda: any(conn.placement.resource_providers(name=configs.COMPUTE_HOST)),
        check,
    )
    _manage(s, "nova-discover-hosts", "nova-manage", "--config-file", s.etc / "nova/nova.conf",
            "cell_v2", "discover_hosts", "--verbose")  # fmt: skip
    _wait("the cinder-volume backend", lambda: any(conn.block_storage.backend_pools()), check)
    _seed(conn)


def _seed(conn: Connection) -> None:
    for name, vcpus, ram, disk in FLAVORS:
        conn.compute.create_flavor(name=name, vcpus=vcpus, ram=ram, disk=disk, is_public=True)
    network = conn.network.create_network(
        name="public",
        is_router_external=True,
        provider_network_type="flat",
        provider_physical_network="public",
    )
    conn.network.create_subnet(
        network_id=network.id,
        name="public-subnet",
        ip_version=4,
        cidr=PUBLIC_CIDR,
        gateway_ip="203.0.113.1",
        allocation_pools=[{"start": "203.0.113.10", "end": "203.0.113.250"}],
        is_dhcp_enabled=False,
    )
    image = conn.image.create_image(
        name=IMAGE_NAME,
        data=bytes(1024 * 1024),  # 1 MiB of zeros: the fake hypervisor never reads it
        disk_format="raw",
        container_format="bare",
        visibility="public",
    )
    conn.image.wait_for_status(image, status="active", wait=60)


def write_clouds_yaml(s: Settings, path: Path, cloud: str) -> None:
    """The clouds.yaml the console and the tests read: one admin entry (admin role in project admin)."""
    path.write_text(
        f"""# Written by `make openstack` (tools/openstack); rewritten with new passwords at each rebuild.
clouds:
  {cloud}:
    auth:
      auth_url: {configs.KEYSTONE_URL}
      username: admin
      password: {s.admin_password}
      project_name: admin
      user_domain_name: Default
      project_domain_name: Default
    region_name: {REGION}
    interface: public
    identity_api_version: 3
"""
    )
    path.chmod(0o600)


def connect(clouds_yaml: Path, cloud: str) -> Connection:
    # Only this file: no OS_* variables, no ~/.config/openstack, nothing else of the machine's.
    config = OpenStackConfig(config_files=[str(clouds_yaml)], secure_files=[], vendor_files=[], load_envvars=False)
    return Connection(config=config.get_one(cloud=cloud))


def health_problem(clouds_yaml: Path, cloud: str) -> str | None:
    """None if every service answers and the compute host, volume backend and seed data are there; else why not."""
    try:
        conn = connect(clouds_yaml, cloud)
        conn.authorize()
        down = [f"{svc.binary}" for svc in conn.compute.services() if svc.state != "up"]
        down += [f"{svc.binary}" for svc in conn.block_storage.services() if svc.state != "up"]
        if down:
            return f"services down: {', '.join(down)}"
        if not any(conn.compute.hypervisors()):
            return "no compute host"
        if not any(conn.placement.resource_providers()):
            return "no resource provider in placement"
        if conn.network.find_network("public") is None:
            return "no public network"
        if conn.image.find_image(IMAGE_NAME) is None:
            return f"no image {IMAGE_NAME}"
    except Exception as error:  # any failure to answer means "not healthy", with the reason
        return f"{type(error).__name__}: {error}"
    return None
