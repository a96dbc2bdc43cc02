"""The shop's one web server: health, payment pages and payment webhooks; channels add theirs.

`build_web_app(shop, extra_routes=...)` makes the aiohttp application; the
Telegram and WhatsApp webhooks join it as extra routes. `serve` runs it on
HTTP_HOST:HTTP_PORT (or on a socket the caller bound).
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterable

from aiohttp import web

from bot.wiring import Shop
from payments.hosted import LinkExpiredError, LinkNotFoundError
from payments.interface import PaymentError, UnknownProviderError, WebhookError
from payments.pages import FAILED, render_page, render_problem
from shop.i18n import Language, pick_locale

log = logging.getLogger(__name__)

SHOP = web.AppKey("shop", Shop)
WEBHOOK_BODY_LIMIT = 1024 * 1024
_HTML = "text/html"
_NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def build_web_app(
    shop: Shop, *, extra_routes: Iterable[web.AbstractRouteDef] = ()
) -> web.Application:
    """Return the web application: our routes, then the channels' `extra_routes`."""
    app = web.Application(client_max_size=WEBHOOK_BODY_LIMIT)
    app[SHOP] = shop
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


async def serve(
    app: web.Application, *, host: str, port: int, sock: socket.socket | None = None
) -> web.AppRunner:
    """Start serving `app` on `host`:`port` (or on `sock`); the caller cleans the runner up."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site: web.BaseSite = web.SockSite(runner, sock) if sock else web.TCPSite(runner, host, port)
    await site.start()
    return runner


async def healthz(request: web.Request) -> web.Response:
    """Answer that the server is up and its database answers."""
    shop = request.app[SHOP]
    await shop.catalog.revision()
    return web.json_response({"ok": True})


async def payment_webhook(request: web.Request) -> web.Response:
    """Verify a payment provider's webhook and act on it; refuse anything unsigned or forged."""
    shop = request.app[SHOP]
    provider = request.match_info["provider"]
    body = await request.read()
    try:
        confirmation = await shop.payments.settlement.handle_webhook(
            provider, body, request.headers
        )
    except UnknownProviderError:
        raise web.HTTPNotFound(text="no such payment provider") from None
    except WebhookError as error:
        log.warning("refused a %s webhook: %s", provider, error)
        raise web.HTTPBadRequest(text=f"refused: {error}") from None
    return web.json_response(
        {"outcome": confirmation.outcome.value, "order_id": confirmation.order_id}
    )


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
    form = await request.post()
    action = form.get("action")
    if action not in ("pay", "cancel"):
        raise web.HTTPBadRequest(text="action is pay or cancel")
    try:
        await shop.payments.pages.sandbox_act(token, str(action))
    except (LinkNotFoundError, LinkExpiredError) as error:
        return _problem(error, locale)
    except PaymentError:
        log.exception("the sandbox payment for %s was not confirmed", token[:6])
        page = await shop.payments.pages.page(token)
        html = render_page(page, locale, message=Language(locale)._(FAILED))
        return web.Response(text=html, status=502, content_type=_HTML, headers=_NO_STORE)
    raise web.HTTPSeeOther(location=request.rel_url.path)


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
