"""Finding tenants (by name or code) and reading their leases and payments, within a viewer's scope."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import partial

from regie.db import tenants
from regie.services import database, names, records
from regie.services.access import TENANTS_READ, Viewer, require_scope
from regie.services.audit import DENIED, FAILED, OK, AuditTrail

MIN_SEARCH_LENGTH = 2
MAX_SEARCH_LENGTH = 100
MAX_PAGE_SIZE = 50
DEFAULT_PAGE_SIZE = 20
MAX_CODE_LENGTH = tenants.CODE_MAX_LENGTH
KEY_ORDER = ("search_key", "code")
"""The order of name matches within a rank: by name, then code."""
# Relative costs per row of the two plans for name matches outside the surname-prefix rank,
# measured on SQLite with 139,000 tenants (microseconds): collecting a match from the covering
# (word, tenant_id) index and sorting it, against walking one tenant of the (search_key, code)
# index and probing its words.
COLLECT_COST_PER_MATCH = 1.4
WALK_COST_PER_TENANT = 2.0


class InvalidArgument(ValueError):
    """A caller's argument is malformed. ``argument`` names it; the message says what is expected."""

    def __init__(self, argument: str, message: str) -> None:
        super().__init__(message)
        self.argument = argument


@dataclass(frozen=True)
class SearchPage:
    tenants: list[records.TenantRecord]
    offset: int
    has_next_page: bool
    current_leases: dict[int, records.LeaseRecord]
    """The current lease (with dwelling and account) of each tenant of the page that has one,
    read in the same statement as the tenants."""


def check_page_size(first: int | None, argument: str = "first") -> int:
    if first is None:
        return DEFAULT_PAGE_SIZE
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise InvalidArgument(
            argument, f"'{argument}' must be between 1 and {MAX_PAGE_SIZE}, not {first}."
        )
    return first


def check_search_text(text: str) -> str:
    stripped = text.strip()
    if len(stripped) < MIN_SEARCH_LENGTH:
        raise InvalidArgument(
            "text",
            f"'text' must hold at least {MIN_SEARCH_LENGTH} characters (a name or a tenant code).",
        )
    if len(stripped) > MAX_SEARCH_LENGTH:
        raise InvalidArgument("text", f"'text' must hold at most {MAX_SEARCH_LENGTH} characters.")
    return stripped


class _Statement:
    """A hand-written statement's parameters, numbered in the order its text is built: SQLite's
    ``?`` markers are positional, so each piece of text is built in reading order."""

    def __init__(self) -> None:
        self.params: list[object] = []

    def mark(self, value: object) -> str:
        self.params.append(value)
        return database.placeholder(len(self.params))


def _in_scope(viewer: Viewer, sql: _Statement) -> list[str]:
    """The condition that tenant ``t`` has a lease in the viewer's communes; none for office staff."""
    if viewer.commune_ids is None:
        return []
    communes = ", ".join(sql.mark(c) for c in (sorted(viewer.commune_ids) or [0]))
    return [
        "t.id IN (SELECT sl.tenant_id FROM lease sl JOIN dwelling sd "  # noqa: S608 - placeholders only
        f"ON sd.id = sl.dwelling_id WHERE sd.commune_id IN ({communes}))"
    ]


def _starts_with(
    column: str, prefix: str, sql: _Statement, alphabet: str = names.LOWER_ALPHABET
) -> str:
    """``column`` starts with ``prefix`` (written in ``alphabet``), as an index range."""
    bound = names.prefix_upper_bound(prefix, alphabet)
    condition = f"{column} >= {sql.mark(prefix)}"
    return condition if bound is None else f"{condition} AND {column} < {sql.mark(bound)}"


def _code_prefix(code: str, sql: _Statement) -> str:
    return _starts_with("t.code", code, sql, names.UPPER_ALPHABET)


