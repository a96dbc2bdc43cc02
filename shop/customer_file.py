"""The customer list a shop owner downloads: CSV that a spreadsheet opens as plain data.

A customer chooses their own display name, so every cell is written as text a
spreadsheet shows and never runs: one starting with = + - or @ (a formula to
Excel and LibreOffice) gets a leading apostrophe, and control characters are
escaped as other staff output has them (`shop.plaintext.visible`), so a bidi
override cannot turn a name around in the sheet either. The file starts with a
byte-order mark, without which Excel reads UTF-8 names (Cyrillic) as gibberish.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Final

from shop.plaintext import visible
from shop.views import CustomerView

COLUMNS: Final = (
    "id",
    "channel",
    "external_id",
    "display_name",
    "locale",
    "marketing_consent",
    "consent_at",
    "first_source",
    "first_seen_at",
    "last_inbound_at",
    "contact_name",
    "contact_phone",
)
"""The header, in order; times are UTC, written as spreadsheets read dates."""

_FORMULA: Final = ("=", "+", "-", "@")
_BOM: Final = "\ufeff"


def cell(text: str) -> str:
    """Return text for a spreadsheet cell: control characters escaped, never a formula."""
    shown = visible(text)
    return f"'{shown}" if shown.lstrip(" ").startswith(_FORMULA) else shown


def write_customers(customers: Iterable[CustomerView]) -> bytes:
    """Write customers as CSV (UTF-8 with a byte-order mark), one row each."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for customer in customers:
        writer.writerow(
            [
                str(customer.id),
                cell(customer.channel),
                cell(customer.external_id),
                cell(customer.display_name),
                cell(customer.locale or ""),
                "true" if customer.marketing_consent else "false",
                _time(customer.consent_at),
                cell(customer.first_source or ""),
                _time(customer.first_seen_at),
                _time(customer.last_inbound_at),
                cell(customer.contact_name or ""),
                cell(customer.contact_phone or ""),
            ]
        )
    return (_BOM + buffer.getvalue()).encode("utf-8")


def _time(moment: datetime | None) -> str:
    """Return a UTC time as spreadsheets read it (2026-11-26 12:00:00), or an empty cell."""
    return "" if moment is None else f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S}"
