"""`GET /api/i18n/{lang}`: the web app's catalog, public and cacheable, and
the language each user is served in (their own, else the agency's default,
else the browser's)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from tests.integration.i18n.conftest import PASSWORD
from tests.integration.i18n.conftest import signed_in as _as

from ronda.storage.models import DEFAULT_AGENCY


def test_the_catalog_is_public_and_cached(client: TestClient) -> None:
    r = client.get("/api/i18n/es")
    assert r.status_code == 200
    body = r.json()
    assert body["language"] == "es"
    assert body["messages"]["Curfew"] == "Toque de queda"
    assert body["messages"]["Exclusion zone"] == "Zona de exclusión"
    assert {lang["code"] for lang in body["languages"]} == {"en", "es", "pt"}
    # the domain's codes and the zone the app names its times in
    assert body["vocabulary"]["rule"]["curfew"] == "Curfew"
    assert body["messages"][body["vocabulary"]["alert_type"]["exclusion"]] == "exclusión"
    assert body["timezone"] == "UTC"
    # the web app's share only: the court report's sentences stay on the server
    assert "How Ronda decides" not in body["messages"]
    assert "public" in r.headers["cache-control"] and r.headers["etag"]
    assert r.headers["content-language"] == "es"
    again = client.get("/api/i18n/es", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304
    pt = client.get("/api/i18n/pt-BR").json()
    assert pt["language"] == "pt" and pt["messages"]["Curfew"] == "Recolher obrigatório"
    assert client.get("/api/i18n/pt").headers["etag"] != r.headers["etag"]


def test_a_language_not_shipped_is_a_clear_404(client: TestClient) -> None:
    r = client.get("/api/i18n/fr")
    assert r.status_code == 404
    assert "en, es, pt" in r.text
    assert client.get("/api/i18n/..%2Fetc").status_code in (404, 422)


def test_each_user_is_served_in_their_own_language(client: TestClient) -> None:
    for user, lang, word in (("sofia", "es", "Toque de queda"), ("joao", "pt", "Recolher obrigatório")):
        r = client.get("/api/i18n/auto", headers=_as(client, user, **{"Accept-Language": "en-US"}))
        body = r.json()
        assert (body["language"], body["language_for_user"], body["language_source"]) == (lang, lang, "user")
        assert body["messages"]["Curfew"] == word
        assert "private" in r.headers["cache-control"]


def test_agency_default_then_browser_for_a_user_who_chose_none(client: TestClient) -> None:
    ana = _as(client, "ana", **{"Accept-Language": "pt-BR,pt;q=0.9,en;q=0.5"})
    body = client.get("/api/i18n/en", headers=ana).json()
    assert (body["language_for_user"], body["language_source"]) == ("pt", "browser")
    assert body["language"] == "en"  # the catalog asked for, whatever the user's own
    # an operator may not set the agency's default; an administrator may
    refused = client.put("/api/i18n/default", json={"language": "es"}, headers=_as(client, "sofia"))
    assert refused.status_code == 403
    ok = client.put("/api/i18n/default", json={"language": "es"}, headers=_as(client, "boss"))
    assert ok.status_code == 200, ok.text
    assert ok.json() == {"agency_id": DEFAULT_AGENCY, "language": "es"}
    body = client.get("/api/i18n/auto", headers=ana).json()
    assert (body["language"], body["language_source"]) == ("es", "agency")
    assert (
        client.put("/api/i18n/default", json={"language": "fr"}, headers=_as(client, "boss")).status_code
        == 404
    )
    # anonymous (the sign-in page): the browser's language
    anon = client.get("/api/i18n/auto", headers={"Accept-Language": "es-CL"}).json()
    assert (anon["language"], anon["language_source"]) == ("es", "browser")


def test_a_user_picks_their_own_language_and_keeps_it(client: TestClient) -> None:
    ana = _as(client, "ana", **{"Accept-Language": "en"})
    assert client.put("/api/i18n/me", json={"language": "pt-PT"}, headers=ana).json() == {"language": "pt"}
    body = client.get("/api/i18n/auto", headers=ana).json()
    assert (body["language"], body["language_source"]) == ("pt", "user")
    # kept on the account: the next sign-in says so
    again = client.post("/api/auth/login", json={"username": "ana", "password": PASSWORD}).json()
    assert again["user"]["language"] == "pt"
    assert client.put("/api/i18n/me", json={"language": "fr"}, headers=ana).status_code == 404
    assert client.put("/api/i18n/me", json={"language": "auto"}, headers=ana).json() == {"language": "auto"}
    service = {"Authorization": "Bearer service-token-for-tests"}
    assert client.put("/api/i18n/me", json={"language": "es"}, headers=service).status_code == 409
    assert client.put("/api/i18n/me", json={"language": "es"}).status_code == 401
