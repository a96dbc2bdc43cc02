"""A Twilio on loopback: the Messages REST resource as the twilio library calls it, and signed webhooks.

`FakeTwilio` serves ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` (and
its ``GET``, the messages sent, newest first) with
HTTP Basic auth (the account sid and auth token), reads the form fields Twilio
reads (To, From, Body, MediaUrl, ContentSid, ContentVariables, StatusCallback),
refuses what Twilio refuses (a body over 1,600 characters, no content, a wrong
sender), and answers with a Message resource. It can be told to answer "too many
requests" (429, error 20429) for a while. It also plays Twilio's side of the
webhooks: a customer's message posted to the shop (`customer_says`) and status
callbacks for messages sent (`report`), each signed as Twilio signs them
(`X-Twilio-Signature`, HMAC-SHA1 of the URL and sorted fields with the auth token).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import secrets
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime

import aiohttp
from aiohttp import web
from twilio.request_validator import RequestValidator

from tests.payment_support import free_socket

ACCOUNT_SID = "AC" + "0" * 31 + "1"
AUTH_TOKEN = "test-twilio-auth-token"
SENDER = "whatsapp:+14155238886"
BODY_LIMIT = 1600


@dataclass
class Sent:
    """One message the shop created through the REST API."""

    sid: str
    to: str
    body: str
    media: list[str]
    content_sid: str | None
    variables: dict[str, str]
    status_callback: str | None
    created: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def words(self) -> str:
        """What the customer reads: the body, or a template's variables."""
        return self.body or "\n".join(self.variables.values())


@dataclass
class FakeTwilio:
    """The REST API on loopback, and Twilio's webhooks to the shop."""

    url: str = ""
    sent: list[Sent] = field(default_factory=list)
    too_many: int = 0  # how many next requests to answer 429
    requests: int = 0
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition)
    _sids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{account}/Messages.json", self._create)
        app.router.add_get("/2010-04-01/Accounts/{account}/Messages.json", self._list)
        return app

    async def _list(self, request: web.Request) -> web.Response:
        """Read messages sent, newest first, as Twilio lists them (To and From filters, one page)."""
        if not self._authorized(request):
            return _error(401, 20003, "Authenticate")
        to, sender = request.query.get("To"), request.query.get("From")
        size = int(request.query.get("PageSize", "50"))
        found = [
            m
            for m in reversed(self.sent)
            if (to is None or m.to == to) and (sender is None or sender == SENDER)
        ][:size]
        path = request.path
        return web.json_response(
            {
                "messages": [_resource(m) for m in found],
                "first_page_uri": f"{path}?PageSize={size}&Page=0",
                "next_page_uri": None,
                "previous_page_uri": None,
                "page": 0,
                "page_size": size,
                "uri": f"{path}?PageSize={size}&Page=0",
                "start": 0,
                "end": max(0, len(found) - 1),
            }
        )

    def _authorized(self, request: web.Request) -> bool:
        expected = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        return (
            request.headers.get("Authorization") == f"Basic {expected}"
            and request.match_info["account"] == ACCOUNT_SID
        )

    async def _create(self, request: web.Request) -> web.Response:
        self.requests += 1
        if not self._authorized(request):
            return _error(401, 20003, "Authenticate")
        if self.too_many > 0:
            self.too_many -= 1
            return _error(429, 20429, "Too Many Requests")
        form = await request.post()
        body = str(form.get("Body", ""))
        media = [str(url) for url in form.getall("MediaUrl", [])]
        content = form.get("ContentSid")
        if str(form.get("From")) != SENDER:
            return _error(
                400, 21606, "The From phone number is not a valid sender for your account"
            )
        if not str(form.get("To", "")).startswith("whatsapp:"):
            return _error(400, 21211, "Invalid 'To' Phone Number")
        if len(body) > BODY_LIMIT:
            return _error(
                400, 21617, "The concatenated message body exceeds the 1600 character limit"
            )
        if not (body or media or content):
            return _error(400, 21619, "A text message body, media URL or content SID is required")
        message = Sent(
            sid=f"SM{next(self._sids):032x}",
            to=str(form["To"]),
            body=body,
            media=media,
            content_sid=str(content) if content else None,
            variables=json.loads(str(form.get("ContentVariables", "{}"))),
            status_callback=str(form["StatusCallback"]) if "StatusCallback" in form else None,
        )
        async with self._arrived:
            self.sent.append(message)
            self._arrived.notify_all()
        return web.json_response(
            _resource(message),
            status=201,
        )

    async def wait_for(self, count: int, *, to: str | None = None) -> list[Sent]:
        """Wait until `count` messages (to `to`) have been created; return them all."""

        def mine() -> list[Sent]:
            return [m for m in self.sent if to is None or m.to == to]

        async with asyncio.timeout(15), self._arrived:
            await self._arrived.wait_for(lambda: len(mine()) >= count)
        return mine()

    async def report(self, message: Sent, status: str, *, error: int | None = None) -> int:
        """Post a status callback for a message, signed; return the shop's HTTP status."""
        assert message.status_callback is not None, "the shop asked for no status callback"
        form = {
            "MessageSid": message.sid,
            "SmsSid": message.sid,
            "MessageStatus": status,
            "SmsStatus": status,
            "AccountSid": ACCOUNT_SID,
            "From": SENDER,
            "To": message.to,
            "ApiVersion": "2010-04-01",
            "ChannelPrefix": "whatsapp",
        }
        if error is not None:
            form["ErrorCode"] = str(error)
        return await post_signed(message.status_callback, form)


