"""A real headless Chromium (Debian's, driven by Selenium) against a served demo shop."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

from app.demo.shop import DemoFiles
from app.report.screenshot import FLAGS as REPORT_FLAGS
from tests.conftest import IN_CI, REDIS_URL
from tests.e2e.test_recommend import Shop, demo_shop
from tests.processes import Server, clean_env, served

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# The report screenshot's flags (quiet, nothing fetched), plus what a long session wants.
FLAGS = (*REPORT_FLAGS, "--no-first-run", "--disable-dev-shm-usage", "--window-size=1280,900")
ADMIN_KEY = "console-admin-key-0123456789"
CLIENT_KEY = "console-client-key-0123456789"  # what the checkout page sends to /recommend
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.fixture(scope="module")
async def shop(postgres_url: str, demo_files: DemoFiles) -> AsyncIterator[Shop]:
    """The demo shop with two published versions, so there is one to roll back to."""
    async with demo_shop(postgres_url, demo_files) as published:
        await published.publish()
        yield published


@pytest.fixture(scope="module")
def server(shop: Shop, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`cartlift serve` with two workers: a change made through one must reach the other."""
    env = clean_env(
        CARTLIFT_DATABASE_URL=shop.database_url,
        CARTLIFT_REDIS_URL=REDIS_URL,
        CARTLIFT_ADMIN_API_KEY=ADMIN_KEY,
        CARTLIFT_API_KEYS=f"recommend:{CLIENT_KEY}",
        CARTLIFT_VERSION_POLL_SECONDS="0.2",
        CARTLIFT_HOLDOUT_PERCENT="50",  # the split of the experiment the overview shows
    )
    with served(env=env, cwd=tmp_path_factory.mktemp("console"), workers=2) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        message = (
            f"{CHROMIUM} and {CHROMEDRIVER} are needed (apt-get install chromium chromium-driver)"
        )
        if IN_CI:
            pytest.fail(message + " (CI=true: a missing browser is a failure)", pytrace=False)
        pytest.skip(message)
    options = Options()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    os.environ.setdefault("SE_AVOID_STATS", "true")
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.implicitly_wait(0)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()
