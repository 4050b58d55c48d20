"""Pure pieces: password hashing, the login rate limiter, role declarations, CSRF binding."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contactcenter.domain.clock import Clock
from contactcenter.web.auth import LoginRateLimiter, hash_password, verify_password
from contactcenter.web.roles import handler_roles, requires
from contactcenter.web.sessions import csrf_matches, csrf_token_for, new_token, token_hash


def test_hash_is_self_describing_salted_scrypt():
    first, second = hash_password("same password"), hash_password("same password")
    assert first.startswith("scrypt$n=16384,r=8,p=1$")
    assert first != second  # fresh salt each time
    assert verify_password("same password", first)
    assert verify_password("same password", second)
    assert not verify_password("same passworD", first)


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "plain",
        "bcrypt$x$y$z",
        "scrypt$n=2,r=8$AAAA$AAAA",
        "scrypt$n=9999999999,r=8,p=1$AA$AA",
        "scrypt$n=16384,r=8,p=1$***$***",
        "scrypt$n=16384,r=8,p=1$AAAA$",
        "scrypt$n=1048576,r=32,p=1$AAAA$AAAA",  # past the memory cap
        "scrypt$n=1000,r=8,p=1$AAAA$AAAA",  # n not a power of two
    ],
)
def test_malformed_stored_hashes_never_verify(stored):
    assert verify_password("anything", stored) is False


@settings(max_examples=15, deadline=None)
@given(st.text(min_size=1, max_size=40))
def test_any_password_round_trips_with_cheap_params(password):
    # The stored string carries its own parameters, so a cheap hash verifies too.
    import base64
    import hashlib

    salt = b"0123456789abcdef"
    digest = hashlib.scrypt(password.encode(), salt=salt, n=16, r=1, p=1, dklen=16)
    stored = (
        f"scrypt$n=16,r=1,p=1${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"
    )
    assert verify_password(password, stored)
    assert not verify_password(password + "x", stored)


async def test_rate_limiter_blocks_after_max_failures_and_forgives_after_window():
    clock = Clock(speed=1000.0)
    limiter = LoginRateLimiter(clock, max_failures=3, window=60.0)
    for _ in range(3):
        assert limiter.retry_after("user:a", "ip:1") == 0
        limiter.failure("user:a", "ip:1")
    wait = limiter.retry_after("user:a")
    assert 0 < wait <= 60
    assert limiter.retry_after("ip:1") > 0
    assert limiter.retry_after("user:b", "ip:2") == 0
    limiter.reset("user:a")
    assert limiter.retry_after("user:a") == 0
    assert limiter.retry_after("ip:1") > 0
    await clock.sleep(61.0)  # 61 ms real
    assert limiter.retry_after("ip:1") == 0


async def test_rate_limiter_counts_attempts_as_they_start_and_aggregates_refusals():
    clock = Clock(speed=1000.0)
    limiter = LoginRateLimiter(clock, max_failures=2, window=60.0)
    assert limiter.begin("user:a", "ip:1") == 0 and limiter.begin("user:a", "ip:1") == 0
    assert limiter.begin("user:a", "ip:1") > 0  # two still running: the third waits
    limiter.succeeded("user:a", "ip:1")  # one was right: user forgiven, one left on the ip
    assert limiter.retry_after("user:a") == 0 and limiter.begin("user:b", "ip:1") == 0
    assert limiter.begin("user:c", "ip:1") > 0
    # Refusals: the first of a window is written down, the rest counted into the next one.
    assert [limiter.refused("user:c", "ip:1") for _ in range(4)] == [0, None, None, None]
    await clock.sleep(61.0)  # 61 ms real
    assert limiter.refused("user:c", "ip:1") == 3


def test_rate_limiter_memory_is_bounded():
    limiter = LoginRateLimiter(Clock(), max_failures=5, window=300.0, max_keys=100)
    for i in range(1000):
        limiter.failure(f"ip:{i}")
    assert len(limiter._failures) == 100


def test_requires_validates_roles():
    @requires("supervisor", "admin")
    async def handler(request):
        return None

    assert handler_roles(handler) == frozenset({"supervisor", "admin"})
    with pytest.raises(ValueError):
        requires("root")
    with pytest.raises(ValueError):
        requires()
    with pytest.raises(ValueError):
        requires("public", "admin")

    async def bare(request):
        return None

    bare.roles = {"admin"}  # a plain set is not a declaration made through requires()
    assert handler_roles(bare) is None


def test_csrf_token_is_bound_to_the_session_token():
    one, two = new_token(), new_token()
    assert one != two and len(one) >= 43
    assert len(token_hash(one)) == 64 and token_hash(one) != one
    assert csrf_matches(one, csrf_token_for(one))
    assert not csrf_matches(one, csrf_token_for(two))
    assert not csrf_matches(one, None)
    assert not csrf_matches(one, "")
    assert not csrf_matches(one, "é" * 50)
