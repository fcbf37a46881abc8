"""Subprocesses the tests run against: the ASGI server (daphne) and a Celery worker, both on the test database.

Both are real processes, as in production: daphne serves HTTP and WebSockets, the worker consumes from the test
Redis databases. Their output goes to files under test-results/logs/ so a failing test can be diagnosed.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
OUTPUT_DIR = ROOT / "test-results"
LOG_DIR = OUTPUT_DIR / "logs"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def child_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a child process: test settings, pointed at the test database pytest-django made."""
    db = connection.settings_dict
    url = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = dict(os.environ)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # the child is a real server: keep Django's safety checks
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "HANEUL_DATABASE_URL": url,
            "HANEUL_TEST_DATABASE_NAME": db["NAME"],
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra or {})
    return env


class ManagedProcess:
    """A child process in its own process group, stopped with SIGTERM (then SIGKILL) when the fixture ends."""

    def __init__(self, name: str, args: list[str], env: Mapping[str, str]) -> None:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.log_path = LOG_DIR / f"{name}.log"
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            args, cwd=ROOT, env=dict(env), stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def wait_until(self, ready, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.proc.returncode}) before {what}:\n{self.log_tail()}")
            if ready():
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} did not get to {what} within {timeout} s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()


def start_asgi_server(env: Mapping[str, str]) -> tuple[ManagedProcess, str]:
    port = free_port()
    server = ManagedProcess(
        "daphne",
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "console.asgi:application"],
        env,
    )
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1) as response:  # noqa: S310 (our own server)
                return response.status == 200
        except OSError:
            return False

    server.wait_until(healthy, timeout=30, what="answering /healthz")
    return server, url


def start_celery_worker(env: Mapping[str, str]) -> ManagedProcess:
    worker = ManagedProcess(
        "celery-worker",
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "console",
            "worker",
            "--pool=solo",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            f"--queues={settings.CELERY_TASK_DEFAULT_QUEUE}",
        ],
        env,
    )
    worker.wait_until(lambda: " ready." in worker.log_path.read_text(errors="replace"), 30, "ready")
    return worker
