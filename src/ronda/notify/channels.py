"""From an outbox target (``channel:address``) to the Apprise URL that sends it.

``url:`` targets are Apprise URLs already (``json://host/hook``, ``mailto://...``);
other channels are looked up in ``[channels]``, where ``{to}`` is replaced by
the address. The message's idempotency key rides along as a header
(``X-Ronda-Idempotency-Key``) on the channels that carry headers (email and
the JSON/XML/form webhooks), so a receiver can drop a repeat."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

from ronda.errors import RondaError

IDEMPOTENCY_HEADER = "X-Ronda-Idempotency-Key"
_HEADER_SCHEMES = ("json", "jsons", "xml", "xmls", "form", "forms", "mailto", "mailtos")


class ChannelError(RondaError):
    """A target that cannot be sent: unknown channel, bad address."""


def apprise_url(target: str, channels: Mapping[str, str], key: str | None = None) -> str:
    channel, sep, address = target.partition(":")
    if not sep or not address:
        raise ChannelError(f"target {target!r} is not channel:address")
    if channel == "url":
        url = address
    else:
        template = channels.get(channel)
        if template is None:
            raise ChannelError(f"no channel {channel!r} configured in [channels]")
        if "{to}" not in template:
            raise ChannelError(f"channel {channel!r}: its URL has no {{to}} for the address")
        url = template.replace("{to}", quote(address, safe="@+"))
    scheme = url.split("://", 1)[0].lower()
    if key is not None and scheme in _HEADER_SCHEMES:
        url += ("&" if "?" in url else "?") + f"+{IDEMPOTENCY_HEADER}={quote(key, safe='')}"
    return url


def redact(url: str) -> str:
    """The URL without credentials, for logs and errors."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    host = rest.split("@", 1)[-1]
    return f"{scheme}://{host.split('?', 1)[0]}"
