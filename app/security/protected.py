"""Protected mode: with no keys configured, serve on loopback only (as Redis does)."""

from __future__ import annotations

import ipaddress

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # any other name may resolve to a public address
        return False


def open_bind_refusal(host: str, keys_configured: bool, open_api: bool) -> str | None:
    """Why serving on `host` is refused, or None when it is allowed."""
    if keys_configured or open_api or is_loopback(host):
        return None
    return (
        f"refusing to serve on {host} without API keys: set CARTLIFT_API_KEYS "
        "(or CARTLIFT_API_KEYS_FILE), or CARTLIFT_OPEN_API=true to serve an open API "
        "on purpose; loopback addresses (127.0.0.1) need no keys"
    )
