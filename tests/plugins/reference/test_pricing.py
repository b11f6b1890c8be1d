"""The price table: families, exact costs, unknown models."""

from __future__ import annotations

import pytest

from hangar.plugins.reference.pricing import cost_usd, price_for


@pytest.mark.parametrize(
    ("model", "family"),
    [
        ("claude-opus-4-5-20251101", "claude-opus-4.5"),
        ("claude-opus-4-1-20250805", "claude-opus-4"),
        ("claude-3-opus-20240229", "claude-opus-4"),
        ("claude-sonnet-4-5-20250929", "claude-sonnet"),
        ("claude-3-7-sonnet-20250219", "claude-sonnet"),
        ("claude-haiku-4-5-20251001", "claude-haiku-4.5"),
        ("claude-3-5-haiku-20241022", "claude-haiku-3.5"),
        ("claude-3-haiku-20240307", "claude-haiku-3"),
        ("gpt-5-codex", "gpt-5"),
        ("gpt-5.1-codex", "gpt-5"),
        ("gpt-5.1-codex-mini", "gpt-5-mini"),
        ("gpt-5-mini", "gpt-5-mini"),
        ("gpt-5-nano", "gpt-5-nano"),
        ("o3", "o3"),
        ("o4-mini", "o4-mini"),
        ("gpt-4.1", "gpt-4.1"),
        ("GPT-4.1-MINI", "gpt-4.1-mini"),
    ],
)
def test_models_map_to_their_family(model: str, family: str) -> None:
    price = price_for(model)
    assert price is not None
    assert price.family == family


@pytest.mark.parametrize("model", ["some-local-model", "unknown", "llama-3-70b", "o30", ""])
def test_unknown_models_have_no_price(model: str) -> None:
    assert price_for(model) is None
    assert cost_usd(model, input_tokens=1000, output_tokens=1000) is None


def test_cost_charges_each_token_kind_at_its_own_rate() -> None:
    # sonnet: 3 in, 15 out, 3.75 cache write, 0.30 cache read per million
    cost = cost_usd(
        "claude-sonnet-4-5",
        input_tokens=1_000_000,
        output_tokens=1_000_000,
        cache_creation_tokens=1_000_000,
        cache_read_tokens=1_000_000,
    )
    assert cost == pytest.approx(3 + 15 + 3.75 + 0.30)
    # gpt-5: cached input at a tenth of the input price
    assert cost_usd("gpt-5", input_tokens=2000, output_tokens=0, cache_read_tokens=8000) == 0.0035
    assert cost_usd("gpt-5", input_tokens=0, output_tokens=0) == 0.0


def test_one_hour_cache_writes_cost_twice_base_input_five_minute_ones_one_and_a_quarter() -> None:
    from hangar.plugins.reference.pricing import PRICES

    for _, price in PRICES:
        if price.family.startswith("claude"):
            if price.family != "claude-haiku-3":  # listed at $0.30, not 1.25 x $0.25
                assert price.cache_write == pytest.approx(1.25 * price.input), price.family
            assert price.cache_write_1h == pytest.approx(2 * price.input), price.family
        else:
            assert (price.cache_write, price.cache_write_1h) == (0.0, 0.0), price.family
    # sonnet: 600k 5-minute writes at 3.75 + 400k 1-hour writes at 6.00 per million
    cost = cost_usd(
        "claude-sonnet-4-5",
        input_tokens=0,
        output_tokens=0,
        cache_creation_tokens=1_000_000,
        cache_creation_1h_tokens=400_000,
    )
    assert cost == 4.65
    # opus 4.5 (5 in): 1000 5-minute + 2000 1-hour writes = 6250 + 20000 micro-USD
    assert (
        cost_usd(
            "claude-opus-4-5-20251101",
            input_tokens=0,
            output_tokens=0,
            cache_creation_tokens=3000,
            cache_creation_1h_tokens=2000,
        )
        == 0.02625
    )
    # 1-hour writes are a part of cache_creation_tokens: never more than all of it
    capped = cost_usd(
        "claude-haiku-4-5",
        input_tokens=0,
        output_tokens=0,
        cache_creation_tokens=1000,
        cache_creation_1h_tokens=5000,
    )
    assert capped == 0.002  # 1000 x $2.00 per million
