"""The monthly billing run's rules: what a lease is charged each month and when it is due."""

from __future__ import annotations

from datetime import date
from typing import Protocol

DUE_DAY_OF_MONTH = 5
"""Rent for a month is due on the 5th of that month."""


class LeaseTerms(Protocol):
    """What billing needs of a lease: an ORM row or any read-only record with these fields."""

    @property
    def rent_cents(self) -> int: ...
    @property
    def service_charges_cents(self) -> int: ...
    @property
    def housing_benefit_cents(self) -> int: ...
    @property
    def start_date(self) -> date: ...
    @property
    def end_date(self) -> date | None: ...


def monthly_rent_cents(lease: LeaseTerms) -> int:
    """Rent plus recoverable service charges, before housing benefit."""
    return lease.rent_cents + lease.service_charges_cents


def tenant_share_cents(lease: LeaseTerms) -> int:
    """What the tenant pays each month once the CAF has paid its housing benefit (loyer résiduel)."""
    return max(0, monthly_rent_cents(lease) - lease.housing_benefit_cents)


def due_date(period: date) -> date:
    """The due date of the charge for ``period`` (the first day of a month)."""
    return period.replace(day=DUE_DAY_OF_MONTH)


def next_due_date(lease: LeaseTerms, today: date) -> date | None:
    """The next due date on or after ``today`` while the lease runs; ``None`` once it has ended."""
    candidate = today.replace(day=DUE_DAY_OF_MONTH)
    if candidate < today:
        candidate = add_months(candidate, 1)
    if lease.end_date is not None and candidate > lease.end_date:
        return None
    return candidate


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole months; only used with days ≤ 28, which exist in every month."""
    index = day.year * 12 + day.month - 1 + months
    return day.replace(year=index // 12, month=index % 12 + 1)


def first_of_month(day: date) -> date:
    return day.replace(day=1)
