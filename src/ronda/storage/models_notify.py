"""Tables: Alert workflow extras: notification outbox, escalation, protocols (issue 7)."""

from __future__ import annotations
