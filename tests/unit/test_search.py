"""Search: each matching rule, the ranking order, live updates, and hostile queries."""

from __future__ import annotations

import itertools
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.services import Shop
from shop.models import Channel
from shop.search import SearchService
from shop.search_index import Match, SearchDoc, SearchIndex
from tests.conftest import row

CATALOG = [
    SearchDoc(1, "APL-IP15-128-BLK", "Apple iPhone 15 128GB Black",
              {"ru": "Смартфон Apple iPhone 15 128 ГБ, чёрный"}, ("Smartphones", "Смартфоны"), sold=40),
    SearchDoc(2, "SMS-GS24-256-VIO", "Samsung Galaxy S24 256GB Violet",
              {"ru": "Смартфон Samsung Galaxy S24 256 ГБ, фиолетовый"}, ("Smartphones", "Смартфоны"), sold=25),
    SearchDoc(3, "LAV-ORO-1KG", "Lavazza Qualità Oro coffee beans 1 kg",
              {"ru": "Кофе в зёрнах Lavazza Qualità Oro, 1 кг"}, ("Coffee & tea", "Кофе и чай"), sold=90),
    SearchDoc(4, "SNY-WH1000XM5", "Sony WH-1000XM5 wireless headphones, black",
              {"ru": "Наушники Sony WH-1000XM5 беспроводные, чёрные"}, ("Audio", "Аудиотехника"), sold=12),
    SearchDoc(5, "PHL-HD9350", "Philips HD9350 electric kettle 1.7 L",
              {"ru": "Электрический чайник Philips HD9350, 1,7 л"}, ("Home appliances", "Бытовая техника")),
    SearchDoc(6, "APL-IP15-256-BLK", "Apple iPhone 15 256GB Black",
              {"ru": "Смартфон Apple iPhone 15 256 ГБ, чёрный"}, ("Smartphones", "Смартфоны"),
              in_stock=False, sold=300),
    SearchDoc(7, "APL-IP15-128-PNK", "Apple iPhone 15 128GB Pink", {}, ("Smartphones",), sold=5),
    SearchDoc(8, "ILY-CLS-250G", "Illy Classico ground coffee 250 g", {}, ("Coffee & tea",), sold=7),
]  # fmt: skip


@pytest.fixture(scope="module")
def index() -> SearchIndex:
    return SearchIndex.build(CATALOG)


def skus(index: SearchIndex, query: str, limit: int = 10) -> list[str]:
    return [hit.product.sku for hit in index.suggest(query, limit).hits]


def first(index: SearchIndex, query: str) -> str:
    hits = skus(index, query, 1)
    assert hits, f"nothing found for {query!r}"
    return hits[0]


def test_case_diacritics_yo_and_punctuation_are_folded(index: SearchIndex) -> None:
    assert first(index, "LAVAZZA QUALITA") == "LAV-ORO-1KG"
    assert first(index, "qualità") == "LAV-ORO-1KG"
    assert first(index, "кофе в зернах") == "LAV-ORO-1KG"  # the title says «зёрнах»
    assert first(index, "wh-1000xm5!!") == "SNY-WH1000XM5"
    assert first(index, "sony, (wh 1000xm5)") == "SNY-WH1000XM5"


def test_the_last_word_completes_and_half_words_match(index: SearchIndex) -> None:
    assert first(index, "lava") == "LAV-ORO-1KG"
    assert first(index, "sams gal") == "SMS-GS24-256-VIO"
    assert first(index, "наушн") == "SNY-WH1000XM5"
    hit = index.suggest("lava").hits[0]
    assert hit.matches[0].how == Match.PREFIX


def test_one_typo_from_four_letters_two_from_eight(index: SearchIndex) -> None:
    assert first(index, "iphnoe") == "APL-IP15-128-BLK"  # transposed letters
    assert first(index, "samsnug galaxy") == "SMS-GS24-256-VIO"
    assert first(index, "lavazzza") == "LAV-ORO-1KG"  # an extra letter
    assert first(index, "hedphones") == "SNY-WH1000XM5"  # 10 letters, one missing
    assert first(index, "headpohnse") == "SNY-WH1000XM5"  # 10 letters, two transpositions
    # Three letters get no typo, four letters only one.
    assert skus(index, "oeo") == []
    assert "LAV-ORO-1KG" not in skus(index, "lvzz")


