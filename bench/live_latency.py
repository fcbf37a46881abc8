"""Live updates at scale: from the commit of a server's status change to each watching browser's WebSocket frame.

    .venv/bin/python bench/live_latency.py                 # 200 changes, 50 watchers, 20 s idle first (~1 min)
    .venv/bin/python bench/live_latency.py --changes 50 --idle 0
    .venv/bin/python bench/live_latency.py --debug         # with HANEUL_DEBUG as set (default: DEBUG off)

Needs the seeded data (`bench/seed_servers.py`) in the console's database (HANEUL_DATABASE_URL) and the console's
Redis (HANEUL_REDIS_URL; the channel layer). It sets its own environment as bench/server_pages.py does: DEBUG off as
in production (`--debug` keeps HANEUL_DEBUG), a throwaway secret key, plain HTTP, no static manifest. What it does:

1. signs in the 50 seeded members of `bench-big` (`bench-user-NN@bench.localhost`: owners, admins, members and
   viewers, in English and Korean) with database sessions made here, as a login would;
2. starts the real server, daphne with `console.asgi`, on a free port in a subprocess (instrumented to count the
   templates it renders and the SQL queries it runs; nothing else changes);
3. connects one real WebSocket client per user (autobahn) to the live channel of the project `bench-big/big`
   (20,000 servers), as its list and server pages do, and leaves them idle for `--idle` seconds (a socket that drops
   meanwhile is reported: the channel layer must not lose idle sockets);
4. changes servers' statuses 200 times with `Server.transition` (a real commit here, in this process): running
   servers go to REBOOTING and back to ACTIVE, both powered-on statuses, so no usage is metered (the script checks
   that no `UsageEvent` was written); every change waits until each client received the frame that names the
   server with its new status (or `--timeout`);
5. prints the latency of every (client, change) pair (commit -> frame received) as p50 / p95 / max, the frames
   missed, the sockets dropped, and per change what the server rendered and queried;
6. restores what it changed: each server's status, pending operation and `updated_at`; deletes its sessions.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def configure(debug: bool) -> None:
    """The environment the console's settings read (this process's and the server's, which inherits it), before
    Django starts: production-like unless `debug` (as bench/server_pages.py)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
    if not debug:
        os.environ["HANEUL_DEBUG"] = "0"
        os.environ.setdefault("HANEUL_SECRET_KEY", "bench-only-secret-key-not-for-production-0123456789")
        os.environ["HANEUL_HTTPS"] = "0"  # the clients speak plain HTTP and WebSocket
        os.environ["HANEUL_STATIC_MANIFEST"] = "0"  # no collectstatic needed
    else:
        os.environ.setdefault("HANEUL_DEBUG", "1")
    hosts = [h for h in os.environ.get("HANEUL_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]
    os.environ["HANEUL_ALLOWED_HOSTS"] = ",".join(dict.fromkeys([*hosts, "127.0.0.1"]))  # the clients' Origin
    os.environ.setdefault("HANEUL_LOG_LEVEL", "WARNING")


if "--serve" not in sys.argv:  # the server (a child of this script) inherits the environment as configured
    configure(debug="--debug" in sys.argv)

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import transaction  # noqa: E402

BIG_ORG, BIG_PROJECT = "bench-big", "big"
EMAIL_DOMAIN = "@bench.localhost"
WATCHED_TEMPLATES = ("infra/servers/_list_live.html", "infra/servers/_detail_live.html")


# --- the server (a subprocess of this script: `--serve`) ------------------------------------------------------------


def serve(port: int, stats_path: str) -> None:
    """Run daphne on `console.asgi` in this process, counting the templates rendered and the SQL queries run (by
    every thread); SIGUSR1 writes the counts to `stats_path` as JSON and starts them again from zero."""
    from daphne.cli import CommandLineInterface
    from django.db.backends.signals import connection_created
    from django.template import base

    counts: Counter[str] = Counter()
    lock = threading.Lock()
    render = base.Template.render

    def counting_render(self: base.Template, context: Any) -> Any:
        with lock:
            counts[f"template:{self.origin.template_name}"] += 1
        return render(self, context)

    def counting_execute(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        with lock:
            counts["sql"] += 1
        return execute(sql, params, many, context)

    def on_connection(sender: Any, connection: Any, **kwargs: Any) -> None:
        connection.execute_wrappers.append(counting_execute)

    def dump(signum: int, frame: Any) -> None:
        with lock:
            snapshot = dict(counts)
            counts.clear()
        Path(stats_path).write_text(json.dumps(snapshot))

    base.Template.render = counting_render  # type: ignore[method-assign]
    connection_created.connect(on_connection, weak=False)
    signal.signal(signal.SIGUSR1, dump)
    CommandLineInterface().run(["-b", "127.0.0.1", "-p", str(port), "console.asgi:application"])


# --- the watchers ----------------------------------------------------------------------------------------------------


@dataclass
class Change:
    index: int
    server_id: str
    status: str
    committed: float = 0.0
    received: dict[int, float] = field(default_factory=dict)


class Watchers:
    """What the clients saw, written by the event loop's thread and read by the main one."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.lock = threading.Lock()
        self.opened: set[int] = set()
        self.closed: dict[int, tuple[int | None, str]] = {}
        self.frames = 0
        self.current: Change | None = None
        self.all_received = threading.Event()
        self.all_opened = threading.Event()
        self.all_closed = threading.Event()
        self.protocols: dict[int, Any] = {}

    def on_open(self, client: int, protocol: Any) -> None:
        with self.lock:
            self.opened.add(client)
            self.protocols[client] = protocol
            if len(self.opened) == self.n:
                self.all_opened.set()

    def on_close(self, client: int, code: int | None, reason: str) -> None:
        with self.lock:
            self.closed[client] = (code, reason or "")
            self.opened.discard(client)
            if not self.opened:
                self.all_closed.set()

    def on_message(self, client: int, text: str, at: float) -> None:
        with self.lock:
            self.frames += 1
            change = self.current
            if change is None or client in change.received:
                return
            if change.server_id in text and f'data-status="{change.status}"' in text:
                change.received[client] = at
                if len(change.received) >= len(self.opened):
                    self.all_received.set()

    def expect(self, change: Change) -> None:
        with self.lock:
            self.current = change
            self.all_received.clear()


def run_clients(url: str, cookies: list[str], origin: str, watchers: Watchers) -> None:
    """Connect the clients and run Twisted's reactor (daphne, loaded with the console's apps, has installed it and
    made autobahn use Twisted) in this thread until `stop_clients`."""
    from autobahn.twisted.websocket import WebSocketClientFactory, WebSocketClientProtocol, connectWS
    from twisted.internet import reactor

    class Watcher(WebSocketClientProtocol):
        def onOpen(self) -> None:
            watchers.on_open(self.factory.index, self)

        def onMessage(self, payload: bytes, is_binary: bool) -> None:
            watchers.on_message(self.factory.index, payload.decode("utf-8"), time.perf_counter())

        def onClose(self, was_clean: bool, code: int | None, reason: str | None) -> None:
            watchers.on_close(self.factory.index, code, reason or "")

    for index, cookie in enumerate(cookies):
        factory = WebSocketClientFactory(url, headers={"Cookie": cookie, "Origin": origin})
        factory.protocol = Watcher
        factory.index = index
        factory.setProtocolOptions(utf8validateIncoming=False)
        connectWS(factory)
    reactor.run(installSignalHandlers=False)


def stop_clients(watchers: Watchers) -> None:
    """Close every socket as a browser leaving the page does (the consumers leave their groups), then stop."""
    from twisted.internet import reactor

    if not reactor.running:
        return
    with watchers.lock:
        protocols = [watchers.protocols[i] for i in watchers.opened]
    for protocol in protocols:
        reactor.callFromThread(protocol.sendClose, 1000)
    if protocols:
        watchers.all_closed.wait(5)
        time.sleep(1)  # the server answers the close at once, then its consumers leave their groups
    reactor.callFromThread(reactor.stop)


# --- the benchmark ---------------------------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sign_in(users: list[Any]) -> list[str]:
    """A database session per user, made as a login makes it; returns their session keys."""
    from django.test import Client

    keys = []
    for user in users:
        client = Client()
        client.force_login(user)
        keys.append(client.cookies[settings.SESSION_COOKIE_NAME].value)
    return keys


def start_server(port: int, stats_path: str, log_path: str) -> subprocess.Popen[bytes]:
    log = open(log_path, "w")  # noqa: SIM115 (the child writes to it until it stops)
    proc = subprocess.Popen(  # noqa: S603 (our own script)
        [sys.executable, __file__, "--serve", str(port), "--stats", stats_path],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"daphne exited ({proc.returncode}); see {log_path}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.terminate()
    raise SystemExit(f"daphne did not answer within 30 s; see {log_path}")


def server_stats(proc: subprocess.Popen[bytes], stats_path: str) -> dict[str, int]:
    """The server's counts since the last call (and start again from zero)."""
    path = Path(stats_path)
    path.unlink(missing_ok=True)
    os.kill(proc.pid, signal.SIGUSR1)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_size:
            try:
                return json.loads(path.read_text())
            except json.JSONDecodeError:
                pass
        time.sleep(0.02)
    return {}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=200, help="status changes to measure (default 200)")
    parser.add_argument("--clients", type=int, default=50, help="connected watchers (at most 50; default 50)")
    parser.add_argument("--idle", type=float, default=20, help="seconds the sockets stay idle first (default 20)")
    parser.add_argument("--timeout", type=float, default=5, help="seconds a change waits for its frames (default 5)")
    parser.add_argument("--debug", action="store_true", help="keep HANEUL_DEBUG (default: DEBUG off, as in production)")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--stats", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.stats)
        return 0

    from django.contrib.sessions.models import Session

    from billing.models import UsageEvent
    from infra.models import Server
    from infra.providers.base import Status
    from tenants.models import Membership, Project

    project = Project.objects.filter(organization__slug=BIG_ORG, slug=BIG_PROJECT).select_related("organization")
    project = project.first()
    if project is None:
        raise SystemExit("no seeded data: run bench/seed_servers.py first")
    members = list(
        Membership.objects.filter(organization=project.organization, user__email__startswith="bench-user-")
        .select_related("user")
        .order_by("user__email")[: args.clients]
    )
    if len(members) < args.clients:
        raise SystemExit(f"only {len(members)} seeded watchers (bench-user-NN{EMAIL_DOMAIN}); re-run the seed")
    users = [m.user for m in members]
    n_servers = (args.changes + 1) // 2
    servers = list(
        Server.objects.filter(project=project, status=Status.ACTIVE, locked=False).order_by("name")[:n_servers]
    )
    if len(servers) < n_servers:
        raise SystemExit(f"only {len(servers)} running servers in {BIG_ORG}/{BIG_PROJECT}")
    originals = {s.pk: (s.status, s.pending, s.updated_at) for s in servers}
    usage_before = UsageEvent.objects.filter(project=project).count()

    variants = Counter((m.role, m.user.language or "-", m.user.time_zone or "-") for m in members)
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="live-latency-"))
    stats_path, log_path = str(workdir / "stats.json"), str(workdir / "daphne.log")
    keys = sign_in(users)
    proc = None
    changes: list[Change] = []
    idle_drops: dict[int, tuple[int | None, str]] = {}
    stats: dict[str, int] = {}
    watchers = Watchers(args.clients)
    try:
        proc = start_server(port, stats_path, log_path)
        url = f"ws://127.0.0.1:{port}/ws/live/project/{project.pk}/"
        cookies = [f"{settings.SESSION_COOKIE_NAME}={key}" for key in keys]
        thread = threading.Thread(
            target=run_clients, args=(url, cookies, f"http://127.0.0.1:{port}", watchers), daemon=True
        )
        thread.start()
        if not watchers.all_opened.wait(30):
            raise SystemExit(f"only {len(watchers.opened)} of {args.clients} sockets opened; see {log_path}")
        print(
            f"{args.clients} watchers on {BIG_ORG}/{BIG_PROJECT} ({Server.objects.filter(project=project).count():,}"
            f" servers) through daphne on :{port}; DEBUG={settings.DEBUG}"
        )
        print(
            "watchers by (role, language, time zone): "
            + ", ".join(f"{role}/{lang}/{zone}: {n}" for (role, lang, zone), n in sorted(variants.items()))
        )
        if args.idle:
            time.sleep(args.idle)
            idle_drops = dict(watchers.closed)
            print(
                f"idle {args.idle:.0f} s: {args.clients - len(idle_drops)} of {args.clients} sockets still open"
                + (f"; dropped: {sorted(Counter(c for c, _r in idle_drops.values()).items())}" if idle_drops else "")
            )
        # Warm up (imports, template loading, connections), then count from zero.
        warm = servers[0]
        for to, pending in ((Status.REBOOTING, {"op": "reboot"}), (Status.ACTIVE, {})):
            change = Change(-1, str(warm.pk), to)
            watchers.expect(change)
            warm.transition(to, pending=pending)
            watchers.all_received.wait(args.timeout)
        server_stats(proc, stats_path)

        for index in range(args.changes):
            server = servers[index // 2]
            to, pending, allowed = (
                (Status.REBOOTING, {"op": "reboot"}, {Status.ACTIVE})
                if index % 2 == 0
                else (Status.ACTIVE, {}, {Status.REBOOTING})
            )
            change = Change(index, str(server.pk), to)
            changes.append(change)
            watchers.expect(change)

            def committed(change: Change = change) -> None:
                change.committed = time.perf_counter()

            with transaction.atomic():
                transaction.on_commit(committed)  # runs first, before the transition's publish
                if not server.transition(to, allowed=allowed, pending=pending):
                    raise SystemExit(f"{server.name} was not {allowed}: did something else change it?")
            watchers.all_received.wait(args.timeout)
        time.sleep(0.2)
        stats = server_stats(proc, stats_path)
        dropped = {c: v for c, v in watchers.closed.items() if c not in idle_drops}
        frames = watchers.frames
    finally:
        stop_clients(watchers)
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        for server in servers:
            status, pending, updated_at = originals[server.pk]
            Server.objects.filter(pk=server.pk).update(status=status, pending=pending, updated_at=updated_at)
        Session.objects.filter(session_key__in=keys).delete()
    errors = Path(log_path).read_text(errors="replace").count("Exception inside application")
    shutil.rmtree(workdir)

    latencies = [
        (at - change.committed) * 1000 for change in changes for at in change.received.values() if change.committed
    ]
    expected = args.changes * args.clients
    missed = expected - len(latencies)
    print(
        f"{args.changes} changes x {args.clients} watchers: {len(latencies)} frames measured, {missed} missed"
        f" (no frame within {args.timeout:.0f} s), {len(dropped)} sockets dropped during the changes"
        + (f" {sorted(Counter(c for c, _r in dropped.values()).items())}" if dropped else "")
        + f"; {frames} frames in all; {errors} consumer crashes in the server's log"
    )
    if latencies:
        print(
            f"latency commit -> frame received (ms): p50 {statistics.median(latencies):.1f}"
            f"  p95 {percentile(latencies, 95):.1f}  max {max(latencies):.1f}"
        )
        firsts = [(min(c.received.values()) - c.committed) * 1000 for c in changes if c.received]
        lasts = [(max(c.received.values()) - c.committed) * 1000 for c in changes if c.received]
        print(
            f"per change, first watcher (ms): p50 {statistics.median(firsts):.1f}  p95 {percentile(firsts, 95):.1f};"
            f"  last watcher: p50 {statistics.median(lasts):.1f}  p95 {percentile(lasts, 95):.1f}"
            f"  max {max(lasts):.1f}"
        )
    per_change = {name: n / args.changes for name, n in stats.items()}
    renders = {name: per_change.get(f"template:{name}", 0.0) for name in WATCHED_TEMPLATES}
    print(
        "server side, per change: "
        + ", ".join(f"{name} rendered {n:.1f}x" for name, n in renders.items())
        + f"; {per_change.get('sql', 0.0):.1f} SQL queries"
        + f" ({len(variants)} (role, language, time zone) variants among the watchers)"
    )
    usage_after = UsageEvent.objects.filter(project=project).count()
    restored = sum(
        1
        for pk, status, pending in Server.objects.filter(pk__in=originals).values_list("pk", "status", "pending")
        if (status, pending) == originals[pk][:2]
    )
    print(
        f"clean-up: {restored} of {len(originals)} servers restored (status, pending, updated_at); usage events"
        f" written: {usage_after - usage_before} (REBOOTING <-> ACTIVE is not metered); {len(keys)} sessions deleted"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
