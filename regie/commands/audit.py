"""``regie audit ...``: verify the hash chain, purge past the retention, read recent events."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from regie.db import auth
from regie.services import audit
from regie.services.clock import now_utc
from regie.settings import Settings

Runner = Callable[[Callable[[], Awaitable[Any]]], Any]


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("audit", help="verify, purge or read the audit log")
    sub = parser.add_subparsers(dest="audit_command", required=True)
    sub.add_parser("verify", help="check the hash chain; exit 1 when it is broken")
    sub.add_parser(
        "purge", help="delete events older than REGIE_AUDIT_RETENTION_DAYS (default 365)"
    )
    show = sub.add_parser("list", help="the newest events")
    show.add_argument("--tenant", help="only this tenant code")
    show.add_argument("--limit", type=int, default=30)


def run(args: argparse.Namespace, settings: Settings, in_database: Runner) -> int:
    if args.audit_command == "verify":
        report = in_database(audit.verify_chain)
        if report.intact:
            print(f"Audit log intact: {report.events_checked:,} events chained.")
            return 0
        print(
            f"Audit log BROKEN at event {report.first_broken_id} (after {report.events_checked:,} good events)."
        )
        return 1
    if args.audit_command == "purge":
        before = now_utc() - timedelta(days=settings.audit_retention_days)
        deleted = in_database(lambda: audit.purge(before))
        print(f"{deleted:,} events older than {before:%Y-%m-%d} purged.")
        return 0
    in_database(lambda: _show(args.tenant, args.limit))
    return 0


async def _show(tenant_code: str | None, limit: int) -> None:
    query = auth.AuditEvent.all()
    if tenant_code:
        query = query.filter(tenant_code=tenant_code)
    for event in await query.order_by("-id").limit(max(1, min(limit, 1000))):
        print(
            f"{event.at:%Y-%m-%d %H:%M:%S}Z {event.actor:<16} {event.surface:<8} {event.action:<22} "
            f"{event.tenant_code or '-':<8} {event.outcome:<7} {event.detail}"
        )
