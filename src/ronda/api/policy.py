"""The access policy: ONE table, every API route (method, path) -> the roles
that may use it, each with its scope, and what the audit trail records.

How a request is decided (`guard`, a dependency of every API router):

1. the route's entry is looked up; a route without one is refused (403) and
   logged: the authorization-matrix test lists such routes by name;
2. public routes pass; others need a valid token (401 otherwise);
3. a role not in the entry gets 403 (the route is not for it);
4. every object named in the path (`person_id`, `device_id`, `alert_id` ...)
   is resolved to its owner (agency, person, officer, alert state) and must
   be visible under the role's scope; if not the answer is **404**, the same
   as for an object that does not exist, so nobody learns what another
   caseload or agency holds;
5. reads and writes of personal data append exactly one audit row (who,
   what, when, from where, purpose, outcome), before the handler runs, in a
   transaction of its own: no audit, no data (503).

Adding a route: add its entry to `POLICY` below (copy a neighbour), name the
object in its path after a resolver (`RESOLVERS`) or register one with
`register_resolver`, and filter lists with `auth.visible_persons` /
`visible_devices` using `scope_of(request)`. docs/security.md explains it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.routing import APIRoute
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ronda.api.auth import (
    ANONYMOUS,
    Authenticator,
    Caller,
    Owner,
    Role,
    Scope,
    bearer_token,
    may_see,
    person_owner,
    purpose_of,
    source_of,
)
from ronda.api.refusal import Refusal
from ronda.i18n.catalog import N_
from ronda.storage import security as repo
from ronda.storage.errors import NotFound
from ronda.storage.models import AlertRow, DeviceRow, EpisodeRow, OrderRow, RuleRow, ZoneRow
from ronda.storage.models_security import LegalHoldRow, UserRow

log = logging.getLogger(__name__)

A, SU, OP, OF, AU = Role.ADMIN, Role.SUPERVISOR, Role.OPERATOR, Role.OFFICER, Role.AUDITOR
AG, CL, AP = Scope.AGENCY, Scope.CASELOAD, Scope.ALERT_OR_PURPOSE

# Role -> scope maps the table is made of.
CASES_READ = {A: AG, SU: AG, OF: CL, OP: AP}
"""Persons, their devices, orders, zones, positions: officers their caseload,
operators persons in alert (others with a stated purpose)."""
CASES_WRITE = {A: AG, SU: AG, OF: CL}
"""Changing a case (orders, zones, assignments): not operators."""
AGENCY_ADMIN = {A: AG, SU: AG}
"""Creating persons and devices, deleting, device tokens: administration."""
ALERTS = {A: AG, SU: AG, OP: AG, OF: CL}
"""The monitoring centre works every alert of its agency; officers their caseload's."""
STAFF = {A: AG, SU: AG, OP: AG, OF: CL}
"""Everyone but auditors (the live stream is filtered per person by CASES_READ)."""
AUDITORS = {AU: Scope.AUDIT}
EVERYONE = {A: Scope.SELF, SU: Scope.SELF, OP: Scope.SELF, OF: Scope.SELF, AU: Scope.SELF}
PUBLIC: Mapping[Role, Scope] = {}


@dataclass(frozen=True)
class Rule:
    roles: Mapping[Role, Scope]
    audit: str | None = None
    """None, "read" or "write": the audit row's action for personal data."""
    public: bool = False
    export_when: tuple[str, str] | None = None
    """(query parameter, value) that makes the read an export: a purpose is then required."""
    query_token: bool = False
    """The token may come as `?token=` (EventSource cannot send headers)."""
    scoped_in_handler: tuple[str, ...] = ()
    """Path parameters no resolver knows, which the handler itself scopes."""
    location: bool = False
    """Positions: a protected person's are clipped to proximity episodes (`protected_windows`)."""


_PF = ("facility_id",)  # prison facilities: site-wide, scoped by role only (issue 10)