def _key_prefix(key: str, sql: _Statement) -> str:
    """Keys starting with ``key``: an index range on the key (LIKE alone is no range on PostgreSQL).

    The range holds exactly the keys starting with ``key`` because the database compares text
    byte by byte, as the ranking by key already requires for the same results on SQLite
    (``BINARY``) and PostgreSQL (the ``C`` collation). A ``LIKE`` on top would be redundant, and
    PostgreSQL, taking it for a second, independent filter, expected a hundredth of the matches
    and read and sorted them all instead of walking the index to the page's end (measured:
    6 ms instead of 0.3 for "martin", 1,260 matches).
    """
    last = key.rsplit(" ", 1)[-1]
    bound = names.prefix_upper_bound(last)
    if bound is None:
        return f"t.search_key LIKE {sql.mark(key + '%')}"
    return (
        f"t.search_key >= {sql.mark(key)} AND t.search_key < {sql.mark(key[: -len(last)] + bound)}"
    )


async def search_tenants(
    viewer: Viewer, text: str, first: int | None, offset: int, trail: AuditTrail | None = None
) -> SearchPage:
    """Tenants whose name words start with the words of ``text``, or whose code starts with it.

    A text of digits is a tenant code: the exact code first, then codes starting with it, by
    code. Otherwise a name, ranked: the exact code (alphanumeric codes), then tenants whose
    'surname first-name' key starts with the text (surname prefix), then every other tenant
    whose name words start with the text's words; each rank by name then code. Case and
    accents are ignored; characters no name holds (``%``, ``_``, ``;`` …) make the text match
    nothing. The search is audited (not its text, a name); each account read is audited apart.
    """
    require_scope(viewer, TENANTS_READ)
    text = check_search_text(text)
    limit = check_page_size(first)
    if offset < 0:
        raise InvalidArgument("after", "'after' is not a cursor this search returned.")
    query_words = names.words(text) if names.could_be_a_name(text) else []
    if not query_words or any(len(w) > tenants.NAME_MAX_LENGTH for w in query_words):
        # No stored name word is that long: nothing can match.
        ids: list[int] = []
    elif len(query_words) == 1 and query_words[0].isdigit():
        ids = await _code_matches(viewer, query_words[0], offset, limit + 1)
    else:
        ids = await _name_matches(viewer, query_words, offset, limit + 1)
    page = await records.tenants_with_current_leases(ids[:limit])
    rows = page.tenants
    if trail is not None:
        trail.note("tenant.search", detail=f"{min(len(ids), limit)} results")
    return SearchPage([rows[i] for i in ids[:limit]], offset, len(ids) > limit, page.current_leases)


def _first_ranks(
    viewer: Viewer,
    sql: _Statement,
    code: str,
    prefix: Callable[[_Statement], str],
    order: tuple[str, ...],
    limit: int | None,
) -> str:
    """The tenants of the exact-code rank (``rank`` 0: ``code``, if in scope) and of the prefix rank
    (``rank`` 1: ``prefix``, the first ``limit`` in ``order``), with the columns of ``order``."""
    columns = ", ".join(f"t.{column}" for column in ("id", *order))
    exact = [f"t.code = {sql.mark(code)}", *_in_scope(viewer, sql)]
    exact_rank = f"SELECT {columns}, 0 AS rank FROM tenant t WHERE {' AND '.join(exact)}"  # noqa: S608
    by_prefix = [prefix(sql), f"t.code <> {sql.mark(code)}", *_in_scope(viewer, sql)]
    prefix_rank = (
        f"SELECT {columns}, 1 AS rank FROM tenant t WHERE {' AND '.join(by_prefix)} "  # noqa: S608 - placeholders only
        f"ORDER BY {', '.join(f't.{column}' for column in order)}"
    )
    if limit is not None:
        prefix_rank += f" LIMIT {sql.mark(limit)}"
    # Each rank in a subquery of its own: a member of a UNION takes no ORDER BY or LIMIT.
    return f"SELECT * FROM ({exact_rank}) exact UNION ALL SELECT * FROM ({prefix_rank}) by_prefix"  # noqa: S608


async def _first_ranks_page(
    viewer: Viewer,
    code: str,
    prefix: Callable[[_Statement], str],
    order: tuple[str, ...],
    offset: int,
    count: int,
) -> list[int]:
    """Tenants ``[offset, offset + count)`` of the exact-code rank then the prefix rank: one
    statement for both ranks, whatever the page."""
    sql = _Statement()
    # The page can only hold prefix matches among the first offset + count: that is enough of them.
    ranks = _first_ranks(viewer, sql, code, prefix, order, offset + count)
    page = (
        f"SELECT id FROM ({ranks}) ranked ORDER BY rank, {', '.join(order)} "  # noqa: S608 - placeholders only
        f"LIMIT {sql.mark(count)} OFFSET {sql.mark(offset)}"
    )
    return [int(row["id"]) for row in await database.fetch(page, sql.params)]


