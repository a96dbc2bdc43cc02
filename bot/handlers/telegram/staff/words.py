"""Everything the bot says to staff, in English (the staff's language here), in one place.

Customers' words live in the gettext catalogs (locales/); these never reach a
customer. Names and questions typed by customers go out as plain text (no parse
mode), so nothing in them is taken as markup.
"""

from __future__ import annotations

from shop.i18n import Language
from shop.tickets import TicketView

ENGLISH = Language("en")


def alert(text: str) -> str:
    """Return an alert about something that needs the staff."""
    return f"⚠️ {text}"


def ticket(asked: TicketView) -> str:
    """Return a customer's question as staff see it, to be answered by a reply."""
    return (
        f"Ticket #{asked.id} from {asked.name or 'no name'} ({asked.channel}, {asked.locale}):\n\n"
        f"{asked.text}\n\nReply to this message to answer."
    )


def answered(ticket: TicketView) -> str:
    """Return the word that a staff member's answer went to the customer."""
    return f"Sent to {ticket.name or 'the customer'} (ticket #{ticket.id})."


def not_delivered(ticket: TicketView, error: Exception) -> str:
    """Return the word that an answer was recorded but could not reach the customer."""
    return f"Ticket #{ticket.id} is answered, but the answer did not reach the customer: {error}"


def already_answered(ticket: TicketView) -> str:
    """Return why a second answer to a ticket was not sent, with the first one."""
    when = ENGLISH.when(ticket.answered_at) if ticket.answered_at else "?"
    return (
        f"Ticket #{ticket.id} was already answered by {ticket.answered_by} on {when}:\n\n"
        f"{ticket.answer}\n\nYour reply was not sent."
    )