def test_a_mistyped_prefix_still_completes(index: SearchIndex) -> None:
    hit = index.suggest("lvaaz").hits[0]
    assert hit.product.sku == "LAV-ORO-1KG"
    assert hit.matches[0].how in (Match.TYPO_PREFIX, Match.TYPO)
    assert first(index, "headpho") == "SNY-WH1000XM5"
    assert first(index, "haedpho") == "SNY-WH1000XM5"


def test_words_in_any_order(index: SearchIndex) -> None:
    assert first(index, "galaxy samsung") == first(index, "samsung galaxy") == "SMS-GS24-256-VIO"
    assert first(index, "black sony headphones") == "SNY-WH1000XM5"


def test_wrong_keyboard_layout_both_ways(index: SearchIndex) -> None:
    assert first(index, "шзрщту") == "APL-IP15-128-BLK"  # "iphone" typed on ЙЦУКЕН
    assert first(index, "rjat") == "LAV-ORO-1KG"  # "кофе" typed on QWERTY
    hit = index.suggest("rjat").hits[0]
    assert hit.matches[0].variant == "layout"


def test_transliteration_both_ways(index: SearchIndex) -> None:
    assert first(index, "kofe") == "LAV-ORO-1KG"
    assert first(index, "naushniki") == "SNY-WH1000XM5"
    assert first(index, "chainik") == "PHL-HD9350"  # чайник, one letter off
    assert first(index, "смартфон самсунг") == "SMS-GS24-256-VIO"  # Cyrillic brand
    assert index.suggest("kofe").hits[0].matches[0].variant == "translit"


def test_numbers_and_units_match_however_written(index: SearchIndex) -> None:
    assert first(index, "iphone 256gb") == "APL-IP15-256-BLK"
    assert first(index, "iphone 256 гб") == "APL-IP15-256-BLK"
    assert first(index, "lavazza 1кг") == "LAV-ORO-1KG"
    assert first(index, "кофе 1 kg") == "LAV-ORO-1KG"
    assert first(index, "чайник 1,7") == "PHL-HD9350"


def test_every_word_may_be_cut_short() -> None:
    index = SearchIndex.build(
        [
            SearchDoc(1, "KT-1800", "Bosch TWK 1800 W electric kettle", sold=5),
            SearchDoc(2, "MX-600", "Bosch MUM 600 W kitchen mixer", sold=500),
            SearchDoc(3, "KT-TEF", "Tefal Express kettle 1800 W", sold=900),
            SearchDoc(4, "IP15P", "Apple iPhone 15 Pro 256GB", sold=1),
            SearchDoc(5, "IP15", "Apple iPhone 15 128GB", sold=900),
            SearchDoc(6, "IP14P", "Apple iPhone 14 Pro 128GB", sold=900),
            SearchDoc(7, "XM5", "Sony WH-1000XM5 headphones", sold=1),
            SearchDoc(8, "XM4", "Sony WH-100XM4 headphones", sold=900),
        ]
    )
    assert first(index, "180 bos") == "KT-1800"
    assert first(index, "bos 180") == "KT-1800"
    assert first(index, "iph 15 pr") == "IP15P"
    assert first(index, "app iph 15 pr 25") == "IP15P"
    assert first(index, "1000xm headph") == "XM5"
    hit = index.suggest("iph 15 pr").hits[0]
    assert [m.how for m in hit.matches] == [Match.PREFIX, Match.EXACT, Match.PREFIX]


def test_a_unit_typed_with_its_letters_swapped_is_the_unit() -> None:
    index = SearchIndex.build(
        [
            SearchDoc(1, "IP-128", "Apple iPhone 15 128GB", sold=1),
            SearchDoc(2, "IP-256", "Apple iPhone 15 256GB", sold=900),
            SearchDoc(3, "PB-10", "Xiaomi power bank 10000 mAh", sold=1),
            SearchDoc(4, "PB-20", "Xiaomi power bank 20000 mAh", sold=900),
            SearchDoc(5, "FL-128", "Флешка Kingston 128 ГБ", sold=1),
            SearchDoc(6, "XM5", "Sony WH-1000XM5 headphones", sold=1),
            SearchDoc(7, "MM", "Sony 1000 mm tripod", sold=900),
        ]
    )
    assert first(index, "iphone 128bg") == "IP-128"
    assert first(index, "128bg iphone") == "IP-128"
    assert first(index, "power bank 10000mha") == "PB-10"
    assert first(index, "power bank 10000mahh") == "PB-10"
    assert first(index, "флешка 128бг") == "FL-128"
    # Letters that only resemble a unit are the start of a model name, not millimetres.
    assert first(index, "1000xm") == "XM5"
    assert first(index, "sony 1000xm") == "XM5"


