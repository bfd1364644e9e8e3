"""Circuit breaker and retry backoff (pure logic, simulated time)."""

from __future__ import annotations

import random
import threading

import pytest

from prakerja.domain.resilience import (
    BreakerConfig,
    BreakerMode,
    BreakerState,
    admit,
    backoff_delay,
    changed,
    decide,
    on_failure,
    on_success,
    record,
)
from tests.fakes import InMemoryBreakerStore

T0 = 1_767_225_600.0
CFG = BreakerConfig(
    failure_threshold=5,
    cooldown_s=30.0,
    window_s=10.0,
    min_calls=20,
    failure_ratio=0.5,
    probe_lease_s=20.0,
    half_open_retry_s=2.0,
)


def fail_n(state: BreakerState, n: int, now: float = T0) -> BreakerState:
    for _ in range(n):
        state = on_failure(state, now, CFG)
    return state


def opened(now: float = T0) -> BreakerState:
    state = fail_n(BreakerState(), CFG.failure_threshold, now)
    assert state.mode is BreakerMode.OPEN
    return state


# -- breaker transitions ------------------------------------------------------------------------
def test_closed_breaker_allows_calls_and_healthy_successes_write_nothing() -> None:
    state = BreakerState()
    assert decide(state, T0, CFG).allowed
    # When a call succeeds on a healthy breaker, Then the state object is unchanged (no write)
    assert on_success(state, T0, CFG) is state
    assert not changed(state, on_success(state, T0, CFG))


def test_breaker_opens_after_n_consecutive_failures() -> None:
    state = fail_n(BreakerState(), CFG.failure_threshold - 1)
    assert state.mode is BreakerMode.CLOSED
    state = on_failure(state, T0, CFG)
    assert state.mode is BreakerMode.OPEN
    decision = decide(state, T0 + 1, CFG)
    assert not decision.allowed
    assert decision.retry_after_s == pytest.approx(29.0)


def test_a_success_resets_the_consecutive_count() -> None:
    state = fail_n(BreakerState(), CFG.failure_threshold - 1)
    state = on_success(state, T0, CFG)
    state = fail_n(state, CFG.failure_threshold - 1)
    assert state.mode is BreakerMode.CLOSED


def test_breaker_opens_on_failure_ratio_within_a_window() -> None:
    # Given alternating failures and successes (never 5 in a row) within 10 s
    state = BreakerState()
    for i in range(CFG.min_calls):
        now = T0 + i * 0.1
        state = on_failure(state, now, CFG) if i % 2 == 0 else on_success(state, now, CFG)
    assert state.mode is BreakerMode.CLOSED  # a success never opens it
    # When the next call fails: 11 of 21 calls failed within the window, Then it opens
    state = on_failure(state, T0 + 2.0, CFG)
    assert state.mode is BreakerMode.OPEN


def test_failure_ratio_below_threshold_keeps_it_closed() -> None:
    state = BreakerState()
    for i in range(40):
        now = T0 + i * 0.1
        state = on_failure(state, now, CFG) if i % 4 == 0 else on_success(state, now, CFG)
    assert state.mode is BreakerMode.CLOSED


def test_failures_spread_over_expired_windows_do_not_add_up() -> None:
    state = BreakerState()
    for i in range(30):
        now = T0 + i * 11  # each failure in a new window, a success in between
        state = on_failure(state, now, CFG)
        state = on_success(state, now + 1, CFG)
    assert state.mode is BreakerMode.CLOSED


def test_after_cooldown_exactly_one_probe_then_close_on_success() -> None:
    state = opened()
    decision = decide(state, T0 + 30, CFG)
    assert decision.allowed and decision.probe and decision.claim is not None
    half_open = decision.claim
    assert half_open.mode is BreakerMode.HALF_OPEN and half_open.version == state.version + 1
    # While the probe is in flight, others are told to come back soon
    waiting = decide(half_open, T0 + 31, CFG)
    assert not waiting.allowed and 0 < waiting.retry_after_s <= CFG.half_open_retry_s
    closed = on_success(half_open, T0 + 31, CFG)
    assert closed.mode is BreakerMode.CLOSED and closed.consecutive_failures == 0
    assert decide(closed, T0 + 31, CFG).allowed


def test_probe_failure_reopens_for_a_new_cooldown() -> None:
    half_open = decide(opened(), T0 + 30, CFG).claim
    assert half_open is not None
    reopened = on_failure(half_open, T0 + 31, CFG)
    assert reopened.mode is BreakerMode.OPEN and reopened.opened_at == T0 + 31
    assert not decide(reopened, T0 + 60, CFG).allowed
    assert decide(reopened, T0 + 61, CFG).probe


