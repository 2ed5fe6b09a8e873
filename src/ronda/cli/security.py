"""`ronda users`, `ronda agencies`, `ronda audit`, `ronda retention`, `ronda holds`.

Run on the server's host against its database (the same `--database` /
`RONDA_DATABASE_URL` as `ronda serve`); each change is written to the audit
trail with the actor `cli` and the operating-system user."""

from __future__ import annotations

import datetime as dt
import getpass
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from ronda.audit.chain import AuditEntry
from ronda.cli import words
from ronda.cli.words import _
from ronda.config import Settings
from ronda.errors import RondaError
from ronda.i18n.catalog import N_

console = Console(soft_wrap=True)  # lines a script can read (no wrapping)
err = Console(stderr=True)

users = typer.Typer(help=_("People who sign in: add, list, passwords, disable, TOTP."), no_args_is_help=True)
agencies = typer.Typer(help=_("Agencies (tenants): add, list."), no_args_is_help=True)
audit = typer.Typer(help=_("The audit trail: verify the chain, show entries."), no_args_is_help=True)
retention = typer.Typer(
    help=_("Retention: purge positions and events past the retention period."), no_args_is_help=True
)
holds = typer.Typer(
    help=_("Legal holds: keep a person's data of a period past retention."), no_args_is_help=True
)

Database = Annotated[
    str | None,
    typer.Option("--database", help=_("SQLAlchemy URL [RONDA_DATABASE_URL; SQLite in the data folder]")),
]
DataDir = Annotated[Path | None, typer.Option("--data-dir", help=_("data folder [RONDA_DATA_DIR, ./data]"))]
ROLE_HELP = _("admin | supervisor | operator | officer | auditor")


def settings(database: str | None, data_dir: Path | None) -> Settings:
    import dataclasses

    s = Settings.from_env()
    return dataclasses.replace(
        s,
        data_dir=s.data_dir if data_dir is None else data_dir,
        database_url=s.database_url if database is None else database,
    )


@contextmanager
def database(database: str | None, data_dir: Path | None) -> Iterator[tuple[Engine, sessionmaker[Session]]]:
    from ronda.storage.db import connect, migrate, sessions

    db = connect(settings(database, data_dir).effective_database_url)
    try:
        migrate(db)
        yield db, sessions(db)
    except RondaError as exc:
        err.print("[red]" + _("error:") + "[/] " + escape(words.error(exc)))
        raise typer.Exit(2) from exc
    finally:
        db.dispose()


def cli_entry(
    action: str,
    target: str,
    *,
    person: str | None = None,
    detail: dict[str, object] | None = None,
    purpose: str | None = None,
) -> AuditEntry:
    return AuditEntry(
        at_s=time.time(),
        actor="cli",
        role="admin",
        agency=None,
        action=action,
        target=target,
        person=person,
        purpose=purpose,
        source=f"cli:{getpass.getuser()}@{os.uname().nodename}",
        detail=dict(detail or {}),
    )


def _password(given: str | None) -> str:
    from ronda.api.auth import hash_password

    if given is None:
        given = typer.prompt(_("password"), hide_input=True, confirmation_prompt=_("Repeat for confirmation"))
    try:
        return hash_password(given)
    except ValueError as exc:
        raise typer.BadParameter(words.error(exc), param_hint="--password") from exc


# ------------------------------------------------------------------ users


