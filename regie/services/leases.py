"""Which of a tenant's leases is the current one: the rule every surface applies."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Protocol, TypeVar


class LeaseDates(Protocol):
    @property
    def tenant_id(self) -> int: ...
    @property
    def end_date(self) -> date | None: ...


L = TypeVar("L", bound=LeaseDates)


def pick_current_leases(leases: Iterable[L]) -> dict[int, L]:
    """Each tenant's current lease among ``leases`` (ordered by start date, then id): the one that
    started last, a running lease before an ended one."""
    current: dict[int, L] = {}
    for lease in leases:
        held = current.get(lease.tenant_id)
        if held is None or held.end_date is not None or lease.end_date is None:
            current[lease.tenant_id] = lease
    return current
