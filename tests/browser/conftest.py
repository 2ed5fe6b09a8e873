"""Fixtures of the browser tests (defined in browser_harness.py)."""

from browser_harness import browser, page, server, shot

__all__ = ["browser", "page", "server", "shot"]