POLICY: dict[tuple[str, str], Rule] = {
    # --- status and sign-in
    ("GET", "/health"): Rule(PUBLIC, public=True),
    ("GET", "/healthz"): Rule(PUBLIC, public=True),  # liveness probe (issue 8)
    ("GET", "/readyz"): Rule(PUBLIC, public=True),  # readiness probe: database, NATS
    ("GET", "/"): Rule(PUBLIC, public=True),
    ("GET", "/api/status"): Rule(STAFF),
    ("POST", "/api/auth/login"): Rule(PUBLIC, public=True),
    # --- languages (issue 11): the web app's catalog is public (the sign-in page needs it)
    ("GET", "/api/i18n/{lang}"): Rule(PUBLIC, public=True, scoped_in_handler=("lang",)),  # not an object
    ("PUT", "/api/i18n/default"): Rule({A: AG}),
    ("PUT", "/api/i18n/me"): Rule(EVERYONE),
    ("POST", "/api/auth/logout"): Rule(EVERYONE),
    ("GET", "/api/auth/me"): Rule(EVERYONE),
    # --- users and agencies (administration)
    ("GET", "/api/users"): Rule({A: AG, SU: AG}),
    ("POST", "/api/users"): Rule({A: AG}, audit="write"),
    ("PATCH", "/api/users/{user_id}"): Rule({A: AG}, audit="write"),
    ("GET", "/api/agencies"): Rule({A: AG, SU: AG}),
    ("POST", "/api/agencies"): Rule({A: AG}, audit="write"),
    ("PUT", "/api/persons/{person_id}/officer"): Rule(AGENCY_ADMIN, audit="write"),
    # --- persons
    ("GET", "/api/persons"): Rule(CASES_READ, audit="read"),
    ("POST", "/api/persons"): Rule(AGENCY_ADMIN, audit="write"),
    ("GET", "/api/persons/{person_id}"): Rule(CASES_READ, audit="read"),
    ("PATCH", "/api/persons/{person_id}"): Rule(AGENCY_ADMIN, audit="write"),
    ("DELETE", "/api/persons/{person_id}"): Rule(AGENCY_ADMIN, audit="write"),
    ("GET", "/api/persons/{person_id}/positions"): Rule(
        CASES_READ, audit="read", export_when=("format", "csv"), location=True
    ),
    ("GET", "/api/persons/{person_id}/events"): Rule(CASES_READ, audit="read"),
    # --- devices
    ("GET", "/api/devices"): Rule(CASES_READ, audit="read"),
    ("POST", "/api/devices"): Rule(AGENCY_ADMIN, audit="write"),
    ("GET", "/api/devices/{device_id}"): Rule(CASES_READ, audit="read"),
    ("PATCH", "/api/devices/{device_id}"): Rule(AGENCY_ADMIN, audit="write"),
    ("DELETE", "/api/devices/{device_id}"): Rule(AGENCY_ADMIN, audit="write"),
    ("POST", "/api/devices/{device_id}/assign"): Rule(CASES_WRITE, audit="write"),
    ("GET", "/api/devices/{device_id}/assignments"): Rule(CASES_READ, audit="read"),
    ("POST", "/api/devices/{device_id}/token"): Rule(AGENCY_ADMIN, audit="write"),
    ("GET", "/api/devices/{device_id}/positions"): Rule(
        CASES_READ, audit="read", export_when=("format", "csv"), location=True
    ),
    # --- zones (a victim's home is a zone: personal data)
    ("GET", "/api/zones"): Rule(CASES_READ, audit="read"),
    ("POST", "/api/zones"): Rule(CASES_WRITE, audit="write"),
    ("GET", "/api/zones/{zone_id}"): Rule(CASES_READ, audit="read"),
    ("PUT", "/api/zones/{zone_id}"): Rule(CASES_WRITE, audit="write"),
    ("DELETE", "/api/zones/{zone_id}"): Rule(AGENCY_ADMIN, audit="write"),
    # --- orders and rules
    ("GET", "/api/orders"): Rule(CASES_READ, audit="read"),
    ("POST", "/api/orders"): Rule(CASES_WRITE, audit="write"),
    ("GET", "/api/orders/{order_id}"): Rule(CASES_READ, audit="read"),
    ("GET", "/api/orders/{order_id}/versions"): Rule(CASES_READ, audit="read"),
    ("PUT", "/api/orders/{order_id}"): Rule(CASES_WRITE, audit="write"),
    ("DELETE", "/api/orders/{order_id}"): Rule(CASES_WRITE, audit="write"),
    ("POST", "/api/orders/{order_id}/rules"): Rule(CASES_WRITE, audit="write"),
    ("DELETE", "/api/orders/{order_id}/rules/{rule_id}"): Rule(
        CASES_WRITE, audit="write", scoped_in_handler=("rule_id",)
    ),
    ("GET", "/api/rules"): Rule(CASES_READ, audit="read"),
    # --- episodes and alerts
    ("GET", "/api/episodes"): Rule(ALERTS, audit="read"),
    ("GET", "/api/episodes/{episode_id}"): Rule(ALERTS, audit="read"),
    ("GET", "/api/alerts"): Rule(ALERTS, audit="read"),
    ("GET", "/api/alerts/{alert_id}"): Rule(ALERTS, audit="read"),
    ("POST", "/api/alerts/{alert_id}/acknowledge"): Rule(ALERTS, audit="write"),
    ("POST", "/api/alerts/{alert_id}/assign"): Rule(ALERTS, audit="write"),
    ("POST", "/api/alerts/{alert_id}/notes"): Rule(ALERTS, audit="write"),
    ("POST", "/api/alerts/{alert_id}/resolve"): Rule(ALERTS, audit="write"),
    ("POST", "/api/alerts/{alert_id}/reopen"): Rule(ALERTS, audit="write"),
    # --- issue 7: alert records, protocol steps, escalation, contacts and consent, outbox
    ("GET", "/api/alerts/{alert_id}/record"): Rule(ALERTS, audit="read"),
    ("GET", "/api/alerts/{alert_id}/notifications"): Rule(ALERTS, audit="read"),
    ("POST", "/api/alerts/{alert_id}/steps"): Rule(ALERTS, audit="write"),
    ("POST", "/api/alerts/{alert_id}/escalate"): Rule(ALERTS, audit="write"),
    ("GET", "/api/persons/{person_id}/contacts"): Rule(CASES_READ, audit="read"),
    ("POST", "/api/persons/{person_id}/contacts"): Rule(CASES_WRITE, audit="write"),
    ("GET", "/api/persons/{person_id}/case-contacts"): Rule(CASES_READ, audit="read"),
    ("PUT", "/api/persons/{person_id}/case-contacts"): Rule(CASES_WRITE, audit="write"),
    ("GET", "/api/contacts"): Rule(STAFF, audit="read"),
    ("POST", "/api/contacts"): Rule(AGENCY_ADMIN, audit="write"),
    ("PATCH", "/api/contacts/{contact_id}"): Rule(CASES_WRITE, audit="write"),
    ("GET", "/api/contacts/{contact_id}/consents"): Rule(CASES_READ, audit="read"),
    # consent is often withdrawn by a phone call to the monitoring centre
    ("POST", "/api/contacts/{contact_id}/consent"): Rule({**CASES_WRITE, OP: AG}, audit="write"),
    ("GET", "/api/notifications"): Rule({A: AG, SU: AG}, audit="read"),
    ("POST", "/api/notifications/{notification_id}/retry"): Rule({A: AG, SU: AG}, audit="write"),
    ("GET", "/api/alert-policy"): Rule(STAFF),
    # --- live stream and map (filtered per person inside)
    ("GET", "/api/stream"): Rule(STAFF, audit="read", query_token=True),
    ("GET", "/api/map/config"): Rule({**STAFF, AU: Scope.SELF}),
    ("GET", "/api/map/persons"): Rule(CASES_READ, audit="read"),
    # --- audit trail: auditors only; no route changes it
    ("GET", "/api/audit"): Rule(AUDITORS, audit="read"),
    ("GET", "/api/audit/verify"): Rule(AUDITORS, audit="read"),
    # --- privacy: legal holds, retention, a person's data export
    ("GET", "/api/legal-holds"): Rule({A: AG, SU: AG, AU: Scope.AUDIT}, audit="read"),
    ("POST", "/api/legal-holds"): Rule({A: AG, SU: AG}, audit="write"),
    ("DELETE", "/api/legal-holds/{hold_id}"): Rule({A: AG, SU: AG}, audit="write"),
    ("GET", "/api/persons/{person_id}/export"): Rule({A: AG, SU: AG}, audit="read", export_when=("", "")),
    # --- evidence (issue 9): exports, a purpose required; officers for their caseload
    ("GET", "/api/persons/{person_id}/court-report"): Rule(CASES_WRITE, audit="read", export_when=("", "")),
    ("GET", "/api/persons/{person_id}/evidence-bundle"): Rule(
        CASES_WRITE, audit="read", export_when=("", "")
    ),
    # --- investigation (issue 9): crime-scene correlation searches every visible
    # trail, so supervisors and admins only, a purpose required (handler); runs
    # are recorded and auditors may read them. Compliance: officers for their caseload.
    ("POST", "/api/investigations/correlate"): Rule({A: AG, SU: AG}, audit="read"),
    ("POST", "/api/investigations/correlate/batch"): Rule({A: AG, SU: AG}, audit="read"),
    ("GET", "/api/investigations/runs"): Rule({A: AG, SU: AG, AU: Scope.AUDIT}, audit="read"),
    ("GET", "/api/investigations/runs/{run_id}"): Rule(
        {A: AG, SU: AG, AU: Scope.AUDIT}, audit="read", scoped_in_handler=("run_id",)
    ),
    ("GET", "/api/persons/{person_id}/compliance"): Rule({A: AG, SU: AG, OF: CL}, audit="read"),
    ("POST", "/api/persons/{person_id}/compliance/decisions"): Rule({A: AG, SU: AG, OF: CL}, audit="write"),
    ("GET", "/api/compliance/programme"): Rule({A: AG, SU: AG, AU: Scope.AUDIT}),
    ("GET", "/api/compliance/policy"): Rule({A: AG, SU: AG, OF: CL}),
    ("PUT", "/api/compliance/policy"): Rule({A: AG}, audit="write"),
    ("GET", "/compliance"): Rule(PUBLIC, public=True),  # a static page; its data needs a sign-in
    ("GET", "/compliance.js"): Rule(PUBLIC, public=True),
    ("GET", "/api/retention"): Rule({A: AG, SU: AG, AU: Scope.AUDIT}),
    # --- prison (issue 10): a facility is site-wide (no agency or caseload of
    # its own); where inmates are is personal data (audited); readers post
    # with the service token; the page is static, its data needs a sign-in.
    ("GET", "/api/prison/facilities"): Rule(STAFF),
    ("GET", "/api/prison/facilities/{facility_id}"): Rule(STAFF, audit="read", scoped_in_handler=_PF),
    ("PUT", "/api/prison/facilities/{facility_id}"): Rule(AGENCY_ADMIN, audit="write", scoped_in_handler=_PF),
    ("GET", "/api/prison/facilities/{facility_id}/zones"): Rule(STAFF, scoped_in_handler=_PF),
    ("PUT", "/api/prison/facilities/{facility_id}/zones/{zone_key}"): Rule(
        AGENCY_ADMIN, audit="write", scoped_in_handler=(*_PF, "zone_key")
    ),
    ("GET", "/api/prison/facilities/{facility_id}/readers"): Rule(STAFF, scoped_in_handler=_PF),
    ("PUT", "/api/prison/facilities/{facility_id}/readers/{reader_id}"): Rule(
        AGENCY_ADMIN, audit="write", scoped_in_handler=(*_PF, "reader_id")
    ),
    ("PUT", "/api/prison/facilities/{facility_id}/inmates/{inmate_id}"): Rule(
        AGENCY_ADMIN, audit="write", scoped_in_handler=(*_PF, "inmate_id")
    ),
    ("POST", "/api/prison/facilities/{facility_id}/sightings"): Rule({A: AG}, scoped_in_handler=_PF),
    ("GET", "/api/prison/facilities/{facility_id}/occupancy"): Rule(
        STAFF, audit="read", scoped_in_handler=_PF
    ),
    ("GET", "/api/prison/facilities/{facility_id}/episodes"): Rule(
        STAFF, audit="read", scoped_in_handler=_PF
    ),
    ("GET", "/api/prison/facilities/{facility_id}/headcounts"): Rule(STAFF, scoped_in_handler=_PF),
    ("POST", "/api/prison/facilities/{facility_id}/headcounts"): Rule(
        STAFF, audit="write", scoped_in_handler=_PF
    ),
    ("GET", "/api/prison/facilities/{facility_id}/headcounts/{headcount_id}"): Rule(
        STAFF, audit="read", scoped_in_handler=(*_PF, "headcount_id")
    ),
    ("POST", "/api/prison/facilities/{facility_id}/headcounts/{headcount_id}/reconcile"): Rule(
        STAFF, audit="write", scoped_in_handler=(*_PF, "headcount_id")
    ),
    ("GET", "/api/prison/facilities/{facility_id}/inmates/{inmate_id}/movements"): Rule(
        STAFF, audit="read", scoped_in_handler=(*_PF, "inmate_id")
    ),
    ("GET", "/prison"): Rule(PUBLIC, public=True),
    ("GET", "/prison/prison.js"): Rule(PUBLIC, public=True),
    ("GET", "/prison/prison.css"): Rule(PUBLIC, public=True),
}


