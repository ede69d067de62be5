"""The office desk's people and sectors pages, for admins only.

Server-rendered like the rest of the desk (:mod:`regie.frontends.html.office`): every page first
asks GraphQL who is signed in; anonymous visitors go to the sign-in page, office staff who are not
admins (and collectors) get 403. Every form posts with the CSRF token, and every change is a GraphQL
mutation (checked and audited in the services), followed by a redirect to the page with a message.

- ``GET /office/personnes[?fait=…]``: collectors with their phones and sectors, then office staff
  and admins; a form per person (new PIN or password, unlock, deactivate or reactivate, and for
  collectors: enrol a phone), and a form to create a user.
- ``POST /office/personnes``: create a user.
- ``POST /office/personnes/{username}/telephones``: enrol a phone; the answer shows its secret,
  this once (never in a URL, never again).
- ``POST /office/personnes/{username}/pin``, ``…/mot-de-passe``: set a new PIN or password.
- ``POST /office/personnes/{username}/deverrouiller``, ``…/desactiver``, ``…/reactiver``.
- ``GET /office/telephones/{id}/revoquer``: what revoking the phone does, and a button to confirm;
  ``POST`` there revokes it (it no longer signs in, its sessions end at once).
- ``GET /office/secteurs[?fait=…]``: each sector with its collector and communes, a form per sector
  (the collector as a list, the communes as checkboxes by name) and one to create a sector.
- ``POST /office/secteurs``: create or change a sector.
"""

from __future__ import annotations

import unicodedata
from typing import Any, Literal
from urllib.parse import quote

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from regie.frontends.graphql import GraphQLFailed, run
from regie.frontends.html import csrf
from regie.frontends.html.i18n import N_
from regie.frontends.html.office import (
    DOCUMENTS,
    FORM_EXPIRED,
    _check_office,
    _is_admin,
    _Refused,
)
from regie.frontends.html.templates import gettext_for, page

PEOPLE = "/office/personnes"
SECTORS = "/office/secteurs"
COLLECTOR = "COLLECTOR"
ROLES = {
    "COLLECTOR": N_("collector"),
    "OFFICE": N_("office staff"),
    "ADMIN": N_("administrator"),
}
"""GraphQL ``Role`` values and how the pages name them, in the order of the role list."""
USERNAME_MAX_LENGTH = 60
FULL_NAME_MAX_LENGTH = 120
LABEL_MAX_LENGTH = 80
SECTOR_NAME_MAX_LENGTH = 80
MAX_ID_DIGITS = 9
"""Ids travel as GraphQL ``Int`` (32 bits): longer digit strings are nobody's id."""

NOT_ADMIN = N_("These pages are for administrators.")
USERNAME_FORMAT = N_("The username must have 1 to 60 letters, digits, dots or hyphens.")
USERNAME_TAKEN = N_("This username is already taken.")
FULL_NAME = N_("Give the person’s name (1 to 120 characters).")
ROLE_NEEDED = N_("Choose a role.")
PIN_RULE = N_(
    "The PIN must have at least 6 digits, neither all the same nor in sequence (such as 123456)."
)
PASSWORD_RULE = N_("The password must have at least 12 characters, at least 4 of them different.")
LABEL_TOO_LONG = N_("The phone’s label has at most 80 characters.")
SELF_DEACTIVATION = N_("You cannot deactivate your own account.")
NOT_APPLICABLE = N_("This action does not apply to this account.")
DEVICE_GONE = N_("This phone is not enrolled, or is already revoked.")
SECTOR_NAME = N_("The sector’s name must have 1 to 80 characters.")
SECTOR_EXISTS = N_("A sector already has this name: change it in its own form above.")
UNKNOWN_COLLECTOR = N_("Choose a collector from the list.")
UNKNOWN_COMMUNE = N_("Tick communes from the list.")
NO_SUCH_PHONE = N_("No enrolled phone with this number")
ENROLLED_MEANWHILE = N_(
    "A phone was enrolled for %(username)s since this page was shown (the same form sent twice?): "
    "no other one was enrolled. Its code is shown once only: if it was lost, revoke that phone "
    "and enrol a new one."
)

