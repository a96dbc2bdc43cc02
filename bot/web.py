"""The shop's one web server: health, payment pages and payment webhooks; channels add theirs.

`build_web_app(shop, extra_routes=...)` makes the aiohttp application; the
Telegram and WhatsApp webhooks join it as extra routes. `serve` runs it on
HTTP_HOST:HTTP_PORT (or on a socket the caller bound).

Each route reads no more body than it needs (see `bot.limits`): a payment
webhook is refused on its headers alone when it is unsigned or stale, then read
up to its provider's limit, and only so many are handled at once.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import Iterable

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from bot.limits import Gate, limited
from bot.services import Shop
from payments.hosted import LinkExpiredError, LinkNotFoundError
from payments.interface import PaymentError, UnknownProviderError, WebhookError, WebhookScreen
from payments.pages import FAILED, render_page, render_problem
from shop.i18n import Language, pick_locale

log = logging.getLogger(__name__)

SHOP = web.AppKey("shop", Shop)
WEBHOOKS = web.AppKey("payment webhooks", Gate)
# Routes that name no limit of their own (a Twilio webhook is a form of a few KB).
BODY_LIMIT = 64 * 1024
# The payment page's form is one field, "action=pay", a few hundred bytes even as multipart.
FORM_LIMIT = 4 * 1024
# Payment webhooks handled at once: providers deliver a few at a time; a flood waits outside.
WEBHOOK_SLOTS = 32
# How long a stop lets requests in hand finish (a Telegram update being handled is one);
# those cut off were not acknowledged, so their senders send them again.
SHUTDOWN_SECONDS = 10.0
# The kernel's receive buffer of each connection. Autotuned, it grows to megabytes, and
# asyncio reads up to 256 KB at a time: a thousand connections pushing bodies that will be
# refused unread held 256 MB before a handler could refuse one. Our requests are a few KB
# (the largest route takes 256 KB), and 32 KB lets them in within a round trip or a few.
RECEIVE_BUFFER = 32 * 1024
_HTML = "text/html"
_NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def build_web_app(
    shop: Shop, *, extra_routes: Iterable[web.AbstractRouteDef] = ()
) -> web.Application:
    """Return the web application: our routes, then the channels' `extra_routes`."""
    app = web.Application(client_max_size=BODY_LIMIT)
    app[SHOP] = shop
    app[WEBHOOKS] = Gate("payment webhooks", WEBHOOK_SLOTS)
    app.add_routes(
        [
            web.get("/healthz", healthz),
            web.get("/pay/{token}", payment_page),
            web.post("/pay/{token}", payment_action),
            web.post("/payments/{provider}/webhook", payment_webhook),
            *extra_routes,
        ]
    )

    async def close_payments(_app: web.Application) -> None:
        await shop.payments.close()

    app.on_cleanup.append(close_payments)
    return app


class ListenError(Exception):
    """The web server cannot listen where it is told; the message says why, in words."""


async def serve(
    app: web.Application, *, host: str, port: int, sock: socket.socket | None = None
) -> web.AppRunner:
    """Start serving `app` on `host`:`port` (or on `sock`); the caller cleans the runner up.

    Raises:
        ListenError: the address is taken by another program, or cannot be listened on.
    """
    if sock is None:
        try:
            sock = await _listening(host, port)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise ListenError(f"{host}:{port} is already in use") from None
            raise ListenError(f"{host}:{port}: {error.strerror or error}") from None
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_SECONDS)
    await runner.setup()
    # Set on the listening socket, it is every accepted connection's from its first byte.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
    await web.SockSite(runner, sock).start()
    return runner


async def _listening(host: str, port: int) -> socket.socket:
    """Return a socket listening on `host`:`port` (the first address a host name has)."""
    family, _, _, _, address = (
        await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    )[0]
    return socket.create_server(address, family=family)


async def healthz(request: web.Request) -> web.Response:
    """Answer that the server is up and its database answers."""
    shop = request.app[SHOP]
    await shop.catalog.revision()
    return web.json_response({"ok": True})


