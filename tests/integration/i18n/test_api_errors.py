"""The API's refusals in the reader's language: the signed-in user's own
choice, else what their client asks for (`Accept-Language`: the web app
sends the language it shows), else English; the answer names it
(`Content-Language`). Each expected text is read from the catalogs, and must
differ from the English, so a message that loses its translation fails here."""

from __future__ import annotations

from fastapi.testclient import TestClient
from tests.integration.i18n.conftest import signed_in as _as

from ronda.i18n.catalog import gettext


def _translated(language: str, template: str, **values: object) -> str:
    """`template` in `language` from the catalog; it must not be the English."""
    text = gettext(language, template, **values)
    assert text != gettext("en", template, **values), f"{template!r} has no {language} translation"
    return text


def test_an_unknown_person_is_a_404_in_the_users_own_language(client: TestClient) -> None:
    # Lucía chose Spanish: her browser asking for English does not change that
    r = client.get("/api/persons/nobody", headers=_as(client, "lucia", **{"Accept-Language": "en-US"}))
    assert r.status_code == 404
    assert r.headers["content-language"] == "es"
    person = _translated("es", "person")
    assert r.json()["error"] == _translated("es", "no {what} {key}", what=person, key="'nobody'")
    assert r.json()["error"] == "no existe persona 'nobody'"


def test_a_validation_error_follows_accept_language_when_the_user_has_no_language(client: TestClient) -> None:
    rui = _as(client, "rui", **{"Accept-Language": "pt-PT,pt;q=0.9,en;q=0.5"})
    missing = client.post("/api/persons", json={"name": "Sem papel"}, headers=rui)
    assert missing.status_code == 422 and missing.headers["content-language"] == "pt"
    body = missing.json()
    assert body["field"] == "body.role"
    assert body["error"] == "body.role: " + _translated("pt", "required")
    assert body["details"] == [{"field": "body.role", "message": _translated("pt", "required")}]

    too_long = client.post("/api/persons", json={"role": "monitored", "name": "x" * 201}, headers=rui)
    assert too_long.status_code == 422 and too_long.headers["content-language"] == "pt"
    assert too_long.json()["error"] == "body.name: " + _translated(
        "pt", "at most {max_length} characters", max_length=200
    )
    assert too_long.json()["error"] == "body.name: no máximo 200 caracteres"

    # a choice among codes: the codes stay, the words around them are Portuguese
    wrong = client.post("/api/persons", json={"role": "villain"}, headers=rui).json()
    choices = _translated("pt", "{choices} or {last}", choices="'monitored'", last="'protected'")
    assert wrong["error"] == "body.role: " + _translated("pt", "expected {expected}", expected=choices)
    assert " or " not in wrong["error"]


def test_a_duplicate_id_is_a_409_in_spanish(client: TestClient) -> None:
    lucia = _as(client, "lucia")
    assert (
        client.post("/api/persons", json={"id": "p1", "role": "monitored"}, headers=lucia).status_code == 201
    )
    r = client.post("/api/persons", json={"id": "p1", "role": "monitored"}, headers=lucia)
    assert r.status_code == 409 and r.headers["content-language"] == "es"
    assert r.json() == {
        "error": _translated("es", "person {person} exists", person="'p1'"),
        "field": "body.id",
    }


def test_a_refused_sign_in_is_in_the_language_of_the_sign_in_page(client: TestClient) -> None:
    r = client.post(
        "/api/auth/login",
        json={"username": "nobody", "password": "not the password"},
        headers={"Accept-Language": "pt"},
    )
    assert r.status_code == 401 and r.headers["content-language"] == "pt"
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.json()["error"] == _translated("pt", "wrong username or password")
    # a known user with a wrong password reads the same words (no username probing)
    known = client.post(
        "/api/auth/login",
        json={"username": "lucia", "password": "wrong wrong"},
        headers={"Accept-Language": "pt"},
    )
    assert known.json()["error"] == r.json()["error"]


def test_http_refusals_are_translated_too(client: TestClient) -> None:
    # no token: nobody is known yet, so the client's language
    r = client.get("/api/persons", headers={"Authorization": "Bearer nonsense", "Accept-Language": "es-CL"})
    assert r.status_code == 401 and r.headers["content-language"] == "es"
    assert r.json()["detail"] == _translated("es", "bad token")
    # a route the role may not use: a template with values
    r = client.get("/api/users", headers=_as(client, "marta"))
    assert r.status_code == 403 and r.headers["content-language"] == "es"
    expected = _translated(
        "es", "the {role} role may not use {route}", role="operator", route="GET /api/users"
    )
    assert r.json()["detail"] == expected


def test_english_stays_english(client: TestClient) -> None:
    boss = _as(client, "boss", **{"Accept-Language": "es"})  # chose English: the browser does not win
    r = client.get("/api/persons/nobody", headers=boss)
    assert r.status_code == 404 and r.headers["content-language"] == "en"
    assert r.json()["error"] == "no person 'nobody'"
    # no language anywhere: English
    r = client.post("/api/persons", json={}, headers=_as(client, "rui"))
    assert r.status_code == 422 and r.headers["content-language"] == "en"
    assert r.json()["error"] == "body.role: required"
    r = client.post("/api/auth/login", json={"username": "nobody", "password": "not the password"})
    assert r.status_code == 401 and r.headers["content-language"] == "en"
    assert r.json()["error"] == "wrong username or password"


def test_a_user_on_auto_reads_errors_in_the_agencys_language(client: TestClient) -> None:
    """Rui keeps `auto`; once his agency's default is Portuguese, his errors are
    Portuguese like his screens, whatever his browser asks for. The service
    token, which has no agency of its own, still follows its client's header."""
    boss = _as(client, "boss")
    assert client.put("/api/i18n/default", json={"language": "pt"}, headers=boss).status_code == 200
    rui = _as(client, "rui", **{"Accept-Language": "en-GB"})
    r = client.get("/api/persons/nobody", headers=rui)
    assert r.status_code == 404 and r.headers["content-language"] == "pt"
    assert r.json()["error"] == _translated(
        "pt", "no {what} {key}", what=gettext("pt", "person"), key="'nobody'"
    )
    service = {"Authorization": "Bearer service-token-for-tests", "Accept-Language": "es"}
    r = client.get("/api/persons/nobody", headers=service)
    assert r.status_code == 404 and r.headers["content-language"] == "es"
