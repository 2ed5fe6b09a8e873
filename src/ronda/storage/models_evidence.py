"""Tables: Evidence: correlation runs, compliance decisions (issue 9)."""

from __future__ import annotations