CREATED = N_("The account %(username)s was created.")
CREATED_COLLECTOR = N_("The account %(username)s was created. Now enrol the collector’s phone.")
DEACTIVATED = N_("The account %(username)s was deactivated; its sessions have ended.")
REACTIVATED = N_("The account %(username)s was reactivated.")
UNLOCKED = N_("The account %(username)s was unlocked.")
PIN_CHANGED = N_("The PIN of %(username)s was changed.")
PASSWORD_CHANGED = N_("The password of %(username)s was changed.")
REVOKED = N_(
    "The phone “%(label)s” was revoked: it no longer signs in and its sessions have ended."
)
SECTOR_SAVED = N_("The sector “%(name)s” was saved.")

DONE_MESSAGES = {
    "cree": CREATED,
    "desactive": DEACTIVATED,
    "reactive": REACTIVATED,
    "deverrouille": UNLOCKED,
    "pin": PIN_CHANGED,
    "mot-de-passe": PASSWORD_CHANGED,
}
"""``?fait=`` values of the people page after a change to one account (``&compte=username``)."""

NEW_USER = "nouveau"
"""Where the create form's errors are shown (the other forms: the person's username)."""
NEW_SECTOR = "nouveau"


# Who may see these pages


def _to_sign_in(request: Request, target: str) -> RedirectResponse:
    if request.method == "GET":
        target = request.url.path
    return RedirectResponse(f"/connexion?next={quote(target, safe='')}", status_code=303)


def _not_admin(request: Request) -> Response:
    _ = gettext_for(request)
    return page(request, "message.html", 403, title=_(NOT_ADMIN), text=None)


async def _admin_query(
    request: Request, name: str, variables: dict[str, Any] | None = None, *, home: str = PEOPLE
) -> dict[str, Any]:
    """Run a document; sign-in and permission failures become :class:`_Refused`."""
    if getattr(request.state, "viewer", None) is None:
        raise _Refused(_to_sign_in(request, home))
    try:
        return await run(request, DOCUMENTS / name, variables, surface="html")
    except GraphQLFailed as failure:
        if "UNAUTHENTICATED" in failure.codes:
            raise _Refused(_to_sign_in(request, home)) from failure
        if "FORBIDDEN" in failure.codes:
            raise _Refused(_not_admin(request)) from failure
        raise


def _check_admin(request: Request, me: dict[str, Any] | None) -> str:
    """The admin's name; :class:`_Refused` unless the signed-in person holds the ``admin`` scope."""
    name = _check_office(request, me)
    if not _is_admin(me):
        raise _Refused(_not_admin(request))
    return name


async def _admin(request: Request, home: str = PEOPLE) -> dict[str, Any]:
    """The signed-in admin (``me``), before a form is read."""
    data = await _admin_query(request, "office_admin_me.graphql", home=home)
    _check_admin(request, data.get("me"))
    me: dict[str, Any] = data["me"]
    return me


def _bad_input(failure: GraphQLFailed) -> str | None:
    """The argument a ``BAD_USER_INPUT`` error names ("" if none); ``None`` for other errors."""
    for error in failure.errors:
        extensions = error.get("extensions") or {}
        if extensions.get("code") == "BAD_USER_INPUT":
            return str(extensions.get("argument") or "")
    return None


def _text(form: FormData, name: str, limit: int) -> str:
    """A text field, stripped, cut well beyond what any rule accepts (the rules then refuse it)."""
    value = form.get(name)
    return value.strip()[: limit * 2] if isinstance(value, str) else ""


def _device_numbers(form: FormData, name: str) -> list[int] | Literal[False] | None:
    """The device numbers a form lists, comma-separated; None when it has no such field (a form
    of an older page: nothing to compare), False when it is not such a list."""
    value = form.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        return False
    parts = [part.strip() for part in value.split(",") if part.strip()]
    if len(parts) > 1000 or not all(part.isascii() and part.isdigit() for part in parts):
        return False
    return [int(part) for part in parts]


