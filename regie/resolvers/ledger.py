"""Resolvers of account-status, lease and payment fields."""

from __future__ import annotations

from strawberry.types import Info

from regie.context import Context
from regie.db import ledger, tenants, treasury
from regie.services import accounts, billing


async def last_payment(
    root: accounts.AccountStatus, info: Info[Context, None]
) -> ledger.Payment | None:
    if root.last_payment_id is None:
        return None
    return await info.context.loaders.payment.load(root.last_payment_id)


async def last_charge(
    root: accounts.AccountStatus, info: Info[Context, None]
) -> ledger.Charge | None:
    if root.last_charge_id is None:
        return None
    return await info.context.loaders.charge.load(root.last_charge_id)


async def confirmation(
    root: ledger.Payment, info: Info[Context, None]
) -> treasury.Confirmation | None:
    return await info.context.loaders.confirmation_by_payment.load(root.id)


def monthly_rent_cents(root: tenants.Lease) -> int:
    return billing.monthly_rent_cents(root)


def tenant_share_cents(root: tenants.Lease) -> int:
    return billing.tenant_share_cents(root)
