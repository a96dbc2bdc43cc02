"""A/B experiments: the owner tests one thing the flows vary, and each customer keeps one variant.

A variant is a pure function of the experiment's name and the customer's unit id
(`unit_of`), split by the configured weights: every process, channel and restart
gives the same customer the same variant, and nothing is stored to know it. What
is stored is the exposure: the first time a unit saw the thing varied, one row
(unique per experiment and unit, so "once" holds across processes) and one
`exposure` analytics event carrying the experiment and variant, in one
transaction. Conversions are the funnel's own events after the exposure.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, case, exists, func, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from shop import tables as t
from shop.analytics import EventKind, Visit, append_event
from shop.db import Database
from shop.errors import NotFoundError, ShopError
from shop.persons import person_identities
from shop.promos import load_promo, normalize_code
from shop.recent import Recent
from shop.sql import insert_for
from shop.types import utcnow
from shop.views import CustomerView


class Thing(StrEnum):
    """What an experiment varies."""

    CTA = "cta"  # the wording of the product card's add-to-cart button
    BUY_NOW = "buy_now"  # "Buy now" on the product card, shown or not
    CART_PROMO = "cart_promo"  # a promo code offered in the cart


class CtaWording(StrEnum):
    """The wordings of the product card's add-to-cart button an experiment picks among.

    Each has its translated text in bot/flows/experiments.py; the first is the shop's own.
    """

    ADD_TO_CART = "add_to_cart"
    GET_IT_NOW = "get_it_now"
    TAKE_IT = "take_it"
    WANT_IT = "want_it"


SHOWN, HIDDEN = "shown", "hidden"  # Buy now
NO_OFFER, OFFER = "none", "offer"  # the cart's promo

CHOICES: dict[Thing, tuple[str, ...]] = {
    Thing.CTA: tuple(CtaWording),
    Thing.BUY_NOW: (SHOWN, HIDDEN),
    Thing.CART_PROMO: (NO_OFFER, OFFER),
}
MAX_NAME_LENGTH = 64  # the column's
_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]*")
# How long a process trusts its list of running experiments: one started or stopped by
# a staff command in another process reaches customers within this.
REFRESH = timedelta(seconds=15)
KEPT_EXPOSURES = 100_000  # units a process remembers as exposed, so their next view writes nothing


def unit_of(customer: CustomerView) -> int:
    """Return the id a customer is randomised by: their person's, the same on every channel.

    `person_identities` gives a unit's customer ids in SQL.
    """
    return customer.person


def bucket(name: str, unit: int, weights: Sequence[int]) -> int:
    """Return the index of the variant a unit gets: a stable hash of name and unit, split by weights."""
    digest = hashlib.sha256(f"{name}:{unit}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") * sum(weights) >> 64  # uniform in 0..sum-1
    for index, weight in enumerate(weights):
        if point < weight:
            return index
        point -= weight
    raise AssertionError("unreachable: the point lies below the sum of the weights")


class ExperimentError(ShopError):
    """An experiment the owner asked for that cannot be, with the reason."""


@dataclass(frozen=True, slots=True)
class ExperimentView:
    """An experiment as defined: its variants (the first is the control) and their weights."""

    id: int
    name: str
    thing: Thing
    variants: tuple[str, ...]
    weights: tuple[int, ...]
    promo_code: str | None
    started_at: datetime
    stopped_at: datetime | None

    @classmethod
    def from_row(cls, row: Any) -> ExperimentView:
        """Build from a result row that selected every experiment column."""
        values = dict(row._mapping)
        values["thing"] = Thing(values["thing"])
        values["variants"] = tuple(values["variants"])
        values["weights"] = tuple(values["weights"])
        return cls(**values)

    @property
    def running(self) -> bool:
        """Tell whether customers see it now."""
        return self.stopped_at is None

    def variant_for(self, unit: int) -> str:
        """Return the variant a unit gets."""
        return self.variants[bucket(self.name, unit, self.weights)]


@dataclass(frozen=True, slots=True)
class Exposure:
    """What a customer is shown of a running experiment."""

    experiment: str
    variant: str
    promo_code: str | None


@dataclass(frozen=True, slots=True)
class VariantCounts:
    """Units exposed to a variant, and how many of them went on to the cart and to pay."""

    variant: str
    weight: int
    exposed: int
    to_cart: int
    to_paid: int


_COLUMNS = t.experiment.c
_RUNNING = (
    select(t.experiment)
    .outerjoin(t.promo_code, t.promo_code.c.code == _COLUMNS.promo_code)
    # An offer of a code switched off since would only be refused: that experiment pauses.
    .where(_COLUMNS.stopped_at.is_(None), or_(t.promo_code.c.code.is_(None), t.promo_code.c.active))
)
CART_KINDS = (EventKind.ADD_TO_CART.value, EventKind.CHECKOUT.value)  # Buy now goes to checkout


class ExperimentService:
    """Staff define and stop experiments; flows ask for a customer's variant; reports count."""

    def __init__(
        self,
        db: Database,
        clock: Callable[[], datetime] = utcnow,
        *,
        remember: int = KEPT_EXPOSURES,
    ) -> None:
        self._db = db
        self._clock = clock
        self._running: dict[Thing, ExperimentView] = {}
        self._loaded_at: datetime | None = None
        self._exposed: Recent[tuple[int, int], bool] = Recent(remember)

    async def create(
        self,
        name: str,
        thing: Thing,
        variants: Sequence[str] | None = None,
        weights: Sequence[int] | None = None,
        *,
        promo_code: str | None = None,
    ) -> ExperimentView:
        """Start an experiment on `thing`; the first variant is the control.

        Without `variants`, Buy now and the cart's promo test their two choices (as
        they are first); the wording needs them named. Without `weights`, the split is
        even. A cart promo experiment offers `promo_code`, an active code.

        Raises:
            ExperimentError: a bad name, variant, split or promo code, or another
                experiment on the same thing still running.
        """
        name = name.strip().lower()
        chosen = tuple(variants) if variants else _default_variants(thing)
        split = tuple(weights) if weights else even_split(len(chosen))
        _check(name, thing, chosen, split, promo_code)
        code = None if promo_code is None else normalize_code(promo_code)
        now = self._clock()

        def work(conn: Connection) -> ExperimentView:
            if conn.execute(select(_COLUMNS.id).where(_COLUMNS.name == name)).first():
                raise ExperimentError(f"experiment {name} exists already: choose another name")
            _refuse_a_second(conn, thing)
            if code is not None:
                promo = load_promo(conn, code)
                if promo is None or not promo.active:
                    raise ExperimentError(f"--promo {code}: no active promo code of that name")
            values = {
                "name": name,
                "thing": thing.value,
                "variants": list(chosen),
                "weights": list(split),
                "promo_code": code,
                "started_at": now,
                "stopped_at": None,
            }
            insert = t.experiment.insert().values(values).returning(*t.experiment.c)
            return ExperimentView.from_row(conn.execute(insert).one())

        try:
            created = await self._db.write(work)
        except IntegrityError:  # another command started one on the same thing meanwhile
            raise ExperimentError(_running_already(thing)) from None
        self._loaded_at = None
        return created

    async def list_all(self) -> list[ExperimentView]:
        """Return every experiment, running ones first, newest first."""
        query = select(t.experiment).order_by(_COLUMNS.stopped_at.is_not(None), _COLUMNS.id.desc())

        def work(conn: Connection) -> list[ExperimentView]:
            return [ExperimentView.from_row(row) for row in conn.execute(query)]

        return await self._db.read(work)

    async def get(self, name: str) -> ExperimentView:
        """Return an experiment by name.

        Raises:
            NotFoundError: no such experiment.
        """
        key = name.strip().lower()

        def work(conn: Connection) -> ExperimentView:
            row = conn.execute(select(t.experiment).where(_COLUMNS.name == key)).first()
            if row is None:
                raise NotFoundError("experiment", key)
            return ExperimentView.from_row(row)

        return await self._db.read(work)

    async def stop(self, name: str) -> ExperimentView:
        """Stop a running experiment: from now on everyone sees the shop's own choice.

        Raises:
            NotFoundError: no such experiment.
            ExperimentError: it is stopped already.
        """
        key = name.strip().lower()
        now = self._clock()

        def work(conn: Connection) -> ExperimentView:
            row = conn.execute(
                update(t.experiment)
                .where(_COLUMNS.name == key, _COLUMNS.stopped_at.is_(None))
                .values(stopped_at=now)
                .returning(*t.experiment.c)
            ).first()
            if row is not None:
                return ExperimentView.from_row(row)
            if conn.execute(select(_COLUMNS.id).where(_COLUMNS.name == key)).first():
                raise ExperimentError(f"experiment {key} is stopped already")
            raise NotFoundError("experiment", key)

        stopped = await self._db.write(work)
        self._loaded_at = None
        return stopped

    async def expose(self, thing: Thing, customer: CustomerView, visit: Visit) -> Exposure | None:
        """Return the customer's variant of the experiment running on `thing`, if any.

        Call it where the customer sees the thing varied: the first time, the exposure
        is recorded (once per unit, whichever process or channel comes first).
        """
        experiment = (await self._running_now()).get(thing)
        if experiment is None:
            return None
        unit = unit_of(customer)
        variant = experiment.variant_for(unit)
        key = (experiment.id, unit)
        if self._exposed.get(key) is None:
            await self._record(experiment, unit, variant, visit)
            self._exposed.put(key, True)
        return Exposure(experiment.name, variant, experiment.promo_code)

    async def counts(self, experiment: ExperimentView) -> list[VariantCounts]:
        """Count per variant the units exposed while it ran, and those who then went to cart and paid."""
        x = t.experiment_exposure.c
        e = t.analytics_event.c
        within = [x.experiment_id == experiment.id]
        after = [e.customer_id.in_(person_identities(x.unit_id)), e.at >= x.at]
        if experiment.stopped_at is not None:
            within.append(x.at <= experiment.stopped_at)
            after.append(e.at <= experiment.stopped_at)

        def converted(*kinds: str) -> Any:
            event = exists().where(*after, e.kind.in_(kinds))
            return func.sum(case((event, 1), else_=0))

        query = (
            select(
                x.variant,
                func.count(),
                converted(*CART_KINDS),
                converted(EventKind.PAID.value),
            )
            .where(and_(*within))
            .group_by(x.variant)
        )

        def work(conn: Connection) -> dict[str, tuple[int, int, int]]:
            return {
                variant: (int(n), int(cart or 0), int(paid or 0))
                for variant, n, cart, paid in conn.execute(query)
            }

        found = await self._db.read(work, bulk=True)
        return [
            VariantCounts(variant, weight, *found.get(variant, (0, 0, 0)))
            for variant, weight in zip(experiment.variants, experiment.weights, strict=True)
        ]

    async def _running_now(self) -> dict[Thing, ExperimentView]:
        """Return the running experiments by thing, read again once they are `REFRESH` old."""
        now = self._clock()
        if self._loaded_at is None or now - self._loaded_at >= REFRESH:

            def work(conn: Connection) -> dict[Thing, ExperimentView]:
                rows = conn.execute(_RUNNING)
                return {view.thing: view for view in map(ExperimentView.from_row, rows)}

            self._running = await self._db.read(work)
            self._loaded_at = now
        return self._running

    async def _record(
        self, experiment: ExperimentView, unit: int, variant: str, visit: Visit
    ) -> None:
        """Write the unit's exposure and its analytics event, unless a process did already."""
        now = self._clock()

        def work(conn: Connection) -> None:
            insert = insert_for(conn, t.experiment_exposure).on_conflict_do_nothing()
            values = {"experiment_id": experiment.id, "unit_id": unit, "variant": variant}
            if conn.execute(insert.values(at=now, **values)).rowcount == 1:
                data = {"experiment": experiment.name, "variant": variant}
                append_event(conn, EventKind.EXPOSURE, visit, now, data=data)

        await self._db.write(work)


