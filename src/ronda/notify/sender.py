"""Sending one message through Apprise."""

from __future__ import annotations

import logging
from typing import Protocol

import apprise

from ronda.errors import RondaError
from ronda.notify.channels import redact


class DeliveryError(RondaError):
    pass


class Sender(Protocol):
    def send(self, url: str, subject: str, body: str) -> None:
        """Deliver or raise `DeliveryError` (says why)."""
        ...


class AppriseSender:
    """One Apprise notification per message (blocking: call it from a thread)."""

    def send(self, url: str, subject: str, body: str) -> None:
        ap = apprise.Apprise()
        if not ap.add(url):
            raise DeliveryError(f"not a usable Apprise URL: {redact(url)}")
        with apprise.LogCapture(level=logging.WARNING) as logs:  # type: ignore[no-untyped-call]
            ok = ap.notify(body=body, title=subject)
        if not ok:
            raw = logs.getvalue() if hasattr(logs, "getvalue") else ""
            # Apprise's lines are "<time> - <LEVEL> - <text>": keep the text
            lines = [line.split(" - ", 2)[-1].strip() for line in raw.splitlines() if line.strip()]
            raise DeliveryError("; ".join(lines)[-800:] or f"delivery to {redact(url)} failed")
