"""The monitoring centre in its users' languages, in a real browser: a
Spanish-speaking and a Portuguese-speaking operator sign in (their browser
says English) and find the alert queue, an alert and the person's page
entirely in their own language, with the domain's words (exclusión /
exclusão, toque de queda / recolher obrigatório) and instants written
their way in the order's time zone, the zone named."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import httpx
import pytest
from browser_harness import PARK_CENTRE, PASSWORD, START, Server, walk

# English words that must not be left on a translated screen.
ENGLISH = (
    "Alert queue",
    "Acknowledge",
    "waiting",
    "target",
    "Severity",
    "Owner",
    "Persons",
    "Devices",
    "Sign out",
    "Order and rules",
    "Timeline",
    "must stay out",
    "episode",
    "raised",
    "Load trail",
)

WORDS = {
    "es": {
        "queue": "Cola de alertas",
        "nav": ["En vivo", "Personas", "Zonas", "Dispositivos", "Cerrar sesión"],
        "filters": ["Estado", "Gravedad", "Tipo", "Responsable"],
        "alert": ["exclusión", "nueva", "en espera", "plazo", "generada"],
        "ack": "Reconocer la alerta {id}",
        "person": [
            "Orden y reglas",
            "Zona de exclusión: no debe ingresar a la zona Retiro park (z-park)",
            "Cronología (30 días)",
            "episodio de exclusión desde",
            "Zonas y reproducción del recorrido",
            "Cargar recorrido",
            "Persona monitoreada",
        ],
        "months": r"(ene|feb|mar|abr|may|jun|jul|ago|sept?|oct|nov|dic)",
    },
    "pt": {
        "queue": "Fila de alertas",
        "nav": ["Em direto", "Pessoas", "Zonas", "Dispositivos", "Terminar sessão"],
        "filters": ["Estado", "Gravidade", "Tipo", "Responsável"],
        "alert": ["exclusão", "novo", "em espera", "prazo", "gerado"],
        "ack": "Reconhecer o alerta {id}",
        "person": [
            "Decisão e regras",
            "Zona de exclusão: não pode entrar na zona Retiro park (z-park)",
            "Cronologia (30 dias)",
            "episódio de exclusão desde",
            "Zonas e reprodução do percurso",
            "Carregar percurso",
            "Pessoa vigiada",
        ],
        "months": None,  # as written in Portugal: 29/11/2026
    },
}


@pytest.fixture(scope="module")
def speakers(server: Server) -> dict[str, str]:
    """An operator who speaks Spanish and one who speaks Portuguese, and an
    exclusion alert for them to find."""
    if not server.users:
        pytest.skip("the server has no user accounts")
    with server.client() as c:
        agency = c.get("/agencies").json()[0]["id"]
        for name, lang in (("sofia", "es"), ("joao", "pt"), ("marta", "pt")):
            body = {
                "username": name,
                "password": PASSWORD,
                "role": "operator",
                "display_name": name.title(),
                "agency_id": agency,
                "language": lang,
            }
            r = c.post("/users", json=body)
            assert r.status_code < 300, r.text
    t0 = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=90)
    server.report("tag-walker", walk(START, PARK_CENTRE, 10, t0, 10))
    return {"es": "sofia", "pt": "joao"}


def _sign_in(page: Any, server: Server, username: str) -> None:
    page.goto(server.api + "/")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("header#top:not([hidden])")


def _no_english(text: str, where: str) -> None:
    left = [w for w in ENGLISH if re.search(rf"\b{re.escape(w)}\b", text)]
    assert not left, f"English left on the {where}: {left}\n{text}"


@pytest.mark.parametrize("lang", ["es", "pt"])
def test_queue_alert_and_person_page_in_the_users_language(
    page: Any, server: Server, shot: Any, speakers: dict[str, str], lang: str
) -> None:
    words = WORDS[lang]
    _sign_in(page, server, speakers[lang])
    assert page.get_attribute("html", "lang") == lang
    page.wait_for_selector(f"#queue-title:has-text('{words['queue']}')")
    header = page.inner_text("header#top")
    for w in words["nav"]:
        assert w in header, f"{w!r} not in the header: {header}"

    # the queue and the walker's exclusion alert on it
    item = page.wait_for_selector("#alert-list li[data-alert-id]:has-text('p-walker')")
    alert_id = item.get_attribute("data-alert-id")
    page.wait_for_function(
        "id => (document.querySelector(`li[data-alert-id='${id}'] [data-timer]`) || {}).textContent",
        arg=alert_id,
    )
    queue = page.inner_text(".queue")
    for w in words["filters"] + words["alert"]:
        assert w in queue, f"{w!r} not in the queue: {queue}"
    assert page.locator(f"[aria-label='{words['ack'].format(id=alert_id)}']").count() == 1
    _no_english(queue, "queue")
    shot(f"queue-{lang}")

    # the person page opened from the alert
    page.click(f"li[data-alert-id='{alert_id}'] a[href^='#/person/p-walker']")
    page.wait_for_selector(".timeline li.episode")
    main = page.inner_text("main")
    for w in words["person"]:
        assert w in main, f"{w!r} not on the person page: {main}"
    # instants: the language's month names, in the order's zone, named
    timeline = page.inner_text(".timeline")
    date = rf"\d{{1,2}} {words['months']} \d{{4}}" if words["months"] else r"\d{2}/\d{2}/\d{4}"
    assert re.search(date, timeline), timeline
    assert "(Europe/Madrid)" in timeline
    _no_english(main, "person page")
    shot(f"person-{lang}")


def test_a_user_switches_language_from_the_menu_and_keeps_it(
    page: Any, server: Server, shot: Any, speakers: dict[str, str]
) -> None:
    _sign_in(page, server, "marta")
    page.wait_for_selector("#queue-title:has-text('Fila de alertas')")
    assert page.input_value("#lang") == "pt"
    page.select_option("#lang", "es")
    page.wait_for_selector("#queue-title:has-text('Cola de alertas')")
    assert page.get_attribute("html", "lang") == "es"
    page.reload()  # kept on her account, not only in this page
    page.wait_for_selector("#queue-title:has-text('Cola de alertas')")
    assert "Cerrar sesión" in page.inner_text("header#top")
    shot("switched-to-spanish")
    with server.client() as c:
        users = {u["username"]: u for u in c.get("/users").json()}
    assert users["marta"]["language"] == "es"


def test_the_prison_page_in_portuguese(
    page: Any, server: Server, shot: Any, speakers: dict[str, str]
) -> None:
    if httpx.get(server.api + "/prison", timeout=10).status_code != 200:
        pytest.skip("this server has no prison page")
    try:
        from tests.unit.facility.builders import document
    except ImportError:
        pytest.skip("the prison tests' facility builder is absent")
    with server.client() as c:
        r = c.put("/prison/facilities/test", json=document())
        assert r.status_code < 300, r.text
    _sign_in(page, server, speakers["pt"])
    page.goto(server.api + "/prison")
    page.wait_for_selector("#plan polygon")
    page.wait_for_selector("nav button[data-view='counts']:has-text('Contagens')")
    assert page.get_attribute("html", "lang") == "pt"
    side = page.inner_text("aside")
    for w in ("Alertas abertos", "Ocupação", "Escolha uma zona na planta."):
        assert w in side, f"{w!r} not on the prison page: {side}"
    labels = [page.get_attribute(p, "aria-label") or "" for p in ("#plan polygon",)]
    assert labels[0].startswith("Zona "), labels
    for english in ("Open alerts", "Occupancy", "Headcounts", "Movement history"):
        assert english not in page.inner_text("body"), english
    shot("prison-pt")


def test_the_compliance_page_in_spanish(
    page: Any, server: Server, shot: Any, speakers: dict[str, str]
) -> None:
    if httpx.get(server.api + "/compliance", timeout=10).status_code != 200:
        pytest.skip("this server has no compliance page")
    _sign_in(page, server, speakers["es"])
    page.goto(server.api + "/compliance")
    page.wait_for_selector("h1:has-text('Cumplimiento y cifras del programa')")
    page.wait_for_function("() => !/cargando/.test(document.getElementById('status').textContent)")
    body = page.inner_text("main")
    for w in (
        "Alertas por causa y resultado",
        "Tiempos de respuesta frente a los plazos",
        "Cumplimiento de una persona",
    ):
        assert w in body, f"{w!r} not on the compliance page"
    for english in ("Alerts by cause", "Response times", "A person's compliance", "loading"):
        assert english not in page.inner_text("body"), english
    shot("compliance-es")