def even_split(count: int) -> tuple[int, ...]:
    """Return percentages splitting customers evenly among `count` variants (the first get the rest)."""
    share, rest = divmod(100, count)
    return tuple(share + (1 if index < rest else 0) for index in range(count))


def _default_variants(thing: Thing) -> tuple[str, ...]:
    """Return the variants of an experiment given none: both choices, unless the thing has more."""
    if thing == Thing.CTA:
        known = ", ".join(CHOICES[thing])
        raise ExperimentError(f"--variants: name two or more wordings of {known}")
    return CHOICES[thing]


def _check(
    name: str,
    thing: Thing,
    variants: tuple[str, ...],
    weights: tuple[int, ...],
    promo_code: str | None,
) -> None:
    """Refuse a name, variants, split or promo that do not make an experiment on `thing`."""
    if not (_NAME.fullmatch(name) and len(name) <= MAX_NAME_LENGTH):
        raise ExperimentError(
            f"experiment name {name!r}: 1 to {MAX_NAME_LENGTH} letters, digits, '-', '_' or '.'"
        )
    known = CHOICES[thing]
    unknown = [v for v in variants if v not in known]
    if unknown:
        raise ExperimentError(
            f"--variants: {unknown[0]!r} is not a variant of {thing.value} ({', '.join(known)})"
        )
    if len(variants) < 2 or len(set(variants)) != len(variants):
        raise ExperimentError("--variants: two or more different variants")
    if len(weights) != len(variants):
        raise ExperimentError(
            f"--split: {len(weights)} shares for {len(variants)} variants (e.g. 50/50)"
        )
    if any(w < 1 for w in weights) or sum(weights) != 100:
        raise ExperimentError("--split: whole percentages of at least 1 that add up to 100")
    if (thing == Thing.CART_PROMO) != (promo_code is not None):
        raise ExperimentError("--promo CODE goes with --on cart_promo, and only with it")


def _refuse_a_second(conn: Connection, thing: Thing) -> None:
    """Refuse an experiment on a thing another running experiment varies already."""
    running = conn.execute(
        select(_COLUMNS.name).where(_COLUMNS.thing == thing.value, _COLUMNS.stopped_at.is_(None))
    ).scalar_one_or_none()
    if running is not None:
        raise ExperimentError(f"{_running_already(thing)} ({running}): stop it first")


def _running_already(thing: Thing) -> str:
    """Say that an experiment on `thing` runs already."""
    return f"an experiment on {thing.value} is running already"
