"""The authorization matrix: every API route x every role x an object of the
caller's own caseload, of another caseload of the agency, and of another
agency, checked against the one policy table (src/ronda/api/policy.py).

Expected outcomes are derived from the table: a role the entry does not list
gets 403; a role whose scope does not reach the object gets 404 (exactly as
for a missing object, so nothing leaks); otherwise the request passes the
guard (what the handler then answers is the handler's business: 200, 201,
409, 422 for the empty bodies sent here ...)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.responses import StreamingResponse

from ronda.api.auth import Owner, Role, Scope, may_see
from ronda.api.policy import POLICY, RESOLVERS, Rule, api_routes, check_app

from .conftest import World

# Who calls: users of agency A; "own" is officer off1's caseload (pA1 ...).
CALLERS = {
    Role.ADMIN: "admin_a",
    Role.SUPERVISOR: "supervisor_a",
    Role.OPERATOR: "operator_a",
    Role.OFFICER: "off1",
    Role.AUDITOR: "auditor_a",
}
SITUATIONS = ("own", "other_caseload", "other_agency")
CASE_OF = {"own": "A1", "other_caseload": "A2", "other_agency": "B1"}
OFFICER_OF = {"own": "u-off1", "other_caseload": "u-off2", "other_agency": "u-offb"}
AGENCY_OF = {"own": "main", "other_caseload": "main", "other_agency": "north"}
USER_OF = {"own": "u-supervisor_a", "other_caseload": "u-operator_a", "other_agency": "u-supervisor_b"}


FILLED = frozenset(
    {"person_id", "device_id", "order_id", "zone_id", "alert_id", "episode_id", "hold_id", "user_id"}
)
"""Path parameters this test has objects for in each situation."""


def path_value(w: World, name: str, situation: str) -> str:
    key = CASE_OF[situation]
    return {
        "person_id": f"p{key}",
        "device_id": f"d{key}",
        "order_id": f"o{key}",
        "zone_id": f"z{key}",
        "alert_id": str(w.alerts[key]),
        "episode_id": str(w.episodes[key]),
        "hold_id": str(w.holds[key]),
        "user_id": USER_OF[situation],
        "rule_id": f"r{key}",
    }.get(name, "x1")


def expected(rule: Rule, role: Role, situation: str, params: list[str]) -> str:
    """What the table says: allowed / role (403) / scope (404)."""
    if rule.public:
        return "allowed"
    scope = rule.roles.get(role)
    if scope is None:
        return "role"
    if not any(p in RESOLVERS and p in FILLED for p in params):
        return "allowed"  # no object of its path this test builds: the role decides (the guard's 404s are
        # checked for the objects below; other areas test their own resolvers)
    if "user_id" in params:  # accounts belong to an agency, not a caseload
        owner = Owner(AGENCY_OF[situation])
    else:
        # every case has an open alert: operators reach them (and a purpose is sent)
        owner = Owner(AGENCY_OF[situation], "p", OFFICER_OF[situation], False, True)
    caller_scope = Scope(scope)
    from ronda.api.auth import Caller

    me = Caller("u-off1" if role is Role.OFFICER else "u-x", "x", "", role, "main", purpose="matrix")
    return "allowed" if may_see(me, caller_scope, owner) else "scope"


def test_every_route_has_a_policy_entry(world: World) -> None:
    missing = check_app(world.client.app)  # type: ignore[arg-type]
    assert not missing.routes, "routes without an entry in POLICY (src/ronda/api/policy.py): " + ", ".join(
        missing.routes
    )


def test_every_object_in_a_path_is_scoped(world: World) -> None:
    missing = check_app(world.client.app)  # type: ignore[arg-type]
    assert not missing.unscoped, (
        "path parameters no resolver scopes (register_resolver, or Rule(scoped_in_handler=...)): "
        + ", ".join(missing.unscoped)
    )


def test_a_route_without_an_entry_is_refused(world: World) -> None:
    app = world.client.app

    @app.get("/api/unlisted")  # type: ignore[attr-defined, untyped-decorator]
    def unlisted() -> dict[str, str]:
        return {"secret": "data"}

    r = world.client.get("/api/unlisted", headers=world.as_("admin_a"))
    assert r.status_code == 403 and "no access policy" in r.json()["detail"]
    assert world.decisions[-1].outcome == "no_policy"


def _routes(world: World) -> list[tuple[str, str, Any]]:
    routes = [(m, p, r) for m, p, r in api_routes(world.client.app) if (m, p) in POLICY]  # type: ignore[arg-type]
    return sorted(routes, key=lambda x: x[0] == "DELETE")  # deletions last


def test_authorization_matrix(world: World) -> None:
    failures: list[str] = []
    checked = 0
    for method, path, route in _routes(world):
        rule = POLICY[(method, path)]
        params = list(route.param_convertors)
        streams = (
            route.response_class is StreamingResponse
            or getattr(route.response_class, "value", None) is StreamingResponse
            or rule.query_token
        )
        for role, username in CALLERS.items():
            for situation in SITUATIONS:
                want = expected(rule, role, situation, params)
                if want == "allowed" and streams:
                    continue  # an endless stream: its refusals are checked, its filtering elsewhere
                url = path
                for name in params:
                    url = url.replace("{" + name + "}", path_value(world, name, situation))
                kw: dict[str, Any] = {"headers": world.as_(username, purpose="authorization matrix")}
                if method in ("POST", "PUT", "PATCH"):
                    kw["json"] = {}
                world.decisions.clear()
                r = world.client.request(method, url, **kw)
                if path == "/api/auth/logout":
                    world.tokens.pop(username)  # that session is over: sign in again
                checked += 1
                got = world.decisions[0].outcome if world.decisions else "none"
                where = f"{role} {situation}: {method} {url}"
                if want == "role" and (got != "role" or r.status_code != 403):
                    failures.append(f"{where} should be 403 (role), got {r.status_code} ({got})")
                elif want == "scope" and (got != "scope" or r.status_code != 404):
                    failures.append(f"{where} should be 404 (scope), got {r.status_code} ({got})")
                elif want == "allowed" and (got != "allowed" or r.status_code in (401, 403)):
                    failures.append(f"{where} should pass, got {r.status_code} ({got}) {r.text[:120]}")
    assert not failures, f"{len(failures)} of {checked} cases differ from the policy table:\n" + "\n".join(
        failures[:60]
    )
    assert checked > 500


@pytest.mark.parametrize("username", ["admin_a", "supervisor_a", "operator_a", "off1", "auditor_a"])
def test_a_forbidden_read_looks_exactly_like_a_missing_object(world: World, username: str) -> None:
    """Another agency's person answers as a person that does not exist."""
    foreign = world.get(username, "/api/persons/pB1", purpose="probe")
    absent = world.get(username, "/api/persons/pZZ", purpose="probe")
    if username == "auditor_a":
        assert foreign.status_code == absent.status_code == 403
        return
    assert foreign.status_code == absent.status_code == 404
    assert foreign.json()["error"].replace("pB1", "X") == absent.json()["error"].replace("pZZ", "X")
