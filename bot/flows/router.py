"""A router per flow: which handler answers which button, command, typed word, answer or shared contact.

Each flow module makes a `FlowRouter` and registers its handlers; the engine
combines the routers in one visible order (bot/flows/routes.py) and refuses two
handlers for the same thing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from bot.flows.context import Ctx
from bot.flows.types import Reply, SharedContact

Handler = Callable[[Ctx, str], Awaitable[list[Reply]]]
ContactHandler = Callable[[Ctx, SharedContact], Awaitable[list[Reply]]]
H = TypeVar("H")


@dataclass(frozen=True, slots=True)
class PressRoute:
    """A button's handler; `within` names the flow whose steps it belongs to.

    "" marks navigation (it ends any question), "*" a button valid anywhere that
    leaves the question as it is.
    """

    handler: Handler
    within: str = ""


@dataclass
class FlowRouter:
    """The handlers of one flow."""

    name: str
    presses: dict[str, PressRoute] = field(default_factory=dict)
    commands: dict[str, Handler] = field(default_factory=dict)
    words: dict[str, Handler] = field(default_factory=dict)
    steps: dict[str, Handler] = field(default_factory=dict)
    contacts: dict[str, ContactHandler] = field(default_factory=dict)
    fallback: Handler | None = None

    def press(self, action: str, *, within: str = "") -> Callable[[Handler], Handler]:
        """Register the handler of a button.

        Navigation buttons (no `within`) end any question the shop was waiting on;
        a button `within` a flow is only valid while that flow is asking, and keeps it;
        `within="*"` is valid anywhere and keeps whatever is being asked.
        """

        def register(handler: Handler) -> Handler:
            self.presses[action] = PressRoute(handler, within)
            return handler

        return register

    def command(self, name: str) -> Callable[[Handler], Handler]:
        """Register the handler of a command (its argument is the text after it)."""
        return _registrar(self.commands, name)

    def word(self, *words: str) -> Callable[[Handler], Handler]:
        """Register the handler of a message that is one of `words` alone (any case), as a command.

        Such a message ends any question the shop was waiting on, wherever it is typed.
        """

        def register(handler: Handler) -> Handler:
            for word in words:
                self.words[word.lower()] = handler
            return handler

        return register

    def step(self, step: str) -> Callable[[Handler], Handler]:
        """Register the handler of the text typed while the shop waits at `step`."""
        return _registrar(self.steps, step)

    def contact(self, step: str) -> Callable[[ContactHandler], ContactHandler]:
        """Register the handler of a contact shared while the shop waits at `step`."""
        return _registrar(self.contacts, step)

    def text(self, handler: Handler) -> Handler:
        """Register the handler of text typed when the shop is not waiting for anything."""
        self.fallback = handler
        return handler


@dataclass
class Routes:
    """Every flow's handlers, combined; each key answered by exactly one flow."""

    presses: dict[str, PressRoute] = field(default_factory=dict)
    commands: dict[str, Handler] = field(default_factory=dict)
    words: dict[str, Handler] = field(default_factory=dict)
    steps: dict[str, Handler] = field(default_factory=dict)
    contacts: dict[str, ContactHandler] = field(default_factory=dict)
    fallback: Handler | None = None

    @classmethod
    def combine(cls, routers: Iterable[FlowRouter]) -> Routes:
        """Combine routers in order; raise ValueError if two answer the same thing."""
        routes = cls()
        for router in routers:
            for kind in ("presses", "commands", "words", "steps", "contacts"):
                mine, theirs = getattr(routes, kind), getattr(router, kind)
                clash = mine.keys() & theirs.keys()
                if clash:
                    raise ValueError(f"{router.name}: {kind} {sorted(clash)} are already routed")
                mine.update(theirs)
            if router.fallback is not None:
                if routes.fallback is not None:
                    raise ValueError(f"{router.name}: free text is already routed")
                routes.fallback = router.fallback
        return routes


def _registrar(table: dict[str, H], key: str) -> Callable[[H], H]:
    """Return a decorator that files a handler in `table` under `key`."""

    def register(handler: H) -> H:
        table[key] = handler
        return handler

    return register