# ------------------------------------------------------------------ owners
# Each resolver answers "whose is this object?" for one path parameter: the
# owners (an object may concern several persons: a zone in two orders), or
# None when the object does not exist (the handler then answers 404 itself).

Resolver = Callable[[Session, str], list[Owner] | None]


def _person(s: Session, key: str) -> list[Owner] | None:
    o = person_owner(s, key)
    return None if o is None else [o]


def _device(s: Session, key: str) -> list[Owner] | None:
    d = s.get(DeviceRow, key)
    if d is None:
        return None
    o = person_owner(s, d.person_id) if d.person_id else None
    return (
        [Owner(d.agency_id, o.person_id, o.officer_id, o.protected, o.in_alert)]
        if o
        else [Owner(d.agency_id)]
    )


def _order(s: Session, key: str) -> list[Owner] | None:
    o = s.get(OrderRow, key)
    return None if o is None else _person(s, o.person_id)


def _zone(s: Session, key: str) -> list[Owner] | None:
    z = s.get(ZoneRow, key)
    if z is None:
        return None
    persons = set(
        s.execute(
            select(OrderRow.person_id)
            .join(RuleRow, RuleRow.order_id == OrderRow.id)
            .where(RuleRow.zone_id == key)
        ).scalars()
    )
    owners = [o for p in sorted(persons) if (o := person_owner(s, p)) is not None]
    return [Owner(z.agency_id, o.person_id, o.officer_id, o.protected, o.in_alert) for o in owners] or [
        Owner(z.agency_id)
    ]


