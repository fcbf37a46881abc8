"""The local OpenStack for development and CI: `make openstack` (up), `make openstack-stop` (stop).

    python tools/openstack/stack.py up | stop | status

`up` reuses a healthy stack this clone started; otherwise it stops what is left of it, wipes its databases and
RabbitMQ vhost, and builds it again from nothing (nova's fake compute host cannot be restarted on its own).
State lives in `.openstack/` of the clone: etc/ (configs), logs/, run/ (PID files), data/, clouds.yaml and
stack.json. The OpenStack venv lives outside the clone, in ~/.cache/haneul/, keyed by the hash of what it installs.

The database names and the RabbitMQ vhost come from HANEUL_OPENSTACK_PREFIX (default `haneul_os`). A machine-wide
record of which clone runs the stack of a prefix keeps a second clone from wiping a running stack: it reuses it
when it is healthy, and refuses otherwise.

This file needs only the standard library (`stop` runs anywhere); the commands that talk to OpenStack re-run it in
the OpenStack venv, where `provision.py` can import openstacksdk and PyMySQL.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import configs
from common import StackError, log, log_tail

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
STATE = ROOT / ".openstack"
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "haneul"
PREFIX = os.environ.get("HANEUL_OPENSTACK_PREFIX", "haneul_os")
DB_URL = os.environ.get("HANEUL_OPENSTACK_DB_URL", "mysql+pymysql://root@127.0.0.1:3306")
CLOUD = "haneul-local-admin"
STOP_GRACE_SECONDS = 5.0
API_TIMEOUT_SECONDS = 120.0

# What the venv is built from: a change to any of these makes a new venv (the old one stays until removed).
HARNESS = HERE / "harness"
VENV_INPUTS = [HERE / "requirements.txt", HARNESS / "pyproject.toml", *sorted(HARNESS.glob("haneul_os_harness/*.py"))]
# What the stack is built from: a change to any of these makes the next `up` rebuild the stack.
STACK_INPUTS = [*VENV_INPUTS, *(HERE / name for name in ("stack.py", "common.py", "configs.py", "provision.py"))]


def digest(paths: list[Path], extra: str = "") -> str:
    sha = hashlib.sha256(extra.encode())
    for path in paths:
        sha.update(path.relative_to(HERE).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return sha.hexdigest()[:16]


def venv_path() -> Path:
    return CACHE / f"openstack-venv-{digest(VENV_INPUTS)}"


def stack_fingerprint() -> str:
    return digest(STACK_INPUTS, extra=f"{PREFIX}\0{DB_URL}")


# --- locks and the machine-wide record -------------------------------------------------------------------------


@contextlib.contextmanager
def file_lock(name: str) -> Iterator[None]:
    """An exclusive lock shared by every clone on this machine (two `make test` at once take turns)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / name).open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def owner_record() -> Path:
    """Which clone's .openstack/ runs the stack of this prefix (the ports are machine-wide)."""
    return CACHE / f"openstack-{PREFIX}.owner"


# --- processes -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Service:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    port: int | None = None  # an API answers HTTP here once it is up


def gunicorn(venv: Path, name: str, module: str, config_files: list[Path], workers: int = 1) -> Service:
    """An API under gunicorn on 127.0.0.1, through the argv shim (tools/openstack/harness)."""
    project = name.split("-")[0]
    port = configs.PORTS[project]
    argv = [
        str(venv / "bin" / "gunicorn"),
        f"--bind={configs.HOST}:{port}",
        f"--workers={workers}",
        "--timeout=120",
        "--graceful-timeout=5",
        "--limit-request-line=8190",  # nova asks neutron for the ports of 150 servers in one URL
        "--access-logfile=-",
        f"--name={name}",
        "haneul_os_harness.wsgi:application",
    ]
    env = {
        "HANEUL_OS_WSGI_MODULE": module,
        "HANEUL_OS_WSGI_CONFIG_FILES": ":".join(str(path) for path in config_files),
        # Keystone, placement, glance and nova's paste file are found from the directory instead of argv.
        f"OS_{project.upper()}_CONFIG_DIR": str(config_files[0].parent),
    }
    return Service(name, argv, env, port)


