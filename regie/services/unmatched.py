"""The unmatched queue and the import batches, for office staff: list, match to a tenant, dismiss.

Matching an item applies it exactly as an import would have (a declared payment of the same
amount on the tenant's lease is confirmed, otherwise a confirmed payment is created; a returned
payment rejects the tenant's latest confirmed payment of that amount), in one transaction with
the item's resolution, which a concurrent second resolution cannot repeat. The payer's account,
when the file named one, is remembered for the tenant so that the next payment matches by itself
(never for bulk payers).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Generic, TypeVar, cast

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from regie.db import imports, ledger, matching, tenants, treasury
from regie.services import accounts, events, records
from regie.services.access import Viewer, require_office
from regie.services.clock import now_utc, office_today
from regie.services.tenants import InvalidArgument, check_page_size

MAX_REASON_LENGTH = 200


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    rows: list[T]
    offset: int
    has_next_page: bool


async def list_items(
    viewer: Viewer,
    status: matching.UnmatchedStatus | None,
    first: int | None,
    offset: int,
) -> Page[matching.UnmatchedItem]:
    """Queue items, oldest first (``status`` None: all of them)."""
    require_office(viewer)
    limit = check_page_size(first)
    query = matching.UnmatchedItem.all()
    if status is not None:
        query = query.filter(status=status)
    rows = await query.order_by("id").offset(offset).limit(limit + 1)
    return Page(rows[:limit], offset, len(rows) > limit)


async def list_batches(viewer: Viewer, first: int | None, offset: int) -> Page[imports.ImportBatch]:
    """Import batches, newest first."""
    require_office(viewer)
    limit = check_page_size(first)
    rows = await imports.ImportBatch.all().order_by("-id").offset(offset).limit(limit + 1)
    return Page(rows[:limit], offset, len(rows) > limit)


async def _open_item(item_id: int) -> matching.UnmatchedItem:
    item = await matching.UnmatchedItem.get_or_none(id=item_id)
    if item is None:
        raise InvalidArgument("itemId", f"There is no unmatched item {item_id}.")
    if item.status != matching.UnmatchedStatus.OPEN:
        raise InvalidArgument("itemId", f"Unmatched item {item_id} is already {item.status.value}.")
    return item


async def match_item(
    viewer: Viewer, item_id: int, tenant_code: str, *, remember_payer: bool = True
) -> matching.UnmatchedItem:
    require_office(viewer)
    item = await _open_item(item_id)
    code = tenant_code.strip().upper()
    tenant = await tenants.Tenant.get_or_none(code=code) if code else None
    if tenant is None:
        raise InvalidArgument("tenantCode", f"There is no tenant with the code {tenant_code!r}.")
    lease = (await records.current_leases([tenant.id])).get(tenant.id)
    if lease is None:
        raise InvalidArgument("tenantCode", f"Tenant {tenant.code} has no lease to apply it to.")
    batch = await imports.ImportBatch.get(id=item.batch_id)
    push = batch.channel == imports.ImportChannel.PUSH
    now = now_utc()
    async with in_transaction():
        claimed = await matching.UnmatchedItem.filter(
            id=item.id, status=matching.UnmatchedStatus.OPEN
        ).update(
            status=matching.UnmatchedStatus.MATCHED,
            resolved_at=now,
            resolved_by_id=viewer.user_id,
            tenant_id=tenant.id,
        )
        if claimed != 1:
            raise InvalidArgument("itemId", f"Unmatched item {item_id} was resolved meanwhile.")
        if item.kind == matching.UnmatchedKind.REVERSAL:
            payment = await _reverse_latest(lease.id, item, now)
        else:
            payment = await _confirm(lease.id, item, push, now, viewer)
        await matching.UnmatchedItem.filter(id=item.id).update(payment_id=payment.id)
        await imports.ImportedEntry.filter(entry_key=item.entry_key).update(
            outcome=imports.EntryOutcome.MATCHED, payment_id=payment.id
        )
        if remember_payer and item.payer_iban_fingerprint and item.bulk_payer is None:
            await _remember_payer(tenant.id, item, now)
        await accounts.refresh_snapshots([lease.id])
    await events.publish_accounts_changed(
        events.AccountsChanged(
            tenant_codes=(tenant.code,),
            reason="match",
            channel="office",
            applied=1,
            applied_at=now.isoformat(),
            batch_id=item.batch_id,
        )
    )
    await item.refresh_from_db()
    return item


async def _confirm(
    lease_id: int, item: matching.UnmatchedItem, push: bool, now: datetime, viewer: Viewer
) -> ledger.Payment:
    booked_on: date = item.booked_on or office_today()
    declared = (
        await ledger.Payment.filter(
            lease_id=lease_id, status=ledger.PaymentStatus.DECLARED, amount_cents=item.amount_cents
        )
        .order_by("paid_on", "id")
        .first()
    )
    payment: ledger.Payment | None = None
    if declared is not None:
        done = await ledger.Payment.filter(
            id=declared.id, status=ledger.PaymentStatus.DECLARED
        ).update(status=ledger.PaymentStatus.CONFIRMED)
        if done == 1:
            payment = declared
    if payment is None:
        payment = await ledger.Payment.create(
            lease_id=lease_id,
            amount_cents=item.amount_cents,
            method=ledger.PaymentMethod.CAF if item.bulk_payer else ledger.PaymentMethod.TRANSFER,
            status=ledger.PaymentStatus.CONFIRMED,
            source=ledger.PaymentSource.TREASURY_PUSH
            if push
            else ledger.PaymentSource.TREASURY_FILE,
            paid_on=booked_on,
            recorded_at=now,
        )
    await treasury.Confirmation.create(
        payment_id=payment.id,
        channel=treasury.ConfirmationChannel.PUSH if push else treasury.ConfirmationChannel.FILE,
        source=f"matched by {viewer.label}"[:120],
        booked_on=booked_on,
        applied_at=now,
        bank_reference=item.entry_key[:140],
    )
    return payment


async def _reverse_latest(
    lease_id: int, item: matching.UnmatchedItem, now: datetime
) -> ledger.Payment:
    payment = (
        await ledger.Payment.filter(
            lease_id=lease_id, status=ledger.PaymentStatus.CONFIRMED, amount_cents=item.amount_cents
        )
        .order_by("-paid_on", "-id")
        .first()
    )
    if payment is None:
        raise InvalidArgument(
            "tenantCode", "This tenant has no confirmed payment of this amount to reverse."
        )
    await ledger.Payment.filter(id=payment.id, status=ledger.PaymentStatus.CONFIRMED).update(
        status=ledger.PaymentStatus.REJECTED,
        rejected_at=now,
        rejection_reason="returned (matched by the office)",
    )
    return payment


async def _remember_payer(tenant_id: int, item: matching.UnmatchedItem, now: datetime) -> None:
    fingerprint = item.payer_iban_fingerprint
    if await matching.PayerAccount.exists(fingerprint=fingerprint, tenant_id=tenant_id):
        return
    try:
        async with in_transaction():  # a savepoint: a concurrent insert only loses this row
            await matching.PayerAccount.create(
                fingerprint=fingerprint,
                last4=item.payer_iban_last4 or "",
                tenant_id=tenant_id,
                created_at=now,
            )
    except IntegrityError:
        pass


async def dismiss_item(viewer: Viewer, item_id: int, reason: str) -> matching.UnmatchedItem:
    require_office(viewer)
    text = " ".join(reason.split())
    if not 1 <= len(text) <= MAX_REASON_LENGTH:
        raise InvalidArgument(
            "reason",
            f"'reason' must hold 1 to {MAX_REASON_LENGTH} characters (why it is dismissed).",
        )
    item = await _open_item(item_id)
    done = await matching.UnmatchedItem.filter(
        id=item.id, status=matching.UnmatchedStatus.OPEN
    ).update(
        status=matching.UnmatchedStatus.DISMISSED,
        resolved_at=now_utc(),
        resolved_by_id=viewer.user_id,
        dismiss_reason=text,
    )
    if done != 1:
        raise InvalidArgument("itemId", f"Unmatched item {item_id} was resolved meanwhile.")
    await item.refresh_from_db()
    return item


async def visible_tenant_codes(viewer: Viewer, codes: list[str]) -> list[str]:
    """The codes among ``codes`` of tenants the viewer may see (all of them for office staff)."""
    if viewer.commune_ids is None or not codes:
        return list(codes)
    found = set(
        cast(
            list[str],
            await tenants.Tenant.filter(
                code__in=codes, leases__dwelling__commune_id__in=sorted(viewer.commune_ids)
            ).values_list("code", flat=True),
        )
    )
    return [code for code in codes if code in found]
