"""Tables: Users, sessions, the audit chain, legal holds (issue 6)."""

from __future__ import annotations