def customer_form(
    number: str,
    body: str = "",
    *,
    name: str = "Ann",
    sid: str | None = None,
    **fields: str,
) -> dict[str, str]:
    """Return the form Twilio posts for a WhatsApp message from `number` (digits)."""
    return {
        "SmsMessageSid": sid or new_sid(),
        "MessageSid": sid or new_sid(),
        "AccountSid": ACCOUNT_SID,
        "MessagingServiceSid": "",
        "From": f"whatsapp:+{number}",
        "To": SENDER,
        "WaId": number,
        "ProfileName": name,
        "Body": body,
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
        "ChannelMetadata": "{}",
        **fields,
    }


def new_sid() -> str:
    """Return a fresh message sid, as Twilio makes them."""
    return "SM" + secrets.token_hex(16)


def signature(url: str, form: Mapping[str, str], token: str = AUTH_TOKEN) -> str:
    """Return the X-Twilio-Signature Twilio sends with `form` posted to `url`."""
    return str(RequestValidator(token).compute_signature(url, dict(form)))


async def post_signed(
    url: str,
    form: Mapping[str, str],
    *,
    sign_as: str | None = None,
    token: str = AUTH_TOKEN,
    headers: Mapping[str, str] | None = None,
    session: aiohttp.ClientSession | None = None,
) -> int:
    """Post `form` to `url` signed as Twilio signs it for `sign_as` (the URL it was given; default `url`)."""
    signed = {"X-Twilio-Signature": signature(sign_as or url, form, token), **(headers or {})}
    if session is not None:
        async with session.post(url, data=dict(form), headers=signed) as answer:
            return answer.status
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, data=dict(form), headers=signed) as answer,
    ):
        return answer.status


def _resource(message: Sent) -> dict[str, str]:
    """Return a Message resource as Twilio's REST API gives it."""
    return {
        "sid": message.sid,
        "account_sid": ACCOUNT_SID,
        "to": message.to,
        "from": SENDER,
        "body": message.body,
        "status": "queued",
        "num_media": str(len(message.media)),
        "num_segments": "1",
        "direction": "outbound-api",
        "api_version": "2010-04-01",
        "date_created": format_datetime(message.created, usegmt=True),
        "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{message.sid}.json",
    }


def _error(status: int, code: int, message: str) -> web.Response:
    """Return an error as Twilio's REST API words it."""
    return web.json_response(
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
        status=status,
    )


@asynccontextmanager
async def fake_twilio(fake: FakeTwilio | None = None) -> AsyncIterator[FakeTwilio]:
    """Run a fake Twilio (`fake`, or a plain one) on a free loopback port."""
    fake = fake or FakeTwilio()
    sock = free_socket()
    runner = web.AppRunner(fake.app(), access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    fake.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    try:
        yield fake
    finally:
        await runner.cleanup()