def test_a_short_prefix_among_many_products_scores_as_a_long_list_would() -> None:
    # "ke" stands for words in hundreds of products, beside one rare word: each
    # product found by the rare word looks its own words up (titles and category
    # names, as built and added later) and scores as it would through the lists.
    filler = [
        SearchDoc(n, f"K-{n}", f"Vitek kettle {n} white", {}, ("Kitchen",), sold=n)
        for n in range(1, 400)
    ]
    rare = [
        SearchDoc(1001, "ZX-K", "Zoltrix kettle 1.7 L", sold=1),
        SearchDoc(1002, "ZX-B", "Zoltrix blender", {}, ("Kitchen",), sold=900),
        SearchDoc(1003, "ZX-T", "Zoltrix toaster", sold=5),
    ]
    index = SearchIndex.build([*filler, *rare])
    hit = index.suggest("zoltrix ke").hits[0]
    assert hit.product.sku == "ZX-K"
    assert [m.how for m in hit.matches] == [Match.EXACT, Match.PREFIX]
    assert len(index.suggest("zoltrix ke").hits[1].matches) == 1  # the rest: Zoltrix alone
    assert index.suggest("zoltrix ke", 1).hits[0].product.sku == "ZX-K"
    assert [h.product.sku for h in index.find("zoltrix ke").hits] == ["ZX-K"]
    assert [h.product.sku for h in index.find("zoltrix kitc").hits] == ["ZX-B"]
    # Only its category name holds "kitchen": the blender alone matches both words.
    hits = index.suggest("zoltrix kitc").hits
    assert hits[0].product.sku == "ZX-B"
    assert [m.matched for m in hits[0].matches] == ["zoltrix", "kitchen"]
    assert len(hits[1].matches) == 1
    index.upsert([SearchDoc(1004, "ZX-K2", "Zoltrix kettle 2 L", sold=2)])
    hits = index.suggest("zoltrix ke").hits
    assert [h.product.sku for h in hits[:2]] == ["ZX-K2", "ZX-K"]
    assert [len(h.matches) for h in hits[:3]] == [2, 2, 1]


def test_a_short_list_is_not_padded_with_products_a_common_prefix_alone_finds() -> None:
    # Two products hold both words; tens of thousands hold words beginning "tr".
    common = [SearchDoc(n, f"T-{n}", f"Trimmer {n}", sold=n) for n in range(1, 20_050)]
    rare = [
        SearchDoc(30_001, "DK-TR", "Deakma travel kettle", sold=1),
        SearchDoc(30_002, "DK-TO", "Deakma toaster", sold=5),
        SearchDoc(30_003, "DK-TR2", "Deakma trimmer", sold=2),
    ]
    index = SearchIndex.build([*common, *rare])
    assert skus(index, "deakma tr") == ["DK-TR2", "DK-TR", "DK-TO"]
    # With none holding both, the common word's most popular products still fill in.
    found = skus(index, "toaster tri")
    assert found[:2] == ["DK-TO", "T-20049"]
    assert len(found) == 10


def test_a_short_prefix_completes_a_rare_word_beyond_its_most_frequent_words() -> None:
    # "tr" begins 300 words more common than "trecutril", and a word added later:
    # the Deakam products' own words complete it all the same, as typed or retyped.
    common = [
        SearchDoc(n, f"T-{n}", f"Tr{chr(97 + n // 2 % 26)}{chr(97 + n // 52)}x trimmer", sold=n)
        for n in range(600)
    ]
    rare = [
        SearchDoc(1001, "DK-TC", "Deakam Trecutril tablet", sold=1),
        SearchDoc(1002, "DK-K", "Deakam kettle", sold=900),
        SearchDoc(1003, "DK-T", "Deakam toaster", sold=50),
    ]
    index = SearchIndex.build([*common, *rare])
    assert first(index, "deakam tr") == "DK-TC"
    assert first(index, "deakma tr") == "DK-TC"  # the rare word mistyped
    assert first(index, "deakam ек") == "DK-TC"  # "tr" typed on the Russian layout
    hit = index.suggest("deakam tr").hits[0]
    assert [(m.matched, m.how) for m in hit.matches] == [
        ("deakam", Match.EXACT),
        ("trecutril", Match.PREFIX),
    ]
    index.upsert([SearchDoc(1004, "DK-TV", "Deakam Trevolix", sold=2)])
    assert skus(index, "deakam tr")[:2] == ["DK-TV", "DK-TC"]


