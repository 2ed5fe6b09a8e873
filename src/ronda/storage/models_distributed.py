"""Tables: Distributed mode: partition checkpoints and idempotency (issue 8)."""

from __future__ import annotations
