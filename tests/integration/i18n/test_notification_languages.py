"""A protected person is warned in her own language: Portuguese here, with a
real SMTP server; the police contact, who speaks Spanish, gets the same alert
in Spanish over a real webhook. Times are written each reader's way, in the
order's time zone, with the zone shown; severities and types in their words."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from sqlalchemy import Engine as DbEngine
from tests.integration.alerts.conftest import (  # noqa: F401 (fixtures)
    HOME,
    NEAR,
    Mailbox,
    Webhook,
    approach,
    build_world,
    db,
    mailbox,
    wait_for,
    webhook,
)

from ronda.alerts.policy import AlertPolicy, ChainLink
from ronda.notify.config import NotifyConfig
from ronda.notify.runtime import AlertsRuntime
from ronda.pipeline.service import LiveService, ServiceConfig

pytestmark = pytest.mark.asyncio

MADRID = ZoneInfo("Europe/Madrid")  # the order's zone (build_world)


@pytest_asyncio.fixture
async def running(db: DbEngine, mailbox: Mailbox, webhook: Webhook) -> AsyncIterator[LiveService]:  # noqa: F811
    build_world(db, webhook.url("/police"), victim_language="pt-PT", police_language="es")
    svc = LiveService(db, config=ServiceConfig(tick_s=0.2))
    cfg = NotifyConfig(
        policy=AlertPolicy(
            centre_phone="+351 210 000 000",
            chains={"default": (ChainLink("operator", (webhook.url("/desk"),), language="pt"),)},
        ),
        channels={"email": f"mailto://127.0.0.1:{mailbox.port}?from=ronda@centro.example&to={{to}}"},
        poll_s=0.2,
    )
    rt = AlertsRuntime(db, svc, cfg)
    await svc.start()
    await rt.start()
    yield svc
    await rt.stop()
    await svc.stop()


async def test_the_protected_person_is_warned_in_portuguese(
    running: LiveService,
    mailbox: Mailbox,  # noqa: F811
    webhook: Webhook,  # noqa: F811
) -> None:
    now = time.time()
    await running.sink.accept(approach(now))
    await wait_for(
        lambda: mailbox.to("ana@example.org") and webhook.at("/police") and webhook.at("/desk"),
        15.0,
        "the protected person's, the police's and the desk's messages",
    )

    (mail,) = mailbox.to("ana@example.org")
    assert mail["Subject"] == "Ronda: alerta de segurança"
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Ana, a pessoa abrangida pela sua medida de proteção está perto de si" in text
    assert "Dirija-se já a um local seguro. A polícia já foi avisada." in text
    assert "+351 210 000 000" in text and "Bruno" not in text
    for english in ("Ronda: safety alert", "near you", "police", "call"):
        assert english not in text
    # when: the Portuguese way, in the order's zone (Madrid), with the zone shown
    found = re.search(r"\((\d{2})/(\d{2})/(\d{4}) (\d{2}):(\d{2}) (CES?T)\)", text)  # as in Portugal
    assert found, text
    day, month, year, hour, minute, zone = found.groups()
    local = dt.datetime(int(year), int(month), int(day), int(hour), int(minute), tzinfo=MADRID)
    assert zone == local.tzname()
    started = dt.datetime.fromtimestamp(now, MADRID)
    assert abs((local - started).total_seconds()) < 5 * 60  # the episode began within the approach

    # the police, in Spanish, with the severity in Spanish words
    (police,) = webhook.at("/police")
    assert police.body["title"].startswith("Ronda: alerta de proximidad #")
    assert "Bruno Díaz está dentro de la distancia de alejamiento de Ana" in police.body["message"]
    assert "Gravedad: crítica" in police.body["message"]
    assert re.search(r"\d{1,2} \w+ \d{4} \d{1,2}:\d{2} CES?T", police.body["message"]), police.body["message"]

    # the operator desk (Portuguese): type and severity in Portuguese words, not codes
    desk = webhook.at("/desk")[0].body
    assert "Novo alerta crítico" in desk["message"] and "(proximidade)" in desk["message"], desk
