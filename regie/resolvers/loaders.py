"""Per-request dataloaders, keyed on ids (foreign-key columns), so a page costs a fixed number of queries."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
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


@dataclass
class Loaders:
    commune: DataLoader[int, places.Commune | None] = field(
        default_factory=lambda: DataLoader(_by_key(places.Commune, "id"))
    )
    dwelling: DataLoader[int, places.Dwelling | None] = field(
        default_factory=lambda: DataLoader(_by_key(places.Dwelling, "id"))
    )
    current_lease_by_tenant: DataLoader[int, tenants.Lease | None] = field(init=False)
    snapshot_by_lease: DataLoader[int, ledger.AccountSnapshot | None] = field(
        default_factory=lambda: DataLoader(_by_key(ledger.AccountSnapshot, "lease_id"))
    )
    charge: DataLoader[int, ledger.Charge | None] = field(
        default_factory=lambda: DataLoader(_by_key(ledger.Charge, "id"))
    )
    payment: DataLoader[int, ledger.Payment | None] = field(init=False)
    confirmation_by_payment: DataLoader[int, treasury.Confirmation | None] = field(
        default_factory=lambda: DataLoader(_by_key(treasury.Confirmation, "payment_id"))
    )
    tenant: DataLoader[int, tenants.Tenant | None] = field(
        default_factory=lambda: DataLoader(_by_key(tenants.Tenant, "id"))
    )
    import_batch: DataLoader[int, imports.ImportBatch | None] = field(
        default_factory=lambda: DataLoader(_by_key(imports.ImportBatch, "id"))
    )

    def __post_init__(self) -> None:
        self.current_lease_by_tenant = DataLoader(self._current_leases)
        self.payment = DataLoader(self._payments)

    async def _current_leases(self, tenant_ids: list[int]) -> list[tenants.Lease | None]:
        # One query for the leases, their dwellings, communes and account snapshots: a page of
        # tenants then costs one statement here instead of four.
        rows = await tenant_service.leases_of(tenant_ids).select_related(
            "dwelling__commune", "snapshot"
        )
        found = tenant_service.pick_current_leases(rows)
        for lease in found.values():
            self.dwelling.prime(lease.dwelling_id, lease.dwelling)
            self.commune.prime(lease.dwelling.commune_id, lease.dwelling.commune)
            self.snapshot_by_lease.prime(lease.id, _loaded_snapshot(lease))
        return [found.get(i) for i in tenant_ids]

    async def _payments(self, ids: list[int]) -> list[ledger.Payment | None]:
        query = ledger.Payment.filter(id__in=ids).select_related("confirmation")
        rows = {payment.id: payment for payment in await query}
        for payment in rows.values():
            self.confirmation_by_payment.prime(payment.id, _loaded_confirmation(payment))
        return [rows.get(i) for i in ids]


def _loaded_snapshot(lease: tenants.Lease) -> ledger.AccountSnapshot | None:
    snapshot = getattr(lease, "snapshot", None)
    return snapshot if isinstance(snapshot, ledger.AccountSnapshot) else None


def _loaded_confirmation(payment: ledger.Payment) -> treasury.Confirmation | None:
    confirmation = getattr(payment, "confirmation", None)
    return confirmation if isinstance(confirmation, treasury.Confirmation) else None
