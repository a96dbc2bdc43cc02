"""Charts for `chatshop report funnel|sales --png`: drawn by matplotlib off screen (Agg)."""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from shop.analytics import STEPS
from shop.funnel import Funnel, FunnelReport
from shop.money import format_money, minor_digits
from shop.sales import SalesReport, SalesRow

matplotlib.use("Agg")  # no display: a file is drawn, never a window
matplotlib.rcParams["text.parse_math"] = False  # prices carry "$": plain text, never TeX

_BLUE, _GREY, _GREEN = "#2a6fdb", "#5f6b7a", "#2e9e5b"
_MOST_SHOWN = 8  # channels, sources or categories beyond this many are left out of a chart


def funnel_png(report: FunnelReport, title: str) -> bytes:
    """Return a PNG: the funnel as centred bars with each step's conversion, then channels and sources."""
    figure = Figure(figsize=(11, 7.5), layout="constrained")
    grid = figure.add_gridspec(2, 2, height_ratios=(3, 2))
    _funnel_bars(figure.add_subplot(grid[0, :]), report.overall, _summary(report))
    _shares(figure.add_subplot(grid[1, 0]), "By channel", report.by_channel)
    sources = {name or "(none)": funnel for name, funnel in report.by_source.items()}
    _shares(figure.add_subplot(grid[1, 1]), "By source", sources)
    figure.suptitle(title, fontsize=14, fontweight="bold")
    return _png(figure)


def sales_png(report: SalesReport, title: str) -> bytes:
    """Return a PNG: revenue and orders by day, revenue by category and by source."""
    currency = _main_currency(report.total)
    figure = Figure(figsize=(11, 7.5), layout="constrained")
    grid = figure.add_gridspec(2, 2)
    days = figure.add_subplot(grid[0, :])
    shown = [row for row in report.by_day if row.currency == currency]
    labels = [str(row.key) for row in shown]
    days.bar(labels, [_major(row.revenue, currency) for row in shown], color=_BLUE)
    days.set_ylabel(f"Revenue, {currency}")
    days.set_title("Revenue (bars) and orders (line) by day", loc="left")
    days.tick_params(axis="x", labelrotation=45 if len(labels) > 7 else 0)
    orders = days.twinx()
    orders.plot(labels, [row.orders for row in shown], color=_GREEN, marker="o")
    orders.set_ylabel("Orders")
    orders.set_ylim(bottom=0)
    orders.yaxis.set_major_locator(MaxNLocator(integer=True))
    _revenue_bars(figure.add_subplot(grid[1, 0]), "By category", report.by_category, currency)
    _revenue_bars(figure.add_subplot(grid[1, 1]), "By source", report.by_source, currency)
    totals = ", ".join(
        f"{format_money(row.revenue, row.currency)} in {row.orders} orders"
        f" (average {format_money(row.average_order, row.currency)})"
        for row in report.total
    )
    figure.suptitle(f"{title}\n{totals or 'no paid orders'}", fontsize=13, fontweight="bold")
    return _png(figure)


def _funnel_bars(axes: Axes, funnel: Funnel, summary: str) -> None:
    """Draw the steps as bars centred on one axis, widest first, with counts and conversions."""
    widest = max(*funnel.customers, 1)
    names = list(STEPS)
    places = list(range(len(names)))[::-1]
    lefts = [(widest - n) / 2 for n in funnel.customers]
    axes.barh(places, funnel.customers, left=lefts, color=_BLUE, height=0.72)
    axes.set_yticks(places, [name.capitalize() for name in names], fontsize=12)
    axes.set_xlim(0, widest * 1.35)  # the right margin holds each step's conversion
    axes.set_xticks([])
    for side in ("top", "right", "bottom", "left"):
        axes.spines[side].set_visible(False)
    for place, step in zip(places, funnel.steps(), strict=True):
        axes.text(widest / 2, place, f"{step['customers']:,}", ha="center", va="center",
                  color="white" if step["customers"] > widest * 0.12 else "black",
                  fontsize=12, fontweight="bold")  # fmt: skip
        if step["conversion"] is not None:
            note = f"{step['conversion']:.0%} of the step above\n{step['drop_off']:,} dropped off"
            axes.text(widest * 1.02, place, note, ha="left", va="center", color=_GREY, fontsize=10)
    axes.set_title(summary, loc="left", fontsize=10, color="#333333")


def _shares(axes: Axes, title: str, funnels: dict[str, Funnel]) -> None:
    """Draw, per channel or source, the share of its visitors who reached each step."""
    biggest = sorted(funnels.items(), key=lambda item: -item[1].customers[0])[:_MOST_SHOWN]
    names = [name.capitalize() for name in STEPS]
    for name, funnel in biggest:
        first = funnel.customers[0]
        shares = [100 * n / first if first else 0 for n in funnel.customers]
        axes.plot(names, shares, marker="o", label=f"{name} ({first:,})")
    axes.set_ylim(0, 105)
    axes.set_ylabel("% of visitors")
    axes.set_title(title, loc="left")
    axes.grid(axis="y", alpha=0.3)
    if biggest:
        axes.legend(fontsize=8, loc="best")


def _revenue_bars(axes: Axes, title: str, rows: Sequence[SalesRow], currency: str) -> None:
    """Draw the biggest rows' revenue in one currency as horizontal bars."""
    shown = [row for row in rows if row.currency == currency][:_MOST_SHOWN][::-1]
    labels = [row.key or "(none)" for row in shown]
    axes.barh(labels, [_major(row.revenue, currency) for row in shown], color=_BLUE)
    axes.set_xlabel(f"Revenue, {currency}")
    axes.set_title(title, loc="left")


def _summary(report: FunnelReport) -> str:
    """Return the money line under the funnel: revenue, average order, repeat rate, per buyer."""
    if not report.money:
        return "No paid orders in the period."
    parts = [
        f"Revenue {format_money(m.revenue, m.currency)} from {m.orders} orders, "
        f"average {format_money(m.average_order, m.currency)}, "
        f"per buyer {format_money(m.per_buyer, m.currency)}"
        for m in report.money
    ]
    rate = report.repeat_rate
    parts.append(f"repeat buyers {rate:.0%}" if rate is not None else "no buyers")
    return "; ".join(parts)


def _main_currency(total: Sequence[SalesRow]) -> str:
    """Return the currency with the most revenue: a chart's axis shows one."""
    return max(total, key=lambda row: row.revenue).currency if total else "USD"


def _major(amount: int, currency: str) -> float:
    """Return minor units as major units, for an axis."""
    return amount / float(10 ** minor_digits(currency))


def _png(figure: Figure) -> bytes:
    """Return the figure drawn as a PNG."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()
