"""Format detection from the content, and the plug-in registry behind `read_any`."""

from __future__ import annotations

from pathlib import Path

import pytest

from regie.treasury.readers import detect, detect_format, read_any, register_format
from regie.treasury.records import FileHeader, ReadResult, StructuralError

SAMPLES = Path(__file__).parent / "samples"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("camt054_v02_batched.xml", "camt.054"),
        ("camt054_v08_sepa.xml", "camt.054"),
        ("camt053_v04_statement.xml", "camt.053"),
        ("cfonb120_crlf_latin1.txt", "cfonb120"),
        ("cfonb120_lf_utf8.txt", "cfonb120"),
        ("cfonb120_no_separators.txt", "cfonb120"),
        ("csv_semicolon_comma_cp1252.csv", "csv"),
        ("csv_comma_point_utf8_bom.csv", "csv"),
    ],
)
def test_each_sample_is_recognised(name: str, expected: str) -> None:
    assert detect_format((SAMPLES / name).read_bytes()) == expected


def test_utf16_camt_is_recognised() -> None:
    text = (SAMPLES / "camt054_v08_sepa.xml").read_text(encoding="utf-8")
    data = text.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    assert detect_format(data) == "camt.054"
    assert len(list(read_any(data).entries)) == 4


def test_read_any_dispatches_to_the_detected_reader() -> None:
    result = read_any((SAMPLES / "camt053_v04_statement.xml").read_bytes())
    assert (result.header.format, result.header.version) == ("camt.053", "001.04")


def test_read_any_with_an_explicit_format_refuses_another_kind() -> None:
    with pytest.raises(StructuralError, match=r"not a camt\.054"):
        read_any((SAMPLES / "camt053_v04_statement.xml").read_bytes(), format="camt.054")


def test_read_any_with_an_unknown_format_name_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="Unknown format 'mt940'"):
        read_any(b"", format="mt940")


def test_xml_of_another_kind_is_refused() -> None:
    data = b'<?xml version="1.0"?><PES_Retour><EnTetePES/></PES_Retour>'
    with pytest.raises(StructuralError, match="not a supported message"):
        detect_format(data)


def test_unsupported_camt_version_is_detected_and_then_refused_by_the_reader() -> None:
    data = (SAMPLES / "camt054_v08_sepa.xml").read_bytes().replace(b"001.08", b"001.10")
    assert detect_format(data) == "camt.054"
    with pytest.raises(StructuralError, match=r"001\.10 is not supported"):
        read_any(data)


@pytest.mark.parametrize("data", [b"", b"hello world\n", b"01 too short\n", b"\x00\x01\x02"])
def test_unrecognised_content_is_refused(data: bytes) -> None:
    with pytest.raises(StructuralError, match="not recognised"):
        detect_format(data)


def test_a_new_format_can_be_plugged_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(detect, "_READERS", dict(detect._READERS))
    monkeypatch.setattr(detect, "_DETECTORS", list(detect._DETECTORS))

    def read_pes(data: bytes) -> ReadResult:
        return ReadResult(FileHeader("pes-retour", None, "pes-1"), iter(()))

    def detect_pes(data: bytes) -> str | None:
        return "pes-retour" if b"<PES_Retour" in data[:1024] else None

    register_format("pes-retour", read_pes, detect_pes)
    data = b'<?xml version="1.0" encoding="ISO-8859-1"?><PES_Retour/>'
    assert detect_format(data) == "pes-retour"
    assert read_any(data).header.message_id == "pes-1"
    assert "pes-retour" in detect.supported_formats()
