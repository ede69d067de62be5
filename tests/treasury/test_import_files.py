"""Importing files of each format: amounts, dates and matches land in the ledger exactly once."""

from __future__ import annotations

from datetime import date

import pytest

from regie.db import imports, ledger, matching, treasury
from regie.services import accounts, references
from regie.services.imports import Outcome
from regie.treasury.importer import import_file
from tests import factories
from tests.treasury.bankfiles import Movement, Tx, camt053, camt054, cfonb120, csv_file

pytestmark = pytest.mark.usefixtures("db")


async def _balance(lease_id: int) -> int:
    snapshot = await ledger.AccountSnapshot.get(lease_id=lease_id)
    return snapshot.charged_cents - snapshot.confirmed_cents


async def _billed_tenant(surname: str, code: str, **kwargs: object):  # type: ignore[no-untyped-def]
    tenant, lease = await factories.tenant_with_lease(surname, code=code, **kwargs)  # type: ignore[arg-type]
    await factories.bill(lease, date(2026, 2, 1), date(2026, 3, 1))
    return tenant, lease


@pytest.mark.parametrize("version", ["02", "03", "04", "05", "06", "07", "08"])
async def test_camt054_credit_with_rf_reference_confirms_a_payment(version: str) -> None:
    _, lease = await _billed_tenant("Dupré", "1004217")
    data = camt054(
        [Tx("450.00", "REF-1", creditor_ref=references.rf_reference("1004217"), payer="DUPRE")],
        version=version,
    )
    report = await import_file(data, source="test")
    assert report.outcome == Outcome.IMPORTED
    assert (report.counts.read, report.counts.new, report.counts.matched) == (1, 1, 1)
    payment = await ledger.Payment.get(lease_id=lease.id)
    assert (payment.amount_cents, payment.status, payment.paid_on) == (
        45000,
        ledger.PaymentStatus.CONFIRMED,
        date(2026, 3, 3),
    )
    assert await _balance(lease.id) == 45000
    assert await accounts.stale_snapshots() == []


async def test_tenant_code_in_remittance_text_matches() -> None:
    _, lease = await _billed_tenant("Martin", "1004300")
    data = camt054([Tx("450.00", "REF-2", ustrd=("LOYER MARS LOC 1004300",), payer="M MARTIN")])
    report = await import_file(data, source="test")
    assert report.counts.matched == 1
    assert await ledger.Payment.filter(lease_id=lease.id).count() == 1


async def test_same_file_twice_is_already_imported_and_changes_nothing() -> None:
    _, lease = await _billed_tenant("Martin", "1004300")
    data = camt054([Tx("450.00", "REF-2", ustrd=("LOC 1004300",))])
    await import_file(data, source="test")
    again = await import_file(data, source="test")
    assert again.outcome == Outcome.ALREADY_IMPORTED
    assert "Already imported" in again.message
    assert await ledger.Payment.filter(lease_id=lease.id).count() == 1


async def test_same_message_id_with_other_content_is_a_conflict() -> None:
    _, lease = await _billed_tenant("Martin", "1004300")
    await import_file(camt054([Tx("450.00", "REF-2", ustrd=("LOC 1004300",))]), source="test")
    other = camt054([Tx("450.00", "REF-3", ustrd=("LOC 1004300",))])
    report = await import_file(other, source="test")
    assert report.outcome == Outcome.CONFLICT
    assert report.failed
    assert await ledger.Payment.filter(lease_id=lease.id).count() == 1
    assert not await imports.ImportedEntry.filter(entry_key__contains="REF-3").exists()


async def test_overlapping_files_count_each_entry_once() -> None:
    _, lease = await _billed_tenant("Martin", "1004300")
    first = camt054(
        [Tx("100.00", "A1", ustrd=("LOC 1004300",)), Tx("200.00", "A2", ustrd=("LOC 1004300",))],
        message_id="DAY-1",
    )
    statement = camt053(
        [Tx("200.00", "A2", ustrd=("LOC 1004300",)), Tx("50.00", "A3", ustrd=("LOC 1004300",))],
        message_id="STMT-1",
    )
    await import_file(first, source="test")
    report = await import_file(statement, source="test")
    assert (report.counts.new, report.counts.duplicates) == (1, 1)
    amounts = (
        await ledger.Payment.filter(lease_id=lease.id)
        .order_by("amount_cents")
        .values_list("amount_cents", flat=True)
    )
    assert amounts == [5000, 10000, 20000]


async def test_pending_entry_is_not_applied_and_its_booking_later_is() -> None:
    _, lease = await _billed_tenant("Martin", "1004300")
    pending = camt054([Tx("450.00", "P1", status="PDNG", ustrd=("LOC 1004300",))], message_id="M1")
    report = await import_file(pending, source="test")
    assert (report.counts.pending, report.counts.new) == (1, 0)
    assert not await ledger.Payment.filter(lease_id=lease.id).exists()
    booked = camt054([Tx("450.00", "P1", ustrd=("LOC 1004300",))], message_id="M2")
    assert (await import_file(booked, source="test")).counts.matched == 1


