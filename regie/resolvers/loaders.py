"""Per-request dataloaders, keyed on ids (foreign-key columns), so a page costs a fixed number of queries."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader
from tortoise.models import Model

from regie.db import imports, ledger, places, tenants, treasury
from regie.services import tenants as tenant_service

M = TypeVar("M", bound=Model)


def _by_key(model: type[M], key: str) -> Callable[[list[int]], Coroutine[Any, Any, list[M | None]]]:
    async def load(ids: list[int]) -> list[M | None]:
        rows = {getattr(row, key): row for row in await model.filter(**{f"{key}__in": ids})}
        return [rows.get(i) for i in ids]

    return load


async def _current_leases(tenant_ids: Sequence[int]) -> list[tenants.Lease | None]:
    found = await tenant_service.current_leases(tenant_ids)
    return [found.get(i) for i in tenant_ids]


@dataclass
class Loaders:
    commune: DataLoader[int, places.Commune | None] = field(
        default_factory=lambda: DataLoader(_by_key(places.Commune, "id"))
    )
    dwelling: DataLoader[int, places.Dwelling | None] = field(
        default_factory=lambda: DataLoader(_by_key(places.Dwelling, "id"))
    )
    current_lease_by_tenant: DataLoader[int, tenants.Lease | None] = field(
        default_factory=lambda: DataLoader(_current_leases)
    )
    snapshot_by_lease: DataLoader[int, ledger.AccountSnapshot | None] = field(
        default_factory=lambda: DataLoader(_by_key(ledger.AccountSnapshot, "lease_id"))
    )
    charge: DataLoader[int, ledger.Charge | None] = field(
        default_factory=lambda: DataLoader(_by_key(ledger.Charge, "id"))
    )
    payment: DataLoader[int, ledger.Payment | None] = field(
        default_factory=lambda: DataLoader(_by_key(ledger.Payment, "id"))
    )
    confirmation_by_payment: DataLoader[int, treasury.Confirmation | None] = field(
        default_factory=lambda: DataLoader(_by_key(treasury.Confirmation, "payment_id"))
    )
    tenant: DataLoader[int, tenants.Tenant | None] = field(
        default_factory=lambda: DataLoader(_by_key(tenants.Tenant, "id"))
    )
    import_batch: DataLoader[int, imports.ImportBatch | None] = field(
        default_factory=lambda: DataLoader(_by_key(imports.ImportBatch, "id"))
    )
