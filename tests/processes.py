"""The `cartlift` command and server run as real processes, the way a newcomer runs them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson

CARTLIFT = str(Path(sys.executable).with_name("cartlift"))
# Servers started by tests bind inside this range, so suites sharing a host can be kept apart.
PORT_RANGE = os.environ.get("CARTLIFT_TEST_PORT_RANGE", "8400-8499")
STARTUP_SECONDS = 120  # two workers importing numpy and SQLAlchemy on a busy two-core box


def clean_env(**settings: str) -> dict[str, str]:
    """This environment without anyone's CARTLIFT_* settings, plus the given ones."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("CARTLIFT_")}
    return env | settings


def cartlift(
    *args: str, env: dict[str, str], cwd: Path, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CARTLIFT, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def cartlift_ok(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    done = cartlift(*args, env=env, cwd=cwd)
    assert done.returncode == 0, f"cartlift {' '.join(args)} exited {done.returncode}:\n" + (
        done.stdout + done.stderr
    )
    return done


def free_port(ports: range | None = None) -> int:
    """A port nothing is bound to, from `ports` or CARTLIFT_TEST_PORT_RANGE."""
    low, high = (int(part) for part in PORT_RANGE.split("-"))
    ports = ports if ports is not None else range(low, high + 1)
    for port in ports:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {ports}")


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path

    def log_lines(self) -> list[dict[str, object]]:
        lines = self.log_path.read_text(encoding="utf-8").splitlines()
        return [orjson.loads(line) for line in lines if line.startswith("{")]

    def log_tail(self) -> str:
        return self.log_path.read_text(encoding="utf-8")[-4000:]

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait()


@contextmanager
def served(*args: str, env: dict[str, str], cwd: Path, workers: int = 1) -> Iterator[Server]:
    """`cartlift serve` on a free port, once every worker has finished its startup."""
    port = free_port()
    log_path = cwd / f"serve-{port}.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [CARTLIFT, "serve", "--port", str(port), "--workers", str(workers), *args],
            env=env,
            cwd=cwd,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    server = Server(process, f"http://127.0.0.1:{port}", log_path)
    try:
        _wait_for_startup(server, workers)
        yield server
    finally:
        server.stop()


def _wait_for_startup(server: Server, workers: int) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"the server exited early:\n{server.log_tail()}")
        started = [
            e for e in server.log_lines() if e.get("event") == "Application startup complete."
        ]
        if len(started) >= workers and _answers(server.base_url + "/healthz"):
            return
        time.sleep(0.2)
    raise AssertionError(f"the server did not start in {STARTUP_SECONDS} s:\n{server.log_tail()}")


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@dataclass(frozen=True)
class CliShop:
    """A directory where migrate, demo and rebuild ran through the CLI (SQLite + file store)."""

    root: Path
    env: dict[str, str]
    rebuild_summary: dict[str, object]


_BUILT: dict[Path, CliShop] = {}


def cli_shop(root: Path) -> CliShop:
    """Built once per test session (keyed by the session's temp root), shared by the modules."""
    if root not in _BUILT:
        shop = root / "quickstart"
        shop.mkdir()
        env = clean_env(
            CARTLIFT_DATABASE_URL=f"sqlite+aiosqlite:///{shop}/var/cartlift.db",
            CARTLIFT_SNAPSHOT_DIR=str(shop / "var" / "rules"),
        )
        cartlift_ok("migrate", env=env, cwd=shop)
        cartlift_ok("demo", "--orders", "3000", "--customers", "600", env=env, cwd=shop)
        done = cartlift_ok("rebuild", env=env, cwd=shop)
        summary = orjson.loads(done.stdout.strip().splitlines()[-1])
        _BUILT[root] = CliShop(shop, env, summary)
    return _BUILT[root]