def services(venv: Path, etc: Path) -> dict[str, Service]:
    """Every process of the stack, by name: six APIs under gunicorn and five eventlet services."""

    def daemon(name: str, config: Path) -> Service:
        return Service(name, [str(venv / "bin" / name), f"--config-file={config}"])

    nova, cinder = etc / "nova/nova.conf", etc / "cinder/cinder.conf"
    table = [
        gunicorn(venv, "keystone", "keystone.wsgi.api", [etc / "keystone/keystone.conf"], workers=2),
        gunicorn(venv, "placement", "placement.wsgi.api", [etc / "placement/placement.conf"]),
        gunicorn(venv, "nova-api", "nova.wsgi.osapi_compute", [nova]),
        daemon("nova-conductor", nova),
        daemon("nova-scheduler", nova),
        daemon("nova-compute", etc / "nova/nova-compute.conf"),  # no database URLs: as a real compute host
        gunicorn(venv, "neutron-api", "neutron.wsgi.api", [etc / "neutron/neutron.conf", etc / "neutron/ml2_conf.ini"]),
        gunicorn(venv, "glance-api", "glance.wsgi.api", [etc / "glance/glance-api.conf"]),
        gunicorn(venv, "cinder-api", "cinder.wsgi.api", [cinder]),
        daemon("cinder-scheduler", cinder),
        daemon("cinder-volume", cinder),
    ]
    return {service.name: service for service in table}


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks (tells a live process from a later one with the same PID)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return None if fields[0] in ("Z", "X") else fields[19]


def _read_pid(pid_file: Path) -> int | None:
    """The PID in a PID file if that very process is still alive."""
    try:
        pid_text, started = pid_file.read_text().split()
    except (OSError, ValueError):
        return None
    return int(pid_text) if _start_time(int(pid_text)) == started else None


def live_pids(state: Path) -> dict[str, int]:
    return {path.stem: pid for path in sorted((state / "run").glob("*.pid")) if (pid := _read_pid(path))}


def start(service: Service, state: Path, venv: Path) -> subprocess.Popen[bytes]:
    """Start a service in its own session (process group), output to logs/<name>.log, PID to run/<name>.pid."""
    (state / "logs").mkdir(parents=True, exist_ok=True)
    (state / "run").mkdir(parents=True, exist_ok=True)
    env = {key: value for key, value in os.environ.items() if not key.startswith("OS_")}
    env |= {"PATH": f"{venv / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}", "PYTHONUNBUFFERED": "1", **service.env}
    with (state / "logs" / f"{service.name}.log").open("ab") as output:
        proc = subprocess.Popen(
            service.argv,
            cwd=state,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    (state / "run" / f"{service.name}.pid").write_text(f"{proc.pid} {_start_time(proc.pid)}\n")
    return proc


def stop_processes(state: Path) -> list[str]:
    """SIGTERM every process group this state directory started, SIGKILL what is left after a grace period."""
    groups = live_pids(state)
    for pid in groups.values():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    while time.monotonic() < deadline and any(_group_alive(pid) for pid in groups.values()):
        time.sleep(0.2)
    for pid in groups.values():
        if _group_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
    for pid_file in (state / "run").glob("*.pid"):
        pid_file.unlink()
    return sorted(groups)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    # Zombies of ours (not yet reaped) still count as members: look for a running one.
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            text = stat.read_text()
            fields = text[text.rindex(")") + 2 :].split()
            if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
                return True
    return False


def wait_for_api(service: Service, proc: subprocess.Popen[bytes], state: Path) -> None:
    """Wait until the API answers HTTP (any status); fail with the end of its log if it exits or times out."""
    url = f"http://{configs.HOST}:{service.port}/"
    log_file = state / "logs" / f"{service.name}.log"
    deadline = time.monotonic() + API_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StackError(f"{service.name} exited ({proc.returncode}):\n{log_tail(log_file)}")
        try:
            urllib.request.urlopen(url, timeout=5).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.3)
    raise StackError(f"{service.name} did not answer on {url} in {API_TIMEOUT_SECONDS:.0f} s:\n{log_tail(log_file)}")


# --- the venv ----------------------------------------------------------------------------------------------------


def ensure_venv(venv: Path) -> None:
    """Create the OpenStack venv with uv from the pinned requirements, plus the harness package, if not complete."""
    marker = venv / ".haneul-complete"
    if marker.exists():
        return
    with file_lock(f"{venv.name}.lock"):
        if marker.exists():
            return
        uv = shutil.which("uv", path=str(ROOT / ".venv" / "bin")) or shutil.which("uv")
        if not uv:
            raise StackError("uv is missing: run `make install` first (it puts uv in .venv/bin).")
        log(f"installing the OpenStack venv in {venv} ...")
        began = time.monotonic()
        shutil.rmtree(venv, ignore_errors=True)
        # --system-certs: trust the platform certificate store (a proxy CA), as pip and apt do.
        subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
        python = str(venv / "bin" / "python")
        install = [uv, "pip", "install", "--quiet", "--system-certs", "--python", python]
        subprocess.run([*install, "--requirement", str(HERE / "requirements.txt")], check=True)
        with tempfile.TemporaryDirectory() as build:  # setuptools writes build/ beside the sources: not in the clone
            shutil.copytree(HARNESS, Path(build) / "harness", ignore=shutil.ignore_patterns("build", "*.egg-info"))
            subprocess.run([*install, "--no-deps", str(Path(build) / "harness")], check=True)
        marker.write_text(f"installed in {time.monotonic() - began:.0f} s\n")
        log(f"venv installed in {time.monotonic() - began:.0f} s")