def _episode_owner(s: Session, e: EpisodeRow) -> list[Owner]:
    if e.person_id and (o := person_owner(s, e.person_id)) is not None:
        return [o]
    d = s.get(DeviceRow, e.device_id) if e.device_id else None
    return [Owner(d.agency_id if d else "")]


def _alert(s: Session, key: str) -> list[Owner] | None:
    if not key.isdigit():
        return None
    a = s.get(AlertRow, int(key))
    e = s.get(EpisodeRow, a.episode_id) if a else None
    return None if e is None else _episode_owner(s, e)


def _episode(s: Session, key: str) -> list[Owner] | None:
    e = s.get(EpisodeRow, int(key)) if key.isdigit() else None
    return None if e is None else _episode_owner(s, e)


def _user(s: Session, key: str) -> list[Owner] | None:
    u = s.get(UserRow, key)
    return None if u is None else [Owner(u.agency_id or "")]


def _hold(s: Session, key: str) -> list[Owner] | None:
    h = s.get(LegalHoldRow, int(key)) if key.isdigit() else None
    return None if h is None else _person(s, h.person_id)


RESOLVERS: dict[str, tuple[str, Resolver]] = {
    "person_id": (N_("person"), _person),
    "device_id": (N_("device"), _device),
    "order_id": (N_("order"), _order),
    "zone_id": (N_("zone"), _zone),
    "alert_id": (N_("alert"), _alert),
    "episode_id": (N_("episode"), _episode),
    "user_id": (N_("user"), _user),
    "hold_id": (N_("legal hold"), _hold),
}
"""Path parameter -> (the name its 404 uses, a noun translated in the answer; resolver)."""