async def _code_matches(viewer: Viewer, code: str, offset: int, count: int) -> list[int]:
    return await _first_ranks_page(
        viewer, code, partial(_code_prefix, code), ("code",), offset, count
    )


async def _name_matches(viewer: Viewer, words: list[str], offset: int, count: int) -> list[int]:
    key = " ".join(words)
    # A single alphanumeric word may be a code; "" (no tenant has it) when it cannot be one.
    code = words[0].upper() if len(words) == 1 and len(words[0]) <= MAX_CODE_LENGTH else ""
    prefix = partial(_key_prefix, key)
    found = await _first_ranks_page(viewer, code, prefix, KEY_ORDER, offset, count)
    if len(found) >= count:
        return found
    # Where the other matches start. A page holding some ranked tenants ends the ranks, so the
    # others start at their first; only a page starting past every ranked one needs them counted.
    rest_offset = 0
    if offset and not found:
        sql = _Statement()
        ranks = _first_ranks(viewer, sql, code, prefix, KEY_ORDER, None)
        rows = await database.fetch(f"SELECT COUNT(*) AS n FROM ({ranks}) ranked", sql.params)  # noqa: S608
        rest_offset = max(0, offset - int(rows[0]["n"]))
    return found + await _other_name_matches(
        viewer, words, key, code, rest_offset, count - len(found)
    )


async def _other_name_matches(
    viewer: Viewer, words: list[str], key: str, code: str, offset: int, count: int
) -> list[int]:
    """Name matches outside the surname-prefix rank, by key then code.

    Two plans. *Collect*: take every tenant matching the rarest word, keep those matching the
    other words, sort (cost grows with the rarest word's matches). *Walk*: go through the tenants
    in key order along the (search_key, code) index, testing each, until the page is full (cost
    grows with tenants ÷ matches). Walking pays off only for one common word, whose matches are
    spread along the key order (a first name like "hélène"); several words usually include a
    surname, whose matches sit together, so those are always collected.
    """
    match_counts = await _word_match_counts(sorted(set(words)))
    rarest = min(match_counts, key=lambda w: match_counts[w])
    if len(words) == 1:
        tenant_count = max(1, await _tenant_count())
        matches = max(match_counts[rarest], 1)
        collect_cost = COLLECT_COST_PER_MATCH * matches
        walk_cost = WALK_COST_PER_TENANT * (offset + count) * tenant_count / matches
        if walk_cost < collect_cost:
            return await _matches_in_key_order(viewer, words, key, code, offset, count, None)
    return await _matches_in_key_order(viewer, words, key, code, offset, count, rarest)


_tenant_count_cache: tuple[float, int] | None = None
TENANT_COUNT_MAX_AGE = 300.0
"""Seconds the tenant count used to choose a plan may be old: a plan needs its order of magnitude,
and counting 139,000 rows costs more than the search itself."""


async def _tenant_count() -> int:
    global _tenant_count_cache
    now = time.monotonic()
    if _tenant_count_cache is None or now - _tenant_count_cache[0] > TENANT_COUNT_MAX_AGE:
        _tenant_count_cache = (now, await tenants.Tenant.all().count())
    return _tenant_count_cache[1]


async def _word_match_counts(words: list[str]) -> dict[str, int]:
    """How many name words start with each of ``words``: one statement for them all."""
    sql = _Statement()
    counts: list[str] = []
    for word in words:
        condition = _starts_with("word", word, sql)
        count = f"(SELECT COUNT(*) FROM tenant_name_word WHERE {condition})"  # noqa: S608 - placeholders only
        counts.append(f"{count} AS c{len(counts)}")
    row = (await database.fetch(f"SELECT {', '.join(counts)}", sql.params))[0]
    return {word: int(row[f"c{i}"]) for i, word in enumerate(words)}


