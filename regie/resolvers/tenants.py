"""Resolvers of tenant lookups and of the fields hanging off a tenant."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from regie.context import Context
from regie.db import ledger, places, tenants
from regie.resolvers.pagination import (
    Edge,
    Page,
    offset_cursor,
    offset_from_cursor,
    page,
    payment_cursor,
    payment_from_cursor,
)
from regie.services import accounts, throttle
from regie.services import tenants as tenant_service

CODE = strawberry.argument(description="The tenant code, e.g. '1004217' (case-insensitive).")
TEXT = strawberry.argument(
    description="A name (or part of one) or a tenant code, 2 to 100 characters."
)
FIRST = strawberry.argument(description="Page size, 1 to 50; default 20.")
AFTER = strawberry.argument(description="The endCursor of the previous page.")


async def tenant(info: Info[Context, None], code: Annotated[str, CODE]) -> tenants.Tenant | None:
    context = info.context
    return await tenant_service.tenant_by_code(context.require_viewer(), code, context.audit)


async def search_tenants(
    info: Info[Context, None],
    text: Annotated[str, TEXT],
    first: Annotated[int | None, FIRST] = None,
    after: Annotated[str | None, AFTER] = None,
) -> Page[tenants.Tenant]:
    # Malformed arguments raise InvalidArgument, which the schema's DomainErrors answers with
    # BAD_USER_INPUT naming the argument.
    offset = offset_from_cursor(after)
    context = info.context
    viewer = context.require_viewer()
    # Scraping guard, per principal and per address (the services check who may see what).
    throttle.limiter.hit("search:principal", viewer.label, throttle.SEARCH_PER_PRINCIPAL)
    throttle.limiter.hit(
        "search:address", context.client_address or "?", throttle.SEARCH_PER_ADDRESS
    )
    found = await tenant_service.search_tenants(viewer, text, first, offset, context.audit)
    edges = [Edge(offset_cursor(found.offset + i), row) for i, row in enumerate(found.tenants)]
    return page(edges, found.has_next_page, found.offset > 0)


async def lease(root: tenants.Tenant, info: Info[Context, None]) -> tenants.Lease | None:
    return await info.context.loaders.current_lease_by_tenant.load(root.id)


async def dwelling(root: tenants.Tenant, info: Info[Context, None]) -> places.Dwelling | None:
    current = await info.context.loaders.current_lease_by_tenant.load(root.id)
    if current is None:
        return None
    return await info.context.loaders.dwelling.load(current.dwelling_id)


async def account(root: tenants.Tenant, info: Info[Context, None]) -> accounts.AccountStatus | None:
    loaders = info.context.loaders
    current = await loaders.current_lease_by_tenant.load(root.id)
    if current is None:
        return None
    snapshot = await loaders.snapshot_by_lease.load(current.id)
    summary = (
        accounts.summary_from_snapshot(snapshot)
        if snapshot is not None
        else accounts.summarize_ledger([], [])
    )
    info.context.audit.note("account.read", root.code)
    return accounts.account_status(summary, current, info.context.today)


async def payments(
    root: tenants.Tenant,
    info: Info[Context, None],
    first: Annotated[int | None, FIRST] = None,
    after: Annotated[str | None, AFTER] = None,
) -> Page[ledger.Payment]:
    found = await tenant_service.payments_page(root.id, first, payment_from_cursor(after))
    edges = [Edge(payment_cursor(p.paid_on, p.id), p) for p in found.payments]
    return page(edges, found.has_next_page, after is not None)