def register_resolver(param: str, what: str, resolver: Resolver) -> None:
    """For other areas' objects: `register_resolver("contact_id", N_("contact"), fn)`
    (mark the noun with `N_`: the 404 says it in the reader's language)."""
    RESOLVERS[param] = (what, resolver)


def _not_found(what: str, key: str) -> NotFound:
    # the same message the repositories give for a missing row; `what` is a
    # noun marked with N_ where it is written (RESOLVERS, register_resolver)
    number = what in ("alert", "episode", "legal hold") and key.isdigit()
    return NotFound(what=what, key=int(key) if number else key)


# ------------------------------------------------------------------- guard


@dataclass(frozen=True)
class Decision:
    method: str
    path: str
    role: str | None
    outcome: str  # allowed / unauthenticated / no_policy / role / scope / purpose
    owners: tuple[Owner, ...] = ()


def route_path(request: Request) -> str | None:
    """The route template the request matched (`/api/persons/{person_id}`)."""
    route = request.scope.get("route")
    paths: dict[int, str] = request.app.state.route_paths
    if route is None:
        return None
    found = paths.get(id(route))
    if found is None:  # routes added after the app was built
        paths.update(_route_paths(request.app))
        found = paths.get(id(route), getattr(route, "path", None))
    return found


def _route_paths(app: FastAPI) -> dict[int, str]:
    return {id(r): path for _, path, r in api_routes(app)}