async def payment_webhook(request: web.Request) -> web.Response:
    """Verify a payment provider's webhook and act on it; refuse anything unsigned or forged.

    The signature header is looked at before the body is read, and the body is read
    only up to the provider's limit, so a flood of junk costs the server its headers.
    """
    shop = request.app[SHOP]
    name = request.match_info["provider"]
    provider = shop.payments.providers.get(name)
    if not isinstance(provider, WebhookScreen):
        raise web.HTTPNotFound(text="no such payment provider")
    try:
        provider.screen(request.headers)
    except WebhookError as error:
        raise _refused(name, error) from None
    bounded = limited(request, provider.max_body)
    with request.app[WEBHOOKS]:
        body = await bounded.read()
        try:
            confirmation = await shop.payments.settlement.handle_webhook(
                name, body, request.headers
            )
        except UnknownProviderError:
            raise web.HTTPNotFound(text="no such payment provider") from None
        except WebhookError as error:
            raise _refused(name, error) from None
    return web.json_response(
        {"outcome": confirmation.outcome.value, "order_id": confirmation.order_id}
    )


def _refused(provider: str, error: WebhookError) -> web.HTTPBadRequest:
    """Return the answer to a webhook that proves nothing, and log it in one line."""
    log.warning("refused a %s webhook: %s", provider, error)
    return web.HTTPBadRequest(text=f"refused: {error}")


async def payment_page(request: web.Request) -> web.Response:
    """Show a payment's page: the order and Pay / Cancel, or how the payment stands."""
    shop = request.app[SHOP]
    locale = _locale(request)
    returned = request.query.get("result") == "success"
    try:
        page = await shop.payments.pages.page(request.match_info["token"], returned=returned)
    except (LinkNotFoundError, LinkExpiredError) as error:
        return _problem(error, locale)
    return web.Response(text=render_page(page, locale), content_type=_HTML, headers=_NO_STORE)


async def payment_action(request: web.Request) -> web.Response:
    """Press Pay or Cancel on the sandbox page, then show the page again (post/redirect/get)."""
    shop = request.app[SHOP]
    locale = _locale(request)
    token = request.match_info["token"]
    action = await _action(request)
    try:
        await shop.payments.pages.sandbox_act(token, action)
    except (LinkNotFoundError, LinkExpiredError) as error:
        return _problem(error, locale)
    except PaymentError:
        log.exception("the sandbox payment for %s was not confirmed", token[:6])
        page = await shop.payments.pages.page(token)
        html = render_page(page, locale, message=Language(locale)._(FAILED))
        return web.Response(text=html, status=502, content_type=_HTML, headers=_NO_STORE)
    raise web.HTTPSeeOther(location=request.rel_url.path)


async def _action(request: web.Request) -> str:
    """Return the button the payment page's form says was pressed; refuse any other form (400)."""
    try:
        form = await limited(request, FORM_LIMIT).post()
    except (ValueError, HttpProcessingError) as error:  # aiohttp's parsers, on a cut-off body
        log.warning("refused a form posted to %s: %s", request.path, error)
        raise web.HTTPBadRequest(text="a broken form") from None
    action = form.get("action")
    if action not in ("pay", "cancel"):
        raise web.HTTPBadRequest(text="action is pay or cancel")
    return str(action)


def _problem(error: PaymentError, locale: str) -> web.Response:
    expired = isinstance(error, LinkExpiredError)
    html = render_problem("expired" if expired else "not_found", locale)
    return web.Response(
        text=html, status=410 if expired else 404, content_type=_HTML, headers=_NO_STORE
    )


def _locale(request: web.Request) -> str:
    """Return the first language of the browser's Accept-Language the shop speaks, else its default."""
    shop = request.app[SHOP]
    hints = request.headers.get("Accept-Language", "").split(",")
    return pick_locale(*hints, default=shop.settings.default_locale)
