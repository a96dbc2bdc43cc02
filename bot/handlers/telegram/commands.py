"""Commands: /start with or without a deep-link payload, /search, /cart, /orders, /language, /help, /stop."""

from __future__ import annotations

import re

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import BotCommand, Message

from bot.flows import types as flow
from bot.flows.engine import Conversations, Who
from bot.handlers.telegram.filters import in_private
from bot.handlers.telegram.outgoing import Outgoing
from shop.i18n import N_, Language

# The commands customers see in Telegram's menu, in this order, with their descriptions.
# Any command goes to the flows (/menu and /catalog too; /start with a deep link's
# payload), which say if they do not know it.
COMMANDS = {
    "start": N_("Main menu"),
    "search": N_("Search the catalog"),
    "cart": N_("Your cart"),
    "orders": N_("Your orders"),
    "language": N_("Change the language"),
    "help": N_("Ask us a question"),
    "stop": N_("Stop news and offers"),
}
ANY_COMMAND = re.compile(r"[A-Za-z0-9_]{1,32}$")


def build_router() -> Router:
    """Return this feature's router: commands in private chats."""
    router = Router(name=__name__)
    router.message.filter(in_private)
    router.message.register(on_command, Command(ANY_COMMAND))
    return router


def menu(locale: str) -> list[BotCommand]:
    """Return the command menu in `locale`, for set_my_commands."""
    lang = Language(locale)
    return [
        BotCommand(command=name, description=lang._(description))
        for name, description in COMMANDS.items()
    ]


async def on_command(
    message: Message,
    command: CommandObject,
    who: Who,
    conversations: Conversations,
    outgoing: Outgoing,
) -> None:
    """Pass a command and its argument to the flows: /start with a poster's code, /cart, ..."""
    event = flow.Command(command.command.lower(), (command.args or "").strip())
    replies = await conversations.handle(who, event)
    outgoing.put(message.chat.id, message.chat.id, replies)
