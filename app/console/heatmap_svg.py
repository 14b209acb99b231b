"""The co-holding heatmap as a small SVG, drawn directly: no plotting library to load.

Loading matplotlib and rendering a PNG was most of the report's first build (seconds in a
fresh worker); a grid of a few dozen rectangles needs none of it, scales on a phone and
stays sharp. The file report (`cartlift report`) keeps its matplotlib PNG.
"""

from __future__ import annotations

import textwrap
from xml.sax.saxutils import escape

import numpy as np
from numpy.typing import NDArray

CELL_W, CELL_H = 92, 52
LEFT, TOP = 190, 64  # room for the row names, the column names
INK, MUTED, DIAGONAL = "#1f2937", "#6b7280", "#f3f4f6"
DARK_CELL = 55.0  # % above which cell text turns white to stay readable
# Yellow to green to blue, as the file report's colour map: 0, 25, 50, 75 and 100 %.
STOPS = ((255, 255, 217), (199, 233, 180), (65, 182, 196), (34, 94, 168), (8, 29, 88))


def heatmap_svg(
    labels: list[str], shares: NDArray[np.float64], holders: NDArray[np.int64]
) -> bytes:
    """Row i, column j: % of the holders of product i who also hold product j.

    The diagonal (100 % by definition) shows the product's holders instead.
    """
    size = len(labels)
    width, height = LEFT + size * CELL_W + 8, TOP + size * CELL_H + 8
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="system-ui, sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
    ]
    for k, label in enumerate(labels):
        parts.append(_column_name(k, label))
        parts.append(_row_name(k, label))
    for i in range(size):
        for j in range(size):
            parts.append(_cell(i, j, float(shares[i, j]) * 100, int(holders[i])))
    parts.append("</svg>")
    return "".join(parts).encode()


def colour(percent: float) -> str:
    """The colour of a share between 0 and 100 %, interpolated between the stops."""
    position = min(max(percent, 0.0), 100.0) / 100 * (len(STOPS) - 1)
    low = min(int(position), len(STOPS) - 2)
    part = position - low
    rgb = (round(a + (b - a) * part) for a, b in zip(STOPS[low], STOPS[low + 1], strict=True))
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def _column_name(k: int, label: str) -> str:
    x = LEFT + k * CELL_W + CELL_W / 2
    lines = textwrap.wrap(label, 14)[:3] or [""]
    first = TOP - 8 - 14 * (len(lines) - 1)
    spans = "".join(
        f'<tspan x="{x}" y="{first + 14 * n}">{escape(line)}</tspan>'
        for n, line in enumerate(lines)
    )
    return f'<text text-anchor="middle" fill="{INK}">{spans}</text>'


def _row_name(k: int, label: str) -> str:
    y = TOP + k * CELL_H + CELL_H / 2 + 4
    short = label if len(label) <= 24 else label[:23] + "…"
    return f'<text x="{LEFT - 8}" y="{y}" text-anchor="end" fill="{INK}">{escape(short)}</text>'


def _cell(row: int, column: int, percent: float, holders: int) -> str:
    x, y = LEFT + column * CELL_W, TOP + row * CELL_H
    cx, cy = x + CELL_W / 2, y + CELL_H / 2 + 4
    if row == column:
        fill, text, ink, weight = DIAGONAL, f"{holders:,} holders", MUTED, "normal"
    else:
        fill, text, weight = colour(percent), f"{percent:.0f} %", "bold"
        ink = "white" if percent > DARK_CELL else INK
    return (
        f'<rect x="{x}" y="{y}" width="{CELL_W - 2}" height="{CELL_H - 2}" rx="4" fill="{fill}"/>'
        f'<text x="{cx}" y="{cy}" text-anchor="middle" fill="{ink}" font-weight="{weight}">'
        f"{escape(text)}</text>"
    )
