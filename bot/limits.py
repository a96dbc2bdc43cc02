"""What one request may cost the web server: a body limit per route, a bound on requests in hand.

A flood of large unsigned POSTs must not grow the server. A body longer than its
route allows is refused (413) by its Content-Length, before a byte of it is read,
and one sent without a length is read only up to the limit. A group of routes
handles at most so many requests at once and tells the next to come back (503
with Retry-After) at once, instead of holding their bodies while they wait.
"""

from __future__ import annotations

import logging
from types import TracebackType

from aiohttp import web

log = logging.getLogger(__name__)


def limited(request: web.Request, limit: int) -> web.Request:
    """Return `request` reading at most `limit` bytes of body; refuse a longer declared one at once.

    Raises:
        web.HTTPRequestEntityTooLarge: the request says its body is longer than `limit`.
    """
    size = request.content_length
    if size is not None and size > limit:
        log.warning("refused %s: a body of %d bytes, over its %d", request.path, size, limit)
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=size)
    # aiohttp reads a body in chunks as large as the limit: the app-wide one would be too big.
    return request.clone(client_max_size=limit)


class Gate:
    """Lets at most `size` requests of a group in at once; the next is told to retry later (503).

    Use as ``with gate:`` around reading and handling a request's body.
    """

    def __init__(self, name: str, size: int, retry_after: int = 1) -> None:
        self.name = name
        self.size = size
        self.retry_after = retry_after
        self._inside = 0

    def __enter__(self) -> None:
        if self._inside >= self.size:
            log.warning("%s: %d requests in hand, the next told to retry", self.name, self.size)
            raise web.HTTPServiceUnavailable(
                text="busy, retry later", headers={"Retry-After": str(self.retry_after)}
            )
        self._inside += 1

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._inside -= 1
