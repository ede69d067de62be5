"""Finding tenants (by name or code) and reading their leases and payments, within a viewer's scope."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from tortoise.expressions import Case, Q, Subquery, When

from regie.db import ledger, tenants
from regie.services import names
from regie.services.access import Viewer

MIN_SEARCH_LENGTH = 2
MAX_SEARCH_LENGTH = 100
MAX_PAGE_SIZE = 50
DEFAULT_PAGE_SIZE = 20
MAX_CODE_LENGTH = tenants.CODE_MAX_LENGTH


class InvalidArgument(ValueError):
    """A caller's argument is malformed. ``argument`` names it; the message says what is expected."""

    def __init__(self, argument: str, message: str) -> None:
        super().__init__(message)
        self.argument = argument


@dataclass(frozen=True)
class SearchPage:
    tenants: list[tenants.Tenant]
    offset: int
    has_next_page: bool


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


def _scoped(viewer: Viewer) -> Q:
    if viewer.commune_ids is None:
        return Q()
    return Q(
        id__in=Subquery(
            tenants.Lease.filter(dwelling__commune_id__in=sorted(viewer.commune_ids)).values(
                "tenant_id"
            )
        )
    )


def _word_prefix(word: str) -> Q:
    bound = names.prefix_upper_bound(word)
    words = tenants.TenantNameWord.filter(word__gte=word)
    if bound is not None:
        words = words.filter(word__lt=bound)
    return Q(id__in=Subquery(words.values("tenant_id")))


def _code_prefix(code: str) -> Q:
    bound = names.prefix_upper_bound(code, names.UPPER_ALPHABET)
    return Q(code__gte=code, code__lt=bound) if bound is not None else Q(code__gte=code)


async def search_tenants(viewer: Viewer, text: str, first: int | None, offset: int) -> SearchPage:
    """Tenants whose name words start with the words of ``text``, or whose code starts with it.

    Ranked: exact code, then code prefix, then surname prefix (the whole text starts the
    'surname first name' key), then any other match; ties by name then code. Case and accents are
    ignored; characters no name holds (``%``, ``_``, ``;`` …) make the text match nothing.
    """
    text = check_search_text(text)
    limit = check_page_size(first)
    if offset < 0:
        raise InvalidArgument("after", "'after' is not a cursor this search returned.")
    if not names.could_be_a_name(text):
        return SearchPage([], offset, False)

    query_words = names.words(text)
    if not query_words or any(len(w) > tenants.NAME_MAX_LENGTH for w in query_words):
        # No stored name word is that long: nothing can match.
        return SearchPage([], offset, False)
    matches = Q(*[_word_prefix(w) for w in query_words], join_type=Q.AND)
    ranks = [When(search_key__startswith=" ".join(query_words), then="2")]
    code = "".join(query_words).upper()
    if len(query_words) == 1 and len(code) <= MAX_CODE_LENGTH:
        matches |= _code_prefix(code)
        ranks = [When(code=code, then="0"), When(code__startswith=code, then="1"), *ranks]

    rows = (
        await tenants.Tenant.filter(matches, _scoped(viewer))
        .annotate(rank=Case(*ranks, default="3"))
        .order_by("rank", "search_key", "code")
        .offset(offset)
        .limit(limit + 1)
    )
    return SearchPage(rows[:limit], offset, len(rows) > limit)


async def tenant_by_code(viewer: Viewer, code: str) -> tenants.Tenant | None:
    """The tenant with this code, or ``None`` when unknown or outside the viewer's scope."""
    code = code.strip().upper()
    if not code or len(code) > MAX_CODE_LENGTH:
        return None
    return await tenants.Tenant.filter(_scoped(viewer), code=code).first()


async def current_leases(tenant_ids: Sequence[int]) -> dict[int, tenants.Lease]:
    """Each tenant's current lease: the one that started last (a running lease before an ended one)."""
    current: dict[int, tenants.Lease] = {}
    for lease in await tenants.Lease.filter(tenant_id__in=list(tenant_ids)).order_by(
        "start_date", "id"
    ):
        held = current.get(lease.tenant_id)
        if held is None or held.end_date is not None or lease.end_date is None:
            current[lease.tenant_id] = lease
    return current


@dataclass(frozen=True)
class PaymentCursor:
    paid_on: date
    id: int


@dataclass(frozen=True)
class PaymentPage:
    payments: list[ledger.Payment]
    has_next_page: bool


async def payments_page(
    tenant_id: int, first: int | None, after: PaymentCursor | None
) -> PaymentPage:
    """A tenant's payments on all their leases, newest first, paged by keyset."""
    limit = check_page_size(first)
    query = ledger.Payment.filter(lease__tenant_id=tenant_id)
    if after is not None:
        query = query.filter(
            Q(paid_on__lt=after.paid_on) | Q(paid_on=after.paid_on, id__lt=after.id)
        )
    rows = await query.order_by("-paid_on", "-id").limit(limit + 1)
    return PaymentPage(rows[:limit], len(rows) > limit)
