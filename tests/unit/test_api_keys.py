"""API keys and scopes as configured: parsing, hashing, lookup, keys files, rate limit notation."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import pytest

from app.security.keys import InvalidKey, KeyRing, Scope, parse_entry, parse_keys_file
from app.security.protected import is_loopback, open_bind_refusal
from app.security.rate_limit import parse_rate_limit
from app.settings import Settings

SECRET = "s3cret-s3cret-s3cret"
OTHER = "another-secret-0123456789"


def hashed_line(scopes: str, secret: str) -> str:
    return f"{scopes}:sha256:{hashlib.sha256(secret.encode()).hexdigest()}"


def test_a_bare_secret_may_only_recommend() -> None:
    assert parse_entry(SECRET).scopes == frozenset({Scope.RECOMMEND})


def test_scopes_are_joined_with_plus() -> None:
    key = parse_entry(f"customer+metrics:{SECRET}")
    assert key.scopes == frozenset({Scope.CUSTOMER, Scope.METRICS})


@pytest.mark.parametrize(
    ("entry", "complaint"),
    [
        ("short-secret", "shorter than 16"),
        ("admin:short", "shorter than 16"),
        ("admin:", "empty"),
        (f"root:{SECRET}", "unknown scope"),
        (f"admin+:{SECRET}", "unknown scope"),
    ],
)
def test_a_bad_entry_is_refused_without_repeating_its_secret(entry: str, complaint: str) -> None:
    with pytest.raises(InvalidKey, match=complaint) as raised:
        parse_entry(entry)
    assert entry.partition(":")[2] or entry not in str(raised.value)
    assert "short" not in str(raised.value).replace("shorter", "")


def test_the_ring_finds_the_scopes_of_a_secret_and_nothing_for_a_stranger() -> None:
    ring = KeyRing([parse_entry(SECRET), parse_entry(f"admin:{OTHER}")])
    assert ring.scopes_for(SECRET) == frozenset({Scope.RECOMMEND})
    assert ring.scopes_for(OTHER.encode()) == frozenset({Scope.ADMIN})
    assert ring.scopes_for("not-a-key-at-all-0000") is None
    assert ring.scopes_for("") is None


def test_a_lookup_compares_against_every_key_even_after_a_match(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[int] = []
    compare = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        calls.append(1)
        return compare(a, b)

    monkeypatch.setattr(hmac, "compare_digest", counting)
    ring = KeyRing([parse_entry(f"{n:02d}-" + SECRET) for n in range(5)])
    assert ring.scopes_for("00-" + SECRET) is not None  # the first key matches
    assert len(calls) == 5


def test_the_key_id_comes_from_the_hash_and_never_shows_the_secret() -> None:
    key = parse_entry(SECRET)
    assert key.key_id == hashlib.sha256(SECRET.encode()).hexdigest()[:8]
    assert SECRET not in repr(key)


def test_a_keys_file_holds_hashed_secrets_comments_and_blank_lines() -> None:
    lines = [
        "# the shop",
        hashed_line("recommend+customer", SECRET),
        "",
        hashed_line("metrics", OTHER),
    ]
    text = "\n".join(lines) + "\n"
    ring = KeyRing(parse_keys_file(text))
    assert ring.scopes_for(SECRET) == frozenset({Scope.RECOMMEND, Scope.CUSTOMER})
    assert ring.scopes_for(OTHER) == frozenset({Scope.METRICS})


@pytest.mark.parametrize(
    "line", [f"recommend:{SECRET}", "recommend:sha256:abc", "sha256:" + "0" * 64]
)
def test_a_malformed_keys_file_line_is_named_by_number(line: str) -> None:
    with pytest.raises(InvalidKey, match="line 2") as raised:
        parse_keys_file(f"# keys\n{line}\n")
    assert SECRET not in str(raised.value)


def test_rate_limits_take_a_default_and_per_scope_overrides() -> None:
    limits = parse_rate_limit("100/second,2000/minute; customer=5/second")
    assert [str(item) for item in limits.for_scope(Scope.RECOMMEND)] == [
        "100 per 1 second",
        "2000 per 1 minute",
    ]
    assert [str(item) for item in limits.for_scope(Scope.CUSTOMER)] == ["5 per 1 second"]
    assert parse_rate_limit("metrics=1/second").for_scope(Scope.RECOMMEND) == ()


@pytest.mark.parametrize("text", ["fast", "100/fortnight", "root=1/second", "1/second;;"])
def test_a_bad_rate_limit_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_rate_limit(text)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_loopback_hosts_are_recognised(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.5", "shop.example", "192.168.1.2"])
def test_other_hosts_are_not_loopback(host: str) -> None:
    assert not is_loopback(host)


def test_protected_mode_refuses_an_open_api_on_a_public_address(tmp_path: Path) -> None:
    def refusal(settings: Settings, host: str = "0.0.0.0") -> str | None:
        return open_bind_refusal(host, settings.keys_configured, settings.open_api)

    no_keys = Settings(_env_file=None)
    refused = refusal(no_keys)
    assert refused is not None and "CARTLIFT_API_KEYS" in refused
    assert refusal(no_keys, "127.0.0.1") is None
    assert refusal(Settings(open_api=True)) is None
    assert refusal(Settings(api_keys=[SECRET])) is None
    assert refusal(Settings(admin_api_key=SECRET)) is None
    keys_file = tmp_path / "keys"
    keys_file.write_text("")
    assert refusal(Settings(api_keys_file=keys_file)) is None
