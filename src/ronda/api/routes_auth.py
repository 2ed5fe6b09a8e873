"""Sign-in and accounts: `POST /api/auth/login`, `logout`, `me`; users,
agencies and the officer of a person (the caseload) for administrators."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from ronda.api import schemas as sc
from ronda.api.auth import LoginRefused, Role, hash_password, source_of
from ronda.api.deps import tx
from ronda.api.policy import CallerDep, authenticator
from ronda.api.refusal import reader_language
from ronda.errors import InvalidInput
from ronda.storage import cases
from ronda.storage import security as repo
from ronda.storage.errors import NotFound
from ronda.storage.models_security import UserRow

router = APIRouter(prefix="/api", tags=["auth"])
PathId = Annotated[str, Path(pattern=sc.ID_PATTERN, max_length=64)]
RoleName = Literal["admin", "supervisor", "operator", "officer", "auditor"]


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)
    totp: str | None = Field(default=None, max_length=12)


class UserOut(BaseModel):
    id: str
    username: str
    display_name: str
    role: str
    agency_id: str | None
    language: str


class LoginOut(BaseModel):
    token: str
    expires_s: float
    """Seconds of inactivity after which the token stops working."""
    user: UserOut


class UserAdminOut(UserOut):
    disabled: bool
    totp: bool
    locked: bool


class UserIn(BaseModel):
    username: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9._@-]+$")
    password: str = Field(min_length=10, max_length=1024)
    role: RoleName
    agency_id: str | None = Field(default=None, max_length=64)
    display_name: str = Field(default="", max_length=200)
    language: str = Field(default="auto", max_length=16)  # auto: the agency's default, then the browser's


class UserPatch(BaseModel):
    display_name: str | None = Field(default=None, max_length=200)
    language: str | None = Field(default=None, max_length=16)
    disabled: bool | None = None
    password: str | None = Field(default=None, min_length=10, max_length=1024)


class AgencyIn(BaseModel):
    id: str = Field(pattern=sc.ID_PATTERN, max_length=64)
    name: str = Field(default="", max_length=200)


class AgencyOut(BaseModel):
    id: str
    name: str


class OfficerIn(BaseModel):
    officer: str | None = Field(max_length=64, description="the user id of an officer of the person's agency")


def user_out(u: UserRow) -> UserAdminOut:
    return UserAdminOut(
        id=u.id,
        username=u.username,
        display_name=u.display_name,
        role=u.role,
        agency_id=u.agency_id,
        language=u.language,
        disabled=u.disabled,
        totp=u.totp_secret is not None,
        locked=u.locked_until_s is not None,
    )


@router.post("/auth/login", responses={401: {}, 423: {}, 429: {}})
def login(request: Request, body: LoginIn) -> LoginOut:
    """Sign in: a bearer token for `Authorization: Bearer ...`, valid while used
    (it expires after `expires_s` seconds idle, and at the latest after 12 h)."""
    auth = authenticator(request)
    try:
        token, expires_s, caller = auth.login(body.username, body.password, body.totp, source_of(request))
    except LoginRefused as exc:
        # in the language of the sign-in page (the web app sends it as Accept-Language)
        lang = reader_language(request)
        headers = {"Content-Language": lang}
        if exc.status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        return JSONResponse(  # type: ignore[return-value]
            {"error": exc.text(lang), "field": None, **exc.extra}, status_code=exc.status, headers=headers
        )
    return LoginOut(token=token, expires_s=expires_s, user=UserOut(**caller.public()))


@router.post("/auth/logout", status_code=204)
def logout(request: Request, caller: CallerDep) -> None:
    """Ends the session at once, on every server."""
    authenticator(request).logout(caller)


@router.get("/auth/me")
def me(caller: CallerDep) -> UserOut:
    return UserOut(**caller.public())


# ------------------------------------------------------------------ users


@router.get("/users", tags=["users"])
def list_users(request: Request, caller: CallerDep) -> list[UserAdminOut]:
    with tx(request) as s:
        return [user_out(u) for u in repo.list_users(s, caller.agency_id)]


@router.post("/users", status_code=201, tags=["users"])
def create_user(request: Request, caller: CallerDep, body: UserIn) -> UserAdminOut:
    agency = body.agency_id if caller.every_agency else caller.agency_id
    if body.agency_id is not None and not caller.in_agency(body.agency_id):
        raise InvalidInput("an admin creates users of their own agency", field="agency_id")
    with tx(request) as s:
        row = repo.create_user(
            s,
            f"u-{uuid.uuid4().hex[:10]}",
            body.username,
            body.role,
            agency,
            hash_password(body.password),
            display_name=body.display_name,
            language=body.language,
        )
        return user_out(row)


@router.patch("/users/{user_id}", tags=["users"])
def patch_user(request: Request, caller: CallerDep, user_id: PathId, body: UserPatch) -> UserAdminOut:
    with tx(request) as s:
        row = repo.get_user(s, user_id)
        if body.display_name is not None:
            row.display_name = body.display_name
        if body.language is not None:
            row.language = body.language
        if body.password is not None:
            row.password_hash = hash_password(body.password)
            row.password_changed_s = cases.now_s()
            row.failed_logins, row.locked_until_s = 0, None
            repo.end_sessions(s, row.id, cases.now_s())
        if body.disabled is not None:
            if row.id == caller.user_id and body.disabled:
                raise InvalidInput("you cannot disable yourself", field="disabled")
            row.disabled = body.disabled
            if body.disabled:
                repo.end_sessions(s, row.id, cases.now_s())
        return user_out(row)


@router.get("/agencies", tags=["users"])
def list_agencies(request: Request, caller: CallerDep) -> list[AgencyOut]:
    with tx(request) as s:
        return [AgencyOut(id=a.id, name=a.name) for a in repo.list_agencies(s) if caller.in_agency(a.id)]


@router.post("/agencies", status_code=201, tags=["users"])
def create_agency(request: Request, caller: CallerDep, body: AgencyIn) -> AgencyOut:
    if not caller.every_agency:
        raise InvalidInput("only an admin of the whole install creates agencies", field="id")
    with tx(request) as s:
        a = repo.create_agency(s, body.id, body.name)
        return AgencyOut(id=a.id, name=a.name)


@router.put("/persons/{person_id}/officer", tags=["persons"])
def set_officer(
    request: Request, caller: CallerDep, person_id: PathId, body: OfficerIn
) -> dict[str, str | None]:
    """Puts the person in an officer's caseload (null: in no one's)."""
    with tx(request) as s:
        person = cases.get_person(s, person_id)
        if body.officer is not None:
            officer = s.get(UserRow, body.officer)
            if officer is None or officer.role != Role.OFFICER or officer.agency_id != person.agency_id:
                raise NotFound("officer", body.officer)
        person.officer_id = body.officer
        return {"person": person.id, "officer": person.officer_id, "agency": person.agency_id}
