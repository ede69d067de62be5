"""Many-row writes: every row written once, converted as Tortoise would, all or nothing."""

from __future__ import annotations

import pytest
from tortoise import connections
from tortoise.exceptions import IntegrityError, OperationalError
from tortoise.transactions import in_transaction

from regie.db.places import Commune
from regie.services import bulk

pytestmark = pytest.mark.usefixtures("db")

COLUMNS = ("name", "postal_code")


def _communes(count: int) -> list[tuple[str, str]]:
    return [(f"Commune {i:03d}", f"82{i:03d}") for i in range(count)]


@pytest.fixture(autouse=True)
def _small_statements(monkeypatch: pytest.MonkeyPatch) -> None:
    # A few rows per statement, so that a handful of rows spans several statements on SQLite.
    monkeypatch.setattr(bulk, "SQLITE_ROWS_PER_STATEMENT", 3)


async def test_rows_spanning_several_statements_are_each_written_once() -> None:
    async with in_transaction("default") as connection:
        await bulk.insert_many(connection, Commune, COLUMNS, _communes(8))
    rows = await Commune.all().order_by("name").values_list("name", "postal_code")
    assert rows == _communes(8)


async def test_a_bad_row_in_a_later_statement_leaves_nothing_of_the_transaction() -> None:
    rows = [*_communes(7), ("Commune 001", "82001")]  # the last one repeats a unique pair
    with pytest.raises(IntegrityError):
        async with in_transaction("default") as connection:
            await bulk.insert_many(connection, Commune, COLUMNS, rows)
    assert await Commune.all().count() == 0


async def test_outside_a_transaction_the_rows_are_written_all_or_nothing_too() -> None:
    connection = connections.get("default")
    with pytest.raises(IntegrityError):
        await bulk.insert_many(
            connection, Commune, COLUMNS, [*_communes(5), ("Commune 000", "82000")]
        )
    assert await Commune.all().count() == 0
    await bulk.insert_many(connection, Commune, COLUMNS, _communes(5))
    assert await Commune.all().count() == 5


async def test_many_row_updates_change_exactly_the_rows_named() -> None:
    await bulk.insert_many(connections.get("default"), Commune, COLUMNS, _communes(8))
    ids = await Commune.all().order_by("name").values_list("id", flat=True)
    renamed = [(f"Renamed {i}", commune_id) for i, commune_id in enumerate(ids[:7])]
    async with in_transaction("default") as connection:
        await bulk.update_many(connection, Commune, ("name",), renamed)
    names = await Commune.all().order_by("id").values_list("name", flat=True)
    assert names == [f"Renamed {i}" for i in range(7)] + ["Commune 007"]


async def test_work_run_in_sqlites_thread_returns_its_result_and_fails_as_a_query_would() -> None:
    connection = connections.get("default")
    if bulk.dialect(connection) != "sqlite":
        with pytest.raises(TypeError, match="not an open SQLite client"):
            await bulk.in_sqlite_thread(connection, lambda database: None)
        return
    answer = await bulk.in_sqlite_thread(
        connection, lambda database: database.execute("SELECT 41 + 1").fetchone()[0]
    )
    assert answer == 42
    with pytest.raises(OperationalError):
        await bulk.in_sqlite_thread(
            connection, lambda database: database.execute("SELECT * FROM no_such_table")
        )
    await bulk.insert_many(connection, Commune, COLUMNS, _communes(1))
    with pytest.raises(IntegrityError):
        async with in_transaction("default") as transaction:
            await bulk.in_sqlite_thread(
                transaction,
                lambda database: bulk.Insert(transaction, Commune, COLUMNS).run_sqlite(
                    database, [list(row) for row in _communes(1)]
                ),
            )


def test_a_write_is_cut_into_statements_of_a_few_sizes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk, "SQLITE_ROWS_PER_STATEMENT", 512)
    assert bulk.sqlite_statement_sizes(437) == [256, 128, 32, 16, 4, 1]
    assert bulk.sqlite_statement_sizes(1100) == [512, 512, 64, 8, 4]
    assert bulk.sqlite_statement_sizes(0) == []
    sizes = {size for rows in range(1, 3000) for size in bulk.sqlite_statement_sizes(rows)}
    # Each size is prepared once and kept: ten of them, whatever the counts written.
    assert sizes == {1 << n for n in range(10)}
    assert all(sum(bulk.sqlite_statement_sizes(rows)) == rows for rows in range(3000))


async def test_writes_of_every_count_share_a_few_prepared_statements(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bulk, "SQLITE_ROWS_PER_STATEMENT", 16)
    connection = connections.get("default")
    insert = bulk.Insert(connection, Commune, COLUMNS)
    written = 0
    for count in range(1, 30):
        rows = _communes(written + count)[written:]
        async with in_transaction("default") as transaction:
            await insert.execute(transaction, insert.convert(rows))
        written += count
    assert await Commune.all().count() == written
    if bulk.dialect(connection) == "sqlite":
        assert sorted(insert._texts) == [1, 2, 4, 8, 16]


async def test_an_in_list_finds_the_same_rows_whatever_its_padding() -> None:
    connection = connections.get("default")
    await bulk.insert_many(connection, Commune, COLUMNS, _communes(9))
    for count in range(1, 10):
        names = [f"Commune {i:03d}" for i in range(count)]
        condition, params = bulk.in_list(connection, names, 2)
        marks = bulk.placeholder(connection, 1)
        rows = await bulk.fetch(
            connection,
            f'SELECT "name" FROM "commune" WHERE "postal_code" <> {marks} AND "name" {condition}',  # noqa: S608
            ["none", *params],
        )
        assert sorted(row[0] for row in rows) == names
        if bulk.dialect(connection) == "sqlite":
            assert len(params) in (1, 2, 4, 8, 16) and params[count - 1 :] == [names[-1]] * (
                len(params) - count + 1
            )