def api_routes(app: FastAPI) -> Iterator[tuple[str, str, APIRoute]]:
    """Every (method, full path, route) of the app, through included routers."""

    def walk(routes: Any) -> Iterator[tuple[str, APIRoute]]:
        for r in routes:
            if isinstance(r, APIRoute):
                yield r.path, r
            elif hasattr(r, "effective_route_contexts"):
                for c in r.effective_route_contexts():
                    if isinstance(c.original_route, APIRoute):
                        yield c.path, c.original_route

    for path, r in walk(app.router.routes):
        for m in sorted(r.methods or ()):
            if m != "HEAD":
                yield m, path, r


def authenticator(request: Request) -> Authenticator:
    auth: Authenticator = request.app.state.auth
    return auth


def _decide(request: Request, d: Decision) -> None:
    hook = getattr(request.app.state, "on_decision", None)
    if hook is not None:
        hook(d)


def guard(request: Request) -> Caller:
    """The dependency every API route runs first (see the module's text)."""
    method = request.method if request.method != "HEAD" else "GET"
    path = route_path(request) or request.url.path
    rule = POLICY.get((method, path))
    if rule is None:
        log.error("no access policy for %s %s: refused (add it to ronda/api/policy.py)", method, path)
        _decide(request, Decision(method, path, None, "no_policy"))
        raise Refusal(403, "no access policy for {route}", route=" ".join((method, path)))
    if rule.public:
        request.state.caller = ANONYMOUS
        _decide(request, Decision(method, path, None, "allowed"))
        return ANONYMOUS
    auth = authenticator(request)
    try:
        caller = auth.authenticate(
            bearer_token(request, query=rule.query_token), source_of(request), purpose_of(request)
        )
    except HTTPException:
        _decide(request, Decision(method, path, None, "unauthenticated"))
        raise
    request.state.caller = caller
    scope = rule.roles.get(caller.role)
    target = f"{method} {path}"
    params = {k: str(v) for k, v in request.path_params.items()}
    if scope is None:
        _decide(request, Decision(method, path, caller.role, "role"))
        if rule.audit:
            _audit(auth, caller, rule, target, None, params, request, "refused")
        raise Refusal(403, "the {role} role may not use {route}", role=str(caller.role), route=target)
    request.state.scope = scope
    owners: list[Owner] = []
    try:
        with auth.sessions() as s:
            for name, value in params.items():
                known = RESOLVERS.get(name)
                if known is None:
                    continue
                what, resolve = known
                found = resolve(s, value)
                if found is None:
                    continue  # missing: the handler answers 404 itself
                if not any(may_see(caller, scope, o) for o in found):
                    _decide(request, Decision(method, path, caller.role, "scope", tuple(found)))
                    if rule.audit:
                        person = next((o.person_id for o in found if o.person_id), None)
                        _audit(auth, caller, rule, target, person, params, request, "not_visible")
                    raise _not_found(what, value)
                owners += found
    except SQLAlchemyError as exc:
        log.error("access check failed: %s", exc)
        raise HTTPException(503, "database unavailable, try again") from exc
    request.state.owners = owners
    if rule.export_when is not None and not caller.purpose:
        param, value = rule.export_when
        if not param or request.query_params.get(param) == value:
            _decide(request, Decision(method, path, caller.role, "purpose", tuple(owners)))
            raise Refusal(
                422,
                "an export needs a purpose: send the {header} header",
                header=PURPOSE,
                headers={"X-Ronda-Field": PURPOSE},
            )
    _decide(request, Decision(method, path, caller.role, "allowed", tuple(owners)))
    if rule.audit:
        person = next((o.person_id for o in owners if o.person_id), None)
        action = "export" if rule.export_when and _is_export(rule, request) else rule.audit
        _audit(auth, caller, rule, target, person, params, request, "ok", action=action)
    return caller


