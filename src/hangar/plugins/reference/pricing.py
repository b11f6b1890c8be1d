"""A small price table per model family, in USD per million tokens.

List prices of the providers' public pricing pages (Anthropic, OpenAI) as of 2025-11; the
table is deliberately small: a model that matches no family has no price, so its cost is
``None`` rather than a guess (its tokens are still counted). Long-context surcharges and
batch discounts are ignored: this is an estimate of what the sessions would cost at list
price, not a bill.

Anthropic charges cache writes by how long they live: 5-minute writes at 1.25x the base
input price (``cache_write``), 1-hour writes at 2x (``cache_write_1h``). Reads are 0.1x.

Families are matched by regular expression on the lower-cased model id, first match wins,
so more specific patterns come first (``opus-4-5`` before ``opus``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["PRICES", "Price", "cost_usd", "price_for"]


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million tokens for each non-overlapping token kind."""

    family: str
    input: float
    output: float
    cache_write: float
    """5-minute cache writes (and writes of unknown lifetime)."""
    cache_read: float
    cache_write_1h: float = 0.0
    """1-hour cache writes: twice the base input price at Anthropic."""


def _p(family: str, input: float, output: float, cache_write: float, cache_read: float) -> Price:
    # Anthropic prices 1-hour writes at 2x base input; OpenAI has no cache-write charge.
    return Price(family, input, output, cache_write, cache_read, 2 * input if cache_write else 0.0)


# (pattern, price); first match wins. OpenAI has no cache-write charge.
PRICES: tuple[tuple[re.Pattern[str], Price], ...] = tuple(
    (re.compile(pattern), price)
    for pattern, price in (
        (r"opus-4[-.][5-9]", _p("claude-opus-4.5", 5.0, 25.0, 6.25, 0.50)),
        (r"opus", _p("claude-opus-4", 15.0, 75.0, 18.75, 1.50)),
        (r"sonnet", _p("claude-sonnet", 3.0, 15.0, 3.75, 0.30)),
        (r"haiku-4", _p("claude-haiku-4.5", 1.0, 5.0, 1.25, 0.10)),
        (r"3-5-haiku|haiku-3-5", _p("claude-haiku-3.5", 0.80, 4.0, 1.0, 0.08)),
        (r"3-haiku", _p("claude-haiku-3", 0.25, 1.25, 0.30, 0.03)),
        (r"gpt-5(\.\d+)?(-codex)?-mini", _p("gpt-5-mini", 0.25, 2.0, 0.0, 0.025)),
        (r"gpt-5(\.\d+)?-nano", _p("gpt-5-nano", 0.05, 0.40, 0.0, 0.005)),
        (r"gpt-5", _p("gpt-5", 1.25, 10.0, 0.0, 0.125)),
        (r"o4-mini|o3-mini", _p("o4-mini", 1.10, 4.40, 0.0, 0.275)),
        (r"(^|[^a-z0-9])o3($|[^a-z0-9])", _p("o3", 2.0, 8.0, 0.0, 0.50)),
        (r"gpt-4\.1-mini", _p("gpt-4.1-mini", 0.40, 1.60, 0.0, 0.10)),
        (r"gpt-4\.1", _p("gpt-4.1", 2.0, 8.0, 0.0, 0.50)),
    )
)


def price_for(model: str) -> Price | None:
    name = model.lower()
    for pattern, price in PRICES:
        if pattern.search(name):
            return price
    return None


def cost_usd(
    model: str,
    *,
    input_tokens: int,
    output_tokens: int,
    cache_creation_tokens: int = 0,
    cache_read_tokens: int = 0,
    cache_creation_1h_tokens: int = 0,
) -> float | None:
    """The list-price cost of these tokens, rounded to a millionth of a dollar.

    ``cache_creation_1h_tokens`` is the part of ``cache_creation_tokens`` written to the
    1-hour cache (priced at ``cache_write_1h``); the rest is priced as 5-minute writes.
    """
    price = price_for(model)
    if price is None:
        return None
    hour = min(cache_creation_1h_tokens, cache_creation_tokens)
    micro = (
        input_tokens * price.input
        + output_tokens * price.output
        + (cache_creation_tokens - hour) * price.cache_write
        + hour * price.cache_write_1h
        + cache_read_tokens * price.cache_read
    )
    return round(micro / 1_000_000, 6)