async def test_confirmation_of_a_declared_payment_confirms_it() -> None:
    from regie.services import ledger as ledger_service

    _, lease = await _billed_tenant("Martin", "1004300")
    declared = await ledger_service.declare_payment(
        lease.id, 45000, ledger.PaymentMethod.CHEQUE, date(2026, 3, 1), ledger.PaymentSource.FIELD
    )
    await import_file(camt054([Tx("450.00", "C1", ustrd=("LOC 1004300",))]), source="test")
    payments = await ledger.Payment.filter(lease_id=lease.id)
    assert [(p.id, p.status) for p in payments] == [(declared.id, ledger.PaymentStatus.CONFIRMED)]
    assert await treasury.Confirmation.filter(payment_id=declared.id).exists()
    assert await accounts.stale_snapshots() == []


async def test_return_of_a_direct_debit_rejects_the_original_once() -> None:
    tenant, lease = await _billed_tenant("Martin", "1004300")
    await matching.DirectDebitMandate.create(reference="RUM-OPH-1004300", tenant_id=tenant.id)
    collected = camt054(
        [
            Tx(
                "450.00",
                "D1",
                mandate="RUM-OPH-1004300",
                end_to_end="PRLV-202603-1004300",
                domain=("PMNT", "RDDT", "ESDD"),
            )
        ],
        message_id="COLLECT",
    )
    returned = Tx(
        "450.00",
        "R1",
        credit=False,
        reversal=True,
        return_reason="AM04",
        mandate="RUM-OPH-1004300",
        end_to_end="PRLV-202603-1004300",
        domain=("PMNT", "RDDT", "UPDD"),
    )
    await import_file(collected, source="test")
    report = await import_file(camt054([returned], message_id="RETURN"), source="test")
    assert report.counts.matched == 1
    payment = await ledger.Payment.get(lease_id=lease.id)
    assert payment.status == ledger.PaymentStatus.REJECTED
    assert payment.method == ledger.PaymentMethod.DIRECT_DEBIT
    assert "AM04" in (payment.rejection_reason or "")
    # The same return notified again in another file is a duplicate; a second, different return
    # of the same payment waits for a person instead of rejecting anything twice.
    again = await import_file(camt054([returned], message_id="RETURN-AGAIN"), source="test")
    assert again.counts.duplicates == 1
    second = Tx(**{**returned.__dict__, "ref": "R2"})
    other = await import_file(camt054([second], message_id="RETURN-2"), source="test")
    assert other.counts.unmatched == 1
    assert await accounts.stale_snapshots() == []


async def test_bank_fee_debit_is_recorded_and_ignored() -> None:
    fee = Tx("9.60", "F1", credit=False, domain=("ACMT", "MDOP", "CHRG"))
    report = await import_file(camt054([fee]), source="test")
    assert (report.counts.new, report.counts.ignored, report.counts.unmatched) == (1, 1, 0)


async def test_cfonb120_movements_match_and_rejections_reverse() -> None:
    _, lease = await _billed_tenant("Martin", "1004300")
    data = cfonb120(
        [
            Movement(
                45000, "0000001", "VIR M MARTIN", "REF0001", remittance=("LOYER LOC 1004300",)
            ),
            Movement(-960, "0000002", "FRAIS TENUE DE COMPTE", "REF0002"),
        ]
    )
    report = await import_file(data, source="test")
    assert report.format == "cfonb120"
    assert (report.counts.matched, report.counts.ignored) == (1, 1)
    assert await _balance(lease.id) == 45000


async def test_csv_with_tenant_code_column_matches_and_reports_rejected_lines() -> None:
    _, lease = await _billed_tenant("Martin", "1004300")
    data = csv_file(
        [
            {
                "reference": "B1",
                "date_comptable": "03/03/2026",
                "montant": "450,00",
                "payeur": "Jean Martin",
                "libelle": "Loyer mars",
                "code_locataire": "1004300",
            },
            {"reference": "B2", "date_comptable": "31/02/2026", "montant": "10,00"},
        ]
    )
    report = await import_file(data, source="test")
    assert (report.counts.matched, report.counts.rejected) == (1, 1)
    assert report.failed
    assert report.rejected[0][0]  # the position of the rejected line
    assert await _balance(lease.id) == 45000


async def test_structurally_broken_file_is_refused_whole() -> None:
    hostile = (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "b">]>'
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08">&a;</Document>'
    )
    report = await import_file(hostile, source="test")
    assert report.outcome == Outcome.REFUSED
    assert "DOCTYPE" in report.message
    assert not await imports.ImportBatch.exists()
