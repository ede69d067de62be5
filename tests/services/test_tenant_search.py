import pytest

from regie.db.people import Role
from regie.services.access import ROLE_SCOPES, Viewer
from regie.services.tenants import InvalidArgument, search_tenants, tenant_by_code
from tests import factories

OFFICE = Viewer.office_wide()


async def found(text: str, viewer: Viewer = OFFICE, first: int = 50) -> list[str]:
    page = await search_tenants(viewer, text, first, 0)
    return [f"{t.first_name} {t.surname}" for t in page.tenants]


@pytest.fixture
async def office(db: object) -> None:
    await factories.tenant_with_lease("Blanc", "Émile", code="1000001")
    await factories.tenant_with_lease("Le Gall", "Anne-Marie", code="1000002")
    await factories.tenant_with_lease("N'Diaye", "Awa", code="1000003")
    await factories.tenant_with_lease("Saint-Jean", "Louis", code="1000004", commune_name="Moissac")
    await factories.tenant_with_lease(
        "Müller-Lefèvre", "Zoé", code="1000005", commune_name="Moissac"
    )
    await factories.tenant_with_lease("Emilien", "Paul", code="1000010")
    await factories.tenant_with_lease("Gallet", "Marc", code="2000001")


@pytest.mark.parametrize("text", ["EMILE", "emile", "Émile", "émile", " Emile "])
async def test_names_are_found_whatever_the_case_and_accents(office: None, text: str) -> None:
    assert await found(text) == ["Émile Blanc"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("gall", ["Anne-Marie Le Gall", "Marc Gallet"]),
        ("le gall", ["Anne-Marie Le Gall"]),
        ("legall", ["Anne-Marie Le Gall"]),
        ("diaye", ["Awa N'Diaye"]),
        ("n'diaye", ["Awa N'Diaye"]),
        ("ndiaye", ["Awa N'Diaye"]),
        ("jean", ["Louis Saint-Jean"]),
        ("saint-jean", ["Louis Saint-Jean"]),
        ("lefevre", ["Zoé Müller-Lefèvre"]),
        ("muller", ["Zoé Müller-Lefèvre"]),
        ("marie", ["Anne-Marie Le Gall"]),
        ("zoe mul", ["Zoé Müller-Lefèvre"]),
    ],
)
async def test_any_part_of_a_compound_name_finds_it(
    office: None, text: str, expected: list[str]
) -> None:
    assert sorted(await found(text)) == sorted(expected)


async def test_exact_code_comes_first_then_code_prefix(office: None) -> None:
    await factories.tenant_with_lease("Abel", "Aaron", code="10000015")
    assert await found("1000001") == ["Émile Blanc", "Aaron Abel"]
    assert len(await found("100000")) == 6


async def test_surname_prefix_ranks_before_first_name_matches(office: None) -> None:
    await factories.tenant_with_lease("Martin", "Emilie", code="3000001")
    assert await found("emil") == ["Paul Emilien", "Émile Blanc", "Emilie Martin"]


@pytest.mark.parametrize(
    "text", ["%%", "__", "e%", "b_anc", "'; DROP TABLE tenant; --", '" OR 1=1']
)
async def test_wildcards_quotes_and_sql_match_literally(office: None, text: str) -> None:
    assert await found(text) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "at least 2"), ("a", "at least 2"), ("   b  ", "at least 2"), ("x" * 101, "at most 100")],
)
async def test_too_short_or_too_long_text_is_refused(office: None, text: str, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message) as error:
        await search_tenants(OFFICE, text, 20, 0)
    assert error.value.argument == "text"


@pytest.mark.parametrize("first", [0, -1, 51])
async def test_page_size_is_capped_at_50(office: None, first: int) -> None:
    with pytest.raises(InvalidArgument, match="between 1 and 50") as error:
        await search_tenants(OFFICE, "gall", first, 0)
    assert error.value.argument == "first"


async def test_pages_follow_each_other_without_overlap(office: None) -> None:
    everything = await search_tenants(OFFICE, "100000", 50, 0)
    first_page = await search_tenants(OFFICE, "100000", 4, 0)
    second_page = await search_tenants(OFFICE, "100000", 4, 4)
    assert first_page.has_next_page and not second_page.has_next_page
    assert first_page.tenants + second_page.tenants == everything.tenants
    assert len(everything.tenants) == 5


