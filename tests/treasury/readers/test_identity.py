"""Entry identities that stay unique within a file and stable across files."""

from __future__ import annotations

from regie.treasury.readers.identity import UniqueIds


def test_repeated_keys_get_numbered_suffixes() -> None:
    ids = UniqueIds()
    assert [ids.make(key) for key in ["a", "b", "a", "a", "b"]] == ["a", "b", "a#2", "a#3", "b#2"]


def test_many_keys_stay_distinct_as_the_table_grows() -> None:
    ids = UniqueIds()
    made = [ids.make(f"key-{n % 30_000}") for n in range(60_000)]
    assert len(set(made)) == 60_000
    assert made[30_000] == "key-0#2"