@users.command("add", help=_("Add a user (password at least 10 characters)."))
def users_add(
    username: Annotated[str, typer.Argument(help=_("the name they sign in with"))],
    role: Annotated[str, typer.Option(help=ROLE_HELP)],
    agency: Annotated[
        str | None,
        typer.Option(help=_("agency id (default: main; 'none': every agency, admins and auditors)")),
    ] = "main",
    name: Annotated[str, typer.Option("--name", help=_("display name"))] = "",
    language: Annotated[
        str,
        typer.Option(help=_("UI language: en, es, pt, or auto (the agency's default, then the browser's)")),
    ] = "auto",
    password: Annotated[str | None, typer.Option(help=_("default: asked (not echoed)"))] = None,
    user_id: Annotated[str | None, typer.Option("--id", help=_("default: generated"))] = None,
    database_url: Database = None,
    data_dir: DataDir = None,
) -> None:
    """Add a user (password at least 10 characters)."""
    from ronda.storage import security as repo

    hashed = _password(password)
    agency_id = None if agency in (None, "none", "") else agency
    with database(database_url, data_dir) as (_, sessions), sessions.begin() as s:
        row = repo.create_user(
            s,
            user_id or f"u-{uuid.uuid4().hex[:10]}",
            username,
            role,
            agency_id,
            hashed,
            display_name=name,
            language=language,
        )
        repo.append_audit(
            s,
            cli_entry("write", f"user {username}", detail={"add": row.id, "role": role, "agency": agency_id}),
        )
        agency = row.agency_id or words._("every agency")
        console.print(
            words._(
                "added {user} ({role}, agency {agency}) id {id}",
                user=row.username,
                role=row.role,
                agency=agency,
                id=row.id,
            ),
            markup=False,
        )


@users.command("list", help=_("Every user: role, agency, second factor, state."))
def users_list(database_url: Database = None, data_dir: DataDir = None) -> None:
    from ronda.storage import security as repo

    with database(database_url, data_dir) as (_, sessions), sessions() as s:
        table = Table(
            words._("id"),
            words._("username"),
            words._("name"),
            words._("role"),
            words._("agency"),
            words._("totp"),
            words._("state"),
        )
        now = time.time()
        for u in repo.list_users(s):
            state = (
                words._("disabled")
                if u.disabled
                else (words._("locked") if (u.locked_until_s or 0) > now else words._("active"))
            )
            table.add_row(
                u.id,
                u.username,
                u.display_name,
                u.role,
                u.agency_id or words._("every agency"),
                words._("yes") if u.totp_secret else words._("no"),
                state,
            )
        console.print(table)


def _change(
    username: str, database_url: str | None, data_dir: Path | None, what: str, **fields: object
) -> None:
    from ronda.storage import security as repo

    with database(database_url, data_dir) as (_, sessions), sessions.begin() as s:
        u = repo.user_by_name(s, username)
        if u is None:
            err.print("[red]" + words._("error:") + "[/] " + words._("no user {user}", user=repr(username)))
            raise typer.Exit(2)
        repo.append_audit(s, cli_entry("write", f"user {username}", detail={"change": what}))
        for k, v in fields.items():
            setattr(u, k, v)
        if what in ("password", "disable"):
            repo.end_sessions(s, u.id, time.time())
    change = words._(CHANGES.get(what, what))
    console.print(words._("{user}: {change} done", user=username, change=change), markup=False)


# What `_change` did, as the operator reads it ("{user}: {change} done"); the
# audit trail keeps the English key.
CHANGES = {
    "password": N_("password change"),
    "disable": N_("disable"),
    "enable": N_("enable"),
    "totp on": N_("second factor on"),
    "totp off": N_("second factor off"),
}


USERNAME = Annotated[str, typer.Argument(help=_("the user's sign-in name"))]


@users.command("passwd", help=_("Set a new password (ends the user's sessions, lifts a lockout)."))
def users_passwd(
    username: USERNAME,
    password: Annotated[str | None, typer.Option(help=_("default: asked"))] = None,
    database_url: Database = None,
    data_dir: DataDir = None,
) -> None:
    """Set a new password (ends the user's sessions, lifts a lockout)."""
    _change(
        username,
        database_url,
        data_dir,
        "password",
        password_hash=_password(password),
        password_changed_s=time.time(),
        failed_logins=0,
        locked_until_s=None,
    )


