"""The staff buttons' callback data: aiogram CallbackData, unsigned on purpose.

The customers' buttons are signed for the one customer they were shown to,
because any customer can send any callback data. A staff button's authority is
who presses it, which the staff router's filter checks on every update: a
customer's press of one, forged or copied, never reaches a staff handler. A
press that no longer fits (the order moved since the card was drawn) is caught
by `seen`, the status the card showed; a signature would not catch that either.
Each packs to well under Telegram's 64 bytes (``sm:<id>:pending_payment:cancelled``).
"""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from shop.models import OrderStatus


class OrderList(CallbackData, prefix="sl"):
    """Show the recent orders (in place of the card)."""


class OrderCard(CallbackData, prefix="so"):
    """Show an order's card as the order now is."""

    order: int


class Move(CallbackData, prefix="sm"):
    """Move an order shown in status `seen` on to `to` (shipped and refunded ask first)."""

    order: int
    seen: OrderStatus
    to: OrderStatus


class Refund(CallbackData, prefix="sr"):
    """Refund an order shown in status `seen`: the answer to "Refund $X to the customer?"."""

    order: int
    seen: OrderStatus


class Skip(StrEnum):
    """What a button under a shipping question answers instead of typed words."""

    NO_CARRIER = "nc"
    NO_TRACKING = "nt"
    LEAVE = "x"


class Shipping(CallbackData, prefix="ss"):
    """A button under a question of the shipping conversation about an order."""

    order: int
    skip: Skip
