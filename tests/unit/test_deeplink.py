"""The deep-link codec: payloads fit Telegram and WhatsApp, round-trip, and never crash on garbage."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection

from qr.links import telegram_link, whatsapp_link, whatsapp_text
from shop import tables as t
from shop.attribution import register_code, resolve_code
from shop.deeplink import (
    MAX_SOURCE,
    UNKNOWN,
    PayloadError,
    Scan,
    ShortCode,
    Target,
    TargetKind,
    inline,
    make_scan,
    parse,
)

START_PARAMETER = re.compile(r"[A-Za-z0-9_-]{1,64}")
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
WHATSAPP_FROM = "whatsapp:+14155238886"


@pytest.fixture(scope="module")
def registry() -> Iterator[Connection]:
    """The qr_code table alone, in memory: registered codes without a whole shop."""
    engine = create_engine("sqlite://")
    t.qr_code.create(engine)
    with engine.connect() as conn:
        yield conn
    engine.dispose()


def payload_for(registry: Connection, scan: Scan) -> str:
    """Encode the way AttributionService.code_for does: inline, else registered."""
    return inline(scan) or register_code(registry, scan, NOW)


def texts(max_size: int) -> st.SearchStrategy[str]:
    """Names a shop might give: plain ASCII often, any printable Unicode too."""
    plain = st.from_regex(rf"[A-Za-z0-9-]{{1,{min(max_size, 40)}}}", fullmatch=True)
    printable = st.text(
        st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=max_size
    ).map(str.strip)
    return st.one_of(plain, printable).filter(bool)


targets = st.one_of(
    texts(64).map(Target.product),
    texts(200).map(Target.category),
    texts(32).map(Target.promo).filter(lambda target: 0 < len(target.value) <= 32),
    st.just(Target.shop()),
)
sources = st.one_of(st.none(), texts(MAX_SOURCE))


def test_short_plain_codes_read_as_they_are() -> None:
    examples = {
        (Target.product("TEA-1"), "poster"): "p-TEA-1_poster_cuBn",
        (Target.category("Tea"), "window-2"): "c-Tea_window-2_FSQI",
        (Target.promo("summer10"), "flyer"): "d-SUMMER10_flyer_BlYK",
        (Target.shop(), "entrance"): "s_entrance_hLLf",
        (Target.shop(), None): "s_uRTh",
    }
    for (target, source), payload in examples.items():
        assert inline(make_scan(target, source)) == payload
        assert parse(payload) == Scan(target, source)


def test_long_and_non_latin_codes_are_registered(registry: Connection) -> None:
    long_sku = Target.product("APL-IP16P-256-NTI-EXTRA-LONG-SKU-FOR-THE-SHELF-2026")
    cyrillic = Target.category("Чай и кофе")
    for target, source in ((long_sku, "tverskaya-window"), (cyrillic, "витрина на Тверской")):
        scan = make_scan(target, source)
        assert inline(scan) is None
        payload = register_code(registry, scan, NOW)
        assert re.fullmatch(r"r-[A-Za-z0-9]{8}", payload)
        assert register_code(registry, scan, NOW) == payload  # the same code every time
        assert resolve_code(registry, payload) == scan
    assert inline(make_scan(long_sku, "tverskaya-window")) is None


@settings(max_examples=400, deadline=None)
@given(target=targets, source=sources)
def test_every_valid_target_and_source_round_trips_within_the_limits(
    registry: Connection, target: Target, source: str | None
) -> None:
    scan = make_scan(target, source)
    payload = payload_for(registry, scan)

    assert START_PARAMETER.fullmatch(payload)
    assert resolve_code(registry, payload) == scan
    assert parse_qs(urlsplit(telegram_link("chatshop_bot", payload)).query)["start"] == [payload]
    for locale in ("en", "ru"):
        message = whatsapp_text(target.kind, payload, locale)
        assert len(message) <= 140
        assert resolve_code(registry, message) == scan
        sent = parse_qs(urlsplit(whatsapp_link(WHATSAPP_FROM, message)).query)["text"]
        assert sent == [message]
        # The customer may add words before and after before sending.
        assert resolve_code(registry, f"hello!\n{message} — is it in stock?") == scan


@settings(max_examples=300, deadline=None)
@given(target=targets, source=sources, data=st.data())
def test_truncated_retyped_or_mistyped_codes_open_nothing(
    registry: Connection, target: Target, source: str | None, data: st.DataObject
) -> None:
    payload = payload_for(registry, make_scan(target, source))
    cut = data.draw(st.integers(1, len(payload) - 1), label="cut")
    assert resolve_code(registry, payload[:cut]).target == UNKNOWN

    where = data.draw(st.integers(0, len(payload) - 1), label="where")
    typo = data.draw(st.sampled_from("aZ09-_x ").filter(lambda c: c != payload[where]))
    assert resolve_code(registry, payload[:where] + typo + payload[where + 1 :]).target == UNKNOWN

    for variant in (payload.lower(), payload.upper()):
        if variant != payload:
            assert resolve_code(registry, variant).target == UNKNOWN


@settings(max_examples=1000, deadline=None)
@given(
    text=st.one_of(
        st.text(max_size=300),
        st.from_regex(r"[prcds][-_][A-Za-z0-9_-]{0,70}", fullmatch=True),
        st.binary(max_size=200).map(lambda raw: raw.decode("latin-1")),
    )
)
def test_arbitrary_text_decodes_to_a_value_or_unknown_and_never_raises(
    registry: Connection, text: str
) -> None:
    found = parse(text)
    assert isinstance(found, Scan | ShortCode)
    scan = resolve_code(registry, text)
    if scan.target.kind is not TargetKind.UNKNOWN:
        assert make_scan(scan.target, scan.source) == scan  # only ever a valid target


def test_nothing_and_huge_inputs_are_unknown(registry: Connection) -> None:
    assert resolve_code(registry, None).target == UNKNOWN
    assert resolve_code(registry, "").target == UNKNOWN
    assert resolve_code(registry, "/start").target == UNKNOWN
    assert resolve_code(registry, "p-" + "A" * 100_000).target == UNKNOWN
    assert resolve_code(registry, "r-AAAAAAAA").target == UNKNOWN  # well-formed, never registered


@pytest.mark.parametrize(
    ("target", "source", "problem"),
    [
        (Target.product(""), "poster", "empty"),
        (Target.product("X" * 65), "poster", "longer than 64"),
        (Target(TargetKind.CATEGORY, "Tea\nCoffee"), "poster", "control characters"),
        (Target.promo("P" * 33), None, "longer than 32"),
        (Target(TargetKind.SHOP, "x"), None, "no value"),
        (UNKNOWN, None, "unknown"),
        (Target.shop(), "s" * 65, "longer than 64"),
        (Target.shop(), "bad\x00source", "control characters"),
    ],
)
def test_what_no_code_can_carry_is_refused(target: Target, source: str, problem: str) -> None:
    with pytest.raises(PayloadError, match=problem):
        make_scan(target, source)


def test_a_blank_source_means_none() -> None:
    assert make_scan(Target.shop(), "   ") == Scan(Target.shop(), None)
    assert make_scan(Target.product("TEA-1"), "  poster ") == Scan(
        Target.product("TEA-1"), "poster"
    )
