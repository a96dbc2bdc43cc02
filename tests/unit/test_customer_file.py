"""The customer list a shop owner opens in a spreadsheet: plain data, never a formula."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from shop.customer_file import COLUMNS, cell, write_customers
from shop.views import CustomerView, PersonView

SEEN = datetime(2026, 11, 26, 12, 0, 5, tzinfo=UTC)


def customer(**changes: object) -> CustomerView:
    values: dict[str, object] = {
        "id": 7,
        "channel": "whatsapp",
        "external_id": "+4915112345678",
        "display_name": "Анна",
        "locale": "ru",
        "marketing_consent": True,
        "consent_at": SEEN,
        "first_source": "window-1",
        "contact_name": "Anna Lee",
        "contact_phone": "+49 151 1234",
        "delivery_address": "Hauptstr. 1",
        "first_seen_at": SEEN,
        "last_inbound_at": None,
        "unreachable_at": None,
    }
    values.update(changes)
    return CustomerView(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ('=HYPERLINK("http://evil","Ann")', '\'=HYPERLINK("http://evil","Ann")'),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("  =1+1", "'  =1+1"),
        ("\t=1+1", "\\u0009=1+1"),
        ("Ann \u202egpj.exe", "Ann \\u202egpj.exe"),
        ("Анна-Мария", "Анна-Мария"),
        ("", ""),
    ],
)
def test_a_cell_is_never_a_formula_and_shows_control_characters_escaped(
    text: str, written: str
) -> None:
    assert cell(text) == written


def test_the_file_has_a_header_and_a_row_per_customer_as_a_spreadsheet_reads_them() -> None:
    data = write_customers(
        [alone(customer()), alone(customer(id=8, marketing_consent=False, consent_at=None))]
    )

    assert data.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 only after this mark
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows == [
        list(COLUMNS),
        [
            "7", "whatsapp", "'+4915112345678", "Анна", "ru", "true", "2026-11-26 12:00:05",
            "window-1", "2026-11-26 12:00:05", "", "Anna Lee", "'+49 151 1234",
            "", "'+4915112345678", "", "",
        ],
        [
            "8", "whatsapp", "'+4915112345678", "Анна", "ru", "false", "", "window-1",
            "2026-11-26 12:00:05", "", "Anna Lee", "'+49 151 1234",
            "", "'+4915112345678", "", "",
        ],
    ]  # fmt: skip


def test_a_person_on_two_channels_is_one_row_with_each_channels_address() -> None:
    later = SEEN + timedelta(days=2)
    telegram = customer(
        id=3, channel="telegram", external_id="1001", display_name="", first_source=None,
        contact_name=None, contact_phone=None, first_seen_at=later, last_inbound_at=later,
        phone="4915112345678",
    )  # fmt: skip
    whatsapp = customer(id=9, person_id=3, phone="4915112345678", last_inbound_at=SEEN)

    [header, row] = list(
        csv.reader(
            io.StringIO(
                write_customers([PersonView((telegram, whatsapp))]).decode("utf-8-sig"),
                newline="",
            )
        )
    )

    assert dict(zip(header, row, strict=True)) == {
        "id": "3", "channel": "telegram", "external_id": "1001",
        "display_name": "Анна",  # the only name a messenger gave
        "locale": "ru", "marketing_consent": "true", "consent_at": "2026-11-26 12:00:05",
        "first_source": "window-1", "first_seen_at": "2026-11-26 12:00:05",  # WhatsApp's, first
        "last_inbound_at": "2026-11-28 12:00:05",
        "contact_name": "Anna Lee", "contact_phone": "'+49 151 1234",
        "telegram_address": "1001", "whatsapp_address": "'+4915112345678", "console_address": "",
        "verified_phone": "'+4915112345678",
    }  # fmt: skip


def alone(identity: CustomerView) -> PersonView:
    """A person with one identity only."""
    return PersonView((identity,))
