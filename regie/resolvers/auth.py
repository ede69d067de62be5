"""Resolvers of sign-in, sign-out, the signed-in user, and admin actions on sessions and devices."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from regie.context import Context
from regie.db import auth, people
from regie.services import audit, sessions, throttle
from regie.services import people as people_service
from regie.services.audit import FAILED, OK

USERNAME = strawberry.argument(description="The user's sign-in name.")
SIGN_IN_REFUSED = "SIGN_IN_REFUSED"
REFUSAL = "Sign-in refused: wrong username, device or secret, or the account is locked."


@dataclass(frozen=True)
class SignInResult:
    token: str
    expires_at: datetime


@dataclass(frozen=True)
class Me:
    username: str
    full_name: str
    role: people.Role
    scopes: list[str]


def _throttle_sign_in(context: Context, username: str) -> None:
    throttle.limiter.hit(
        "sign-in:address", context.client_address or "?", throttle.SIGN_IN_PER_ADDRESS
    )
    throttle.limiter.hit(
        "sign-in:username", username.strip().lower(), throttle.SIGN_IN_PER_USERNAME
    )


def _surface(surface: str) -> str:
    if surface not in sessions.SURFACES:
        raise GraphQLError(
            f"'surface' must be one of {', '.join(sessions.SURFACES)}.",
            extensions={"code": "BAD_USER_INPUT", "argument": "surface"},
        )
    return surface


async def _refused(context: Context, username: str) -> GraphQLError:
    await audit.record(
        None, context.surface, "sign-in", outcome=FAILED, detail=f"username {username[:60]}"
    )
    return GraphQLError(REFUSAL, extensions={"code": SIGN_IN_REFUSED})


async def sign_in(
    info: Info[Context, None],
    username: Annotated[str, USERNAME],
    password: Annotated[str, strawberry.argument(description="At least 12 characters.")],
    surface: Annotated[str, strawberry.argument(description="html (default) or wml.")] = "html",
) -> SignInResult:
    context = info.context
    _throttle_sign_in(context, username)
    try:
        opened = await sessions.sign_in_office(username, password, _surface(surface))
    except sessions.SignInRefused:
        raise await _refused(context, username) from None
    await audit.record(
        None, context.surface, "sign-in", outcome=OK, detail=f"user:{opened.user_id}"
    )
    return SignInResult(opened.token, opened.expires_at)


async def sign_in_collector(
    info: Info[Context, None],
    username: Annotated[str, USERNAME],
    device_secret: Annotated[
        str, strawberry.argument(description="The 20-digit secret of an enrolled device.")
    ],
    pin: Annotated[str, strawberry.argument(description="At least 6 digits.")],
    surface: Annotated[str, strawberry.argument(description="html or wml.")],
) -> SignInResult:
    context = info.context
    _throttle_sign_in(context, username)
    try:
        opened = await sessions.sign_in_collector(username, device_secret, pin, _surface(surface))
    except sessions.SignInRefused:
        raise await _refused(context, username) from None
    await audit.record(
        None, context.surface, "sign-in", outcome=OK, detail=f"user:{opened.user_id}"
    )
    return SignInResult(opened.token, opened.expires_at)


async def sign_out(info: Info[Context, None]) -> bool:
    viewer = info.context.viewer
    if viewer is None or viewer.session_id is None:
        return False
    await sessions.revoke_session(viewer.session_id)
    info.context.audit.note("sign-out")
    return True


async def me(info: Info[Context, None]) -> Me | None:
    viewer = info.context.viewer
    if viewer is None or viewer.user_id is None:
        return None
    user = await people.User.get(id=viewer.user_id)
    return Me(user.username, user.full_name, user.role, sorted(viewer.scopes))


async def revoke_sessions(info: Info[Context, None], username: Annotated[str, USERNAME]) -> int:
    context = info.context
    return await people_service.revoke_sessions(
        context.require_viewer(), username, surface=context.surface
    )


async def revoke_device(
    info: Info[Context, None],
    device_id: Annotated[int, strawberry.argument(description="The enrolled device's number.")],
) -> bool:
    context = info.context
    await people_service.revoke_device(context.require_viewer(), device_id, surface=context.surface)
    return True


async def audit_events(
    info: Info[Context, None],
    tenant_code: Annotated[str | None, strawberry.argument(description="Only this tenant.")] = None,
    actor: Annotated[
        str | None, strawberry.argument(description="Only this actor, e.g. user:12.")
    ] = None,
    first: Annotated[int, strawberry.argument(description="How many, 1 to 100.")] = 50,
    before_id: Annotated[
        int | None, strawberry.argument(description="Only events older than this id (paging).")
    ] = None,
) -> list[auth.AuditEvent]:
    context = info.context
    return await audit.list_events(
        context.require_viewer(),
        tenant_code=tenant_code,
        actor=actor,
        limit=first,
        before_id=before_id,
    )
