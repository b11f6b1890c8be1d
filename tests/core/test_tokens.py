from __future__ import annotations

import hashlib
import re

import pytest

from hangar.core.tokens import (
    BODY_LEN,
    DAEMON_PREFIX,
    PAT_PREFIX,
    digest,
    looks_like_token,
    mint_token,
    verify,
)


@pytest.mark.parametrize("prefix", [PAT_PREFIX, DAEMON_PREFIX])
def test_shape(prefix: str) -> None:
    token = mint_token(prefix)
    assert token.startswith(prefix)
    body = token[len(prefix) :]
    assert len(body) == BODY_LEN == 52
    assert re.fullmatch(r"[A-Z2-7]{52}", body)
    assert looks_like_token(token, prefix)


def test_prefixes() -> None:
    assert PAT_PREFIX == "ainb_"
    assert DAEMON_PREFIX == "mdt_"


def test_injected_rng_is_deterministic() -> None:
    assert mint_token(PAT_PREFIX, lambda n: b"\x00" * n) == "ainb_" + "A" * 52
    assert mint_token(DAEMON_PREFIX, lambda n: b"\xff" * n) == "mdt_" + "7" * 51 + "Q"


def test_rng_is_asked_for_32_bytes() -> None:
    asked: list[int] = []

    def rng(n: int) -> bytes:
        asked.append(n)
        return bytes(n)

    mint_token(PAT_PREFIX, rng)
    assert asked == [32]


def test_short_rng_output_is_refused() -> None:
    with pytest.raises(ValueError, match="32"):
        mint_token(PAT_PREFIX, lambda n: b"\x00" * (n - 1))


def test_unknown_prefix_is_refused() -> None:
    with pytest.raises(ValueError, match="prefix"):
        mint_token("tok_")


def test_tokens_differ() -> None:
    assert len({mint_token(PAT_PREFIX) for _ in range(50)}) == 50


def test_digest_is_sha256_of_the_whole_plaintext() -> None:
    token = mint_token(PAT_PREFIX)
    d = digest(token)
    assert d == hashlib.sha256(token.encode()).hexdigest()
    assert len(d) == 64
    assert d == d.lower()
    assert digest("é") == hashlib.sha256("é".encode()).hexdigest()
    assert digest(token) != digest(token[len(PAT_PREFIX) :])  # the prefix is hashed too


def test_verify() -> None:
    token = mint_token(DAEMON_PREFIX)
    stored = digest(token)
    assert verify(token, stored)
    assert not verify(token + "A", stored)
    assert not verify(mint_token(DAEMON_PREFIX), stored)


@pytest.mark.parametrize(
    "bad", ["", "abc", "0" * 63, "0" * 65, "Z" * 64, "é" * 64, " " + "0" * 63, "0" * 64 + "\n"]
)
def test_malformed_stored_digest_never_matches(bad: str) -> None:
    assert not verify("anything", bad)


def test_stored_digest_must_be_lowercase() -> None:
    token = mint_token(PAT_PREFIX)
    assert not verify(token, digest(token).upper())


@pytest.mark.parametrize(
    ("text", "prefix", "ok"),
    [
        ("ainb_" + "A" * 52, "ainb_", True),
        ("ainb_" + "A" * 51, "ainb_", False),
        ("ainb_" + "A" * 53, "ainb_", False),
        ("ainb_" + "a" * 52, "ainb_", False),
        ("ainb_" + "1" * 52, "ainb_", False),  # 0, 1, 8, 9 are not base32
        ("mdt_" + "A" * 52, "ainb_", False),
        ("mdt_" + "A" * 52, "mdt_", True),
        ("ainb_" + "A" * 52 + "\n", "ainb_", False),
    ],
)
def test_looks_like_token(text: str, prefix: str, ok: bool) -> None:
    assert looks_like_token(text, prefix) is ok
