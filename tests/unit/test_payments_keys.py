"""Webhook signatures: Stripe's scheme, checked in constant time and only while fresh; keys shared by processes."""

from __future__ import annotations

import pytest
import stripe

from bot.services import Shop
from payments.interface import WebhookError
from payments.keys import KeyRing, check_fresh, derive, sign_webhook, verify_webhook

KEY = b"k" * 32
BODY = b'{"id":"evt_1","type":"payment.succeeded"}'
NOW = 1_800_000_000


def test_a_signature_verifies_for_its_body_key_and_time() -> None:
    verify_webhook(KEY, BODY, sign_webhook(KEY, BODY, NOW), NOW + 10)


def test_our_signatures_are_the_ones_stripe_makes() -> None:
    header = sign_webhook("whsec_x", BODY, NOW)
    stripe.WebhookSignature.verify_header(BODY, header, "whsec_x", tolerance=None)


@pytest.mark.parametrize(
    ("header", "body", "now", "problem"),
    [
        (None, BODY, NOW, "not signed"),
        ("", BODY, NOW, "not signed"),
        ("v1=abc", BODY, NOW, "malformed"),
        (f"t={NOW}", BODY, NOW, "malformed"),
        ("t=²,v1=00", BODY, NOW, "malformed"),  # str.isdigit() says yes, int() says no
        ("t=" + "9" * 5000 + ",v1=00", BODY, NOW, "malformed"),  # past int()'s digit limit
        (f"t={NOW},v1=ключ", BODY, NOW, "malformed"),
        (sign_webhook(b"other key", BODY, NOW), BODY, NOW, "does not match"),
        (sign_webhook(KEY, BODY, NOW), BODY + b" ", NOW, "does not match"),
        (
            sign_webhook(KEY, BODY, NOW).replace(f"t={NOW}", f"t={NOW + 1}"),
            BODY,
            NOW,
            "does not match",
        ),
        (sign_webhook(KEY, BODY, NOW), BODY, NOW + 301, "too old"),
        (sign_webhook(KEY, BODY, NOW + 301), BODY, NOW, "too old"),
    ],
)
def test_a_bad_signature_is_refused_with_the_reason(
    header: str | None, body: bytes, now: int, problem: str
) -> None:
    with pytest.raises(WebhookError, match=problem):
        verify_webhook(KEY, body, header, now)


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        (None, "not signed"),
        ("t=²,v1=00", "malformed"),
        (f"t={NOW},v1=ключ", "malformed"),
        (f"t={NOW - 301},v1=00", "too old"),
        (f"t={NOW + 301},v1=00", "too old"),
    ],
)
def test_a_header_no_body_can_mend_is_refused_before_the_body(
    header: str | None, problem: str
) -> None:
    with pytest.raises(WebhookError, match=problem):
        check_fresh(header, NOW)


def test_a_fresh_header_passes_the_first_look_whatever_its_signature() -> None:
    check_fresh(f"t={NOW - 299},v1=00", NOW)  # the body has yet to prove it


def test_each_purpose_has_its_own_key() -> None:
    assert derive(KEY, "sandbox-webhook") != derive(KEY, "telegram-payload")
    assert derive(KEY, "sandbox-webhook") == derive(KEY, "sandbox-webhook")


async def test_an_unset_secret_is_made_once_and_shared_through_the_database(shop: Shop) -> None:
    first = await KeyRing(shop.db).key("sandbox-webhook")
    second = await KeyRing(shop.db).key("sandbox-webhook")
    configured = await KeyRing(shop.db, "configured").key("sandbox-webhook")

    assert first == second
    assert configured == derive(b"configured", "sandbox-webhook") != first