def test_sku_finds_the_product(index: SearchIndex) -> None:
    assert first(index, "SNY-WH1000XM5") == "SNY-WH1000XM5"
    assert first(index, "apl-ip15-128-pnk") == "APL-IP15-128-PNK"


def test_ranking_quality_first_then_stock_then_popularity(index: SearchIndex) -> None:
    # All three iPhone 15s match "iphone 15" exactly: in stock first, then by units sold;
    # the out-of-stock one is still found, last, and marked.
    hits = index.suggest("iphone 15").hits
    assert [h.product.sku for h in hits] == [
        "APL-IP15-128-BLK",
        "APL-IP15-128-PNK",
        "APL-IP15-256-BLK",
    ]
    assert [h.in_stock for h in hits] == [True, True, False]
    # An exact word beats a prefix, and more words matched beats fewer.
    assert skus(index, "coffee illy")[0] == "ILY-CLS-250G"
    exact, prefix = index.suggest("pink").hits[0], index.suggest("pin").hits[0]
    assert exact.score > prefix.score
    assert skus(index, "apple pink")[0] == "APL-IP15-128-PNK"
    # A typo ranks below an exact match of the same word.
    assert index.suggest("black").hits[0].score > index.suggest("blakc").hits[0].score


def test_a_title_word_beats_the_same_word_in_a_category_name() -> None:
    index = SearchIndex.build(
        [
            SearchDoc(1, "MAT-1", "Yoga mat Mikasa V200W", {}, ("Sport & fitness", "Спорт и фитнес"),
                      sold=500),
            SearchDoc(2, "BND-8", "Фитнес-браслет Xiaomi Smart Band 8", {}, ("Wearables",), sold=5),
        ]
    )  # fmt: skip
    assert skus(index, "фитнес") == ["BND-8", "MAT-1"]  # the category still finds the mat
    assert skus(index, "фирнес") == ["BND-8", "MAT-1"]


def test_equally_good_matches_show_each_reading_of_a_short_word() -> None:
    # "hp pr" may be a ProBook or a LaserJet Pro: the top shows one of each before
    # more of the most popular reading.
    index = SearchIndex.build(
        [
            SearchDoc(1, "PB-450", "HP ProBook 450 G9 laptop", sold=900),
            SearchDoc(2, "PB-460", "HP ProBook 460 G10 laptop", sold=800),
            SearchDoc(3, "PB-440", "HP ProBook 440 G8 laptop", sold=700),
            SearchDoc(4, "LJ-404", "HP LaserJet Pro M404dn", sold=10),
            SearchDoc(5, "PB-OUT", "HP ProBook 470 laptop", in_stock=False, sold=5000),
        ]
    )
    found = skus(index, "hp pr")
    assert found[:3] == ["PB-450", "LJ-404", "PB-460"]
    assert found[-1] == "PB-OUT"  # availability still comes before variety
    assert skus(index, "hp probook")[:4] == ["PB-450", "PB-460", "PB-440", "PB-OUT"]


def test_a_whole_word_does_not_hide_the_longer_words_it_begins() -> None:
    # "huawei mate" is a Mate phone, but may be the start of MatePad: the best of each
    # shows before more phones, the whole word first; then the popular reading.
    index = SearchIndex.build(
        [
            SearchDoc(1, "M50", "Huawei Mate 50 phone", sold=900),
            SearchDoc(2, "M60", "Huawei Mate 60 phone", sold=800),
            SearchDoc(3, "M40", "Huawei Mate 40 phone", sold=700),
            SearchDoc(4, "PAD", "Huawei MatePad 10 tablet", sold=10),
            SearchDoc(5, "OUT", "Huawei MatePad 11 tablet", in_stock=False, sold=5000),
        ]
    )
    assert skus(index, "huawei mate") == ["M50", "PAD", "M60", "M40", "OUT"]
    assert skus(index, "huawei mate 60")[0] == "M60"  # more words matched still come first
    exact, prefix = index.suggest("huawei mate").hits[:2]
    assert exact.score > prefix.score


