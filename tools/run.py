"""Run the console in the foreground: daphne (web), a Celery worker and Celery beat. Ctrl-C stops all three.

If one of them exits, the others are stopped too and this script exits with its code, so a broken start-up is
never half-running. Output lines carry the process's name. Used by `make run`.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
HOST, PORT = os.environ.get("HANEUL_HOST", "127.0.0.1"), os.environ.get("HANEUL_PORT", "8000")
RUN_DIR = ROOT / ".run"

COMMANDS = {
    "web": [str(BIN / "daphne"), "-b", HOST, "-p", PORT, "--proxy-headers", "console.asgi:application"],
    "worker": [
        str(BIN / "celery"),
        "-A",
        "console",
        "worker",
        "--loglevel=INFO",
        "--pool=threads",
        "--concurrency=4",
        "--without-gossip",
        "--without-mingle",
    ],
    "beat": [
        str(BIN / "celery"),
        "-A",
        "console",
        "beat",
        "--loglevel=INFO",
        f"--schedule={RUN_DIR / 'celerybeat-schedule'}",
    ],
}
COLOURS = {"web": "\033[36m", "worker": "\033[35m", "beat": "\033[33m"}
RESET = "\033[0m"


def main() -> int:
    RUN_DIR.mkdir(exist_ok=True)
    tty = sys.stdout.isatty()
    procs: dict[str, subprocess.Popen[bytes]] = {}
    sel = selectors.DefaultSelector()
    for name, cmd in COMMANDS.items():
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        procs[name] = proc
        sel.register(proc.stdout, selectors.EVENT_READ, name)

    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        if stopping:
            return
        stopping = True
        for proc in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    announced = False
    started = time.monotonic()
    exit_code = 0
    open_streams = len(procs)
    while open_streams:
        for key, _ in sel.select(timeout=0.5):
            name = key.data
            line = key.fileobj.readline()
            if not line:
                sel.unregister(key.fileobj)
                open_streams -= 1
                continue
            text = line.decode(errors="replace").rstrip()
            prefix = f"{COLOURS[name]}{name:>6} |{RESET}" if tty else f"{name:>6} |"
            print(f"{prefix} {text}", flush=True)
        for name, proc in procs.items():
            if proc.poll() is not None and not stopping:
                print(f"{name} exited with code {proc.returncode}; stopping the others.", flush=True)
                exit_code = proc.returncode or 1
                stop()
        if not announced and not stopping and time.monotonic() - started > 0.5:
            announced = _announce_when_healthy(started)
    deadline = time.monotonic() + 10
    for proc in procs.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    return exit_code


def _announce_when_healthy(started: float) -> bool:
    try:
        with urllib.request.urlopen(f"http://{HOST}:{PORT}/healthz", timeout=0.5) as response:
            if response.status != 200:
                return False
    except OSError:
        return False
    logins = RUN_DIR / "logins.txt"
    print("\n" + "=" * 78)
    print(f"  Haneul is running at http://{HOST}:{PORT}/  (ready in {time.monotonic() - started:.1f} s)")
    if logins.exists():
        print("  " + logins.read_text().strip().replace("\n", "\n  "))
    print("  Press Ctrl-C to stop the web server, the worker and beat.")
    print("=" * 78 + "\n", flush=True)
    return True


if __name__ == "__main__":
    sys.exit(main())