def in_venv(venv: Path) -> bool:
    return Path(sys.prefix).resolve() == venv.resolve()


def reexec_in_venv(venv: Path) -> None:
    ensure_venv(venv)
    python = venv / "bin" / "python"
    os.execv(python, [str(python), str(Path(__file__).resolve()), *sys.argv[1:]])  # noqa: S606


# --- commands ----------------------------------------------------------------------------------------------------


def read_stack(state: Path) -> dict[str, str]:
    try:
        return json.loads((state / "stack.json").read_text())
    except (OSError, ValueError):
        return {}


def settings_for(state: Path, venv: Path, stack: dict[str, str]) -> configs.Settings:
    return configs.Settings(
        prefix=PREFIX,
        state=state,
        venv=venv,
        db_url=DB_URL,
        service_password=stack["service_password"],
        admin_password=stack["admin_password"],
    )


def check_healthy(state: Path) -> str | None:
    """None if the stack of this state directory is complete, current, running and answering; else why not."""
    import provision  # the OpenStack venv only

    stack = read_stack(state)
    if not stack.get("complete"):
        return "no complete stack here"
    if stack.get("fingerprint") != stack_fingerprint():
        return "its scripts, requirements or prefix changed since it was built"
    missing = sorted(set(services(venv_path(), state / "etc")) - set(live_pids(state)))
    if missing:
        return f"not running: {', '.join(missing)}"
    return provision.health_problem(state / "clouds.yaml", CLOUD)


def cmd_up() -> int:
    venv = venv_path()
    if not in_venv(venv):
        reexec_in_venv(venv)
    began = time.monotonic()
    with file_lock(f"openstack-{PREFIX}.lock"):
        other = _other_owner()
        if other is not None:
            return _reuse_other(other)
        problem = check_healthy(STATE)
        if problem is None:
            log(f"reusing the running stack (prefix {PREFIX}); clouds.yaml: {STATE / 'clouds.yaml'}")
            return 0
        if read_stack(STATE) or live_pids(STATE):
            log(f"rebuilding: {problem}")
        stopped = stop_processes(STATE)
        if stopped:
            log(f"stopped {len(stopped)} leftover processes")
        _free_ports_or_fail()
        owner_record().write_text(json.dumps({"state": str(STATE)}) + "\n")
        stack = {
            "prefix": PREFIX,
            "fingerprint": stack_fingerprint(),
            "venv": str(venv),
            "service_password": secrets.token_hex(16),
            "admin_password": secrets.token_hex(16),
        }
        _wipe_state()
        (STATE / "stack.json").write_text(json.dumps(stack, indent=2) + "\n")
        (STATE / "stack.json").chmod(0o600)
        try:
            build(settings_for(STATE, venv, stack))
        except Exception:
            log(f"bring-up failed; logs in {STATE / 'logs'}. Stopping what was started.")
            stop_processes(STATE)
            raise
        stack["complete"] = "yes"
        (STATE / "stack.json").write_text(json.dumps(stack, indent=2) + "\n")
    log(f"up in {time.monotonic() - began:.0f} s; clouds.yaml: {STATE / 'clouds.yaml'} (cloud {CLOUD})")
    return 0


def _other_owner() -> Path | None:
    """Another clone's state directory whose stack of this prefix is running, if any."""
    try:
        other = Path(json.loads(owner_record().read_text())["state"])
    except (OSError, ValueError, KeyError):
        return None
    if other.resolve() == STATE.resolve() or not live_pids(other):
        return None
    return other


def _reuse_other(other: Path) -> int:
    problem = check_healthy(other)
    if problem is not None:
        raise StackError(
            f"the local OpenStack of prefix {PREFIX} was started from another clone ({other.parent}) and is still"
            f" running, but not healthy ({problem}). Stop it there (`make -C {other.parent} openstack-stop`) and run"
            " `make openstack` again."
        )
    STATE.mkdir(exist_ok=True)
    shutil.copyfile(other / "clouds.yaml", STATE / "clouds.yaml")
    (STATE / "clouds.yaml").chmod(0o600)
    log(f"reusing the healthy stack started from {other.parent}; its clouds.yaml is copied to {STATE / 'clouds.yaml'}")
    return 0


