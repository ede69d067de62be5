"""Path look-ups inside one element: what a single walk finds, and in which order."""

from __future__ import annotations

import pytest
from lxml import etree

from regie.treasury.readers.xml_index import ElementIndex, Paths, text

NS = "urn:example:camt"


def element(body: str) -> etree._Element:
    return etree.fromstring(f'<Ntry xmlns="{NS}" xmlns:x="urn:example:other">{body}</Ntry>')


def test_each_path_has_its_first_element_in_document_order_and_the_others_aside() -> None:
    paths = Paths()
    line = paths.add("RmtInf/Ustrd")
    name = paths.add("Dbtr/Nm")
    found = paths.collect(
        element(
            "<RmtInf><Ustrd>one</Ustrd><Ustrd>two</Ustrd></RmtInf>"
            "<Dbtr><Nm>first</Nm></Dbtr><RmtInf><Ustrd>three</Ustrd></RmtInf>"
            "<Dbtr><Nm>second</Nm></Dbtr>"
        ),
        NS,
    )
    assert text(found.first[line]) == "one"
    assert [u.text for u in found.all(line)] == ["one", "two", "three"]
    assert [n.text for n in found.all(name)] == ["first", "second"]


def test_other_namespaces_unlisted_branches_and_comments_are_not_found() -> None:
    paths = Paths()
    amount = paths.add("Amt")
    name = paths.add("Dbtr/Nm")
    found = paths.collect(
        element("<!-- <Amt>0</Amt> --><x:Amt>1</x:Amt><Cdtr><Nm>creditor</Nm></Cdtr><Amt>2</Amt>"),
        NS,
    )
    assert [a.text for a in found.all(amount)] == ["2"]
    assert found.first[name] is None
    assert found.all(name) == []


def test_a_path_can_end_where_another_goes_on() -> None:
    paths = Paths(["Sts", "Sts/Cd"])
    index = ElementIndex(element("<Sts><Cd>BOOK</Cd></Sts>"), NS, paths)
    assert index.has("Sts")
    assert index.text("Sts/Cd") == "BOOK"
    assert index.text("Sts") is None  # its first child is an element: no text of its own


def test_text_collapses_white_space_and_blank_is_none() -> None:
    paths = Paths(["Nm", "Ustrd", "Ref"])
    index = ElementIndex(element("<Nm>  M \t OU\nMME  X </Nm><Ustrd> \n </Ustrd>"), NS, paths)
    assert index.text("Nm") == "M OU MME X"
    assert index.text("Ustrd") is None
    assert index.text("Ref") is None


def test_unknown_duplicate_and_late_paths_are_refused() -> None:
    paths = Paths(["Amt"])
    with pytest.raises(ValueError, match="twice"):
        paths.add("Amt")
    index = ElementIndex(element("<Amt>1</Amt>"), NS, paths)
    with pytest.raises(KeyError, match="CdtDbtInd"):
        index.text("CdtDbtInd")
    with pytest.raises(RuntimeError):
        paths.add("CdtDbtInd")
