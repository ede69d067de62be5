"""Matching rules, in the order of the domain: references, then known payer account, then a suggestion."""

from __future__ import annotations

from datetime import date

import pytest

from regie.db import matching
from regie.services import payers, references
from regie.services.matching import Action, plan
from regie.treasury.records import BankEntry
from tests import factories

pytestmark = pytest.mark.usefixtures("db")


def credit(**fields: object) -> BankEntry:
    values: dict[str, object] = {
        "position": "Ntry 1",
        "entry_id": "e1",
        "direction": "credit",
        "amount_cents": 45000,
        "currency": "EUR",
        "booking_date": date(2026, 3, 6),
        "value_date": None,
        "status": "booked",
    }
    values.update(fields)
    return BankEntry(**values)  # type: ignore[arg-type]


async def test_rf_reference_wins_over_a_tenant_code_in_the_text() -> None:
    await factories.tenant_with_lease("Dupré", code="1004217")
    await factories.tenant_with_lease("Martin", code="1004300")
    entry = credit(
        structured_reference=references.rf_reference("1004217"), remittance=("LOC 1004300",)
    )
    [decision] = await plan([entry])
    assert (decision.action, decision.tenant_code, decision.rule) == (
        Action.CONFIRM,
        "1004217",
        "RF reference",
    )


async def test_mandate_id_of_our_direct_debit_matches() -> None:
    tenant, _ = await factories.tenant_with_lease("Dupré", code="1004217")
    await matching.DirectDebitMandate.create(reference="RUM-OPH01-004512", tenant_id=tenant.id)
    [decision] = await plan([credit(mandate_id="RUM-OPH01-004512")])
    assert (decision.tenant_code, decision.rule) == ("1004217", "direct-debit mandate")


async def test_known_payer_account_matches() -> None:
    tenant, _ = await factories.tenant_with_lease("Dupré", code="1004217")
    iban = "FR7630003036200005091234507"
    await matching.PayerAccount.create(
        fingerprint=payers.fingerprint(iban),
        last4="4507",
        tenant_id=tenant.id,
        created_at=tenant.created_at,
    )
    [decision] = await plan([credit(payer_iban=iban)])
    assert (decision.tenant_code, decision.rule) == ("1004217", "known payer account")


async def test_two_tenant_codes_in_the_text_are_queued_with_both_suggested() -> None:
    await factories.tenant_with_lease("Dupré", code="1004217")
    await factories.tenant_with_lease("Martin", code="1004300")
    [decision] = await plan([credit(remittance=("LOC 1004217 ET 1004300",))])
    assert decision.action == Action.QUEUE
    assert "2 tenants" in decision.rule
    assert len(decision.suggestions) == 2


async def test_a_name_and_amount_alone_only_suggest() -> None:
    await factories.tenant_with_lease("Dupré", "Renée", code="1004217")
    [decision] = await plan([credit(payer_name="MME RENEE DUPRE")])
    assert decision.action == Action.QUEUE
    assert decision.suggestions[0].score == 1.0


async def test_caf_credit_is_queued_as_a_bulk_payment_without_amount_suggestions() -> None:
    # The CAF pays exactly this tenant's share: the amount must still not be used.
    await factories.tenant_with_lease(
        "Caffarel", code="1004217", rent_cents=40000, service_charges_cents=5000
    )
    entry = credit(payer_name="CAISSE D'ALLOCATIONS FAMILIALES DE TARN ET GARONNE")
    [decision] = await plan([entry])
    assert (decision.action, decision.bulk_payer) == (Action.QUEUE, matching.BulkPayerKind.CAF)
    assert all("amount" not in " ".join(s.reasons) for s in decision.suggestions)


async def test_fsl_marker_in_the_text_of_a_nameless_credit_is_a_bulk_payer() -> None:
    [decision] = await plan([credit(remittance=("VIR FSL 82 AIDES MARS",))])
    assert decision.bulk_payer == matching.BulkPayerKind.FSL


async def test_bulk_payer_with_a_tenant_code_is_still_queued() -> None:
    await factories.tenant_with_lease("Dupré", code="1004217")
    [decision] = await plan([credit(payer_name="CAF 82", remittance=("LOC 1004217",))])
    assert decision.action == Action.QUEUE


async def test_a_debit_that_is_not_a_return_is_ignored() -> None:
    [decision] = await plan([credit(direction="debit", bank_transaction_code="ACMT/MDOP/CHRG")])
    assert decision.action == Action.IGNORE


async def test_a_tenant_without_a_lease_is_queued() -> None:
    from regie.db import tenants

    await tenants.Tenant.create(
        code="1009999", title="M.", surname="Sans", first_name="Bail", search_key="sans bail"
    )
    [decision] = await plan([credit(tenant_code="1009999")])
    assert decision.action == Action.QUEUE
    assert "no lease" in decision.rule
