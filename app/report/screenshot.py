"""Render a report to a PNG in headless Chromium, trimmed to the page (make report-screenshot)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from PIL import Image, ImageChops

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)
WIDTH = 1280
# Chromium captures the window, not the page: open one taller than any report, then trim.
TALL = 8000
MARGIN = 24  # px of page background kept under the last section


def screenshot(html: Path, png: Path, browser: str = "chromium") -> tuple[int, int]:
    """Write the PNG and return its size."""
    png.parent.mkdir(parents=True, exist_ok=True)
    command = [
        browser,
        *FLAGS,
        f"--window-size={WIDTH},{TALL}",
        f"--screenshot={png.resolve()}",
        html.resolve().as_uri(),
    ]
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    return trim(png)


def trim(png: Path) -> tuple[int, int]:
    """Cut the empty page background below the content."""
    with Image.open(png) as image:
        page = image.convert("RGB")
    background = Image.new("RGB", page.size, page.getpixel((0, page.height - 1)))
    box = ImageChops.difference(page, background).getbbox()
    if box is not None:
        page = page.crop((0, 0, page.width, min(page.height, box[3] + MARGIN)))
    page.save(png, optimize=True)
    return page.size


if __name__ == "__main__":
    width, height = screenshot(Path(sys.argv[1]), Path(sys.argv[2]))
    print(f"wrote {sys.argv[2]} ({width} x {height})")
