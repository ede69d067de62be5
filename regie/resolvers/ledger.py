"""Resolvers of account-status, lease and payment fields."""

from __future__ import annotations

from collections.abc import Awaitable

from strawberry.types import Info

from regie.context import Context
from regie.db import tenants
from regie.resolvers.loaders import value_or_load
from regie.services import accounts, billing, records

# Synchronous when the data is already loaded (see regie.resolvers.loaders).


def last_payment(
    root: accounts.AccountStatus, info: Info[Context, None]
) -> records.PaymentRecord | Awaitable[records.PaymentRecord | None] | None:
    if root.last_payment_id is None:
        return None
    return value_or_load(info.context.loaders.payment, root.last_payment_id)


def last_charge(
    root: accounts.AccountStatus, info: Info[Context, None]
) -> records.ChargeRecord | Awaitable[records.ChargeRecord | None] | None:
    if root.last_charge_id is None:
        return None
    return value_or_load(info.context.loaders.charge, root.last_charge_id)


def monthly_rent_cents(root: tenants.Lease) -> int:
    return billing.monthly_rent_cents(root)


def tenant_share_cents(root: tenants.Lease) -> int:
    return billing.tenant_share_cents(root)
