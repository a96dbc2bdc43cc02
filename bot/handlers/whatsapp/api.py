"""Twilio's REST API, as the WhatsApp channel sends through it: paced, retried, its refusals named.

Messages are created with the twilio library's `Client` over its aiohttp client,
pointed at TWILIO_API_URL when set (a local Twilio in tests). Each message takes
its turn of the sender's budget (`bot.pace`), replies before pushes before
broadcasts. Twilio's "too many requests" (429, error 20429) and moments it cannot
be reached are waited out and tried again: a reply for about half a minute, since
the customer waits for it, a push a few times before it goes back to its durable
queue, which tries again later.
"""

from __future__ import annotations

import base64
import logging
from datetime import datetime
from typing import Any

import aiohttp
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, wait_exponential
from twilio.base.exceptions import TwilioException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from bot.delivery import RefusedError, RetryLaterError, UnreachableError
from bot.handlers.whatsapp.render import Outgoing
from bot.pace import URGENCY, Pace
from bot.settings import TwilioSettings
from shop.outbox import Urgency

log = logging.getLogger(__name__)

TWILIO_HOST = "https://api.twilio.com"
TIMEOUT = 15.0  # seconds for one request
REPLY_ATTEMPTS = 8  # a reply is tried this often (over about a minute) before it is given up
QUEUED_ATTEMPTS = 3  # a push or broadcast, before it goes back to its queue
TOO_MANY = 20429
LOOK_BACK = 50  # messages to a customer read back after a crash: more than one answer holds
# Refusals of the address, for good: not a WhatsApp number, not a valid one, opted out.
UNREACHABLE = frozenset({21211, 21614, 21610, 63003, 63024})
_backoff = wait_exponential(multiplier=0.5, max=8)


class _HostedClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """The library's aiohttp client, sending to another host than Twilio's where set."""

    def __init__(self, base_url: str | None) -> None:
        super().__init__(timeout=TIMEOUT)
        self._base = base_url.rstrip("/") if base_url else None

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        **kwargs: Any,
    ) -> Response:
        """Make the request at the configured host, its credentials in the Authorization header."""
        if self._base is not None and url.startswith(TWILIO_HOST):
            url = self._base + url[len(TWILIO_HOST) :]
        if auth is not None:  # aiohttp deprecates the BasicAuth object the library would make
            credentials = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            headers = {**(headers or {}), "Authorization": f"Basic {credentials}"}
        return await super().request(
            method, url, params=params, data=data, headers=headers, auth=None, **kwargs
        )


class TwilioApi:
    """Creates WhatsApp messages from the shop's sender, each in its turn of the budget."""

    def __init__(self, settings: TwilioSettings, pace: Pace, *, status_callback: str) -> None:
        """Send as TWILIO_WHATSAPP_FROM; Twilio reports on pushes at `status_callback`."""
        token = settings.auth_token
        if not settings.configured or token is None:
            raise ValueError("TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_WHATSAPP_FROM")
        self._http = _HostedClient(settings.api_url)
        client = Client(settings.account_sid, token.get_secret_value(), http_client=self._http)
        # The library loads its REST resources when first used, tens of milliseconds that
        # would hold the event loop (and every webhook) at a customer's first reply.
        self._messages = client.messages
        sender = str(settings.whatsapp_from)
        self._from = sender if sender.startswith("whatsapp:") else f"whatsapp:{sender}"
        self._pace = pace
        self._status_callback = status_callback

    async def create(self, to: str, message: Outgoing, *, report: bool = False) -> str:
        """Create one message to `to` (``whatsapp:+...``) when its turn comes; return its sid.

        With `report`, Twilio posts its delivery news of it to the status callback.

        Raises:
            UnreachableError: the address can never receive WhatsApp messages from us.
            RefusedError: Twilio refuses the message itself.
            RetryLaterError: Twilio asked to slow down, or could not be reached (a push).
        """
        urgency = URGENCY.get()
        params = message.params()
        if report:
            params["status_callback"] = self._status_callback
        retrying = AsyncRetrying(
            retry=retry_if_exception(_passing),
            stop=lambda state: (
                state.attempt_number
                >= (REPLY_ATTEMPTS if urgency is Urgency.REPLY else QUEUED_ATTEMPTS)
            ),
            wait=_backoff,
            before_sleep=_log_retry,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    await self._pace.turn(to, urgency)
                    created = await self._messages.create_async(to=to, from_=self._from, **params)
                    return str(created.sid)
        except TwilioException as error:
            raise _named(error) from error
        except (aiohttp.ClientError, TimeoutError) as error:
            raise RetryLaterError(f"Twilio could not be reached: {error!r}") from error
        raise AssertionError("unreachable")  # pragma: no cover - reraise ends the loop

    async def sent_since(self, to: str, since: datetime) -> list[tuple[str, bool]]:
        """Return what went to `to` since `since` (Twilio's clock), oldest first: each body, and if it had media.

        Raises:
            RetryLaterError: Twilio could not tell (refused or unreachable).
        """
        try:
            found = await self._messages.list_async(
                to=to, from_=self._from, limit=LOOK_BACK, page_size=LOOK_BACK
            )
        except (TwilioException, aiohttp.ClientError, TimeoutError) as error:
            raise RetryLaterError(f"Twilio could not list messages: {error!r}") from error
        # Newest first, and dated to the second: reversed, a stable sort keeps a second's order.
        created = [m for m in reversed(found) if m.date_created and m.date_created >= since]
        return [
            (m.body or "", (m.num_media or "0") != "0")
            for m in sorted(created, key=lambda m: m.date_created)
        ]

    async def close(self) -> None:
        """Close the HTTP session and the budget's connections."""
        await self._http.close()
        await self._pace.close()


def _passing(error: BaseException) -> bool:
    """Tell whether a failed request may succeed if made again soon (a moment of overload)."""
    if isinstance(error, aiohttp.ClientError | TimeoutError):
        return True
    if isinstance(error, TwilioException):
        status = getattr(error, "status", 0)
        return status == 429 or getattr(error, "code", None) == TOO_MANY or status >= 500
    return False


def _named(error: TwilioException) -> Exception:
    """Return Twilio's refusal as the delivery worker names it."""
    code = getattr(error, "code", None)
    reason = f"{code}: {getattr(error, 'msg', error)}"
    if _passing(error):
        return RetryLaterError(reason)
    if code in UNREACHABLE:
        return UnreachableError(reason)
    return RefusedError(reason)


def _log_retry(state: RetryCallState) -> None:
    """Say that a message waits to be tried again, and why."""
    error = state.outcome.exception() if state.outcome else None
    log.warning("a WhatsApp message: %r; again in %.1f s", error, state.upcoming_sleep)
