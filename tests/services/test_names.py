from regie.services import names


def test_fold_removes_case_and_accents_but_keeps_punctuation() -> None:
    assert names.fold("Müller-Lefèvre") == "muller-lefevre"
    assert names.fold("ÉMILE") == "emile"


def test_fold_spells_out_ligatures() -> None:
    assert names.fold("Chênebœuf") == "cheneboeuf"


def test_name_words_include_parts_and_joined_compound_names() -> None:
    assert names.name_words("Le Gall", "Anne-Marie") == {
        "le",
        "gall",
        "legall",
        "anne",
        "marie",
        "annemarie",
    }
    assert names.name_words("N'Diaye", "Awa") == {"n", "diaye", "ndiaye", "awa"}


def test_search_key_is_surname_then_first_name() -> None:
    assert names.search_key("Saint-Jean", "Émile") == "saint jean emile"


def test_could_be_a_name_refuses_wildcards_and_sql() -> None:
    assert names.could_be_a_name("O'Brien")
    assert names.could_be_a_name("Le Gall")
    assert not names.could_be_a_name("50%")
    assert not names.could_be_a_name("a_b")
    assert not names.could_be_a_name("x'; DROP TABLE tenant; --")


def test_prefix_upper_bound_carries_past_the_last_letter() -> None:
    assert names.prefix_upper_bound("emi") == "emj"
    assert names.prefix_upper_bound("emz") == "en"
    assert names.prefix_upper_bound("a9") == "aa"
    assert names.prefix_upper_bound("zz") is None
    assert names.prefix_upper_bound("1009", names.UPPER_ALPHABET) == "100A"
