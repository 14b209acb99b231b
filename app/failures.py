"""What a failure of the database, Redis or a file may tell: what failed, never where.

Error texts of drivers name hosts, ports, addresses, URLs and file paths. Answers and
command errors keep the reason (connection refused, timed out, not a directory) and leave
the places out: an operator finds them in the settings.
"""

from __future__ import annotations

import re

_HIDDEN = "<hidden>"
_URL = re.compile(r"\b[A-Za-z][\w+.-]*://[^\s'\"<>]*")
# Python's socket addresses, as in "Connect call failed ('127.0.0.1', 6379)" or IPv6 tuples.
_ADDRESS_TUPLE = re.compile(r"\(\s*'[^']*'(?:\s*,\s*\d+)+\s*\)")
_HOST_PORT = re.compile(
    r"\b(?:\d{1,3}(?:\.\d{1,3}){3}|[A-Za-z][\w.-]*|\[[0-9A-Fa-f:.]+\]):\d{1,5}\b"
)
_IPV4 = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b")
_PATH = re.compile(r"(?<![\w.:/<>-])(?:~|\.{1,2})?/(?:[\w.@+-]+/?)+")


def hide_locations(text: str, paths: bool = True) -> str:
    """`text` without URLs, host:port, addresses and (unless paths=False) file paths."""
    for pattern in (_URL, _ADDRESS_TUPLE, _HOST_PORT, _IPV4, *((_PATH,) if paths else ())):
        text = pattern.sub(_HIDDEN, text)
    return text
