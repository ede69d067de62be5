"""The audit log: who read or changed what, when, from where, with which outcome.

Append-only and tamper-evident: each event stores the SHA-256 of the previous event's hash and
its own content, so editing or deleting an event breaks the chain that :func:`verify_chain`
walks. Events older than the retention (12 months by default, CNIL délibération 2021-122) are
purged, and the purge itself is logged. Nothing secret is ever written here: no PIN, password,
token, device secret, full IBAN or file content — callers pass identifiers and outcomes only.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from regie.db import auth
from regie.services.access import Viewer, require_admin
from regie.services.clock import now_utc

GENESIS = "0" * 64
OK, DENIED, FAILED = "ok", "denied", "failed"


@dataclass(frozen=True)
class Event:
    at: datetime
    actor: str
    surface: str
    action: str
    tenant_code: str | None
    outcome: str
    detail: str = ""


def actor_of(viewer: Viewer | None) -> str:
    return viewer.label if viewer is not None else "anonymous"


@dataclass
class AuditTrail:
    """The events of one request, written together when the request ends (one short transaction)."""

    actor: str
    surface: str
    pending: list[Event] = field(default_factory=list)

    def note(
        self, action: str, tenant_code: str | None = None, outcome: str = OK, detail: str = ""
    ) -> None:
        self.pending.append(
            Event(now_utc(), self.actor, self.surface, action, tenant_code, outcome, detail[:200])
        )

    async def flush(self) -> None:
        events, self.pending = self.pending, []
        if events:
            await append(events)


def _chain(previous_hash: str, event: Event) -> str:
    content = json.dumps(
        [
            event.at.isoformat(),
            event.actor,
            event.surface,
            event.action,
            event.tenant_code,
            event.outcome,
            event.detail,
        ],
        ensure_ascii=False,
    )
    return hashlib.sha256(f"{previous_hash}|{content}".encode()).hexdigest()


async def _last_hash() -> str:
    last = await auth.AuditEvent.all().order_by("-id").first()
    return last.hash if last is not None else GENESIS


async def append(events: list[Event], attempts: int = 20) -> None:
    """Chain ``events`` after the last one and write them; retried when another writer got there first."""
    for _ in range(attempts):
        try:
            async with in_transaction():
                previous = await _last_hash()
                rows = []
                for event in events:
                    current = _chain(previous, event)
                    rows.append(
                        auth.AuditEvent(previous_hash=previous, hash=current, **event.__dict__)
                    )
                    previous = current
                await auth.AuditEvent.bulk_create(rows)
            return
        except IntegrityError:
            continue
    raise RuntimeError("could not append to the audit log: too many concurrent writers")


async def record(viewer: Viewer | None, surface: str, action: str, **kwargs: str | None) -> None:
    """Write one event now (sign-ins, admin actions)."""
    trail = AuditTrail(actor_of(viewer), surface)
    trail.note(action, **kwargs)  # type: ignore[arg-type]
    await trail.flush()


@dataclass(frozen=True)
class ChainReport:
    intact: bool
    events_checked: int
    first_broken_id: int | None


async def verify_chain(batch_size: int = 5000) -> ChainReport:
    """Walk the whole log; the first event whose link or content does not add up breaks it.

    After a purge the oldest remaining event is trusted as the start of the chain.
    """
    checked = 0
    previous: str | None = None
    last_id = 0
    while True:
        rows = await auth.AuditEvent.filter(id__gt=last_id).order_by("id").limit(batch_size)
        if not rows:
            return ChainReport(True, checked, None)
        for row in rows:
            event = Event(
                row.at, row.actor, row.surface, row.action, row.tenant_code, row.outcome, row.detail
            )
            expected_previous = row.previous_hash if previous is None else previous
            if row.previous_hash != expected_previous or row.hash != _chain(
                expected_previous, event
            ):
                return ChainReport(False, checked, row.id)
            previous = row.hash
            checked += 1
            last_id = row.id


async def purge(before: datetime) -> int:
    """Delete events older than ``before`` (the retention limit) and log that it happened."""
    async with in_transaction():
        deleted = await auth.AuditEvent.filter(at__lt=before).delete()
    await append(
        [
            Event(
                now_utc(),
                "system",
                "cli",
                "audit.purge",
                None,
                OK,
                f"{deleted} events before {before.date()}",
            )
        ]
    )
    return deleted


async def list_events(
    viewer: Viewer,
    *,
    tenant_code: str | None = None,
    actor: str | None = None,
    limit: int = 50,
    before_id: int | None = None,
) -> list[auth.AuditEvent]:
    """Admins only: the newest events first, optionally for one tenant or one actor."""
    require_admin(viewer)
    query = auth.AuditEvent.all()
    if tenant_code:
        query = query.filter(tenant_code=tenant_code)
    if actor:
        query = query.filter(actor=actor)
    if before_id is not None:
        query = query.filter(id__lt=before_id)
    return await query.order_by("-id").limit(min(max(limit, 1), 100))