def _secret(form: FormData, name: str) -> str:
    value = form.get(name)
    return value[:200] if isinstance(value, str) else ""


def _valid_username(username: str) -> bool:
    return (
        0 < len(username) <= USERNAME_MAX_LENGTH
        and username.replace(".", "").replace("-", "").isalnum()
    )


# People


async def _people_page(
    request: Request,
    status_code: int = 200,
    *,
    done: str | None = None,
    error: str | None = None,
    error_at: str | None = None,
    kept: dict[str, str] | None = None,
) -> Response:
    _ = gettext_for(request)
    data = await _admin_query(request, "office_people.graphql")
    name = _check_admin(request, data.get("me"))
    users = data["users"]
    return page(
        request,
        "office/people.html",
        status_code,
        csrf=csrf.token(request),
        signed_in_as=name,
        section="people",
        admin=True,
        me=data["me"]["username"],
        collectors=[u for u in users if u["role"] == COLLECTOR],
        staff=[u for u in users if u["role"] != COLLECTOR],
        roles={value: _(label) for value, label in ROLES.items()},
        done=done,
        error=error,
        error_at=error_at,
        kept=kept or {},
    )


def _done_message(request: Request) -> str | None:
    _ = gettext_for(request)
    params = request.query_params
    message = DONE_MESSAGES.get(params.get("fait", ""))
    username = params.get("compte", "")
    if message is None or not _valid_username(username):
        return None
    if message == CREATED and params.get("role") == COLLECTOR:
        message = CREATED_COLLECTOR
    return str(_(message) % {"username": username})


async def people_page(request: Request) -> Response:
    done = _done_message(request)
    try:
        if request.query_params.get("fait") == "revoque":
            return await _people_page_after_revocation(request)
        return await _people_page(request, done=done)
    except _Refused as refused:
        return refused.response


async def _people_page_after_revocation(request: Request) -> Response:
    _ = gettext_for(request)
    phone = request.query_params.get("telephone", "")
    data = await _admin_query(request, "office_people.graphql")
    _check_admin(request, data.get("me"))
    device = _find_device(data, phone)
    done = _(REVOKED) % {"label": device[1]["label"]} if device else None
    return await _people_page(request, done=done)


def _done(fait: str, username: str, **extra: str) -> RedirectResponse:
    query = f"fait={fait}&compte={quote(username, safe='')}"
    for key, value in extra.items():
        query += f"&{key}={quote(value, safe='')}"
    return RedirectResponse(f"{PEOPLE}?{query}#u-{quote(username, safe='')}", status_code=303)


async def create_user(request: Request) -> Response:
    _ = gettext_for(request)
    try:
        await _admin(request)
        form = await request.form()
        kept = {
            "username": _text(form, "identifiant", USERNAME_MAX_LENGTH).lower(),
            "fullName": _text(form, "nom", FULL_NAME_MAX_LENGTH),
            "role": _text(form, "role", 10),
        }

        async def refused(message: str) -> Response:
            return await _people_page(request, 400, error=_(message), error_at=NEW_USER, kept=kept)

        if not csrf.valid(request, form):
            return await refused(FORM_EXPIRED)
        if not _valid_username(kept["username"]):
            return await refused(USERNAME_FORMAT)
        if not 0 < len(kept["fullName"]) <= FULL_NAME_MAX_LENGTH:
            return await refused(FULL_NAME)
        if kept["role"] not in ROLES:
            return await refused(ROLE_NEEDED)
        collector = kept["role"] == COLLECTOR
        # Only the secret of the chosen role is sent; the other field is ignored.
        variables = {
            **kept,
            "pin": _secret(form, "pin") if collector else None,
            "password": None if collector else _secret(form, "mot_de_passe"),
        }
        try:
            await _admin_query(request, "office_create_user.graphql", variables)
        except GraphQLFailed as failure:
            argument = _bad_input(failure)
            if argument is None:
                raise
            return await refused(
                {
                    "username": USERNAME_TAKEN,
                    "fullName": FULL_NAME,
                    "pin": PIN_RULE,
                    "password": PASSWORD_RULE,
                }.get(argument, NOT_APPLICABLE)
            )
        return _done("cree", kept["username"], role=kept["role"])
    except _Refused as refused_page:
        return refused_page.response


