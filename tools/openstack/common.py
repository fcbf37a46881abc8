"""What stack.py and provision.py share: the error that stops a bring-up, and how both report."""

from __future__ import annotations

from pathlib import Path


class StackError(RuntimeError):
    """The stack cannot be brought up or stopped; the message says why and what to do."""


def log(message: str) -> None:
    print(f"openstack: {message}", flush=True)


def log_tail(path: Path, lines: int = 30) -> str:
    """The end of a log file, indented, to put in an error message."""
    text = path.read_text(errors="replace") if path.exists() else "(no log)"
    return "\n".join(f"    {line}" for line in text.splitlines()[-lines:]) + f"\n  (full log: {path})"
