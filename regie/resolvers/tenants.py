"""Resolvers of tenant lookups and of the fields hanging off a tenant."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Annotated

import strawberry
from strawberry.types import Info

from regie.context import Context
from regie.resolvers.loaders import NOT_LOADED, loaded, value_or_load
from regie.resolvers.pagination import (
    Edge,
    Page,
    offset_cursor,
    offset_from_cursor,
    page,
    payment_cursor,
    payment_from_cursor,
)
from regie.services import accounts, records, throttle
from regie.services import tenants as tenant_service

CODE = strawberry.argument(description="The tenant code, e.g. '1004217' (case-insensitive).")
TEXT = strawberry.argument(
    description="A name (or part of one) or a tenant code, 2 to 100 characters."
)
FIRST = strawberry.argument(description="Page size, 1 to 50; default 20.")
AFTER = strawberry.argument(description="The endCursor of the previous page.")


async def tenant(
    info: Info[Context, None], code: Annotated[str, CODE]
) -> records.TenantRecord | None:
    context = info.context
    found = await tenant_service.tenant_with_lease_by_code(
        context.require_viewer(), code, context.audit
    )
    if found is None:
        return None
    # Read in the same statement as the tenant: the account fields below need no query.
    context.loaders.prime_current_leases(found.tenants, found.current_leases)
    return next(iter(found.tenants.values()))


async def search_tenants(
    info: Info[Context, None],
    text: Annotated[str, TEXT],
    first: Annotated[int | None, FIRST] = None,
    after: Annotated[str | None, AFTER] = None,
) -> Page[records.TenantRecord]:
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
    context.loaders.prime_current_leases([t.id for t in found.tenants], found.current_leases)
    edges = [Edge(offset_cursor(found.offset + i), row) for i, row in enumerate(found.tenants)]
    return page(edges, found.has_next_page, found.offset > 0)


# The fields below resolve synchronously when the root resolver loaded their data (the usual
# case), and await the dataloader otherwise; see regie.resolvers.loaders.


def lease(
    root: records.TenantRecord, info: Info[Context, None]
) -> records.LeaseRecord | Awaitable[records.LeaseRecord | None] | None:
    return value_or_load(info.context.loaders.current_lease_by_tenant, root.id)


def dwelling(
    root: records.TenantRecord, info: Info[Context, None]
) -> records.DwellingRecord | Awaitable[records.DwellingRecord | None] | None:
    current = loaded(info.context.loaders.current_lease_by_tenant, root.id)
    if current is NOT_LOADED:
        return _dwelling_when_loaded(root, info)
    return current.dwelling if current is not None else None


async def _dwelling_when_loaded(
    root: records.TenantRecord, info: Info[Context, None]
) -> records.DwellingRecord | None:
    current = await info.context.loaders.current_lease_by_tenant.load(root.id)
    return current.dwelling if current is not None else None


def account(
    root: records.TenantRecord, info: Info[Context, None]
) -> accounts.AccountStatus | Awaitable[accounts.AccountStatus | None] | None:
    current = loaded(info.context.loaders.current_lease_by_tenant, root.id)
    if current is NOT_LOADED:
        return _account_when_loaded(root, info)
    return _account(root, info, current)


async def _account_when_loaded(
    root: records.TenantRecord, info: Info[Context, None]
) -> accounts.AccountStatus | None:
    return _account(root, info, await info.context.loaders.current_lease_by_tenant.load(root.id))


def _account(
    root: records.TenantRecord, info: Info[Context, None], current: records.LeaseRecord | None
) -> accounts.AccountStatus | None:
    if current is None:
        return None
    info.context.audit.note("account.read", root.code)
    return accounts.account_status(current.summary, current, info.context.today)


async def payments(
    root: records.TenantRecord,
    info: Info[Context, None],
    first: Annotated[int | None, FIRST] = None,
    after: Annotated[str | None, AFTER] = None,
) -> Page[records.PaymentRecord]:
    found = await tenant_service.payments_page(root.id, first, payment_from_cursor(after))
    edges = [Edge(payment_cursor(p.paid_on, p.id), p) for p in found.payments]
    return page(edges, found.has_next_page, after is not None)
