"""E-mail sent by a server subprocess, read back from the files Django's file-based backend writes."""

from __future__ import annotations

import email
import re
from email.message import Message
from email.policy import default
from pathlib import Path

SEPARATOR = "-" * 79


class Mailbox:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def clear(self) -> None:
        for path in self.folder.glob("*.log"):
            path.unlink()

    def messages(self) -> list[Message]:
        found: list[Message] = []
        for path in sorted(self.folder.glob("*.log"), key=lambda p: p.stat().st_mtime):
            for chunk in path.read_text(encoding="utf-8").split(SEPARATOR):
                if chunk.strip():
                    found.append(email.message_from_string(chunk.lstrip("\n"), policy=default))
        return found

    def messages_to(self, address: str) -> list[Message]:
        return [m for m in self.messages() if address in (m.get("To") or "")]

    @staticmethod
    def body(message: Message) -> str:
        part = message.get_body(preferencelist=("plain", "html")) if message.is_multipart() else message
        return part.get_content()

    def links_to(self, address: str) -> list[str]:
        return [
            link
            for message in self.messages_to(address)
            for link in re.findall(r"https?://[^\s\"'<>]+", self.body(message))
        ]
