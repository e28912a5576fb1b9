"""A real SMTP server on loopback (aiosmtpd) that the e-mail tests can make refuse, reject or stall."""

from __future__ import annotations

import asyncio
import email
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller

from devstack.processes import free_port


@dataclass
class Mailbox:
    """What the server received, and how it should answer the next messages."""

    messages: list[Message] = field(default_factory=list)
    refuse_next: int = 0  # answer DATA with a 451 this many times
    rejected_addresses: set[str] = field(default_factory=set)  # answer RCPT with a 550
    # Stall the next "RCPT" (before the client hands the message over) or "DATA" (the message is
    # in the mailbox, its 250 never comes: delivered, and the client cannot know).
    stall_next: str = ""
    stalled: threading.Event = field(default_factory=threading.Event)
    refused: int = 0

    async def _stall(self) -> None:
        self.stall_next = ""
        self.stalled.set()
        await asyncio.sleep(60)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.stall_next == "RCPT":
            await self._stall()
            return "451 4.4.2 Timed out"
        if address in self.rejected_addresses:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.stall_next == "DATA":
            self.messages.append(email.message_from_bytes(envelope.content))
            await self._stall()
            return "451 4.4.2 Timed out"
        if self.refuse_next > 0:
            self.refuse_next -= 1
            self.refused += 1
            return "451 4.3.0 Try again later"
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def wait_for(
        self, count: int, timeout: float = 30.0, what: Callable[[Message], bool] = lambda m: True
    ) -> list[Message]:
        """The messages matching ``what`` once there are ``count`` of them; fails after ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [message for message in list(self.messages) if what(message)]
            if len(found) >= count:
                return found
            time.sleep(0.1)
        raise AssertionError(f"{count} e-mails expected within {timeout} s, got {len(found)}: {subjects(found)}")


def subjects(messages: list[Message]) -> list[str]:
    return [str(email.header.make_header(email.header.decode_header(m["Subject"]))) for m in messages]


def body(message: Message, kind: str = "text/plain") -> str:
    """The decoded ``kind`` part of ``message``."""
    for part in message.walk():
        if part.get_content_type() == kind:
            return part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
    raise AssertionError(f"no {kind} part")


class MailServer:
    """aiosmtpd's Controller (its own thread and loop) on a free loopback port."""

    def __init__(self) -> None:
        self.mailbox = Mailbox()
        self.port = free_port()
        self._controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> MailServer:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()
