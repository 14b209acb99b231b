"""Request ids: uuid-shaped, unique within a process and across forked workers."""

from __future__ import annotations

import os
import string

from app.middleware import _new_request_id


def test_ids_are_32_hex_digits_and_never_repeat() -> None:
    ids = [_new_request_id() for _ in range(10_000)]

    assert len(set(ids)) == len(ids)
    assert all(len(i) == 32 and set(i) <= set(string.hexdigits.lower()) for i in ids)


def test_a_forked_worker_draws_its_own_prefix() -> None:
    parent = _new_request_id()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report one id and leave at once
        os.write(write, _new_request_id().encode())
        os._exit(0)
    os.close(write)
    child = os.read(read, 64).decode()
    os.close(read)
    os.waitpid(pid, 0)

    assert len(child) == 32
    assert child[:16] != parent[:16]