async def _matches_in_key_order(
    viewer: Viewer,
    words: list[str],
    key: str,
    code: str,
    offset: int,
    count: int,
    drive_from: str | None,
) -> list[int]:
    """Tenants with a name word starting with each query word, outside the surname-prefix rank.

    ``drive_from`` names the word whose matches are collected first (the collect plan); ``None``
    walks every tenant in key order (the walk plan). Written in SQL because the ORM cannot
    express the correlated ``EXISTS`` that lets the database stop after ``count`` rows.
    """
    sql = _Statement()

    def has_word(tenant_id: str, word: str) -> str:
        return (
            f"EXISTS (SELECT 1 FROM tenant_name_word w WHERE w.tenant_id = {tenant_id} "  # noqa: S608
            f"AND {_starts_with('w.word', word, sql)})"
        )

    conditions = []
    candidates = ""
    if drive_from is not None:
        # Filter the driving word's matches on the other words from the word indexes alone, and
        # only then read and sort the survivors' tenant rows. MATERIALIZED holds the database to
        # that order: PostgreSQL otherwise turns the semi-join back into a walk along the key
        # order whenever it underestimates a word's matches (measured: 500 ms instead of 1 ms).
        others = list(words)
        others.remove(drive_from)  # a repeated word is tested like the others
        inner = [
            _starts_with("d.word", drive_from, sql),
            *(has_word("d.tenant_id", w) for w in others),
        ]
        candidates = (
            "WITH candidates AS MATERIALIZED (SELECT DISTINCT d.tenant_id "  # noqa: S608
            f"FROM tenant_name_word d WHERE {' AND '.join(inner)}) "
        )
    else:
        conditions += [has_word("t.id", word) for word in words]
    conditions.append(f"t.search_key NOT LIKE {sql.mark(key + '%')}")
    conditions.append(f"t.code <> {sql.mark(code)}")
    conditions += _in_scope(viewer, sql)
    source = "tenant t JOIN candidates c ON c.tenant_id = t.id" if candidates else "tenant t"
    page = (
        f"{candidates}SELECT t.id FROM {source} WHERE {' AND '.join(conditions)} "  # noqa: S608 - placeholders only
        f"ORDER BY t.search_key, t.code LIMIT {sql.mark(count)} OFFSET {sql.mark(offset)}"
    )
    return [int(row["id"]) for row in await database.fetch(page, sql.params)]


async def tenant_by_code(
    viewer: Viewer, code: str, trail: AuditTrail | None = None
) -> records.TenantRecord | None:
    """The tenant with this code, or ``None`` when unknown or outside the viewer's scope.

    Both answers are the same to the caller; the audit log tells them apart (a lookup outside
    one's sectors is recorded as denied).
    """
    found = await tenant_with_lease_by_code(viewer, code, trail)
    return next(iter(found.tenants.values())) if found is not None else None


async def tenant_with_lease_by_code(
    viewer: Viewer, code: str, trail: AuditTrail | None = None
) -> records.TenantsWithLeases | None:
    """:func:`tenant_by_code`, with the tenant's current lease and account read in the same
    statement."""
    require_scope(viewer, TENANTS_READ)
    code = code.strip().upper()
    if not code or len(code) > MAX_CODE_LENGTH:
        return None
    found = await records.tenant_with_current_lease_by_code(code, viewer.commune_ids)
    if trail is not None:
        if found.tenants:
            trail.note("tenant.read", code, OK)
        elif viewer.commune_ids is not None and await tenants.Tenant.exists(code=code):
            trail.note("tenant.read", code, DENIED, "outside the collector's sectors")
        else:
            trail.note("tenant.read", code, FAILED, "unknown code")
    return found if found.tenants else None


@dataclass(frozen=True)
class PaymentCursor:
    paid_on: date
    id: int


@dataclass(frozen=True)
class PaymentPage:
    payments: list[records.PaymentRecord]
    has_next_page: bool


async def payments_page(
    tenant_id: int, first: int | None, after: PaymentCursor | None
) -> PaymentPage:
    """A tenant's payments on all their leases, newest first, paged by keyset, with their
    confirmations."""
    limit = check_page_size(first)
    keyset = (after.paid_on, after.id) if after is not None else None
    rows = await records.payments_of_tenant(tenant_id, keyset, limit + 1)
    return PaymentPage(rows[:limit], len(rows) > limit)