@users.command("disable", help=_("Disable a user (ends their sessions at once; kept for the record)."))
def users_disable(username: USERNAME, database_url: Database = None, data_dir: DataDir = None) -> None:
    """Disable a user (ends their sessions at once; kept for the record)."""
    _change(username, database_url, data_dir, "disable", disabled=True)


@users.command("enable", help=_("Enable a disabled user again (and lift a lockout)."))
def users_enable(username: USERNAME, database_url: Database = None, data_dir: DataDir = None) -> None:
    _change(username, database_url, data_dir, "enable", disabled=False, failed_logins=0, locked_until_s=None)


@users.command(
    "totp",
    help=_(
        "Turn on a TOTP second factor: prints the secret and the otpauth:// URI to put in an "
        "authenticator app (shown once)."
    ),
)
def users_totp(
    username: USERNAME,
    off: Annotated[bool, typer.Option("--off", help=_("remove the second factor"))] = False,
    database_url: Database = None,
    data_dir: DataDir = None,
) -> None:
    """Turn on a TOTP second factor: prints the secret and the otpauth:// URI
    to put in an authenticator app (shown once)."""
    from ronda.api.auth import new_totp_secret, totp_uri

    if off:
        _change(username, database_url, data_dir, "totp off", totp_secret=None)
        return
    secret = new_totp_secret()
    _change(username, database_url, data_dir, "totp on", totp_secret=secret)
    console.print(_("secret {secret}", secret=secret) + "\n" + totp_uri(secret, username))


# --------------------------------------------------------------- agencies


@agencies.command("add", help=_("Add an agency (a tenant)."))
def agencies_add(
    agency_id: Annotated[str, typer.Argument(help=_("the agency's id"))],
    name: Annotated[str, typer.Option("--name", help=_("display name"))] = "",
    database_url: Database = None,
    data_dir: DataDir = None,
) -> None:
    from ronda.storage import security as repo

    with database(database_url, data_dir) as (_, sessions), sessions.begin() as s:
        repo.append_audit(s, cli_entry("write", f"agency {agency_id}", detail={"add": agency_id}))
        repo.create_agency(s, agency_id, name)
    console.print(words._("added agency {agency}", agency=agency_id), markup=False)


@agencies.command("list", help=_("Every agency: id and name."))
def agencies_list(database_url: Database = None, data_dir: DataDir = None) -> None:
    from ronda.storage import security as repo

    with database(database_url, data_dir) as (_, sessions), sessions() as s:
        for a in repo.list_agencies(s):
            console.print(f"{a.id}\t{a.name}")


# ------------------------------------------------------------------ audit


@audit.command(
    "verify",
    help=_(
        "Check the hash chain; name the first altered, removed or moved row, or a cut tail. Exit status 1 "
        "when the chain is broken."
    ),
)
def audit_verify(
    expect_head: Annotated[
        str | None, typer.Option(help=_("a head hash noted earlier: it must still be in the chain"))
    ] = None,
    workers: Annotated[int, typer.Option(help=_("processes checking ranges at once [the CPUs]"))] = 0,
    database_url: Database = None,
    data_dir: DataDir = None,
) -> None:
    """Check the hash chain; name the first altered, removed or moved row, or a cut tail.
    Exit status 1 when the chain is broken."""
    from ronda.storage import security as repo

    with database(database_url, data_dir) as (db, _):
        t0 = time.perf_counter()
        v = repo.verify_audit(db, workers=workers or os.cpu_count() or 1)
        took = time.perf_counter() - t0
        if v.ok and expect_head:
            from sqlalchemy import select

            from ronda.storage.models_security import AuditRow

            with db.connect() as c:
                if c.execute(select(AuditRow.seq).where(AuditRow.hash == expect_head)).first() is None:
                    err.print(
                        "[red]"
                        + words._("broken:")
                        + "[/] "
                        + words._("the noted head {head} is not in the chain", head=expect_head)
                    )
                    raise typer.Exit(1)
    if v.finding is not None:
        where = words._("broken at row {seq} ({kind}):", seq=v.finding.seq, kind=v.finding.kind)
        err.print(f"[red]{where}[/] {v.finding.message}")
        err.print(words._("rows before it verified: {n}", n=words.number(v.head_seq)))
        raise typer.Exit(1)
    console.print(
        words._(
            "audit chain intact: {rows} rows verified in {seconds} s; head {seq} {hash}",
            rows=words.number(v.rows),
            seconds=format(took, ".1f"),
            seq=v.head_seq,
            hash=v.head_hash,
        )
    )


