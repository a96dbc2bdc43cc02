"""One customer across channels: the identities that proved one phone number are one person.

A customer row is one identity on one channel (shop/customers.py). A channel proves
that a number is an identity's own: WhatsApp writes from it; Telegram shares the
contact of the user themselves (its adapter refuses anyone else's card). Identities
that proved the same number are one person: one order history, one language, one
consent. A number that was merely typed (at checkout, in a payment form) proves
nothing and links no one: anyone can type anyone's number.

Shape: a person's id is the id of their oldest identity. Each younger identity's
`person_id` points straight at it, never at another younger one; the oldest's is
NULL. A CHECK (`person_id < id`) lets links point at older ids only, so no links can
ever come round in a cycle.

The shared fields (`SHARED`) are written through to every identity of the person
(`write_shared`): whoever reads a customer row reads its person's language and
consent. When two persons become one (`prove_phone`):

- consent: the latest decision (by `consent_at`) wins, the refusal on a tie; if
  neither was ever asked, there is no consent;
- language: the latest choice (by `locale_at`) wins; a choice made before choices
  were timed counts as older than any timed one; on a tie, the older identity's;
- contact details (name, phone and address offered at the next checkout) each
  identity keeps; one without any takes those of the identity that wrote last;
- each identity keeps its address, display name, first source and cart: what the
  shop says unasked still goes to the channel it was meant for.

Concurrency. SQLite has one writer, and needs nothing more. On PostgreSQL the
transactions take advisory locks, held until they end, always in this order: first
the number's (two identities proving one number at once are taken one after the
other, so the second finds the first and links to it), then the persons' (whoever
changes who is whom, or writes a shared field, holds it, so that the identities
written to cannot change meanwhile). Both are rare: a number is proved once per
identity, a language or consent chosen now and then.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import ColumnElement, Select, bindparam, func, or_, select, text, update
from sqlalchemy.engine import Connection

from shop import tables as t
from shop.errors import NotFoundError
from shop.views import CustomerView, PersonView

SHARED: Final = frozenset({"locale", "locale_at", "marketing_consent", "consent_at"})
"""The fields a person has once, written to each of their identities alike."""

_c = t.customer.c
PERSON_ID: Final[ColumnElement[int]] = func.coalesce(_c.person_id, _c.id)
"""The person id of a customer row, in SQL: count persons as DISTINCT of it over `customer`."""

_NOISE = re.compile(r"[\s().-]")
_E164 = re.compile(r"\+?([1-9]\d{6,14})")
_PHONE_LOCKS = 0x5048  # advisory lock space: one lock per proved number (hashed to int4)
_PERSONS_LOCK = (0x5045, 0)  # the one lock on who is whom and on shared fields
_INT4 = 2**31 - 1
_ADVISORY = text("SELECT pg_advisory_xact_lock(:space, :key)")
_PERSON_OF = select(PERSON_ID).where(_c.id == bindparam("id"))
_NEVER = datetime.min.replace(tzinfo=UTC)


def phone_key(number: str) -> str | None:
    """Return a number's E.164 digits (without "+"), or None if it is not written as one.

    Spaces, dots, dashes and brackets go; nothing is guessed: a Russian "8 916 …" is
    not taken for "+7 916 …", and stays a different number.
    """
    match = _E164.fullmatch(_NOISE.sub("", number.strip()))
    return match[1] if match else None


def person_of(conn: Connection, customer_id: int) -> int:
    """Return the person id of a customer (their oldest identity's id; their own if alone).

    Raises:
        NotFoundError: no such customer.
    """
    person = conn.execute(_PERSON_OF, {"id": customer_id}).scalar_one_or_none()
    if person is None:
        raise NotFoundError("customer", customer_id)
    return int(person)


def identity_ids(customer_id: int) -> Select[tuple[int]]:
    """Return a SELECT of the ids of every identity of the customer's person (for IN)."""
    of = t.customer.alias("of")
    person = (
        select(func.coalesce(of.c.person_id, of.c.id))
        .where(of.c.id == customer_id)
        .scalar_subquery()
    )
    return person_identities(person)


def person_identities(person: ColumnElement[int]) -> Select[tuple[int]]:
    """Return a SELECT of the ids of a person's identities, by the person's id (for IN)."""
    same = t.customer.alias("same")
    # Whatever else `person` names belongs to the queries around it, however deep.
    found = select(same.c.id).where(or_(same.c.id == person, same.c.person_id == person))
    return found.correlate_except(same)


def same_person(conn: Connection, one: int, other: int) -> bool:
    """Tell whether two customer ids are identities of one person."""
    if one == other:
        return True
    persons = conn.execute(select(PERSON_ID).where(_c.id.in_((one, other)))).scalars().all()
    return len(persons) == 2 and persons[0] == persons[1]


def people(conn: Connection, customer_ids: Iterable[int] | None = None) -> dict[int, PersonView]:
    """Return the persons of these customers (of every customer without ids), by person id."""
    query = select(t.customer).order_by(_c.id)
    if customer_ids is not None:
        persons = select(PERSON_ID).where(_c.id.in_(set(customer_ids)))
        query = query.where(or_(_c.id.in_(persons), _c.person_id.in_(persons)))
    grouped: dict[int, list[CustomerView]] = {}
    for row in conn.execute(query):
        identity = CustomerView.from_row(row)
        grouped.setdefault(identity.person, []).append(identity)
    return {person: PersonView(tuple(found)) for person, found in grouped.items()}


def write_shared(conn: Connection, customer_id: int, **values: object) -> list[int]:
    """Write shared fields (`SHARED`) to every identity of the customer's person; return their ids.

    Raises:
        NotFoundError: no such customer.
    """
    if not values.keys() <= SHARED:
        raise ValueError(f"not shared by a person: {sorted(values.keys() - SHARED)}")
    _lock(conn, *_PERSONS_LOCK)
    person = person_of(conn, customer_id)
    written = conn.execute(
        update(t.customer)
        .where(or_(_c.id == person, _c.person_id == person))
        .values(**values)
        .returning(_c.id)
    )
    return list(written.scalars())


def prove_phone(conn: Connection, customer_id: int, phone: str) -> list[int]:
    """Record a number the channel proved is this identity's own, and join whoever proved it too.

    `phone` is E.164 digits (`phone_key`) that the channel vouches for (see the
    module's docstring), never a number typed. Returns the ids of the identities
    whose rows changed, so that copies kept of them can be forgotten.

    Raises:
        NotFoundError: no such customer.
    """
    _lock(conn, _PHONE_LOCKS, int(phone) % _INT4)
    others = conn.execute(select(_c.id).where(_c.phone == phone, _c.id != customer_id)).scalars()
    merged = _merge(conn, [customer_id, *others])
    if conn.execute(update(t.customer).where(_c.id == customer_id).values(phone=phone)).rowcount:
        return merged or [customer_id]
    raise NotFoundError("customer", customer_id)


def _merge(conn: Connection, customer_ids: Sequence[int]) -> list[int]:
    """Make one person of these customers' persons; return the ids of their identities.

    Returns nothing when they were one person already.
    """
    if len(customer_ids) < 2:
        return []
    _lock(conn, *_PERSONS_LOCK)
    persons = sorted(set(conn.execute(select(PERSON_ID).where(_c.id.in_(customer_ids))).scalars()))
    if len(persons) < 2:
        return []
    survivor = persons[0]
    rows = [
        CustomerView.from_row(row)
        for row in conn.execute(
            select(t.customer).where(or_(_c.id.in_(persons), _c.person_id.in_(persons)))
        )
    ]
    ids = [row.id for row in rows]
    conn.execute(
        update(t.customer).where(_c.id.in_(ids), _c.id != survivor).values(person_id=survivor)
    )
    conn.execute(update(t.customer).where(_c.id.in_(ids)).values(**_shared(rows)))
    with_contact = [r for r in rows if r.contact_name or r.contact_phone or r.delivery_address]
    if with_contact:
        donor = max(with_contact, key=lambda r: r.last_inbound_at or _NEVER)
        conn.execute(
            update(t.customer)
            .where(
                _c.id.in_(ids),
                _c.contact_name.is_(None),
                _c.contact_phone.is_(None),
                _c.delivery_address.is_(None),
            )
            .values(
                contact_name=donor.contact_name,
                contact_phone=donor.contact_phone,
                delivery_address=donor.delivery_address,
            )
        )
    return ids


def _shared(rows: list[CustomerView]) -> dict[str, Any]:
    """Return the shared fields of persons made one, by the rules of the module's docstring."""
    decided = [r for r in rows if r.consent_at is not None]
    decision = max(decided, key=lambda r: (r.consent_at, not r.marketing_consent), default=None)
    chosen = [r for r in rows if r.locale is not None]
    choice = max(
        chosen, key=lambda r: (r.locale_at is not None, r.locale_at or _NEVER, -r.id), default=None
    )
    return {
        "marketing_consent": decision.marketing_consent if decision else False,
        "consent_at": decision.consent_at if decision else None,
        "locale": choice.locale if choice else None,
        "locale_at": choice.locale_at if choice else None,
    }


def _lock(conn: Connection, space: int, key: int) -> None:
    """Take an advisory lock until the transaction ends, on PostgreSQL (SQLite has one writer)."""
    if conn.dialect.name == "postgresql":
        conn.execute(_ADVISORY, {"space": space, "key": key})