async def _account_change(
    request: Request,
    document: str,
    fait: str,
    variables: dict[str, Any] | None = None,
    secret_rule: tuple[str, str] | None = None,
) -> Response:
    """A change to one account, through a form holding the CSRF token and, for a new PIN or
    password, the secret (``secret_rule``: the argument that takes it and the rule to show)."""
    _ = gettext_for(request)
    username = request.path_params["username"]
    try:
        me = await _admin(request)
        form = await request.form()
        if not csrf.valid(request, form):
            return await _people_page(request, 400, error=_(FORM_EXPIRED), error_at=username)
        if fait == "desactive" and username == me.get("username"):
            return await _people_page(request, 400, error=_(SELF_DEACTIVATION), error_at=username)
        variables = {"username": username, **(variables or {})}
        if secret_rule is not None:
            variables["secret"] = _secret(form, "secret")
        try:
            await _admin_query(request, document, variables)
        except GraphQLFailed as failure:
            argument = _bad_input(failure)
            if argument is None:
                raise
            rule = secret_rule[1] if secret_rule and argument == secret_rule[0] else None
            return await _people_page(
                request, 400, error=_(rule or NOT_APPLICABLE), error_at=username
            )
        return _done(fait, username)
    except _Refused as refused:
        return refused.response


async def deactivate(request: Request) -> Response:
    return await _account_change(
        request, "office_user_active.graphql", "desactive", {"active": False}
    )


async def reactivate(request: Request) -> Response:
    return await _account_change(
        request, "office_user_active.graphql", "reactive", {"active": True}
    )


async def unlock(request: Request) -> Response:
    return await _account_change(request, "office_unlock_user.graphql", "deverrouille")


async def set_pin(request: Request) -> Response:
    return await _account_change(
        request, "office_reset_pin.graphql", "pin", secret_rule=("pin", PIN_RULE)
    )


async def set_password(request: Request) -> Response:
    return await _account_change(
        request,
        "office_set_password.graphql",
        "mot-de-passe",
        secret_rule=("password", PASSWORD_RULE),
    )


async def enrol_device(request: Request) -> Response:
    _ = gettext_for(request)
    username = request.path_params["username"]
    try:
        me = await _admin(request)
        form = await request.form()
        label = _text(form, "libelle", LABEL_MAX_LENGTH)
        kept = {"label": label}
        known = _device_numbers(form, "telephones")
        if not csrf.valid(request, form) or known is False:
            return await _people_page(
                request, 400, error=_(FORM_EXPIRED), error_at=username, kept=kept
            )
        if len(label) > LABEL_MAX_LENGTH:
            return await _people_page(
                request, 400, error=_(LABEL_TOO_LONG), error_at=username, kept=kept
            )
        try:
            # The phones the page showed: a second sending of this form (a reload of its
            # answer, a double click) finds one more and enrols nothing.
            data = await _admin_query(
                request,
                "office_enrol_device.graphql",
                {"username": username, "label": label, "knownDevices": known},
            )
        except GraphQLFailed as failure:
            argument = _bad_input(failure)
            if argument is None:
                raise
            if argument == "knownDevices":
                meanwhile = _(ENROLLED_MEANWHILE) % {"username": username}
                return await _people_page(request, 409, error=meanwhile, error_at=username)
            message = LABEL_TOO_LONG if argument == "label" else NOT_APPLICABLE
            return await _people_page(request, 400, error=_(message), error_at=username, kept=kept)
        enrolled = data["enrolDevice"]
        secret = str(enrolled["secret"])
        # Shown in this answer only: never in a URL, never stored in clear, never shown again.
        return page(
            request,
            "office/device_enrolled.html",
            csrf=csrf.token(request),
            signed_in_as=str(me.get("fullName") or ""),
            section="people",
            admin=True,
            username=enrolled["username"],
            device=enrolled["device"],
            secret_groups=[secret[i : i + 5] for i in range(0, len(secret), 5)],
        )
    except _Refused as refused:
        return refused.response


