from __future__ import annotations

from hangar.core.ids import (
    SHORT_ID_LEN,
    ULID_LEN,
    SequentialIdGen,
    UlidGen,
    is_ulid,
    short_id,
)

T0 = 1_767_225_600_000


def test_shape() -> None:
    gen = UlidGen()
    uid = gen.new_id(T0)
    assert len(uid) == ULID_LEN == 26
    assert is_ulid(uid)
    assert uid == uid.upper()


def test_time_prefix_encodes_the_millisecond() -> None:
    gen = UlidGen()
    a, b = gen.new_id(T0), gen.new_id(T0 + 1)
    assert a[:10] != b[:10]


def test_sortable_in_mint_order_across_milliseconds() -> None:
    gen = UlidGen()
    ids = [gen.new_id(T0 + i) for i in range(100)]
    assert ids == sorted(ids)


def test_sortable_in_mint_order_within_one_millisecond() -> None:
    gen = UlidGen()
    ids = [gen.new_id(T0) for _ in range(1_000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_a_clock_that_steps_back_still_sorts() -> None:
    gen = UlidGen()
    a = gen.new_id(T0 + 5)
    b = gen.new_id(T0)  # the wall clock went backwards
    assert a < b


def test_monotonic_even_with_a_maximal_random_draw() -> None:
    gen = UlidGen(randbytes=lambda n: b"\xff" * (n - 1) + b"\xf0")
    ids = [gen.new_id(T0) for _ in range(10)]
    assert ids == sorted(ids)


def test_injected_randomness_is_deterministic() -> None:
    a = UlidGen(randbytes=lambda n: b"\x01" * n).new_id(T0)
    b = UlidGen(randbytes=lambda n: b"\x01" * n).new_id(T0)
    assert a == b


def test_short_id_is_the_lowercased_tail() -> None:
    uid = UlidGen().new_id(T0)
    assert short_id(uid) == uid[-8:].lower()
    assert len(short_id(uid)) == SHORT_ID_LEN == 8


def test_short_ids_differ_within_one_millisecond() -> None:
    gen = UlidGen()
    a, b = gen.new_id(T0), gen.new_id(T0)
    assert a[:8] == b[:8]  # the head is timestamp bits: the collision short_id avoids
    assert short_id(a) != short_id(b)


def test_short_ids_differ_for_fresh_randomness_in_one_millisecond() -> None:
    ids = [UlidGen().new_id(T0) for _ in range(200)]
    assert len({short_id(i) for i in ids}) == len(ids)


def test_is_ulid() -> None:
    assert not is_ulid("")
    assert not is_ulid("0" * 25)
    assert not is_ulid("I" * 26)  # Crockford base32 has no I, L, O, U
    assert is_ulid("0" * 26)


def test_sequential_gen_is_ulid_shaped_and_ordered() -> None:
    gen = SequentialIdGen()
    ids = [gen.new_id(T0) for _ in range(50)]
    assert all(is_ulid(i) for i in ids)
    assert ids == sorted(ids)
    assert len({short_id(i) for i in ids}) == 50
