"""Alert records (protocol, notifications, escalation), contacts and consent,
the notification outbox, the alert policy (issue 7)."""

from __future__ import annotations

import datetime as dt
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from ronda.alerts.messages import LANGUAGES, language_of
from ronda.alerts.policy import AlertPolicy, StepOutcome
from ronda.alerts.workflow import AlertStatus, allowed_actions
from ronda.api.auth import Owner, person_owner
from ronda.api.deps import service, tx, when
from ronda.api.policy import current_caller, register_resolver
from ronda.errors import InvalidInput
from ronda.i18n.catalog import N_, gettext
from ronda.notify.config import load_config
from ronda.notify.escalation import escalate
from ronda.notify.runtime import runtime_of
from ronda.storage import alerts, cases
from ronda.storage import notify as store
from ronda.storage.models import AlertRow, EpisodeRow
from ronda.storage.models_notify import ContactRow, OutboxRow

router = APIRouter(prefix="/api", tags=["alerts"])
Num = Annotated[int, Path(ge=1, le=2**62)]
PersonPath = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]
Text = Annotated[str, Field(max_length=2000, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$")]
Name = Annotated[str, Field(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")]
Address = Annotated[str, Field(min_length=3, max_length=500, pattern=r"^(email|sms|url):[^\x00-\x20\x7f]+$")]
Language = Annotated[
    str, Field(min_length=2, max_length=16, pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")
]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ------------------------------------------------------------------ helpers


def policy(request: Request) -> AlertPolicy:
    rt = runtime_of(service(request))
    if rt is not None:
        return rt.config.policy
    cached: AlertPolicy | None = getattr(request.app.state, "alert_policy", None)
    if cached is None:
        cached = load_config().policy
        request.app.state.alert_policy = cached
    return cached


def actor(request: Request) -> str:
    c = current_caller(request)
    return c.username or c.user_id or "operator"


def _contact_owner(s: Session, key: str) -> list[Owner] | None:
    c = s.get(ContactRow, int(key)) if key.isdigit() else None
    if c is None:
        return None
    if c.person_id and (o := person_owner(s, c.person_id)) is not None:
        return [o]
    return [Owner(c.agency_id or "")]


def _notification_owner(s: Session, key: str) -> list[Owner] | None:
    row = s.get(OutboxRow, int(key)) if key.isdigit() else None
    if row is None:
        return None
    if row.alert_id is not None:
        a = s.get(AlertRow, row.alert_id)
        e = s.get(EpisodeRow, a.episode_id) if a else None
        if e is not None and e.person_id and (o := person_owner(s, e.person_id)) is not None:
            return [o]
    if row.contact_id is not None:
        return _contact_owner(s, str(row.contact_id))
    return [Owner("")]


register_resolver("contact_id", N_("contact"), _contact_owner)
register_resolver("notification_id", N_("notification"), _notification_owner)


# ------------------------------------------------------------------ schemas


class NotificationOut(Model):
    id: int
    kind: str
    recipient: str
    channel: str
    language: str
    subject: str
    body: str
    status: Literal["pending", "sending", "sent", "failed"]
    attempts: int
    max_attempts: int
    last_error: str | None
    created: dt.datetime
    next_attempt: dt.datetime | None
    sent: dt.datetime | None
    alert: int | None


def notification_out(r: OutboxRow) -> NotificationOut:
    return NotificationOut(
        id=r.id,
        kind=r.kind,
        recipient=r.recipient,
        channel=r.target.split(":", 1)[0],
        language=r.language,
        subject=r.subject,
        body=r.body,
        status=r.status,  # type: ignore[arg-type]
        attempts=r.attempts,
        max_attempts=r.max_attempts,
        last_error=r.last_error,
        created=when(r.created_s),
        next_attempt=when(r.next_attempt_s) if r.status == store.Status.PENDING else None,
        sent=when(r.sent_s) if r.sent_s is not None else None,
        alert=r.alert_id,
    )


class StepOut(Model):
    step: str
    label: str
    outcome: str | None  # the latest outcome; None: not done yet
    note: str
    by: str | None
    at: dt.datetime | None
    history: list[dict[str, Any]]


class EscalationOut(Model):
    severity: str
    target_s: float
    due: dt.datetime | None  # when it escalates next if nobody acknowledges it
    level: int
    link: str
    chain: list[str]
    agency: str | None
    acknowledged_after_s: float | None  # response time of the first acknowledgement


class RecordOut(Model):
    alert: int
    status: str
    allowed_actions: list[str]
    escalation: EscalationOut | None
    protocol: list[StepOut]
    notifications: list[NotificationOut]
    actions: list[dict[str, Any]]
    pursuits: list[dict[str, Any]]


class StepIn(Model):
    step: Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z0-9_]+$")]
    outcome: Literal["done", "no_answer", "unreachable", "declined", "not_applicable"]
    note: Text = ""


class EscalateIn(Model):
    text: Text = ""


class ContactIn(Model):
    name: Name
    addresses: Annotated[list[Address], Field(min_length=1, max_length=10)]
    language: Language = "en"
    kind: Literal["victim", "wearer"] = "victim"


class OfficialContactIn(Model):
    name: Name
    addresses: Annotated[list[Address], Field(min_length=1, max_length=10)]
    language: Language = "en"
    kind: Literal["police", "officer", "staff"] = "police"
    agency: Annotated[str | None, Field(max_length=64)] = None


class ContactPatch(Model):
    name: Name | None = None
    addresses: Annotated[list[Address] | None, Field(min_length=1, max_length=10)] = None
    language: Language | None = None
    active: bool | None = None


class ContactOut(Model):
    id: int
    person: str | None
    kind: str
    name: str
    language: str
    template_language: str
    addresses: list[str]
    agency: str | None
    active: bool
    consent: bool | None  # victims and wearers: the latest consent; officials: None (not asked)


class ConsentIn(Model):
    granted: bool
    method: Literal["signed_form", "phone", "in_person", "online", "court_order"]
    note: Text = ""


class ConsentOut(Model):
    granted: bool
    method: str
    note: str
    by: str
    at: dt.datetime


class CaseContactsIn(Model):
    police_contact: Annotated[int | None, Field(ge=1, le=2**62)] = None
    officer_contact: Annotated[int | None, Field(ge=1, le=2**62)] = None
    agency: Annotated[str | None, Field(max_length=64)] = None


class CaseContactsOut(Model):
    person: str
    police_contact: int | None
    officer_contact: int | None
    agency: str | None
    updated: dt.datetime | None
    updated_by: str | None


def contact_out(s: Session, c: ContactRow) -> ContactOut:
    personal = c.kind in ("victim", "wearer")
    return ContactOut(
        id=c.id,
        person=c.person_id,
        kind=c.kind,
        name=c.name,
        language=c.language,
        template_language=language_of(c.language),
        addresses=list(c.addresses),
        agency=c.agency_id,
        active=c.active,
        consent=store.has_consent(s, c.id) if personal else None,
    )


# ------------------------------------------------------------ alert record


def _protocol(
    s: Session, pol: AlertPolicy, e: EpisodeRow, alert_id: int, language: str = "en"
) -> list[StepOut]:
    done = store.steps(s, alert_id)
    out = []
    # Step labels in the caller's language (the vocabulary's `protocol_step`; a
    # step the policy file names itself keeps its own words).
    planned = [(st.id, gettext(language, st.label)) for st in pol.protocol(e.type)]
    extra = [(r.step, r.step) for r in done if r.step not in {p for p, _ in planned}]
    for step, label in planned + list(dict.fromkeys(extra)):
        rows = [r for r in done if r.step == step]
        last = rows[-1] if rows else None
        out.append(
            StepOut(
                step=step,
                label=label,
                outcome=last.outcome if last else None,
                note=last.note if last else "",
                by=last.actor if last else None,
                at=when(last.at_s) if last else None,
                history=[
                    {"outcome": r.outcome, "note": r.note, "by": r.actor, "at": when(r.at_s).isoformat()}
                    for r in rows
                ],
            )
        )
    return out


def _escalation(s: Session, pol: AlertPolicy, a: AlertRow) -> EscalationOut | None:
    t = store.get_timer(s, a.id)
    if t is None:
        return None
    chain = pol.chain(t.agency_id)
    first_ack = next((x for x in alerts.alert_actions(s, a.id) if x.action == "acknowledge"), None)
    running = AlertStatus(a.status) in (AlertStatus.NEW, AlertStatus.ASSIGNED, AlertStatus.ESCALATED)
    return EscalationOut(
        severity=a.severity,
        target_s=t.target_s,
        due=when(t.due_s) if t.due_s is not None and running else None,
        level=t.level,
        link=chain[min(t.level, len(chain) - 1)].name if chain else "",
        chain=[link.name for link in chain],
        agency=t.agency_id,
        acknowledged_after_s=None if first_ack is None else round(first_ack.at_s - t.created_s, 3),
    )


def _record(request: Request, s: Session, alert_id: int) -> RecordOut:
    e, a = alerts.get_alert(s, alert_id)
    pol = policy(request)
    return RecordOut(
        alert=a.id,
        status=a.status,
        allowed_actions=[x.value for x in allowed_actions(AlertStatus(a.status))],
        escalation=_escalation(s, pol, a),
        protocol=_protocol(s, pol, e, a.id, current_caller(request).language),
        notifications=[notification_out(r) for r in store.outbox_for_alert(s, a.id)],
        actions=[
            {
                "action": x.action,
                "by": x.actor,
                "from_status": x.from_status,
                "to_status": x.to_status,
                "text": x.text,
                "at": when(x.at_s).isoformat(),
            }
            for x in alerts.alert_actions(s, a.id)
        ],
        pursuits=[
            {
                "device": p.device_id,
                "interval_s": p.interval_s,
                "normal_interval_s": p.normal_interval_s,
                "started": when(p.started_s).isoformat(),
                "ended": when(p.ended_s).isoformat() if p.ended_s is not None else None,
                "start_command": p.start_command,
                "end_command": p.end_command,
            }
            for p in store.pursuits_of_episode(s, e.id)
        ],
    )


def _publish(request: Request, alert_id: int) -> None:
    from ronda.pipeline.service import alert_message

    with service(request).sessions() as s:
        e, a = alerts.get_alert(s, alert_id)
        message = alert_message(alerts.Stored(e, a, False))
    service(request).bus.publish_threadsafe("alert", message)


@router.get("/alerts/{alert_id}/record")
def alert_record(request: Request, alert_id: Num) -> RecordOut:
    """The alert's whole record: every action (who, when), the protocol
    checklist with outcomes, every notification with its delivery outcome,
    its response target and escalation, pursuit commands."""
    with tx(request) as s:
        return _record(request, s, alert_id)


@router.get("/alerts/{alert_id}/notifications")
def alert_notifications(request: Request, alert_id: Num) -> list[NotificationOut]:
    """What was sent about this alert, to whom, and whether it was delivered."""
    with tx(request) as s:
        alerts.get_alert(s, alert_id)
        return [notification_out(r) for r in store.outbox_for_alert(s, alert_id)]


@router.post("/alerts/{alert_id}/steps")
def tick_step(request: Request, alert_id: Num, body: StepIn) -> RecordOut:
    """Tick off a protocol step with its outcome (again to record a later try)."""
    with tx(request) as s:
        e, _ = alerts.get_alert(s, alert_id)
        known = {st.id for st in policy(request).protocol(e.type)}
        if body.step not in known:
            raise InvalidInput(
                "{step} is not a step of the {type} protocol ({steps})",
                field="step",
                step=repr(body.step),
                type=e.type,
                steps=", ".join(sorted(known)) or "none",
            )
        store.record_step(
            s, alert_id, body.step, body.outcome, actor=actor(request), note=body.note, now_s=time.time()
        )
    with tx(request) as s:
        return _record(request, s, alert_id)


@router.post("/alerts/{alert_id}/escalate")
def escalate_alert(request: Request, alert_id: Num, body: EscalateIn) -> RecordOut:
    """Hand the alert to the next link of its chain now (that link is notified)."""
    with tx(request) as s:
        link = escalate(
            s, alert_id, policy(request), now_s=time.time(), actor=actor(request), reason=body.text
        )
        if link is None:
            raise InvalidInput(
                "the alert is already at the last link of its escalation chain", field="alert_id"
            )
    rt = runtime_of(service(request))
    if rt is not None:
        rt.worker.wake()
    _publish(request, alert_id)
    with tx(request) as s:
        return _record(request, s, alert_id)


# --------------------------------------------------------------- contacts


@router.get("/persons/{person_id}/contacts")
def person_contacts(request: Request, person_id: PersonPath) -> list[ContactOut]:
    with tx(request) as s:
        cases.get_person(s, person_id)
        return [contact_out(s, c) for c in store.list_contacts(s, person_id=person_id)]


@router.post("/persons/{person_id}/contacts", status_code=201)
def add_person_contact(request: Request, person_id: PersonPath, body: ContactIn) -> ContactOut:
    """A protected person's (or a wearer's) contact. Nothing is sent to it
    until consent is recorded (POST /api/contacts/{id}/consent)."""
    with tx(request) as s:
        cases.get_person(s, person_id)
        c = store.create_contact(
            s, kind=body.kind, name=body.name, addresses=body.addresses, language=body.language,
            person_id=person_id, now_s=time.time(),
        )  # fmt: skip
        return contact_out(s, c)


@router.get("/contacts")
def official_contacts(
    request: Request, kind: Literal["police", "officer", "staff"] | None = None
) -> list[ContactOut]:
    """Police units, officers and staff contacts (not persons' own)."""
    caller = current_caller(request)
    with tx(request) as s:
        rows = [c for c in store.list_contacts(s, kind=kind) if c.person_id is None]
        rows = [c for c in rows if caller.in_agency(c.agency_id) or c.agency_id is None]
        return [contact_out(s, c) for c in rows]


@router.post("/contacts", status_code=201)
def add_official_contact(request: Request, body: OfficialContactIn) -> ContactOut:
    caller = current_caller(request)
    agency = body.agency if body.agency is not None else caller.agency_id
    if not caller.in_agency(agency):
        raise InvalidInput("a contact of another agency", field="agency")
    with tx(request) as s:
        c = store.create_contact(
            s, kind=body.kind, name=body.name, addresses=body.addresses, language=body.language,
            agency_id=agency, now_s=time.time(),
        )  # fmt: skip
        return contact_out(s, c)


@router.patch("/contacts/{contact_id}")
def patch_contact(request: Request, contact_id: Num, body: ContactPatch) -> ContactOut:
    with tx(request) as s:
        c = store.update_contact(
            s, contact_id, now_s=time.time(), name=body.name, addresses=body.addresses,
            language=body.language, active=body.active,
        )  # fmt: skip
        return contact_out(s, c)


@router.get("/contacts/{contact_id}/consents")
def contact_consents(request: Request, contact_id: Num) -> list[ConsentOut]:
    """The consent history: every grant and withdrawal, who recorded it and when."""
    with tx(request) as s:
        store.get_contact(s, contact_id)
        return [
            ConsentOut(granted=r.granted, method=r.method, note=r.note, by=r.actor, at=when(r.at_s))
            for r in store.consents(s, contact_id)
        ]


@router.post("/contacts/{contact_id}/consent", status_code=201)
def record_consent(request: Request, contact_id: Num, body: ConsentIn) -> ContactOut:
    """Consent to be messaged, or its withdrawal (takes effect at once: nothing
    more is queued for this contact)."""
    with tx(request) as s:
        store.record_consent(
            s, contact_id, granted=body.granted, method=body.method, actor=actor(request),
            note=body.note, now_s=time.time(),
        )  # fmt: skip
        return contact_out(s, store.get_contact(s, contact_id))


@router.get("/persons/{person_id}/case-contacts")
def get_case_contacts(request: Request, person_id: PersonPath) -> CaseContactsOut:
    with tx(request) as s:
        cases.get_person(s, person_id)
        row = store.case_contacts(s, person_id)
        if row is None:
            return CaseContactsOut(
                person=person_id, police_contact=None, officer_contact=None,
                agency=store.person_agency(s, person_id), updated=None, updated_by=None,
            )  # fmt: skip
        return CaseContactsOut(
            person=person_id, police_contact=row.police_contact_id, officer_contact=row.officer_contact_id,
            agency=row.agency_id, updated=when(row.updated_s), updated_by=row.updated_by,
        )  # fmt: skip


@router.put("/persons/{person_id}/case-contacts")
def put_case_contacts(request: Request, person_id: PersonPath, body: CaseContactsIn) -> CaseContactsOut:
    """The police contact warned of this wearer's proximity alerts, the
    officer, and the agency whose escalation chain applies."""
    with tx(request) as s:
        cases.get_person(s, person_id)
        for cid, kind in ((body.police_contact, "police"), (body.officer_contact, "officer")):
            if cid is not None and store.get_contact(s, cid).person_id is not None:
                if kind == "police":
                    raise InvalidInput(
                        "contact {contact} is a person's own, not a police contact",
                        field="police_contact",
                        contact=cid,
                    )
                raise InvalidInput(
                    "contact {contact} is a person's own, not an officer contact",
                    field="officer_contact",
                    contact=cid,
                )
        store.set_case_contacts(
            s, person_id, police_contact_id=body.police_contact, officer_contact_id=body.officer_contact,
            agency_id=body.agency, actor=actor(request), now_s=time.time(),
        )  # fmt: skip
    return get_case_contacts(request, person_id)


# ----------------------------------------------------------- notifications


@router.get("/notifications")
def list_notifications(
    request: Request,
    status: Literal["pending", "sending", "sent", "failed"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> list[NotificationOut]:
    """The outbox, newest first (``status=failed``: what needs a hand)."""
    caller = current_caller(request)
    with tx(request) as s:
        rows = store.list_outbox(s, status=status, limit=limit, offset=offset)
        if not caller.every_agency:
            rows = [r for r in rows if _visible(s, caller.agency_id, r)]
        return [notification_out(r) for r in rows]


def _visible(s: Session, agency: str | None, r: OutboxRow) -> bool:
    owners = _notification_owner(s, str(r.id)) or []
    return any(o.agency_id == agency for o in owners)


@router.post("/notifications/{notification_id}/retry")
def retry_notification(request: Request, notification_id: Num) -> NotificationOut:
    """Send a failed notification again (after fixing the address or the channel)."""
    with tx(request) as s:
        row = store.retry(s, notification_id, now_s=time.time())
        out = notification_out(row)
    rt = runtime_of(service(request))
    if rt is not None:
        rt.worker.wake()
    return out


@router.get("/alert-policy")
def alert_policy(request: Request) -> dict[str, Any]:
    """Severities, response targets, escalation chains (link names), protocols, timings."""
    pol = policy(request)
    return {
        "severities": {k: v.value for k, v in sorted(pol.severities.items())},
        "targets_s": {k.value: v for k, v in pol.targets_s.items()},
        "rules": {
            r: {"severity": o.severity.value if o.severity else None, "target_s": o.target_s}
            for r, o in sorted(pol.rules.items())
        },
        "chains": {
            agency: [
                {"name": link.name, "wait_s": link.wait_s, "notifies": len(link.notify)} for link in chain
            ]
            for agency, chain in sorted(pol.chains.items())
        },
        "protocols": {
            t: [{"step": st.id, "label": gettext(current_caller(request).language, st.label)} for st in steps]
            for t, steps in pol.protocols.items()
        },
        "step_outcomes": list(StepOutcome.ALL),
        "languages": list(LANGUAGES),
        "reminder_lead_s": pol.reminder_lead_s,
        "pursuit_interval_s": pol.pursuit_interval_s,
    }
