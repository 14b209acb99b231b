"""A TCP relay in front of the test Redis: cutting it is a real outage for the app behind it."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from app.published import keys
from tests.conftest import REDIS_URL


class RedisRelay:
    """Forwards RESP traffic to the test Redis and counts commands naming a version's keys."""

    def __init__(self, port: int) -> None:
        upstream = urlsplit(REDIS_URL)
        self.url = f"redis://127.0.0.1:{port}{upstream.path}"
        self._port = port
        self._upstream = (upstream.hostname or "127.0.0.1", upstream.port or 6379)
        self._writers: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None
        self.versioned_commands = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self._port)

    async def cut(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in self._writers:
            writer.close()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        self._writers += [writer, up_writer]
        await asyncio.gather(
            self._requests(reader, up_writer), _pipe(up_reader, writer), return_exceptions=True
        )

    async def _requests(self, source: asyncio.StreamReader, target: asyncio.StreamWriter) -> None:
        """Forward RESP commands one by one, counting those that name a versioned key."""
        versioned = f"{keys.PREFIX}:v".encode()
        try:
            while header := await source.readline():
                command = [header]
                for _ in range(int(header[1:]) if header.startswith(b"*") else 0):
                    size = await source.readline()
                    command += [size, await source.readexactly(int(size[1:]) + 2)]
                if any(part.startswith(versioned) for part in command):
                    self.versioned_commands += 1
                target.write(b"".join(command))
                await target.drain()
        finally:
            target.close()


async def _pipe(source: asyncio.StreamReader, target: asyncio.StreamWriter) -> None:
    try:
        while data := await source.read(65536):
            target.write(data)
            await target.drain()
    finally:
        target.close()