def test_a_rare_word_spelled_by_chance_does_not_hide_a_typo() -> None:
    index = SearchIndex.build(
        [
            SearchDoc(1, "BUL-5", "Uvelka Kernel bulgur 5 pcs", sold=10),
            SearchDoc(2, "MIL-1", "Uvelka Kernel millet", sold=900),
            SearchDoc(3, "BULU-W", "Lyazakrin Bulu sports watch", sold=900),
            SearchDoc(4, "COF-950", "Кофе в зёрнах Braston 950 1 кг", sold=10),
            SearchDoc(5, "KOF-300", "Kofea blender 300 W", sold=900),
            SearchDoc(6, "NDL-950", "Лапша Шима 950 г", sold=900),
        ]
    )
    assert first(index, "kernel bulu") == "BUL-5"  # a last word "bulg…" mistyped
    assert first(index, "lyazakrin bulu") == "BULU-W"  # an exact match still wins
    assert first(index, "кофеа 950") == "COF-950"  # "кофе", not the brand Kofea


def test_typos_are_found_among_many_look_alike_words() -> None:
    # Hundreds of six-letter brands beginning alike fill the pools typo search
    # narrows by letters before measuring edits: every kind of typo still finds
    # its word, and so does a brand added after the build.
    letters = "aeiklmnorstu"
    brands = [
        f"k{a}{b}{c}{d}{e}"
        for a, b, c, d, e in itertools.islice(
            itertools.product("aeiou", letters, letters, "aeiou", letters), 0, 3000, 7
        )
    ]
    docs = [SearchDoc(n, f"SKU-{n}", f"{brand.title()} blender") for n, brand in enumerate(brands)]
    index = SearchIndex.build(docs)
    index.upsert([SearchDoc(9999, "SKU-NEW", "Kyrvex blender")])
    target = next(brand for brand in brands[200:] if len(set(brand)) == 6)  # "kaeuit"
    typos = [
        target[:2] + target[3:],  # a letter lost
        target[:3] + "z" + target[3:],  # a letter added
        target[:4] + "x" + target[5:],  # a letter changed: two of its letters differ
        target[:2] + target[3] + target[2] + target[4:],  # two letters swapped
    ]
    for typo in typos:
        assert target in [m.matched for h in index.suggest(typo).hits for m in h.matches], typo
    assert first(index, "kyrvexx") == "SKU-NEW"
    assert first(index, "kyvre") == "SKU-NEW"  # a mistyped prefix of the new brand


def test_a_known_word_that_finds_nothing_with_the_rest_may_be_a_typo() -> None:
    canin = [
        SearchDoc(n, f"RC-{n}", f"Royal Canin Sterilised {n} kg cat food", sold=900)
        for n in range(1, 11)
    ]
    camera = SearchDoc(20, "CNN-G5X", "Canon PowerShot G5 X mirrorless camera", sold=3)
    index = SearchIndex.build([*canin, camera])
    assert first(index, "canin mirrorless") == "CNN-G5X"
    assert first(index, "canin sterilised") == "RC-1"


def test_a_latin_ye_ending_reads_as_the_plural_ending() -> None:
    index = SearchIndex.build(
        [
            SearchDoc(1, "W4", "Часы Samsung Galaxy Watch4, белые", sold=1),
            SearchDoc(2, "W6", "Часы Samsung Galaxy Watch6, белое золото", sold=500),
        ]
    )
    assert first(index, "chasy galaxy belye") == "W4"


def test_a_latin_i_after_a_vowel_may_be_short_i() -> None:
    index = SearchIndex.build(
        [
            SearchDoc(1, "TEA", "Чай Ahmad Tea Green Jasmine 25 шт", sold=1),
            SearchDoc(2, "BLD", "Redmond hand blender, green", sold=900),
        ]
    )
    assert first(index, "chai green") == "TEA"


def test_a_latin_spelling_without_the_soft_sign_is_the_word_itself() -> None:
    index = SearchIndex.build(
        [
            SearchDoc(1, "OVEN", "Микроволновая печь Samsung 20 л", sold=1),
            SearchDoc(2, "COOKIE", "Печенье Юбилейное 112 г", sold=900),
        ]
    )
    assert first(index, "pech") == "OVEN"  # печь whole, not the start of печенье
    assert index.suggest("pech").hits[0].matches[0].how == Match.EXACT


