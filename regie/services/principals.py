"""Building the viewer of a request from who signed in or which token was presented."""

from __future__ import annotations

from typing import cast

from regie.db import people
from regie.services.access import ROLE_SCOPES, Viewer


async def commune_ids_of(user_id: int, role: people.Role) -> frozenset[int] | None:
    """The communes a user may see: a collector's sectors; everything for office staff and admins."""
    if role != people.Role.COLLECTOR:
        return None
    rows = cast(
        list[int | None],
        await people.Sector.filter(collector_id=user_id).values_list("communes__id", flat=True),
    )
    return frozenset(r for r in rows if r is not None)


async def viewer_for_user(
    user_id: int,
    scopes: frozenset[str] | None = None,
    *,
    client_id: str | None = None,
    session_id: int | None = None,
) -> Viewer | None:
    """The viewer of an active user: their role's scopes, narrowed to ``scopes`` when given.

    ``None`` when the user is unknown or deactivated, so a token or session outliving its user
    grants nothing.
    """
    user = await people.User.get_or_none(id=user_id, active=True)
    if user is None:
        return None
    return await viewer_of(user, scopes, client_id=client_id, session_id=session_id)


async def viewer_of(
    user: people.User,
    scopes: frozenset[str] | None = None,
    *,
    client_id: str | None = None,
    session_id: int | None = None,
) -> Viewer | None:
    """The viewer of an already loaded user (``None`` when deactivated)."""
    if not user.active:
        return None
    return viewer_with_communes(
        user.id,
        user.role,
        await commune_ids_of(user.id, user.role),
        scopes,
        client_id=client_id,
        session_id=session_id,
    )


def viewer_with_communes(
    user_id: int,
    role: people.Role,
    commune_ids: frozenset[int] | None,
    scopes: frozenset[str] | None = None,
    *,
    client_id: str | None = None,
    session_id: int | None = None,
) -> Viewer:
    """The viewer of an active user whose communes (:func:`commune_ids_of`) the caller read."""
    allowed = ROLE_SCOPES[role]
    return Viewer(
        user_id=user_id,
        role=role,
        commune_ids=commune_ids,
        scopes=allowed if scopes is None else scopes & allowed,
        client_id=client_id,
        session_id=session_id,
    )


def viewer_for_client(client_id: str, scopes: frozenset[str]) -> Viewer:
    """A machine client acting for itself: its scopes, and no tenant at all to see."""
    return Viewer(
        user_id=None, role=None, commune_ids=frozenset(), scopes=scopes, client_id=client_id
    )
