"""The co-holding matrix drawn as a heatmap PNG (matplotlib, Agg canvas: no display needed)."""

from __future__ import annotations

import io
import textwrap

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from numpy.typing import NDArray

# A Figure on its own Agg canvas never touches pyplot's global state or a GUI toolkit.
DPI = 160
DARK_CELL = 55.0  # % above which cell text turns white to stay readable
INK, MUTED, DIAGONAL = "#1f2937", "#6b7280", "#f3f4f6"


def heatmap_png(
    labels: list[str], shares: NDArray[np.float64], holders: NDArray[np.int64]
) -> bytes:
    """Row i, column j: % of the holders of product i who also hold product j.

    The diagonal is 100 % by definition, so it shows the holders instead of a colour that
    would squeeze the scale of the cells that matter.
    """
    size = len(labels)
    percent = np.where(np.eye(size, dtype=np.bool_), np.nan, shares * 100.0)
    figure = Figure(figsize=(1.9 + 1.25 * size, 1.2 + 1.1 * size), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.set_facecolor(DIAGONAL)
    image = axes.imshow(percent, cmap="YlGnBu", vmin=0, vmax=100)
    names = ["\n".join(textwrap.wrap(label, 14)) for label in labels]
    axes.set_xticks(range(size), labels=names, fontsize=9, color=INK)
    axes.set_yticks(range(size), labels=names, fontsize=9, color=INK)
    axes.tick_params(length=0)
    axes.xaxis.tick_top()
    for i in range(size):
        for j in range(size):
            _annotate(axes, i, j, percent[i, j], int(holders[i]))
    for side in axes.spines.values():
        side.set_visible(False)
    bar = figure.colorbar(image, ax=axes, shrink=0.75, format="%d %%", pad=0.03)
    bar.outline.set_visible(False)
    bar.ax.tick_params(labelsize=8, length=0, colors=MUTED)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", facecolor="white", bbox_inches="tight", pad_inches=0.12)
    return buffer.getvalue()


def _annotate(axes: Axes, row: int, column: int, value: float, holders: int) -> None:
    if np.isnan(value):
        text, color, weight = f"{holders:,}\nholders", MUTED, "normal"
    else:
        text = f"{value:.0f} %"
        color, weight = ("white" if value > DARK_CELL else INK), "bold"
    axes.text(
        column, row, text, ha="center", va="center", color=color, fontsize=10, fontweight=weight
    )