def _free_ports_or_fail() -> None:
    import socket

    busy = []
    for name, port in configs.PORTS.items():
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((configs.HOST, port))
            except OSError:
                busy.append(f"{name} {port}")
    if busy:
        raise StackError(
            f"ports in use by processes this clone did not start: {', '.join(busy)}."
            " Find them with `ss -ltnp` and stop them (another OpenStack?), then run `make openstack` again."
        )


def _wipe_state() -> None:
    """Remove the previous stack's configs, data, logs and credentials (the databases are dropped by provision)."""
    for name in ("etc", "data", "logs", "run", "clouds.yaml", "stack.json"):
        path = STATE / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    for name in ("etc", "data", "logs", "run"):
        (STATE / name).mkdir(parents=True)


# What starts once each project's schema is made (and, but for keystone, its service users exist).
AFTER_SCHEMA = {
    "keystone": ["keystone"],
    "placement": ["placement"],
    "nova": ["nova-api", "nova-conductor", "nova-scheduler", "nova-compute"],
    "neutron": ["neutron-api"],
    "glance": ["glance-api"],
    "cinder": ["cinder-api", "cinder-scheduler", "cinder-volume"],
}


def build(s: configs.Settings) -> None:
    """Databases, configs, schemas, processes, catalog and seed data; each project goes on as soon as it can."""
    import provision  # the OpenStack venv only

    provision.recreate_databases(s)
    provision.recreate_vhost(s)
    for path, text in configs.files(s).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    table = services(s.venv, s.etc)
    procs: dict[str, subprocess.Popen[bytes]] = {}
    seconds: dict[str, float] = {}
    began = time.monotonic()
    catalog: Future[None] = Future()  # the service users and endpoints, made once keystone answers

    def bring_up(project: str) -> None:
        provision.sync_database(s, project)
        if project != "keystone":
            catalog.result()  # raises if the catalog failed
        for name in AFTER_SCHEMA[project]:
            procs[name] = start(table[name], s.state, s.venv)
        for name in AFTER_SCHEMA[project]:
            if table[name].port:
                wait_for_api(table[name], procs[name], s.state)
        seconds[project] = time.monotonic() - began

    with ThreadPoolExecutor(max_workers=len(AFTER_SCHEMA)) as pool:
        projects = {project: pool.submit(bring_up, project) for project in AFTER_SCHEMA}
        try:
            projects["keystone"].result()
            provision.register_catalog(s)  # while the other schemas are being made
            catalog.set_result(None)
        except BaseException as error:
            catalog.set_exception(error)
            raise
        seconds["catalog"] = time.monotonic() - began
        for future in projects.values():
            future.result()
    provision.finish(s, procs)
    seconds["compute host and seed data"] = time.monotonic() - began
    provision.write_clouds_yaml(s, s.state / "clouds.yaml", CLOUD)
    log("ready after: " + ", ".join(f"{what} {at:.0f} s" for what, at in sorted(seconds.items(), key=lambda i: i[1])))


def cmd_stop() -> int:
    with file_lock(f"openstack-{PREFIX}.lock"):
        stopped = stop_processes(STATE)
        if STATE.exists() and (stack := read_stack(STATE)):
            stack.pop("complete", None)  # a stopped stack is rebuilt by the next `up`
            (STATE / "stack.json").write_text(json.dumps(stack, indent=2) + "\n")
    log(f"stopped: {', '.join(stopped)}" if stopped else "nothing of this clone was running")
    return 0


def cmd_status() -> int:
    venv = venv_path()
    if not in_venv(venv):
        if not (venv / ".haneul-complete").exists():
            log("no OpenStack venv yet: run `make openstack`")
            return 1
        reexec_in_venv(venv)
    problem = check_healthy(STATE)
    pids = live_pids(STATE)
    rss = sum(_rss_kib(pid) for pid in _group_members(pids.values()))
    log(f"{len(pids)} services, {rss / 1024:.0f} MiB RSS in all")
    log("healthy" if problem is None else f"not healthy: {problem}")
    return 0 if problem is None else 1


def _group_members(pgids: object) -> list[int]:
    wanted = set(pgids)  # type: ignore[call-overload]
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            text = stat.read_text()
            if int(text[text.rindex(")") + 2 :].split()[2]) in wanted:
                members.append(int(stat.parent.name))
    return members


def _rss_kib(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["up", "stop", "status"])
    args = parser.parse_args()
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", PREFIX):
        raise SystemExit("HANEUL_OPENSTACK_PREFIX must be lower-case letters, digits and _ (at most 32).")
    try:
        return {"up": cmd_up, "stop": cmd_stop, "status": cmd_status}[args.command]()
    except (StackError, subprocess.CalledProcessError) as error:
        print(f"openstack: FAILED: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
