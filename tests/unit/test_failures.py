"""Failure texts shown to clients and operators keep the kind of failure, never its place."""

from __future__ import annotations

import pytest

from app.failures import hide_locations


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (
            "Error 111 connecting to 127.0.0.1:6379. Connection refused.",
            "Error 111 connecting to <hidden>. Connection refused.",
        ),
        (
            "[Errno 111] Connect call failed ('10.0.3.7', 5432)",
            "[Errno 111] Connect call failed <hidden>",
        ),
        ("Multiple exceptions: ('::1', 5432, 0, 0)", "Multiple exceptions: <hidden>"),
        (
            "Error -2 connecting to cache.internal:6379. Name or service not known.",
            "Error -2 connecting to <hidden>. Name or service not known.",
        ),
        ("cannot open postgresql+asyncpg://u:p@db/x now", "cannot open <hidden> now"),
        (
            "[Errno 20] Not a directory: '/srv/cartlift/rules/x'",
            "[Errno 20] Not a directory: '<hidden>'",
        ),
        ("database unreachable after 5 attempts", "database unreachable after 5 attempts"),
        ("line 3: FROM->TO at 12:30", "line 3: FROM->TO at 12:30"),
    ],
)
def test_hosts_addresses_urls_and_paths_are_hidden(text: str, shown: str) -> None:
    assert hide_locations(text) == shown


def test_paths_can_be_kept_where_the_user_named_them() -> None:
    assert hide_locations("/data/orders.csv: no such file", paths=False) == (
        "/data/orders.csv: no such file"
    )