def test_did_you_mean_offers_the_catalogs_own_words(index: SearchIndex) -> None:
    result = index.suggest("lavazzzaa qualitaa")
    assert result.hits == [] or result.did_you_mean or result.hits[0].product.sku == "LAV-ORO-1KG"
    nothing = index.suggest("sonny xyzzy")
    assert any("sony" in phrase for phrase in nothing.did_you_mean)
    assert index.suggest("lavazza").did_you_mean == []


@pytest.mark.parametrize(
    "query",
    ["", "   ", "\t\n", "😀😀😀", "\x00\x01\x1b[31m", "x" * 1000, "а" * 1000, "?!.,;", "🇷🇺 ☕"],
)
def test_hostile_queries_answer_quickly_and_never_raise(index: SearchIndex, query: str) -> None:
    started = time.perf_counter()
    result = index.suggest(query)
    assert isinstance(result.hits, list)
    assert time.perf_counter() - started < 1  # "quickly": a generous bound, not a benchmark


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300), st.integers(min_value=-5, max_value=500))
def test_any_string_returns_a_list(query: str, limit: int) -> None:
    result = SearchIndex.build(CATALOG[:3]).suggest(query, limit)
    assert isinstance(result.hits, list)
    assert len(result.hits) <= max(1, min(limit, 100))


def test_live_updates_without_a_rebuild() -> None:
    index = SearchIndex.build(CATALOG)
    index.upsert(
        [
            SearchDoc(
                9,
                "XMI-RN13",
                "Xiaomi Redmi Note 13 8/256GB",
                {"ru": "Смартфон Xiaomi Redmi Note 13"},
            )
        ]
    )
    assert first(index, "redmi note") == "XMI-RN13"
    assert first(index, "rdemi") == "XMI-RN13"  # a word new to the index is typo-searchable
    index.upsert([SearchDoc(3, "LAV-ORO-1KG", "Lavazza Crema e Gusto 1 kg", {}, ("Coffee & tea",))])
    assert "LAV-ORO-1KG" not in skus(index, "qualita")
    assert first(index, "crema gusto") == "LAV-ORO-1KG"
    index.upsert(
        [
            SearchDoc(
                4,
                "SNY-WH1000XM5",
                CATALOG[3].title,
                CATALOG[3].titles,
                CATALOG[3].categories,
                in_stock=False,
            )
        ]
    )
    assert index.suggest("sony").hits[0].in_stock is False
    index.remove([1])
    assert "APL-IP15-128-BLK" not in skus(index, "iphone")
    compacted = index.compact()
    assert skus(compacted, "iphone") == skus(index, "iphone")
    assert compacted.overlay_share == 0


async def test_service_follows_the_catalog(shop: Shop) -> None:
    clock = [0.0]
    search = SearchService(shop.db, refresh_every=1.0, monotonic=lambda: clock[0])
    await shop.catalog.import_rows(
        [row("TEA-1", title="Earl Grey tea 100 g", titles={"ru": "Чай Эрл Грей"})]
    )
    await search.start()
    assert [h.product.sku for h in (await search.suggest("earl")).hits] == ["TEA-1"]

    await shop.catalog.import_rows([row("TEA-2", title="Darjeeling tea 100 g")])
    await shop.catalog.set_active("TEA-1", False)
    assert [h.product.sku for h in (await search.suggest("tea")).hits] == ["TEA-1"]  # not due yet
    clock[0] += 1.5
    assert [h.product.sku for h in (await search.suggest("tea")).hits] == ["TEA-2"]

    # A new price shows in the results (their list is drawn from the index).
    await shop.catalog.set_price("TEA-2", 1_250)
    clock[0] += 1.5
    assert (await search.suggest("darjeeling")).hits[0].product.price == 1_250

    # Selling the last unit marks the product out of stock in search.
    buyer = await shop.customers.touch(Channel.CONSOLE, "b")
    product = await shop.catalog.product_by_sku("TEA-2")
    assert buyer.id is not None
    assert product is not None
    await shop.carts.add(buyer.id, product.id, product.stock)
    await shop.orders.checkout(buyer.id, channel="console")
    clock[0] += 1.5
    assert (await search.suggest("darjeeling")).hits[0].in_stock is False
