"""A private three-master Redis Cluster on free loopback ports, started and torn down by tests."""

from __future__ import annotations

import functools
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from redis import Redis
from redis.exceptions import RedisError

from tests.processes import free_port

# Each node also listens on its port + 10000 (the cluster bus), so both must be free.
PORTS = range(7100, 7400)
MASTERS = 3
NODE_TIMEOUT_MS = 2_000


@dataclass
class Cluster:
    ports: list[int]
    processes: list[subprocess.Popen[bytes]]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.ports[0]}/0"

    def kill(self, index: int) -> None:
        """A master dies without a word, as on a lost machine."""
        self.processes[index].send_signal(signal.SIGKILL)
        self.processes[index].wait(timeout=10)

    def flush(self) -> None:
        for port, process in zip(self.ports, self.processes, strict=True):
            if process.poll() is None:
                with Redis(port=port, socket_timeout=5) as node:
                    node.flushall()


def _binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} is not on PATH (Debian package redis-server)")
    return found


def _is_free(port: int) -> bool:
    try:
        return free_port(range(port, port + 1)) == port
    except RuntimeError:
        return False


def _free_ports(count: int) -> list[int]:
    chosen: list[int] = []
    for port in PORTS:
        if len(chosen) == count:
            break
        if _is_free(port) and _is_free(port + 10_000):
            chosen.append(port)
    if len(chosen) < count:
        raise RuntimeError(f"fewer than {count} free port pairs in {PORTS}")
    return chosen


def _start_node(binary: str, port: int, directory: Path) -> subprocess.Popen[bytes]:
    directory.mkdir(parents=True, exist_ok=True)
    options = {
        "port": port,
        "bind": "127.0.0.1",
        "cluster-enabled": "yes",
        "cluster-config-file": "nodes.conf",
        "cluster-node-timeout": NODE_TIMEOUT_MS,
        "save": "",
        "appendonly": "no",
        "dir": directory,
    }
    argv = [binary, *(part for name, value in options.items() for part in (f"--{name}", value))]
    return subprocess.Popen(
        [str(part) for part in argv], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def _wait(what: str, ready: Callable[[], bool], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if ready():
                return
        except (OSError, RedisError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {seconds} s for {what}")
        time.sleep(0.05)


def _answers(port: int) -> bool:
    with Redis(port=port, socket_timeout=1) as node:
        return bool(node.ping())


def _cluster_ok(ports: list[int]) -> bool:
    for port in ports:
        with Redis(port=port, socket_timeout=1) as node:
            info = node.execute_command("CLUSTER", "INFO")
            text = info.decode() if isinstance(info, bytes) else str(info)
            if "cluster_state:ok" not in text:
                return False
    return True


@contextmanager
def redis_cluster(directory: Path) -> Iterator[Cluster]:
    """Three masters, no replicas, every slot assigned; killed and removed afterwards."""
    server, cli = _binary("redis-server"), _binary("redis-cli")
    ports = _free_ports(MASTERS)
    processes = [_start_node(server, port, directory / str(port)) for port in ports]
    cluster = Cluster(ports, processes)
    try:
        for port in ports:
            _wait(f"redis-server on {port}", functools.partial(_answers, port))
        nodes = [f"127.0.0.1:{port}" for port in ports]
        subprocess.run(
            [cli, "--cluster", "create", *nodes, "--cluster-replicas", "0", "--cluster-yes"],
            check=True,
            capture_output=True,
            timeout=60,
        )
        _wait("cluster_state:ok on every node", lambda: _cluster_ok(ports))
        yield cluster
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=10)
        shutil.rmtree(directory, ignore_errors=True)