@audit.command("show", help=_("Entries of the audit trail, oldest first."))
def audit_show(
    person: Annotated[str | None, typer.Option(help=_("entries about this person"))] = None,
    actor: Annotated[str | None, typer.Option(help=_("entries by this user (or cli)"))] = None,
    limit: Annotated[int, typer.Option(help=_("at most this many"))] = 50,
    after: Annotated[int, typer.Option(help=_("entries after this seq"))] = 0,
    database_url: Database = None,
    data_dir: DataDir = None,
) -> None:
    from ronda.storage import security as repo
    from ronda.types import to_iso

    with database(database_url, data_dir) as (_, sessions), sessions() as s:
        for r in repo.read_audit(s, repo.AuditQuery(person=person, actor=actor, after_seq=after), limit):
            why = words._("purpose: {purpose}", purpose=r.purpose) if r.purpose else ""
            console.print(
                f"{r.seq:>8} {to_iso(r.at_s)} {r.actor:<12} {r.role:<10} {r.action:<7} {r.outcome:<11} "
                f"{r.target} {r.person or ''} {why}",
                markup=False,
                highlight=False,
            )


# -------------------------------------------------------------- retention


@retention.command(
    "purge",
    help=_(
        "Delete positions and device events older than the retention period, except under legal holds; "
        "the purge is recorded in the audit trail."
    ),
)
def retention_purge(
    days: Annotated[
        float | None, typer.Option(help=_("retention in days [RONDA_RETENTION_DAYS, 365]"))
    ] = None,
    database_url: Database = None,
    data_dir: DataDir = None,
) -> None:
    """Delete positions and device events older than the retention period,
    except under legal holds; the purge is recorded in the audit trail."""
    from ronda.storage import security as repo

    keep_days = settings(database_url, data_dir).security.retention_days if days is None else days
    cutoff = time.time() - keep_days * 86400.0
    with database(database_url, data_dir) as (_, sessions):
        r = repo.purge(sessions, cutoff, actor="cli", role="admin")
    console.print(
        words._(
            "purged {deleted} records older than {cutoff} UTC; kept {kept} under {holds} legal hold(s); "
            "audit row {seq}",
            deleted=words.number(r.deleted),
            cutoff=format(dt.datetime.fromtimestamp(cutoff, dt.UTC), "%Y-%m-%d %H:%M"),
            kept=words.number(r.kept_held),
            holds=len(r.holds),
            seq=r.audit_seq,
        )
    )


# ------------------------------------------------------------------ holds


def _instant(text: str, name: str) -> float:
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise typer.BadParameter(
            _("not an ISO 8601 instant: {text}", text=repr(text)), param_hint=name
        ) from exc
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).timestamp()


@holds.command("add", help=_("Put a legal hold on a person's data of a period."))
def holds_add(
    person: Annotated[str, typer.Argument(help=_("the person's id"))],
    start: Annotated[str, typer.Option(help=_("from (ISO 8601)"))],
    end: Annotated[str, typer.Option(help=_("to (ISO 8601)"))],
    reason: Annotated[str, typer.Option(help=_("why (a case number, a court's order)"))],
    database_url: Database = None,
    data_dir: DataDir = None,
) -> None:
    from ronda.storage import security as repo

    a, b = _instant(start, "--start"), _instant(end, "--end")
    with database(database_url, data_dir) as (_, sessions), sessions.begin() as s:
        repo.append_audit(
            s,
            cli_entry(
                "write", "legal hold", person=person, detail={"start_s": a, "end_s": b, "reason": reason}
            ),
        )
        h = repo.add_hold(s, person, a, b, reason, "cli")
        console.print(words._("legal hold {id} on {person}", id=h.id, person=person), markup=False)


