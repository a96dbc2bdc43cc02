"""Consent to broadcasts: given by starting a conversation, withdrawn with /stop, given back with /start.

`customer.marketing_consent` is the one record of it (with `consent_at`, when it last
changed); broadcasts and reminders read nothing else. A customer whose consent was
never recorded gives it by writing to the shop: they started the conversation.
/stop, or "stop", "стоп", "отписаться" typed alone on any channel, withdraws it and
nothing else (the cart and orders stay); /start gives it back, and says so.

```mermaid
stateDiagram-v2
    [*] --> consenting: first message or /start
    consenting --> withdrawn: /stop, "stop", "стоп", "отписаться"
    withdrawn --> consenting: /start (told "you'll get our news again")
```
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.flows.common import menu_button
from bot.flows.context import Ctx
from bot.flows.router import FlowRouter
from bot.flows.types import Reply
from shop.views import CustomerView

if TYPE_CHECKING:
    from bot.services import Shop

router = FlowRouter("consent")

STOP_WORDS = ("stop", "стоп", "отписаться")


async def on_contact(shop: Shop, customer: CustomerView) -> CustomerView:
    """Record consent for a customer who writes to the shop before it was ever recorded; return them as now."""
    if customer.consent_at is not None:
        return customer
    return await _record(shop, customer.id, consent=True)


async def _record(shop: Shop, customer_id: int, *, consent: bool) -> CustomerView:
    """Record the customer's consent (or its withdrawal); return them as they are now."""
    await shop.customers.set_marketing_consent(customer_id, consent)
    return await shop.customers.get(customer_id)


@router.command("stop")
@router.word(*STOP_WORDS)
async def stop(ctx: Ctx, _arg: str) -> list[Reply]:
    """Send the customer no more broadcasts; confirm it in their language."""
    if not ctx.customer.marketing_consent:
        body = ctx._("You are not subscribed to our news and offers. To get them, send /start.")
        return [ctx.text(body, [[menu_button(ctx)]], edit=False)]
    ctx.customer = await _record(ctx.shop, ctx.customer_id, consent=False)
    body = ctx._(
        "Done: you won't get our news and offers any more. Your cart and orders stay as they are. "
        "To get them again, send /start."
    )
    return [ctx.text(body, [[menu_button(ctx)]], edit=False)]


async def resume(ctx: Ctx) -> list[Reply]:
    """Give consent back to a customer who withdrew it (they sent /start); return what tells them."""
    if ctx.customer.marketing_consent:
        return []
    ctx.customer = await _record(ctx.shop, ctx.customer_id, consent=True)
    body = ctx._("You'll get our news and offers again. To stop them, send /stop.")
    return [ctx.text(body, edit=False)]
