"""Our replies as Telegram messages: text and photos with inline keyboards, albums, invoices, contact requests.

A reply with `edit=True` replaces the message whose button was pressed, so
navigation does not flood the chat: text by `editMessageText`; a photo card by
`editMessageCaption` when the picture stays and `editMessageMedia` when it
changes. A message that cannot take the edit (a photo to become text, or too old
or gone) gets a fresh message instead; an edit to the very same content is
already done. An album goes as a media group (`sendMediaGroup`, ten photos to a group).
Every request takes its turn of the bot's budget in the session (`paced`).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    KeyboardButton,
    LabeledPrice,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from aiogram.types.media_union import MediaUnion

from bot.flows.types import (
    Album,
    Button,
    ContactRequest,
    Image,
    Keyboard,
    PaymentRequest,
    Reply,
    Text,
)
from bot.handlers.telegram.callbacks import ButtonSigner
from payments.interface import TelegramInvoice

log = logging.getLogger(__name__)

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
ALBUM_LIMIT = 10  # photos in one media group
NOT_MODIFIED = "message is not modified"
BUTTONS_KEPT = 65_536


@dataclass(frozen=True, slots=True)
class Origin:
    """The message a pressed button was on: where a reply with `edit=True` goes."""

    chat_id: int
    message_id: int
    has_media: bool


class Renderer:
    """Sends a conversation's replies to one Telegram chat."""

    def __init__(self, bot: Bot, buttons: ButtonSigner, *, remembered: int = 10_000) -> None:
        self.bot = bot
        self._buttons = buttons
        # Which picture each of our recent photo messages shows, to edit only its caption
        # when the picture stays (a lost entry just means replacing the media).
        self._pictures: OrderedDict[tuple[int, int], str] = OrderedDict()
        self._remembered = remembered
        # The same buttons are shown to a customer again and again (menu, back, cart): build
        # each once. aiogram's objects are frozen, so one can go out in many messages.
        self._button = lru_cache(maxsize=BUTTONS_KEPT)(self._make_button)

    async def send(
        self,
        chat_id: int,
        user_id: int,
        replies: Sequence[Reply],
        *,
        origin: Origin | None = None,
        remove_keyboard: bool = False,
        stale: bool = False,
    ) -> list[int]:
        """Send `replies` in order; the first one asking to edit replaces `origin`.

        With `stale`, that edit is left out: a newer one replaces `origin` after these.
        Returns the ids of the messages sent (not of one edited).
        """
        sent: list[int] = []
        for reply in replies:
            if (
                origin is not None
                and isinstance(reply, Text | Image)
                and reply.edit
                and (stale or await self._edit(origin, user_id, reply))
            ):
                origin = None
                continue
            if isinstance(reply, Text | Image) and reply.edit:
                origin = None  # one message is edited at most; the rest are sent
            remove = remove_keyboard and not _has_buttons(reply)
            sent.extend(await self._send(chat_id, user_id, reply, remove_keyboard=remove))
            remove_keyboard = remove_keyboard and not remove
        return sent

    def keyboard(self, user_id: int, rows: Keyboard) -> InlineKeyboardMarkup | None:
        """Return an inline keyboard of our buttons, their callback data signed for `user_id`."""
        built = [[self._button(user_id, button) for button in row] for row in rows if row]
        return InlineKeyboardMarkup(inline_keyboard=built) if built else None

    def _make_button(self, user_id: int, button: Button) -> InlineKeyboardButton:
        if button.url:
            return InlineKeyboardButton(text=button.label, url=button.url)
        if button.inline_query is not None:
            return InlineKeyboardButton(
                text=button.label, switch_inline_query_current_chat=button.inline_query
            )
        data = self._buttons.pack(user_id, button.action, button.arg)
        return InlineKeyboardButton(text=button.label, callback_data=data)

    async def _send(
        self, chat_id: int, user_id: int, reply: Reply, *, remove_keyboard: bool
    ) -> list[int]:
        """Send one reply as a new message (or two: the words, then the invoice); return their ids."""
        remove = ReplyKeyboardRemove(remove_keyboard=True) if remove_keyboard else None
        if isinstance(reply, Text):
            markup = self.keyboard(user_id, reply.buttons) or remove
            text = clip(reply.text, TEXT_LIMIT)
            return [(await self.bot.send_message(chat_id, text, reply_markup=markup)).message_id]
        if isinstance(reply, Image):
            return [await self._send_photo(chat_id, user_id, reply, remove)]
        if isinstance(reply, Album):
            return await self._send_album(chat_id, reply)
        if isinstance(reply, ContactRequest):
            share = KeyboardButton(text=reply.button_label, request_contact=True)
            contact = ReplyKeyboardMarkup(
                keyboard=[[share]], resize_keyboard=True, one_time_keyboard=True
            )
            return [
                (await self.bot.send_message(chat_id, reply.text, reply_markup=contact)).message_id
            ]
        return await self._send_payment(chat_id, reply, remove)

    async def _send_photo(
        self, chat_id: int, user_id: int, reply: Image, remove: ReplyKeyboardRemove | None
    ) -> int:
        markup = self.keyboard(user_id, reply.buttons) or remove
        caption = clip(reply.caption, CAPTION_LIMIT)
        try:
            sent = await self.bot.send_photo(
                chat_id, reply.url, caption=caption, reply_markup=markup
            )
        except TelegramBadRequest as error:  # Telegram could not fetch the picture: words only
            log.warning("cannot send the photo %s: %s", reply.url, error.message)
            words = await self.bot.send_message(
                chat_id, clip(reply.caption, TEXT_LIMIT), reply_markup=markup
            )
            return words.message_id
        self._remember(chat_id, sent.message_id, reply.url)
        return sent.message_id

    async def _send_album(self, chat_id: int, reply: Album) -> list[int]:
        """Send photos as media groups, the caption on the first; their links if Telegram cannot fetch one."""
        caption = clip(reply.caption, CAPTION_LIMIT) or None
        sent: list[int] = []
        try:
            for start in range(0, len(reply.urls), ALBUM_LIMIT):
                group = reply.urls[start : start + ALBUM_LIMIT]
                said = caption if start == 0 else None
                if len(group) == 1:  # a media group holds two photos at least
                    photo = await self.bot.send_photo(chat_id, group[0], caption=said)
                    sent.append(photo.message_id)
                    continue
                media: list[MediaUnion] = [
                    InputMediaPhoto(media=url, caption=said if n == 0 else None)
                    for n, url in enumerate(group)
                ]
                sent.extend(m.message_id for m in await self.bot.send_media_group(chat_id, media))
        except TelegramBadRequest as error:
            log.warning("cannot send the album of %s: %s", reply.urls[0], error.message)
            links = clip("\n".join([reply.caption, *reply.urls]).strip(), TEXT_LIMIT)
            sent.append((await self.bot.send_message(chat_id, links)).message_id)
        return sent

    async def _send_payment(
        self, chat_id: int, reply: PaymentRequest, remove: ReplyKeyboardRemove | None
    ) -> list[int]:
        start = reply.start
        if start.invoice is not None:
            sent = []
            if reply.text:
                words = await self.bot.send_message(chat_id, reply.text, reply_markup=remove)
                sent.append(words.message_id)
            sent.append(await self._send_invoice(chat_id, start.invoice))
            return sent
        markup: InlineKeyboardMarkup | ReplyKeyboardRemove | None = remove
        if start.url:
            pay = InlineKeyboardButton(text=reply.button_label, url=start.url)
            markup = InlineKeyboardMarkup(inline_keyboard=[[pay]])
        return [(await self.bot.send_message(chat_id, reply.text, reply_markup=markup)).message_id]

    async def _send_invoice(self, chat_id: int, invoice: TelegramInvoice) -> int:
        """Send a Telegram invoice: a card provider's, or Stars (XTR, no provider token)."""
        sent = await self.bot.send_invoice(
            chat_id=chat_id,
            title=invoice.title,
            description=invoice.description,
            payload=invoice.payload,
            currency=invoice.currency,
            prices=[LabeledPrice(label=p.label, amount=p.amount) for p in invoice.prices],
            provider_token=invoice.provider_token or None,
            need_name=invoice.need_name or None,
            need_phone_number=invoice.need_phone_number or None,
            need_email=invoice.need_email or None,
            need_shipping_address=invoice.need_shipping_address or None,
            is_flexible=invoice.is_flexible or None,
            photo_url=invoice.photo_url,
        )
        return sent.message_id

    async def _edit(self, origin: Origin, user_id: int, reply: Text | Image) -> bool:
        """Replace `origin` with `reply`; False when that message cannot become it."""
        markup = self.keyboard(user_id, reply.buttons)
        chat, message = origin.chat_id, origin.message_id
        try:
            if isinstance(reply, Text):
                if origin.has_media:
                    return False  # a photo cannot turn into text
                await self.bot.edit_message_text(
                    text=clip(reply.text, TEXT_LIMIT),
                    chat_id=chat,
                    message_id=message,
                    reply_markup=markup,
                )
                return True
            if not origin.has_media:
                return False  # text cannot turn into a photo
            caption = clip(reply.caption, CAPTION_LIMIT)
            if self._pictures.get((chat, message)) == reply.url:
                await self.bot.edit_message_caption(
                    chat_id=chat, message_id=message, caption=caption, reply_markup=markup
                )
            else:
                await self.bot.edit_message_media(
                    media=InputMediaPhoto(media=reply.url, caption=caption),
                    chat_id=chat,
                    message_id=message,
                    reply_markup=markup,
                )
                self._remember(chat, message, reply.url)
        except TelegramBadRequest as error:
            if NOT_MODIFIED in error.message:
                return True  # it already shows exactly this
            log.info("cannot edit message %s, sending anew: %s", message, error.message)
            return False
        return True

    def _remember(self, chat_id: int, message_id: int, url: str) -> None:
        self._pictures[(chat_id, message_id)] = url
        self._pictures.move_to_end((chat_id, message_id))
        while len(self._pictures) > self._remembered:
            self._pictures.popitem(last=False)


def _has_buttons(reply: Reply) -> bool:
    """Tell whether a reply carries its own keyboard (which leaves no room to remove another)."""
    if isinstance(reply, Text | Image):
        return any(reply.buttons)
    if isinstance(reply, Album):
        return False
    return isinstance(reply, ContactRequest) or reply.start.url is not None


def clip(value: str, limit: int) -> str:
    """Return `value` cut to `limit` characters, an ellipsis marking the cut."""
    return value if len(value) <= limit else value[: limit - 1] + "…"