@holds.command("list", help=_("Legal holds in force (with --all, released ones too)."))
def holds_list(
    person: Annotated[str | None, typer.Option(help=_("holds on this person"))] = None,
    all_: Annotated[bool, typer.Option("--all", help=_("released ones too"))] = False,
    database_url: Database = None,
    data_dir: DataDir = None,
) -> None:
    from ronda.storage import security as repo
    from ronda.types import to_iso

    with database(database_url, data_dir) as (_, sessions), sessions() as s:
        for h in repo.list_holds(s, person, None if all_ else True):
            state = (
                words._("released {when}", when=to_iso(h.released_s)) if h.released_s else words._("active")
            )
            console.print(
                f"{h.id}\t{h.person_id}\t{to_iso(h.start_s)}\t{to_iso(h.end_s)}\t{state}\t{h.reason}",
                markup=False,
                highlight=False,
            )


@holds.command("release", help=_("Release a legal hold (kept for the record)."))
def holds_release(
    hold_id: Annotated[int, typer.Argument(help=_("the hold's number"))],
    database_url: Database = None,
    data_dir: DataDir = None,
) -> None:
    from ronda.storage import security as repo

    with database(database_url, data_dir) as (_, sessions), sessions.begin() as s:
        repo.append_audit(s, cli_entry("write", "legal hold", detail={"release": hold_id}))
        h = repo.release_hold(s, hold_id, "cli")
        console.print(
            words._("released legal hold {id} on {person}", id=h.id, person=h.person_id), markup=False
        )


# ------------------------------------------------------------------- demo

DEMO_ROLES = (
    ("admin", "admin", "Demo Admin"),
    ("supervisor", "supervisor", "Demo Supervisor"),
    ("operator", "operator", "Demo Operator"),
    ("officer1", "officer", "Officer One"),
    ("officer2", "officer", "Officer Two"),
    ("auditor", "auditor", "Demo Auditor"),
)


def create_demo_users(s: Session) -> list[tuple[str, str, str]]:
    """One user per role in the default agency, each with a fresh random
    password; the monitored persons are split between the two officers'
    caseloads, and each victim follows the officer of the person ordered to
    keep away from them. Returns (username, password, role)."""
    import secrets

    from sqlalchemy import select

    from ronda.api.auth import hash_password
    from ronda.storage import security as repo
    from ronda.storage.models import OrderRow, PersonRow, RuleRow

    out = []
    ids: dict[str, str] = {}
    for username, role, name in DEMO_ROLES:
        password = secrets.token_urlsafe(9)
        ids[username] = repo.create_user(
            s, f"u-{username}", username, role, "main", hash_password(password), display_name=name
        ).id
        out.append((username, password, role))
    officers = [ids["officer1"], ids["officer2"]]
    monitored = list(
        s.execute(select(PersonRow).where(PersonRow.role == "monitored").order_by(PersonRow.id)).scalars()
    )
    for i, p in enumerate(monitored):
        p.officer_id = officers[i % 2]
    officer_of = {p.id: p.officer_id for p in monitored}
    links = s.execute(
        select(RuleRow.protected_person_id, OrderRow.person_id)
        .join(OrderRow, OrderRow.id == RuleRow.order_id)
        .where(RuleRow.protected_person_id.is_not(None))
    ).all()
    for victim, offender in links:
        row = s.get(PersonRow, victim)
        if row is not None and row.officer_id is None:
            row.officer_id = officer_of.get(offender)
    s.flush()
    return out
