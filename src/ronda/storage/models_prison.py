"""Tables: Facilities, readers, wristbands, headcounts (issue 10)."""

from __future__ import annotations
