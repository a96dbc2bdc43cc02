"""Keep aiogram's answer types built: pydantic only weakly caches the generic models it makes.

aiogram reads every Bot API answer as ``Response[<the method's result type>]``,
a generic pydantic model. pydantic keeps such models in a weak cache, so each
garbage collection drops the ones nobody holds and the next answer builds its
class again — milliseconds of work, more than the rest of an update costs.
Holding the answer types of the methods this channel calls keeps them built once.
"""

from __future__ import annotations

from typing import Any

from aiogram.methods import (
    AnswerCallbackQuery,
    AnswerInlineQuery,
    AnswerPreCheckoutQuery,
    AnswerShippingQuery,
    DeleteWebhook,
    EditMessageCaption,
    EditMessageMedia,
    EditMessageText,
    GetMe,
    GetUpdates,
    RefundStarPayment,
    Response,
    SendInvoice,
    SendMessage,
    SendPhoto,
    SetMyCommands,
    SetWebhook,
)

CALLED = (
    GetUpdates,
    GetMe,
    SendMessage,
    SendPhoto,
    SendInvoice,
    EditMessageText,
    EditMessageCaption,
    EditMessageMedia,
    AnswerCallbackQuery,
    AnswerInlineQuery,
    AnswerPreCheckoutQuery,
    AnswerShippingQuery,
    SetMyCommands,
    SetWebhook,
    DeleteWebhook,
    RefundStarPayment,
)

_held: dict[Any, Any] = {}


def hold_answer_types() -> None:
    """Build the answer type of every method the channel calls, and hold it for good."""
    for method in CALLED:
        returning = method.__returning__
        if returning not in _held:
            _held[returning] = Response[returning]  # type: ignore[valid-type]
