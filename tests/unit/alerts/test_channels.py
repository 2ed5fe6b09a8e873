"""From `channel:address` to the Apprise URL: the channel's template with the
address in, the idempotency key as a header where the channel carries
headers, and clear errors for what cannot be sent."""

from __future__ import annotations

import pytest

from ronda.notify.channels import ChannelError, apprise_url, redact

CHANNELS = {
    "email": "mailtos://u:p@smtp.example:465?from=r@example.org&to={to}",
    "sms": "twilio://sid:tok@+1555/{to}",
    "broken": "mailto://smtp.example",
}


def test_addresses_become_apprise_urls() -> None:
    assert (
        apprise_url("email:a+b@x.org", CHANNELS)
        == "mailtos://u:p@smtp.example:465?from=r@example.org&to=a+b@x.org"
    )
    assert (
        apprise_url("sms:+34600000000", CHANNELS, "k1") == "twilio://sid:tok@+1555/+34600000000"
    )  # no headers there
    assert apprise_url("url:json://h:8/hook", CHANNELS, "alert-1/x/2") == (
        "json://h:8/hook?+X-Ronda-Idempotency-Key=alert-1%2Fx%2F2"
    )
    assert apprise_url("url:json://h/hook?a=1", CHANNELS, "k").endswith("?a=1&+X-Ronda-Idempotency-Key=k")
    assert apprise_url("email:a@x.org", CHANNELS, "k").endswith("&+X-Ronda-Idempotency-Key=k")
    # an address cannot smuggle parameters into the URL
    assert "&bcc" not in apprise_url("email:a@x.org&bcc=eve@evil.example", CHANNELS)


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("pigeon:loft-3", "no channel 'pigeon' configured"),
        ("broken:a@x.org", "its URL has no {to}"),
        ("email", "is not channel:address"),
        ("email:", "is not channel:address"),
    ],
)
def test_what_cannot_be_sent_says_why(target: str, message: str) -> None:
    with pytest.raises(ChannelError, match=message.replace("{", r"\{").replace("}", r"\}")):
        apprise_url(target, CHANNELS)


def test_errors_and_logs_never_show_credentials() -> None:
    assert redact("mailtos://u:secret@smtp.example:465?to=a@x.org") == "mailtos://smtp.example:465"