def test_a_probe_that_never_reports_back_expires() -> None:
    half_open = decide(opened(), T0 + 30, CFG).claim
    assert half_open is not None
    assert not decide(half_open, T0 + 49, CFG).allowed
    again = decide(half_open, T0 + 50, CFG)
    assert again.allowed and again.probe and again.claim is not None


def test_late_results_while_open_are_ignored() -> None:
    state = opened()
    assert on_success(state, T0 + 1, CFG) is state
    assert on_failure(state, T0 + 1, CFG) is state


def test_every_transition_bumps_the_version() -> None:
    state = BreakerState()
    versions = [state.version]
    for step in (lambda s: on_failure(s, T0, CFG), lambda s: on_success(s, T0, CFG)):
        state = step(state)
        versions.append(state.version)
    assert versions == [0, 1, 2]


# -- through a store: single probe, version conflicts ------------------------------------------
def test_only_one_of_many_concurrent_callers_gets_the_probe() -> None:
    # Given an open breaker whose cool-down has passed, When 20 workers ask at once
    store = InMemoryBreakerStore(opened())
    barrier = threading.Barrier(20)
    results = []
    lock = threading.Lock()

    def worker() -> None:
        barrier.wait(timeout=5)
        decision = admit(store, T0 + 30, CFG)
        with lock:
            results.append(decision)

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=5)
    # Then exactly one is allowed (the probe), the rest wait
    assert sum(d.allowed for d in results) == 1
    assert sum(d.probe for d in results) == 1
    assert all(d.retry_after_s > 0 for d in results if not d.allowed)
    assert store.load().mode is BreakerMode.HALF_OPEN


def test_save_with_a_stale_version_is_refused() -> None:
    store = InMemoryBreakerStore()
    base = store.load()
    first = on_failure(base, T0, CFG)
    assert store.save(first, base.version)
    assert not store.save(on_failure(base, T0, CFG), base.version)  # computed from the old state
    assert store.load() == first
    assert store.conflicts == 1


def test_record_retries_on_conflict_and_counts_every_failure() -> None:
    store = InMemoryBreakerStore()
    threads = [threading.Thread(target=record, args=(store, T0, False, CFG), kwargs={"attempts": 50}) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=5)
    assert store.load().consecutive_failures == 4


def test_record_skips_the_write_when_nothing_changes() -> None:
    store = InMemoryBreakerStore()
    for _ in range(10):
        record(store, T0, True, CFG)
    assert store.saves == 0


def test_full_cycle_through_the_store() -> None:
    store = InMemoryBreakerStore()
    for _ in range(5):
        record(store, T0, False, CFG)
    assert not admit(store, T0 + 5, CFG).allowed
    probe = admit(store, T0 + 31, CFG)
    assert probe.allowed and probe.probe
    assert not admit(store, T0 + 31.5, CFG).allowed
    record(store, T0 + 32, True, CFG)
    assert admit(store, T0 + 32, CFG).allowed
    assert store.load().mode is BreakerMode.CLOSED


def test_config_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        BreakerConfig(failure_threshold=0)
    with pytest.raises(ValueError):
        BreakerConfig(failure_ratio=1.5)
    with pytest.raises(ValueError):
        BreakerConfig(cooldown_s=0)


# -- backoff --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("attempt", "ceiling"), [(1, 2), (2, 4), (3, 8), (5, 32), (10, 900), (200, 900)])
def test_backoff_stays_within_bounds(attempt: int, ceiling: int) -> None:
    rng = random.Random(attempt)
    delays = [backoff_delay(attempt, rng=rng.random) for _ in range(500)]
    assert min(delays) >= 1
    assert max(delays) <= ceiling


def test_backoff_extremes_of_the_jitter() -> None:
    assert backoff_delay(4, rng=lambda: 0.0) == 1  # never 0: an SQS visibility timeout of 0 would spin
    assert backoff_delay(4, rng=lambda: 0.999999) == 16
    assert backoff_delay(30, rng=lambda: 0.999999) == 900


def test_backoff_is_jittered_across_the_whole_range() -> None:
    rng = random.Random(1)
    delays = {backoff_delay(8, rng=rng.random) for _ in range(2000)}  # ceiling 256
    assert len(delays) > 150
    assert min(delays) <= 10 and max(delays) >= 245


def test_backoff_attempt_zero_or_negative_counts_as_first() -> None:
    assert backoff_delay(0, rng=lambda: 0.999) == 2
    assert backoff_delay(-3, rng=lambda: 0.999) == 2


def test_backoff_rejects_bad_parameters() -> None:
    with pytest.raises(ValueError):
        backoff_delay(1, base_s=0)
    with pytest.raises(ValueError):
        backoff_delay(1, cap_s=0)
