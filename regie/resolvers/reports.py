"""Resolvers of the office's reports: the arrears picture and the arrears list."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from regie.context import Context
from regie.services import reports


async def arrears_report(info: Info[Context, None]) -> reports.ArrearsReport:
    return await reports.arrears_report(info.context.require_viewer())


def arrears_lines(
    root: reports.ArrearsReport, info: Info[Context, None]
) -> list[reports.ArrearsLine]:
    """The households in arrears; each one listed is an account read, hence in the audit log."""
    for line in root.lines:
        info.context.audit.note("report.arrears_list", tenant_code=line.tenant_code)
    return root.lines


async def tenant_ledger(
    info: Info[Context, None],
    code: Annotated[str, strawberry.argument(description="The tenant code.")],
) -> reports.TenantLedger | None:
    """A tenant's full ledger: an audited account read."""
    found = await reports.tenant_ledger(info.context.require_viewer(), code)
    info.context.audit.note(
        "tenant.ledger", tenant_code=code[:20], outcome="ok" if found else "not-found"
    )
    return found
