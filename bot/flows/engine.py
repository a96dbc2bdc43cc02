"""The conversation engine: every channel hands it (who, event) and renders the replies it returns.

For each event it finds or creates the customer, holds that customer's lock (in
this process, and across processes when the store can), loads the conversation
state, runs the flow that answers the event, and saves the state if the flow
changed it. A refused or failing event changes no state and gets a polite reply.
What the shop says unasked is queued in the shop's outbox and sent by the
delivery worker (bot/delivery.py), in the language `language_for` gives.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

from bot.flows import consent, options, visits
from bot.flows.common import main_menu
from bot.flows.context import Ctx, DeepLink, PayloadDecoder, StaffDesk, StaffQuestion, Who
from bot.flows.deeplink import poster_codes
from bot.flows.errors import StaleInputError, explain
from bot.flows.locks import KeyedLocks
from bot.flows.routes import all_routes
from bot.flows.store import ConversationStore, StaleStateError
from bot.flows.types import Button, Command, Event, Message, Press, Reply, SharedContact
from shop.i18n import Language, pick_locale
from shop.plaintext import clean
from shop.views import CustomerView

if TYPE_CHECKING:
    from bot.services import Shop

__all__ = [
    "Conversations",
    "DeepLink",
    "PayloadDecoder",
    "StaffDesk",
    "StaffQuestion",
    "Who",
]

log = logging.getLogger(__name__)

TEXT_WIDTH = 4096  # no messenger sends more in one message
ARG_WIDTH = 256
_AROUND_A_WORD = "!.?,;:'\" "  # what may come with a word typed alone ("Stop!")
HINT = "hint_locale"  # the messenger's language, kept for messages pushed unasked


class Conversations:
    """Runs the flows for every channel, one event of a customer at a time.

    Build one per process (bot/app.py `conversations_for`); every channel of it uses it.
    """

    def __init__(
        self,
        shop: Shop,
        store: ConversationStore,
        *,
        staff: StaffDesk | None = None,
        decode_payload: PayloadDecoder | None = None,
    ) -> None:
        self._shop = shop
        self._store = store
        self._staff = staff
        self._decode = decode_payload or poster_codes(shop.attribution)
        self._routes = all_routes()
        self._locks = KeyedLocks()

    async def handle(self, who: Who, event: Event) -> list[Reply]:
        """Answer one inbound event: touch the customer, run the flow under their lock, keep the state."""
        key = f"{who.channel.value}:{who.external_id}"
        async with self._locks.hold(key), self._store.lock(key):
            customers = self._shop.customers
            customer = await customers.touch(
                who.channel, who.external_id, display_name=who.display_name, phone=who.phone
            )
            if isinstance(event, SharedContact):  # their own: the channel refuses anyone else's
                customer = await customers.prove_phone(customer.id, event.phone)
            customer = await consent.on_contact(self._shop, customer)
            state = await self._store.load(customer.id)
            before = json.dumps(state.to_json(), sort_keys=True)
            hint = pick_locale(who.language_code, default="")
            if hint and state.data.get(HINT) != hint:
                state.data[HINT] = hint
            ctx = Ctx(
                shop=self._shop,
                who=who,
                customer=customer,
                state=state,
                lang=Language(self._locale(customer, who, state.data.get(HINT))),
                staff=self._staff,
                decode=self._decode,
            )
            try:
                await visits.begin(ctx, event)
                replies = await self._dispatch(ctx, event)
            except Exception as error:  # refused or failed: the state stays as it was
                return explain(ctx, error)
            if who.can.numbered_options:
                options.remember(state, replies)
            if json.dumps(state.to_json(), sort_keys=True) != before:
                try:
                    await self._store.save(customer.id, state)
                except StaleStateError:
                    log.warning("conversation state of customer %s changed meanwhile", customer.id)
            return replies

    async def _dispatch(self, ctx: Ctx, event: Event) -> list[Reply]:
        """Run the handler that answers `event`."""
        if isinstance(event, Command):
            return await self._command(ctx, event)
        if isinstance(event, Press):
            return await self._press(ctx, event)
        if isinstance(event, SharedContact):
            contact = self._routes.contacts.get(ctx.state.step)
            if contact is None:
                return [ctx.text(ctx._("Thank you, but I don't need a phone number right now."))]
            return await contact(ctx, SharedContact(clean(event.phone), clean(event.name)))
        return await self._message(ctx, event)

    async def _command(self, ctx: Ctx, event: Command) -> list[Reply]:
        """Run a command; it ends any question the shop was waiting on."""
        command = self._routes.commands.get(event.name.lower())
        if command is None:
            intro = ctx._("Sorry, I don't know that command. Here is the menu.")
            return [await main_menu(ctx, intro)]
        ctx.state.step = ""
        return await command(ctx, clean(event.arg[:TEXT_WIDTH], multiline=True))

    async def _press(self, ctx: Ctx, event: Press) -> list[Reply]:
        """Run a button's handler, if the button still fits where the conversation is."""
        ctx.pressed = True
        route = self._routes.presses.get(event.action)
        if route is None:
            raise StaleInputError(event.action)
        if route.within == "":
            ctx.state.step = ""
        elif route.within != "*" and not ctx.state.step.startswith(route.within + "."):
            raise StaleInputError(event.action)
        return await route.handler(ctx, event.arg[:ARG_WIDTH])

    async def _message(self, ctx: Ctx, event: Message) -> list[Reply]:
        """Take typed text as the answer the shop waits for, or else as a search."""
        text = clean(event.text[:TEXT_WIDTH], multiline=True).strip()
        if not text:
            return []
        word = self._routes.words.get(text.lower().strip(_AROUND_A_WORD))
        if word is not None:
            ctx.state.step = ""
            return await word(ctx, "")
        if ctx.who.can.numbered_options:
            number = options.numbered(text)
            chosen = (
                options.by_words(ctx.state, text, ctx.lang)
                if number is None
                else options.by_number(ctx.state, number)
            )
            if chosen is not None:
                return await self._chose(ctx, chosen)
            if number is not None:
                body = ctx._(
                    "There is no option {number}. Choose a number from the list, "
                    "or type what you are looking for."
                ).format(number=number)
                return [ctx.text(body, edit=False)]
        step = self._routes.steps.get(ctx.state.step)
        if step is not None:
            return await step(ctx, text)
        ctx.state.step = ""  # a question from an older version of the flows: forget it
        if self._routes.fallback is None:
            raise StaleInputError(text)
        return await self._routes.fallback(ctx, text)

    async def _chose(self, ctx: Ctx, option: Button) -> list[Reply]:
        """Answer an option chosen by its number or words: as its button, or with its link."""
        if option.url:
            return [ctx.text(f"{option.label}: {option.url}", edit=False)]
        return await self._press(ctx, Press(option.action, option.arg))

    async def language_for(self, customer: CustomerView) -> Language:
        """Return the language a customer reads the shop in, for a message they did not ask for.

        Their own choice, else their messenger's language as last seen, else the shop's.
        """
        hint = (await self._store.load(customer.id)).data.get(HINT)
        default = self._shop.settings.default_locale
        chosen = pick_locale(
            customer.locale, hint if isinstance(hint, str) else None, default=default
        )
        return Language(chosen)

    async def locale_of(self, who: Who) -> str:
        """Return the language the customer sees the shop in ("en" or "ru")."""
        customer = await self._shop.customers.find(who.channel, who.external_id)
        return self._locale(customer, who)

    async def close(self) -> None:
        """Release the state store's connections."""
        await self._store.close()

    def _locale(self, customer: CustomerView | None, who: Who, seen: object = None) -> str:
        """Return the customer's chosen language, else the messenger's, else the shop's default."""
        chosen = customer.locale if customer is not None else None
        # A channel that tells no language with each message (WhatsApp) goes by what it last told.
        last = seen if isinstance(seen, str) else None
        default = self._shop.settings.default_locale
        return pick_locale(chosen, who.language_code, last, default=default)
