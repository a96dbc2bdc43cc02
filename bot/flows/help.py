"""Help: a question goes to the shop's staff; their answer comes back in this chat."""

from __future__ import annotations

from bot.flows import actions as a
from bot.flows.common import main_menu, menu_button
from bot.flows.context import Ctx, StaffQuestion
from bot.flows.router import FlowRouter
from bot.flows.types import Reply

router = FlowRouter("help")

ASKING = "help.question"
QUESTION_WIDTH = 2000


@router.command("help")
@router.press(a.HELP)
async def ask_question(ctx: Ctx, arg: str) -> list[Reply]:
    """Ask for the question (or take the one typed after /help)."""
    if ctx.staff is None:
        return [await main_menu(ctx, ctx._("Sorry, our team can't take questions here right now."))]
    if arg.strip() and not ctx.pressed:
        return await forward_question(ctx, arg)
    ctx.state.step = ASKING
    body = ctx._(
        "Write your question in one message, and we'll pass it to our team. The answer will come here."
    )
    return [ctx.text(body, [[menu_button(ctx)]], edit=False)]


@router.step(ASKING)
async def forward_question(ctx: Ctx, text: str) -> list[Reply]:
    """Pass the question to the staff."""
    ctx.state.step = ""
    if ctx.staff is None:
        return [await main_menu(ctx, ctx._("Sorry, our team can't take questions here right now."))]
    question = StaffQuestion(
        customer_id=ctx.customer_id,
        channel=ctx.who.channel,
        name=ctx.customer.contact_name or ctx.customer.display_name or ctx.who.display_name,
        text=text.strip()[:QUESTION_WIDTH],
        locale=ctx.locale,
    )
    await ctx.staff.forward(question)
    return [
        await main_menu(
            ctx, ctx._("Thank you! Your question is with our team; the answer will come here.")
        )
    ]