async def _moissac_collector(user_id: int) -> Viewer:
    """A collector whose one sector is Moissac."""
    moissac = (await factories.commune("Moissac")).id
    return Viewer(
        user_id=user_id,
        role=Role.COLLECTOR,
        commune_ids=frozenset({moissac}),
        scopes=ROLE_SCOPES[Role.COLLECTOR],
    )


async def test_a_collector_finds_only_tenants_of_their_sector(office: None) -> None:
    collector = await factories.collector_with_sector("jldelmas", "Moissac")
    viewer = await _moissac_collector(collector.id)
    assert sorted(await found("jean", viewer)) == ["Louis Saint-Jean"]
    assert await found("emile", viewer) == []
    assert await tenant_by_code(viewer, "1000001") is None
    assert await tenant_by_code(viewer, "1000004") is not None


async def test_a_collector_searching_by_code_finds_only_tenants_of_their_sector(
    office: None,
) -> None:
    viewer = await _moissac_collector(1)
    assert await found("100000", viewer) == ["Louis Saint-Jean", "Zoé Müller-Lefèvre"]
    assert await found("1000001", viewer) == []
    assert await found("1000004", viewer) == ["Louis Saint-Jean"]


async def test_an_alphanumeric_code_ranks_before_the_surname_prefix(office: None) -> None:
    await factories.tenant_with_lease("Zidane", "Anne", code="GALL")
    assert await found("gall") == ["Anne Zidane", "Marc Gallet", "Anne-Marie Le Gall"]
    assert [t.code for t in (await search_tenants(OFFICE, "gall", 1, 1)).tenants] == ["2000001"]


async def test_a_name_longer_than_any_code_is_still_searched(office: None) -> None:
    await factories.tenant_with_lease("Lefèvre-Pontalis", "Hélène")
    assert await found("Lefèvre-Pontalis") == ["Hélène Lefèvre-Pontalis"]
    assert await found("lefevrepontalis") == ["Hélène Lefèvre-Pontalis"]


async def test_unknown_code_is_none(office: None) -> None:
    assert await tenant_by_code(OFFICE, "9999999") is None
    assert await tenant_by_code(OFFICE, "") is None


async def test_homonyms_are_all_returned(office: None) -> None:
    await factories.tenant_with_lease("Blanc", "Émile", code="1000099", commune_name="Caussade")
    assert await found("blanc emile") == ["Émile Blanc", "Émile Blanc"]


async def test_the_longest_allowed_text_is_searched_without_error(office: None) -> None:
    assert await found("x" * 100) == []
    assert await found("émile " + "y" * 93) == []


@pytest.mark.parametrize("text", ["gall", "ma", "marie", "jean", "zoe mul", "le g", "emil", "awa"])
async def test_both_plans_for_common_words_give_the_same_page(
    office: None, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    from regie.services import tenants

    await factories.tenant_with_lease("Martin", "Marie", code="3000001")
    await factories.tenant_with_lease(
        "Durand", "Marie-Jeanne", code="3000002", commune_name="Moissac"
    )
    collected = [await found(text, first=first) for first in (1, 2, 50)]
    monkeypatch.setattr(
        tenants, "COLLECT_COST_PER_MATCH", 1e9
    )  # force the walk along the key index
    walked = [await found(text, first=first) for first in (1, 2, 50)]
    assert walked == collected


async def test_both_plans_respect_a_collectors_sector(
    office: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from regie.services import tenants

    viewer = await _moissac_collector(1)
    collected = await found("jean", viewer)
    monkeypatch.setattr(tenants, "COLLECT_COST_PER_MATCH", 1e9)
    assert await found("jean", viewer) == collected == ["Louis Saint-Jean"]


async def test_later_pages_continue_across_ranks(office: None) -> None:
    await factories.tenant_with_lease("Galland", "Zoé", code="3000003")
    everything = (await search_tenants(OFFICE, "gal", 50, 0)).tenants
    pages = [(await search_tenants(OFFICE, "gal", 1, n)).tenants for n in range(len(everything))]
    assert [p[0] for p in pages] == everything


async def test_the_collect_plan_alone_gives_the_same_pages(
    office: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from regie.services import tenants

    await factories.tenant_with_lease("Martin", "Marie", code="3000001")
    walked = [await found(t) for t in ("ma", "marie", "gall")]
    monkeypatch.setattr(tenants, "WALK_COST_PER_TENANT", 1e9)
    assert [await found(t) for t in ("ma", "marie", "gall")] == walked
