"""IBAN checks and French IBANs rebuilt from CFONB account fields."""

from __future__ import annotations

import pytest

from regie.treasury.readers.iban import french_iban, is_valid_iban, normalize_iban


def test_french_iban_is_rebuilt_from_bank_branch_and_account() -> None:
    # The RIB key (89) and the IBAN check digits (76) are computed.
    assert french_iban("30006", "00001", "12345678901") == "FR7630006000011234567890189"


def test_french_iban_handles_letters_in_the_account_number() -> None:
    iban = french_iban("20041", "01005", "0500013M026")
    assert iban == "FR1420041010050500013M02606"
    assert is_valid_iban(iban)


@pytest.mark.parametrize(
    ("bank", "branch", "account"), [("3000", "00001", "1"), ("3000A", "00001", "12345678901")]
)
def test_french_iban_needs_the_rib_shape(bank: str, branch: str, account: str) -> None:
    assert french_iban(bank, branch, account) is None


def test_iban_is_normalised() -> None:
    assert normalize_iban(" fr76 3000 6000 0112 3456 7890 189 ") == "FR7630006000011234567890189"


@pytest.mark.parametrize("iban", ["FR7630006000011234567890188", "FR76", "NOTANIBAN", ""])
def test_invalid_ibans_are_detected(iban: str) -> None:
    assert not is_valid_iban(iban)
