"""GraphQL types of tenants and the tenant Query mixin."""

# Resolver fields return ORM rows or pages that Strawberry reads the GraphQL type from.
# mypy: disable-error-code="assignment"

from __future__ import annotations

import strawberry

from regie.resolvers import tenants as resolve
from regie.schema.ledger import AccountStatus, Lease, PaymentConnection
from regie.schema.pagination import PageInfo
from regie.schema.places import Dwelling
from regie.services.tenants import MAX_PAGE_SIZE, MAX_SEARCH_LENGTH, MIN_SEARCH_LENGTH


@strawberry.type(description="A tenant (titulaire du bail).")
class Tenant:
    code: str = strawberry.field(description="Tenant code printed on rent demands.")
    title: str = strawberry.field(description="Civility: 'M.', 'Mme' …")
    surname: str = strawberry.field(description="Surname as registered, with accents.")
    first_name: str = strawberry.field(description="First name as registered, with accents.")
    phone: str | None = strawberry.field(description="Phone number, if known.")
    dwelling: Dwelling | None = strawberry.field(
        resolver=resolve.dwelling, description="The dwelling of the current lease."
    )
    lease: Lease | None = strawberry.field(
        resolver=resolve.lease,
        description="The current lease (the latest one once all have ended).",
    )
    account: AccountStatus | None = strawberry.field(
        resolver=resolve.account, description="Account status of the current lease."
    )
    payments: PaymentConnection = strawberry.field(
        resolver=resolve.payments,
        description=f"Payments on all the tenant's leases, newest first; 'first' ≤ {MAX_PAGE_SIZE} (default 20).",
    )


@strawberry.type(description="An edge of a tenant search.")
class TenantEdge:
    cursor: str = strawberry.field(description="Opaque cursor of this result.")
    node: Tenant = strawberry.field(description="The tenant.")


@strawberry.type(description="A page of tenants.")
class TenantConnection:
    edges: list[TenantEdge] = strawberry.field(
        description="The tenants of this page, best match first."
    )
    page_info: PageInfo = strawberry.field(description="Where this page sits.")


@strawberry.type
class TenantQuery:
    tenant: Tenant | None = strawberry.field(
        resolver=resolve.tenant,
        description="The tenant with this code; null when unknown or outside your sectors.",
    )
    search_tenants: TenantConnection = strawberry.field(
        resolver=resolve.search_tenants,
        description=(
            f"Tenants by name or code. 'text' holds {MIN_SEARCH_LENGTH} to {MAX_SEARCH_LENGTH} "
            "characters; case and accents are ignored; each word matches the start of a surname, "
            "first name or part of a compound name; a code matches exactly or by prefix. Ranked: "
            f"exact code, code prefix, surname prefix, other matches. 'first' ≤ {MAX_PAGE_SIZE} "
            "(default 20)."
        ),
    )