PURPOSE = "X-Ronda-Purpose"


def _is_export(rule: Rule, request: Request) -> bool:
    assert rule.export_when is not None
    param, value = rule.export_when
    return not param or request.query_params.get(param) == value


def _audit(
    auth: Authenticator,
    caller: Caller,
    rule: Rule,
    target: str,
    person: str | None,
    params: dict[str, str],
    request: Request,
    outcome: str,
    *,
    action: str | None = None,
) -> None:
    detail: dict[str, Any] = {}
    if params:
        detail["path"] = params
    query = {k: v[:200] for k, v in request.query_params.items() if k != "token"}
    if query:
        detail["query"] = query
    try:
        auth.audit(
            caller.entry(
                action or rule.audit or "read", target, person=person, outcome=outcome, detail=detail
            )
        )
    except SQLAlchemyError as exc:
        log.error("audit trail unavailable: %s", exc)
        raise HTTPException(503, "audit trail unavailable: nothing is served unrecorded") from exc


# ---------------------------------------------------------- for handlers


def current_caller(request: Request) -> Caller:
    """The caller `guard` authenticated (a dependency for handlers)."""
    caller: Caller = getattr(request.state, "caller", ANONYMOUS)
    return caller


def scope_of(request: Request) -> Scope:
    """The scope the caller's role has on this route (for list filters)."""
    scope: Scope = getattr(request.state, "scope", Scope.PUBLIC)
    return scope


CallerDep = Annotated[Caller, Depends(current_caller)]


def actor_name(request: Request, claimed: str) -> str:
    """Who to record as having done something: the signed-in user's name; only
    the service token (an integration acting for someone) may name another."""
    caller = current_caller(request)
    return claimed if caller.user_id == "service" or caller is ANONYMOUS else caller.username


def record(
    request: Request,
    action: str,
    target: str,
    *,
    person: str | None = None,
    outcome: str = "ok",
    detail: dict[str, Any] | None = None,
) -> int:
    """Append one audit row for something a handler read or did beyond what
    `guard` already recorded (e.g. each person in a bulk export)."""
    return repo.audit(
        authenticator(request).sessions,
        current_caller(request).entry(action, target, person=person, outcome=outcome, detail=detail),
    )


@dataclass
class Missing:
    """Routes of an app without a policy entry, and path parameters nobody scopes."""

    routes: list[str] = field(default_factory=list)
    unscoped: list[str] = field(default_factory=list)


def check_app(app: FastAPI) -> Missing:
    out = Missing()
    for method, path, r in api_routes(app):
        rule = POLICY.get((method, path))
        if rule is None:
            out.routes.append(f"{method} {path}")
            continue
        for name in r.param_convertors:
            if name not in RESOLVERS and name not in rule.scoped_in_handler:
                out.unscoped.append(f"{method} {path}: {{{name}}}")
    return out
