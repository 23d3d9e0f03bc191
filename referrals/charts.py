"""The overview's charts: SVG drawn on the server with pygal, readable without colour.

Each chart prints its values on the bars, names its series in a legend and in the bars' tooltips, carries a
`<title>` and a `<desc>` that says what it shows in words, and comes with the same numbers as a table (the
template's data-table alternative). No JavaScript: pygal's tooltip script is switched off.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from html import escape

import pygal
from django.core.cache import cache
from pygal.style import Style

from businesses.money import format_money

from .analytics import DayRow, Overview, ServiceRow

# Series differ in lightness, not only in hue (readable in greyscale); the values are printed and in the table.
STYLE = Style(
    background="transparent",
    plot_background="transparent",
    foreground="#222",
    foreground_strong="#111",
    foreground_subtle="#666",
    colors=("#1f4e79", "#9bbbd9", "#555555", "#c9c9c9"),
    font_family="system-ui, sans-serif",
    value_font_size=11,
    label_font_size=11,
    legend_font_size=12,
    title_font_size=14,
)
CONFIG = dict(
    style=STYLE,
    js=[],
    disable_xml_declaration=True,
    print_values=True,
    legend_at_bottom=True,
    width=640,
    height=300,
    explicit_size=False,
    show_y_guides=True,
)


VERSION = 1  # bump when the drawing changes, so cached charts are drawn again
CACHE_SECONDS = 24 * 3600


@dataclass
class Chart:
    key: str
    title: str
    description: str
    svg: str
    headers: list[str]
    rows: list[list[str]]


def _with_desc(svg: str, title: str, description: str) -> str:
    """Add role, an accessible name and a <desc> to the <svg> root (pygal writes only a <title>)."""
    head, sep, rest = svg.partition(">")
    accessible = f' role="img" aria-label="{escape(title)}"'
    return f"{head}{accessible}{sep}<desc>{escape(description)}</desc>{rest}"


def buckets(days: list[DayRow]) -> list[tuple[str, list[DayRow]]]:
    """Days as they are up to two weeks, weeks up to four months, months beyond: at most ~18 bars per series, which
    keeps the chart readable and its drawing cheap."""
    if len(days) <= 14:
        return [(f"{row.day:%-d %b}", [row]) for row in days]
    if len(days) <= 120:
        out: list[tuple[str, list[DayRow]]] = []
        for row in days:
            monday = row.day - timedelta(days=row.day.weekday())
            label = f"wk {monday:%-d %b}"
            if not out or out[-1][0] != label:
                out.append((label, []))
            out[-1][1].append(row)
        return out
    months: list[tuple[str, list[DayRow]]] = []
    for row in days:
        label = f"{row.day:%b %Y}"
        if not months or months[-1][0] != label:
            months.append((label, []))
        months[-1][1].append(row)
    return months


def _sum(rows: list[DayRow], figure: str) -> int:
    return sum(row.values[figure] for row in rows)


def referrals_by_status(data: Overview) -> Chart:
    grouped = buckets(data.days)
    labels = [label for label, _ in grouped]
    series = [("Referred bookings", "referrals"), ("Confirmed", "confirmed"), ("Lost", "lost")]
    chart = pygal.Bar(**CONFIG, x_label_rotation=-45 if len(labels) > 12 else 0, show_minor_x_labels=len(labels) <= 16)
    chart.title = "Referrals over time, by status"
    chart.x_labels = labels
    chart.x_labels_major = labels[:: max(1, len(labels) // 8)]
    for name, figure in series:
        chart.add(name, [_sum(rows, figure) or None for _, rows in grouped])
    total = {figure: _sum(data.days, figure) for _, figure in series}
    description = (
        f"{data.period.label}: {total['referrals']} referred bookings made, {total['confirmed']} referrals "
        f"confirmed and {total['lost']} lost, shown per {'day' if len(data.days) <= 14 else 'week or month'}."
    )
    rows = [[label, *(str(_sum(r, figure)) for _, figure in series)] for label, r in grouped]
    return Chart(
        "referrals",
        chart.title,
        description,
        _with_desc(chart.render(is_unicode=True), chart.title, description),
        ["Period", *(name for name, _ in series)],
        rows,
    )


def funnel(data: Overview) -> Chart:
    totals = data.current
    steps = [("Link clicks", totals.clicks), ("Referred bookings", totals.referrals), ("Confirmed", totals.confirmed)]
    chart = pygal.HorizontalBar(**{**CONFIG, "height": 220, "show_legend": True})
    chart.title = "Conversion funnel"
    for name, value in steps:
        chart.add(name, [value])
    description = f"{data.period.label}: " + ", then ".join(f"{value} {name.lower()}" for name, value in steps) + "."
    return Chart(
        "funnel",
        chart.title,
        description,
        _with_desc(chart.render(is_unicode=True), chart.title, description),
        ["Step", "Count"],
        [[name, str(value)] for name, value in steps],
    )


def revenue_vs_cost(data: Overview, currency: str) -> Chart:
    grouped = buckets(data.days)
    labels = [label for label, _ in grouped]
    cost_fields = [name for name in data.current.values if name.startswith("cost_")]

    def money(value: int) -> str:
        return format_money(value, currency)

    chart = pygal.Bar(
        **CONFIG,
        value_formatter=lambda v: money(int(v)) if v else "",
        x_label_rotation=-45 if len(labels) > 12 else 0,
        print_values_position="top",
    )
    chart.print_values = len(labels) <= 12
    chart.title = "Revenue from referred clients against rewards cost"
    chart.x_labels = labels
    revenue = [_sum(rows, "referred_revenue") for _, rows in grouped]
    cost = [sum(_sum(rows, name) for name in cost_fields) for _, rows in grouped]
    chart.add("Referred revenue", [v or None for v in revenue])
    chart.add("Rewards cost", [v or None for v in cost])
    description = (
        f"{data.period.label}: {money(data.current.referred_revenue)} revenue from referred clients against "
        f"{money(data.current.rewards_cost)} rewards cost."
    )
    return Chart(
        "revenue",
        chart.title,
        description,
        _with_desc(chart.render(is_unicode=True), chart.title, description),
        ["Period", "Referred revenue", "Rewards cost"],
        [[label, money(r), money(c)] for label, r, c in zip(labels, revenue, cost, strict=True)],
    )


def top_services(services: list[ServiceRow], period_label: str) -> Chart:
    chart = pygal.HorizontalBar(**{**CONFIG, "height": 60 + 44 * max(1, len(services))})
    chart.title = "Top services by referrals"
    chart.x_labels = [row.name for row in services]
    chart.add("Referred bookings", [row.referrals for row in services])
    chart.add("Confirmed", [row.confirmed for row in services])
    description = f"{period_label}: " + (
        "; ".join(f"{row.name}, {row.referrals} referred bookings, {row.confirmed} confirmed" for row in services)
        or "no referred bookings yet"
    )
    return Chart(
        "services",
        chart.title,
        description,
        _with_desc(chart.render(is_unicode=True), chart.title, description),
        ["Service", "Referred bookings", "Confirmed"],
        [[row.name, str(row.referrals), str(row.confirmed)] for row in services],
    )


def _draw(data: Overview, currency: str, with_money: bool) -> list[Chart]:
    charts = [referrals_by_status(data), funnel(data)]
    if with_money:
        charts.append(revenue_vs_cost(data, currency))
    charts.append(top_services(data.services, data.period.label))
    return charts


def all_charts(data: Overview, currency: str, *, with_money: bool) -> list[Chart]:
    """The charts of `data`, drawn once per distinct set of numbers: drawing costs tens of milliseconds, a cache
    hit one round trip. The key is a digest of everything drawn, so new figures draw new charts."""
    drawn = repr(
        (
            VERSION,
            currency,
            with_money,
            data.period,
            sorted(data.current.values.items()),
            [(row.day, sorted(row.values.items())) for row in data.days],
            [(row.service_id, row.name, row.referrals, row.confirmed) for row in data.services],
        )
    )
    key = "referrals:overview:charts:" + hashlib.sha256(drawn.encode()).hexdigest()
    found = cache.get(key)
    if found is None:
        found = _draw(data, currency, with_money)
        cache.set(key, found, CACHE_SECONDS)
    return found
