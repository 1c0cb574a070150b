"""Server-drawn SVG charts for the measures page: no scripts, no front-end build.

Each chart is a horizontal box plot, one row per group: a thin line from the shortest to
the longest wait, a box over the middle half (25th to 75th percentile) and a thick mark
at the median. The SVG is an image with a title and a description for screen readers;
the page puts the same figures in a table beside it, which is the full text alternative.
"""

from __future__ import annotations

from markupsafe import Markup, escape

from ..patients.measures import Figure, Measure

WIDTH = 560
LABEL = 110
RIGHT = 60
ROW = 30
TOP = 10
AXIS = 30


def _scale_top(longest: int) -> int:
    """A round number of days at or above ``longest`` for the axis end."""
    for step in (7, 14, 28, 56, 91, 182, 365):
        if longest <= step * 4:
            return max(step, -(-longest // step) * step)
    return longest


def box_chart(measure: Measure, chart_id: str) -> Markup:
    """The measure's groups as a box plot (Markup, safe to put in a template)."""
    figures = measure.figures
    if not figures:
        return Markup("")
    top = _scale_top(max(f.longest for f in figures))
    plot = WIDTH - LABEL - RIGHT

    def x(days: float) -> float:
        return round(LABEL + plot * days / top, 1)

    height = TOP + ROW * len(figures) + AXIS
    opening = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" class="box-chart">'
    )
    parts = [
        opening,
        f'<title id="{chart_id}-title">{escape(measure.label)}, by {measure.by}</title>',
        f'<desc id="{chart_id}-desc">{escape(_describe(figures))}</desc>',
    ]
    for i, f in enumerate(figures):
        parts.append(_row(f, TOP + ROW * i + ROW / 2, x))
    axis_y = TOP + ROW * len(figures)
    parts.append(
        f'<line x1="{LABEL}" y1="{axis_y}" x2="{LABEL + plot}" y2="{axis_y}" stroke="#555"/>'
    )
    for tick in range(0, top + 1, max(1, top // 4)):
        parts.append(
            f'<text x="{x(tick)}" y="{axis_y + 16}" text-anchor="middle" font-size="12">'
            f"{tick}</text>"
        )
    parts.append(
        f'<text x="{LABEL + plot}" y="{axis_y + 28}" text-anchor="end" font-size="11">days</text>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))


def _row(f: Figure, y: float, x) -> str:
    return (
        f'<text x="{LABEL - 8}" y="{y + 4}" text-anchor="end" font-size="12">'
        f"{escape(f.group)}</text>"
        f'<line x1="{x(f.shortest)}" y1="{y}" x2="{x(f.longest)}" y2="{y}" stroke="#555"/>'
        f'<rect x="{x(f.q1)}" y="{y - 8}" width="{max(x(f.q3) - x(f.q1), 1)}" height="16" '
        f'fill="#9ecae1" stroke="#08519c"/>'
        f'<line x1="{x(f.median)}" y1="{y - 10}" x2="{x(f.median)}" y2="{y + 10}" '
        f'stroke="#08306b" stroke-width="3"/>'
        f'<text x="{WIDTH - RIGHT + 6}" y="{y + 4}" font-size="12">n={f.n}</text>'
    )


def _describe(figures: list[Figure]) -> str:
    return "; ".join(
        f"{f.group}: median {days(f.median)} days, middle half {days(f.q1)} to "
        f"{days(f.q3)}, {f.n} patient{'s' if f.n != 1 else ''}"
        for f in figures
    )


def days(value: float) -> str:
    """A number of days as people write it: 12, 12.5."""
    return f"{value:.2f}".rstrip("0").rstrip(".")
