"""Per-request dataloaders, keyed on ids (foreign-key columns), so a page costs a fixed number of queries.

The lookups' root resolvers read a whole page's leases, dwellings, accounts and last payments
with the tenants and keep them here (:meth:`Loaders.prime_current_leases`); the fields below
them then read the loaders' caches synchronously (:func:`value_or_load`). A resolver that
returns a value instead of an awaitable spares graphql-core a task per field: for a page of 20
accounts that is most of the execution time. A field reached some other way still loads its data, batched, by awaiting the loader.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Hashable, Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Final, Literal, TypeVar

from strawberry.dataloader import DataLoader
from tortoise.models import Model

from regie.db import imports
from regie.services import records

M = TypeVar("M", bound=Model)
K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


class _NotLoaded(Enum):
    NOT_LOADED = 0


NOT_LOADED: Final = _NotLoaded.NOT_LOADED


def loaded(loader: DataLoader[K, T], key: K) -> T | Literal[_NotLoaded.NOT_LOADED]:
    """The value ``loader`` already holds for ``key``, or ``NOT_LOADED``; never waits."""
    future = loader.cache_map.get(key)
    if future is None or not future.done() or future.cancelled() or future.exception():
        return NOT_LOADED
    return future.result()


def value_or_load(loader: DataLoader[K, T], key: K) -> T | Awaitable[T]:
    """The cached value when there is one (resolved synchronously), else the loader's awaitable."""
    value = loaded(loader, key)
    return loader.load(key) if value is NOT_LOADED else value


def _by_key(model: type[M], key: str) -> Callable[[list[int]], Coroutine[Any, Any, list[M | None]]]:
    async def load(ids: list[int]) -> list[M | None]:
        rows = {getattr(row, key): row for row in await model.filter(**{f"{key}__in": ids})}
        return [rows.get(i) for i in ids]

    return load


def _records(
    read: Callable[[list[int]], Coroutine[Any, Any, dict[int, T]]],
) -> Callable[[list[int]], Coroutine[Any, Any, list[T | None]]]:
    async def load(ids: list[int]) -> list[T | None]:
        found = await read(ids)
        return [found.get(i) for i in ids]

    return load


@dataclass
class Loaders:
    tenant: DataLoader[int, records.TenantRecord | None] = field(
        default_factory=lambda: DataLoader(_records(records.tenants))
    )
    current_lease_by_tenant: DataLoader[int, records.LeaseRecord | None] = field(init=False)
    """With the lease: its dwelling, commune, account and last payment (one statement)."""
    payment: DataLoader[int, records.PaymentRecord | None] = field(
        default_factory=lambda: DataLoader(_records(records.payments))
    )
    """With the payment: its treasury confirmation (one statement)."""
    charge: DataLoader[int, records.ChargeRecord | None] = field(
        default_factory=lambda: DataLoader(_records(records.charges))
    )
    import_batch: DataLoader[int, imports.ImportBatch | None] = field(
        default_factory=lambda: DataLoader(_by_key(imports.ImportBatch, "id"))
    )

    def __post_init__(self) -> None:
        self.current_lease_by_tenant = DataLoader(self._current_leases)

    def prime_current_leases(
        self, tenant_ids: Iterable[int], leases: dict[int, records.LeaseRecord]
    ) -> None:
        """Keep the current leases a lookup read with its tenants (a tenant absent has none)."""
        for tenant_id in tenant_ids:
            self.current_lease_by_tenant.prime(tenant_id, leases.get(tenant_id))
        self._prime_last_payments(leases)

    async def _current_leases(self, tenant_ids: list[int]) -> list[records.LeaseRecord | None]:
        found = await records.current_leases(tenant_ids)
        self._prime_last_payments(found)
        return [found.get(i) for i in tenant_ids]

    def _prime_last_payments(self, leases: dict[int, records.LeaseRecord]) -> None:
        for lease in leases.values():
            if lease.last_payment is not None:
                self.payment.prime(lease.last_payment.id, lease.last_payment)