# Revoking a phone


def _find_device(
    data: dict[str, Any], device_id: str
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The active device ``device_id`` and its collector, from a people page's data."""
    if not device_id.isdigit() or len(device_id) > MAX_ID_DIGITS:
        return None
    for user in data["users"]:
        for device in user["devices"]:
            if str(device["id"]) == str(int(device_id)):
                return user, device
    return None


async def _revoke_page(
    request: Request, status_code: int = 200, error: str | None = None
) -> Response:
    _ = gettext_for(request)
    data = await _admin_query(request, "office_people.graphql")
    name = _check_admin(request, data.get("me"))
    found = _find_device(data, request.path_params["device"])
    if found is None or not found[1]["active"]:
        return page(request, "message.html", 404, title=_(NO_SUCH_PHONE), text=None)
    user, device = found
    return page(
        request,
        "office/revoke_device.html",
        status_code,
        csrf=csrf.token(request),
        signed_in_as=name,
        section="people",
        admin=True,
        user=user,
        device=device,
        error=error,
    )


async def revoke_confirmation(request: Request) -> Response:
    try:
        return await _revoke_page(request)
    except _Refused as refused:
        return refused.response


async def revoke_device(request: Request) -> Response:
    _ = gettext_for(request)
    device_id = request.path_params["device"]
    try:
        await _admin(request)
        form = await request.form()
        if not csrf.valid(request, form):
            return await _revoke_page(request, 400, error=_(FORM_EXPIRED))
        if not device_id.isdigit() or len(device_id) > MAX_ID_DIGITS:
            return await _people_page(request, 400, error=_(DEVICE_GONE))
        try:
            await _admin_query(
                request, "office_revoke_device.graphql", {"deviceId": int(device_id)}
            )
        except GraphQLFailed as failure:
            if _bad_input(failure) is None:
                raise
            return await _people_page(request, 400, error=_(DEVICE_GONE))
        return RedirectResponse(f"{PEOPLE}?fait=revoque&telephone={int(device_id)}", 303)
    except _Refused as refused:
        return refused.response


# Sectors


def _initial(name: str) -> str:
    """The letter a commune is listed under: 'É' under 'E'."""
    folded = unicodedata.normalize("NFD", name[:1])[:1].upper()
    return folded if folded.isalpha() else "#"


def _commune_groups(communes: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    ordered = sorted(communes, key=lambda c: (_initial(c["name"]), c["name"], c["postalCode"]))
    groups: list[tuple[str, list[dict[str, Any]]]] = []
    for commune in ordered:
        letter = _initial(commune["name"])
        if not groups or groups[-1][0] != letter:
            groups.append((letter, []))
        groups[-1][1].append(commune)
    return groups


async def _sectors_page(
    request: Request,
    status_code: int = 200,
    *,
    done_sector: str | None = None,
    error: str | None = None,
    error_at: str | None = None,
    kept: dict[str, Any] | None = None,
) -> Response:
    _ = gettext_for(request)
    data = await _admin_query(request, "office_sectors.graphql", home=SECTORS)
    name = _check_admin(request, data.get("me"))
    sectors = [
        {
            **s,
            "key": str(s["id"]),
            "collectorUsername": (s["collector"] or {}).get("username", ""),
            "checked": {c["id"] for c in s["communes"]},
        }
        for s in data["sectors"]
    ]
    done = None
    saved = next((s for s in sectors if s["key"] == done_sector), None)
    if saved is not None:
        done = _(SECTOR_SAVED) % {"name": saved["name"]}
    return page(
        request,
        "office/sectors.html",
        status_code,
        csrf=csrf.token(request),
        signed_in_as=name,
        section="sectors",
        admin=True,
        sectors=sectors,
        collectors=data["users"],
        commune_groups=_commune_groups(data["communes"]),
        done=done,
        error=error,
        error_at=error_at,
        kept=kept or {},
    )


async def sectors_page(request: Request) -> Response:
    done_sector = (
        request.query_params.get("secteur")
        if request.query_params.get("fait") == "enregistre"
        else None
    )
    try:
        return await _sectors_page(request, done_sector=done_sector)
    except _Refused as refused:
        return refused.response


async def save_sector(request: Request) -> Response:
    _ = gettext_for(request)
    try:
        await _admin(request, SECTORS)
        form = await request.form()
        new = form.get("nouveau") == "1"
        commune_ids = [str(v) for v in form.getlist("communes") if isinstance(v, str)]
        kept: dict[str, Any] = {
            "form": NEW_SECTOR if new else _text(form, "secteur", MAX_ID_DIGITS),
            "name": _text(form, "nom", SECTOR_NAME_MAX_LENGTH),
            "collector": _text(form, "collecteur", USERNAME_MAX_LENGTH),
            "communes": {int(v) for v in commune_ids if v.isdigit() and len(v) <= MAX_ID_DIGITS},
        }

        async def refused(message: str) -> Response:
            return await _sectors_page(
                request, 400, error=_(message), error_at=kept["form"], kept=kept
            )

        if not csrf.valid(request, form):
            return await refused(FORM_EXPIRED)
        if not 0 < len(kept["name"]) <= SECTOR_NAME_MAX_LENGTH:
            return await refused(SECTOR_NAME)
        if len(kept["communes"]) != len(commune_ids):
            return await refused(UNKNOWN_COMMUNE)
        if new:
            existing = await _admin_query(request, "office_sectors.graphql", home=SECTORS)
            if any(s["name"] == kept["name"] for s in existing["sectors"]):
                return await refused(SECTOR_EXISTS)
        variables = {
            "name": kept["name"],
            "collector": kept["collector"] or None,
            "communeIds": sorted(kept["communes"]),
        }
        try:
            data = await _admin_query(request, "office_set_sector.graphql", variables, home=SECTORS)
        except GraphQLFailed as failure:
            argument = _bad_input(failure)
            if argument is None:
                raise
            return await refused(
                {
                    "name": SECTOR_NAME,
                    "collector": UNKNOWN_COLLECTOR,
                    "communeIds": UNKNOWN_COMMUNE,
                }.get(argument, NOT_APPLICABLE)
            )
        sector_id = int(data["setSector"]["id"])
        return RedirectResponse(
            f"{SECTORS}?fait=enregistre&secteur={sector_id}#s-{sector_id}", status_code=303
        )
    except _Refused as refused_page:
        return refused_page.response


routes = [
    Route(PEOPLE, people_page, methods=["GET"]),
    Route(PEOPLE, create_user, methods=["POST"]),
    Route(PEOPLE + "/{username}/telephones", enrol_device, methods=["POST"]),
    Route(PEOPLE + "/{username}/pin", set_pin, methods=["POST"]),
    Route(PEOPLE + "/{username}/mot-de-passe", set_password, methods=["POST"]),
    Route(PEOPLE + "/{username}/deverrouiller", unlock, methods=["POST"]),
    Route(PEOPLE + "/{username}/desactiver", deactivate, methods=["POST"]),
    Route(PEOPLE + "/{username}/reactiver", reactivate, methods=["POST"]),
    Route("/office/telephones/{device}/revoquer", revoke_confirmation, methods=["GET"]),
    Route("/office/telephones/{device}/revoquer", revoke_device, methods=["POST"]),
    Route(SECTORS, sectors_page, methods=["GET"]),
    Route(SECTORS, save_sector, methods=["POST"]),
]
