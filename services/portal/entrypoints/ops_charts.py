"""Charts of the indicators, drawn on the server as SVG by pygal.

A chart is its own resource (`image/svg+xml`), shown with `<img>` beside a table of the
same figures (the accessible version: a screen reader reads the table). pygal writes a
`<style>` element, a tooltip script and a tooltip layer with a style attribute into every
chart; the pages' strict CSP forbids all three inline, so a chart is never put inside a
page. Here the script and the tooltip layer are taken out of the tree before it is
written, and the chart's answer carries the portal's CSP with one addition: the hash of
its own `<style>` (never 'unsafe-inline').

A hidden count (`<5`, `x`) has no bar: a bar's height would publish it.
"""
from __future__ import annotations

import base64
import hashlib
import html
import math
import re

import pygal
from pygal.style import Style

from ..domain.figures import chart_value
from .security import CSP

WIDTH, NARROW = 720, 340  # px: a desktop column; a phone (scaled by less than 10 %)
VERTICAL = ("month", "urgency", "risk_level")  # few groups, in an order: bars side by side
_SVG = "{http://www.w3.org/2000/svg}"

# The portal's colours (static/portal.css): brand blue for what was asked, green for help given.
STYLE = Style(background="#ffffff", plot_background="#ffffff", foreground="#1b1f24", foreground_strong="#1b1f24",
              foreground_subtle="#4a5360", colors=("#0b5394", "#1e6b35", "#7a4d00", "#b3261e"),
              font_family="system-ui, -apple-system, 'Segoe UI', Roboto, 'Noto Sans', sans-serif",
              label_font_size=13, major_label_font_size=13, legend_font_size=14, title_font_size=16,
              value_font_size=12, tooltip_font_size=13)


def _without_scripts(tree):
    """No script, and no tooltip layer (it needs the script, and carries a style attribute)."""
    for parent in list(tree.iter()):
        for child in list(parent):
            if child.tag in ("script", f"{_SVG}script") or "tooltip-overlay" in (child.get("class") or ""):
                parent.remove(child)
    return tree


def content_security_policy(svg: str) -> str:
    """The portal's CSP, allowing this chart's own `<style>` by its hash and nothing else inline."""
    hashes = []
    for css in re.findall(r"<style[^>]*>(.*?)</style>", svg, re.S):
        digest = hashlib.sha256(html.unescape(css).encode()).digest()
        hashes.append(f"'sha256-{base64.b64encode(digest).decode()}'")
    return CSP.replace("style-src 'self'", " ".join(["style-src 'self'", *hashes]))


def _horizontal(group_by: str, narrow: bool) -> bool:
    return narrow or group_by not in VERTICAL


def size(groups: int, series: int, group_by: str, *, narrow: bool) -> tuple[int, int]:
    """(width, height) of the chart. Horizontal bars grow with their groups (a province's
    communes); a phone's chart is narrow, so that its type is still legible once scaled."""
    width = NARROW if narrow else WIDTH
    if not _horizontal(group_by, narrow):
        return width, 340
    return width, min(3000, max(220, 90 + 26 * groups * max(1, series) + (20 * series if narrow else 0)))


def _axis(values: list) -> list[int]:
    """Whole-number ticks from 0 to a step above the largest bar (its printed value needs the
    room): counts have no fractions."""
    top = max([v for v in values if v is not None] + [4])
    step = max(1, math.ceil(top / 5))
    return list(range(0, math.ceil(top * 1.1 / step) * step + 1, step))


def bar_chart(labels: list[str], series: list[tuple[str, list]], group_by: str, *, narrow: bool = False,
              no_data: str = "") -> str:
    """A bar chart of counts by group: `series` are (name, raw figures) whose hidden figures
    draw nothing."""
    horizontal = _horizontal(group_by, narrow)
    width, height = size(len(labels), len(series), group_by, narrow=narrow)
    drawn = [(name, [chart_value(v) for v in values]) for name, values in series]
    kind = pygal.HorizontalBar if horizontal else pygal.Bar
    chart = kind(style=STYLE, width=width, height=height, js=[], disable_xml_declaration=True,
                 legend_at_bottom=True, legend_at_bottom_columns=1 if narrow else max(1, len(series)), show_legend=len(series) > 1,
                 print_values=True, print_values_position="top",
                 x_label_rotation=0 if horizontal or len(labels) <= 6 else 40, truncate_label=24 if narrow else 30,
                 truncate_legend=40, no_data_text=no_data, y_labels=_axis([v for _, vs in drawn for v in vs]),
                 allow_interruptions=True, margin=8)
    if horizontal:  # pygal stacks horizontal groups from the bottom up: the first group goes on top
        labels, drawn = labels[::-1], [(name, values[::-1]) for name, values in drawn]
    chart.x_labels = labels
    for name, values in drawn:
        chart.add(name, values)
    chart.add_xml_filter(_without_scripts)
    return chart.render()
