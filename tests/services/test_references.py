"""The RF creditor reference printed on rent demands (ISO 11649, ISO 7064 MOD 97-10)."""

import pytest

from regie.services.references import InvalidReference, find_rf, parse_rf, printed, rf_reference


def test_reference_matches_the_iso_11649_example() -> None:
    assert rf_reference("539007547034") == "RF18539007547034"


def test_tenant_code_round_trips_through_its_reference() -> None:
    assert parse_rf(rf_reference("1004217")) == "1004217"


def test_printed_reference_in_groups_of_four_is_read_back() -> None:
    assert parse_rf(printed("RF18539007547034")) == "539007547034"
    assert printed("RF18539007547034") == "RF18 5390 0754 7034"


def test_wrong_check_digits_are_refused() -> None:
    assert parse_rf("RF19539007547034") is None


def test_a_mistyped_digit_is_refused() -> None:
    assert parse_rf("RF18539007547035") is None


def test_reference_is_found_in_free_text() -> None:
    assert find_rf("VIR LOYER MARS RF18 5390 0754 7034 MERCI") == ["539007547034"]


def test_code_that_cannot_make_a_reference_is_refused() -> None:
    with pytest.raises(InvalidReference):
        rf_reference("A-1")
