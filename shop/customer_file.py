"""The customer list a shop owner downloads: CSV that a spreadsheet opens as plain data.

One row per person (shop/persons.py): someone who reached the shop on Telegram and
on WhatsApp from one proved number is one row, with each channel's address in a
column of its own. The first columns are those of a single identity, as before:
`id`, `channel` and `external_id` are the person's oldest identity's.

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

from shop.models import Channel
from shop.plaintext import visible
from shop.views import CustomerView, PersonView

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
    *(f"{channel.value}_address" for channel in Channel),
    "verified_phone",
)
"""The header, in order; times are UTC, written as spreadsheets read dates.

`<channel>_address` is where the person is reached on that channel (space-separated,
should they have more than one identity there); `verified_phone` the number a
channel proved theirs, which joined their identities.
"""

_FORMULA: Final = ("=", "+", "-", "@")
_BOM: Final = "\ufeff"


def cell(text: str) -> str:
    """Return text for a spreadsheet cell: control characters escaped, never a formula."""
    shown = visible(text)
    return f"'{shown}" if shown.lstrip(" ").startswith(_FORMULA) else shown


def write_customers(people: Iterable[PersonView]) -> bytes:
    """Write customers as CSV (UTF-8 with a byte-order mark), one row per person."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for person in people:
        oldest, them = person.oldest, person.identities
        first = min(them, key=lambda c: c.first_seen_at)
        seen = [c.last_inbound_at for c in them if c.last_inbound_at is not None]
        contact = _latest_contact(them) or oldest
        phone = next((c.phone for c in them if c.phone), None)
        writer.writerow(
            [
                str(person.id),
                cell(oldest.channel),
                cell(oldest.external_id),
                cell(person.name),
                cell(oldest.locale or ""),  # the person's, on each identity alike
                "true" if oldest.marketing_consent else "false",
                _time(oldest.consent_at),
                cell(first.first_source or ""),
                _time(first.first_seen_at),
                _time(max(seen, default=None)),
                cell(contact.contact_name or ""),
                cell(contact.contact_phone or ""),
                *(
                    cell(" ".join(c.external_id for c in person.on(channel.value)))
                    for channel in Channel
                ),
                cell(f"+{phone}" if phone else ""),
            ]
        )
    return (_BOM + buffer.getvalue()).encode("utf-8")


def _latest_contact(identities: Iterable[CustomerView]) -> CustomerView | None:
    """Return the identity with contact details that wrote to the shop last, if any has them."""
    known = [c for c in identities if c.contact_name or c.contact_phone]
    return max(known, key=lambda c: c.last_inbound_at or c.first_seen_at, default=None)


def _time(moment: datetime | None) -> str:
    """Return a UTC time as spreadsheets read it (2026-11-26 12:00:00), or an empty cell."""
    return "" if moment is None else f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S}"
