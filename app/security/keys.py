"""API keys and their scopes: parsing the settings, hashing secrets, finding a key's scopes."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

MIN_SECRET_LENGTH = 16
SCOPE_SEPARATOR = "+"
HASH_PREFIX = "sha256:"


class Scope(StrEnum):
    """What a key may do; each route needs one (see app.security.routes)."""

    RECOMMEND = "recommend"  # /recommend, /upgrade-offers and its accept/decline
    CUSTOMER = "customer"  # anything that reads a customer's data: /next-sale
    EVENTS = "events"  # POST /events
    ADMIN = "admin"  # /admin/*, the console
    METRICS = "metrics"  # /metrics


DEFAULT_SCOPES = frozenset({Scope.RECOMMEND})
KNOWN_SCOPES = ", ".join(scope.value for scope in Scope)


class InvalidKey(ValueError):
    """A key entry that cannot be used; the message never repeats the secret."""


@dataclass(frozen=True)
class ApiKey:
    """A key as the service holds it: the secret's hash, never the secret."""

    digest: bytes
    scopes: frozenset[Scope]

    @property
    def key_id(self) -> str:
        """A short, stable name for logs and metric labels, derived from the hash."""
        return self.digest.hex()[:8]


def digest_of(secret: str | bytes) -> bytes:
    """Secrets are long and random, so one SHA-256 is enough to store and compare them."""
    return hashlib.sha256(secret.encode() if isinstance(secret, str) else secret).digest()


def parse_scopes(text: str) -> frozenset[Scope]:
    words = text.split(SCOPE_SEPARATOR)
    if not all(word in Scope.__members__.values() for word in words):
        raise InvalidKey(f"an entry names an unknown scope (known: {KNOWN_SCOPES})")
    return frozenset(Scope(word) for word in words)


def check_secret(secret: str) -> str:
    if not secret:
        raise InvalidKey("an empty key is not allowed")
    if len(secret) < MIN_SECRET_LENGTH:
        raise InvalidKey(f"a key is shorter than {MIN_SECRET_LENGTH} characters")
    return secret


def parse_entry(entry: str) -> ApiKey:
    """`SCOPES:SECRET` (scopes joined with +) or a bare SECRET, which may only recommend."""
    scopes_text, colon, secret = entry.partition(":")
    if not colon:
        return ApiKey(digest_of(check_secret(entry)), DEFAULT_SCOPES)
    return ApiKey(digest_of(check_secret(secret)), parse_scopes(scopes_text))


def split_entries(text: str) -> list[str]:
    """Comma-separated entries; an empty one (a stray comma, an empty value) is an error."""
    entries = [entry.strip() for entry in text.split(",")]
    if not all(entries):
        raise InvalidKey("an entry is empty (a stray comma, or the variable is set but empty)")
    return entries


def parse_hashed_line(line: str) -> ApiKey:
    """One keys-file line: `SCOPES:sha256:HEX`, the SHA-256 of the secret in hex."""
    scopes_text, _, hashed = line.partition(":")
    hex_digest = hashed.removeprefix(HASH_PREFIX)
    if not hashed.startswith(HASH_PREFIX) or len(hex_digest) != 64:
        raise InvalidKey("a line is not SCOPES:sha256:<64 hex digits>")
    try:
        digest = bytes.fromhex(hex_digest)
    except ValueError:
        raise InvalidKey("a line is not SCOPES:sha256:<64 hex digits>") from None
    return ApiKey(digest, parse_scopes(scopes_text))


def parse_keys_file(text: str) -> tuple[ApiKey, ...]:
    """Every key of a keys file; blank lines and lines starting with # are skipped."""
    keys = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line and not line.startswith("#"):
            try:
                keys.append(parse_hashed_line(line))
            except InvalidKey as error:
                raise InvalidKey(f"line {number}: {error}") from None
    return tuple(keys)


class KeyRing:
    """The keys one process accepts; the file part can be swapped while serving."""

    def __init__(self, fixed: Iterable[ApiKey], watched: bool = False) -> None:
        self._fixed = tuple(fixed)
        self._keys = self._fixed
        # Keys configured at all (even a keys file that is empty for now): the API is closed.
        self.closed = bool(self._fixed) or watched

    def replace_file_keys(self, keys: Iterable[ApiKey]) -> None:
        self._keys = self._fixed + tuple(keys)

    def lookup(self, secret: str | bytes) -> ApiKey | None:
        """The key with this secret, compared in constant time against every key held."""
        digest = digest_of(secret)
        found = None
        for key in self._keys:  # no early exit: the time does not tell which key matched
            if hmac.compare_digest(digest, key.digest):
                found = key
        return found

    def with_scope(self, scope: Scope) -> tuple[ApiKey, ...]:
        """Every key held now that grants `scope` (the keys file's included)."""
        return tuple(key for key in self._keys if scope in key.scopes)

    def scopes_for(self, secret: str | bytes) -> frozenset[Scope] | None:
        """The scopes a secret grants, or None for an unknown secret."""
        key = self.lookup(secret)
        return key.scopes if key is not None else None
