"""Protecting the population registry: a shared circuit breaker, paced call slots under the
per-second cap, and retry backoff. Pure logic: no I/O, time comes in as arguments or from an injected clock.

Circuit breaker
---------------
The state lives in ONE shared record (DynamoDB item `BREAKER#registry`), so every worker
sees the same breaker. Transitions are pure functions over the immutable `BreakerState`;
every real transition returns a new state with `version + 1`, and a store applies it only
if the stored version is still the one it was computed from (`save(new, expected_version)`,
a conditional write). A function that has nothing to change returns the SAME object, so
the caller skips the write: in healthy operation (no failures) the breaker is never written.

    CLOSED --(N consecutive failures, or >= ratio of calls failing within a
              window that starts at a failure)--> OPEN
    OPEN --(cool-down elapsed; exactly one caller wins the conditional claim)--> HALF_OPEN
    HALF_OPEN --probe succeeds--> CLOSED
    HALF_OPEN --probe fails--> OPEN (a new cool-down)
    HALF_OPEN, probe silent for `probe_lease_s` (the prober died) --> another caller may claim

Results of calls admitted before the breaker opened are ignored while it is OPEN.

Paced slots
-----------
`paced_slot` hands out call slots evenly spaced under the per-second cap, shared through a
`SlotStore` (DynamoDB: one counter item per pacing period), so calls leave at least 1/cap
apart and no one-second window sees more than the cap.

Backoff
-------
`backoff_delay` is exponential backoff with full jitter, in whole seconds (an SQS
visibility timeout), at least 1.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Protocol

from prakerja.domain.ports import Clock


class BreakerMode(StrEnum):
    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"


@dataclass(frozen=True)
class BreakerConfig:
    failure_threshold: int = 5  # consecutive transient failures that open the breaker
    failure_ratio: float = 0.5  # ...or this share of calls failing within one window
    min_calls: int = 20  # calls needed in a window before the ratio counts
    window_s: float = 10.0  # a window starts at a failure and lasts this long
    cooldown_s: float = 30.0  # how long OPEN refuses calls before a probe
    probe_lease_s: float = 30.0  # a probe silent this long is presumed dead (keep > client timeout)
    half_open_retry_s: float = 2.0  # how soon callers refused during a probe look again

    def __post_init__(self) -> None:
        if self.failure_threshold < 1 or self.min_calls < 1:
            raise ValueError("failure_threshold and min_calls must be >= 1")
        if not 0 < self.failure_ratio <= 1:
            raise ValueError("failure_ratio must be in (0, 1]")
        if min(self.window_s, self.cooldown_s, self.probe_lease_s, self.half_open_retry_s) <= 0:
            raise ValueError("durations must be > 0")


DEFAULT_BREAKER = BreakerConfig()


@dataclass(frozen=True)
class BreakerState:
    mode: BreakerMode = BreakerMode.CLOSED
    consecutive_failures: int = 0
    window_start: float | None = None  # epoch seconds of the failure that opened the window
    window_calls: int = 0
    window_failures: int = 0
    opened_at: float | None = None  # when the breaker last opened
    probe_started_at: float | None = None  # HALF_OPEN: when the current probe was claimed
    version: int = 0  # optimistic concurrency: +1 on every persisted transition


@dataclass(frozen=True)
class Decision:
    """May this caller call the registry now?

    - `allowed`: call now. `probe`: this call is the single half-open probe; report its
      outcome with on_success/on_failure.
    - `retry_after_s`: when refused, how long to wait before asking again.
    - `claim`: when not None, the caller is allowed ONLY if it manages to save this state
      with `expected_version = <the state decide() was given>.version` (the probe claim);
      if the save fails another caller won the probe, so load again and decide again.
    """

    allowed: bool
    probe: bool = False
    retry_after_s: float = 0.0
    claim: BreakerState | None = None


def _window_open(state: BreakerState, now: float, config: BreakerConfig) -> bool:
    return state.window_start is not None and now - state.window_start < config.window_s


def _opened(state: BreakerState, now: float) -> BreakerState:
    return BreakerState(mode=BreakerMode.OPEN, opened_at=now, version=state.version + 1)


def decide(state: BreakerState, now: float, config: BreakerConfig = DEFAULT_BREAKER) -> Decision:
    if state.mode is BreakerMode.CLOSED:
        return Decision(allowed=True)
    if state.mode is BreakerMode.OPEN:
        opened_at = state.opened_at if state.opened_at is not None else now
        remaining = opened_at + config.cooldown_s - now
        if remaining > 0:
            return Decision(allowed=False, retry_after_s=remaining)
        return Decision(
            allowed=True,
            probe=True,
            claim=replace(state, mode=BreakerMode.HALF_OPEN, probe_started_at=now, version=state.version + 1),
        )
    # HALF_OPEN: one probe at a time; a probe that never reported back expires.
    started = state.probe_started_at if state.probe_started_at is not None else now - config.probe_lease_s
    lease_left = started + config.probe_lease_s - now
    if lease_left > 0:
        return Decision(allowed=False, retry_after_s=min(lease_left, config.half_open_retry_s))
    return Decision(allowed=True, probe=True, claim=replace(state, probe_started_at=now, version=state.version + 1))


def on_success(state: BreakerState, now: float, config: BreakerConfig = DEFAULT_BREAKER) -> BreakerState:
    if state.mode is BreakerMode.HALF_OPEN:
        return BreakerState(version=state.version + 1)  # the probe worked: close
    if state.mode is BreakerMode.OPEN:
        return state  # a call admitted before the breaker opened: ignore
    if _window_open(state, now, config):
        return replace(state, consecutive_failures=0, window_calls=state.window_calls + 1, version=state.version + 1)
    if state.consecutive_failures == 0 and state.window_start is None:
        return state  # healthy: nothing to write
    return replace(
        state, consecutive_failures=0, window_start=None, window_calls=0, window_failures=0, version=state.version + 1
    )


def on_failure(state: BreakerState, now: float, config: BreakerConfig = DEFAULT_BREAKER) -> BreakerState:
    if state.mode is BreakerMode.HALF_OPEN:
        return _opened(state, now)  # the probe failed: a new cool-down
    if state.mode is BreakerMode.OPEN:
        return state  # late result of a call admitted before opening: ignore
    consecutive = state.consecutive_failures + 1
    if _window_open(state, now, config):
        start, calls, failures = state.window_start, state.window_calls + 1, state.window_failures + 1
    else:
        start, calls, failures = now, 1, 1
    if consecutive >= config.failure_threshold or (
        calls >= config.min_calls and failures >= config.failure_ratio * calls
    ):
        return _opened(state, now)
    return replace(
        state,
        consecutive_failures=consecutive,
        window_start=start,
        window_calls=calls,
        window_failures=failures,
        version=state.version + 1,
    )


def changed(old: BreakerState, new: BreakerState) -> bool:
    """Whether `new` must be persisted (transition functions return `old` itself otherwise)."""
    return new is not old and new.version != old.version


# -- persistence --------------------------------------------------------------------------------
class BreakerStore(Protocol):
    def load(self) -> BreakerState:
        """The current state (a fresh `BreakerState()` with version 0 when none is stored)."""

    def save(self, new: BreakerState, expected_version: int) -> bool:
        """Store `new` only if the stored version is still `expected_version` (0 = none
        stored yet). False when another writer got there first."""


def admit(store: BreakerStore, now: float, config: BreakerConfig = DEFAULT_BREAKER, *, attempts: int = 3) -> Decision:
    """Load, decide and (for a probe) claim atomically. A lost claim race re-decides from the
    fresh state, which then says "wait for the other caller's probe"."""
    for _ in range(attempts):
        state = store.load()
        decision = decide(state, now, config)
        if decision.claim is None:
            return decision
        if store.save(decision.claim, state.version):
            return Decision(allowed=True, probe=True)
    return Decision(allowed=False, retry_after_s=config.half_open_retry_s)


def record(
    store: BreakerStore, now: float, ok: bool, config: BreakerConfig = DEFAULT_BREAKER, *, attempts: int = 5
) -> BreakerState:
    """Apply one call outcome with optimistic concurrency (best effort: after `attempts`
    conflicts the outcome is dropped, which only delays opening or closing a little)."""
    state = store.load()
    for _ in range(attempts):
        new = on_success(state, now, config) if ok else on_failure(state, now, config)
        if not changed(state, new):
            return state
        if store.save(new, state.version):
            return new
        state = store.load()
    return state


# -- retry backoff ------------------------------------------------------------------------------
def backoff_delay(attempt: int, base_s: float = 2, cap_s: int = 900, rng: Callable[[], float] = random.random) -> int:
    """Seconds to wait before retry number `attempt` (1 = first retry; SQS's
    ApproximateReceiveCount fits): uniform in [1, min(cap_s, base_s * 2**(attempt-1))]
    ("full jitter", so retries of many messages spread out instead of arriving together)."""
    if base_s <= 0 or cap_s < 1:
        raise ValueError("base_s must be > 0 and cap_s >= 1")
    exponent = min(max(attempt, 1) - 1, 62)
    ceiling = min(float(cap_s), base_s * 2.0**exponent)
    return max(1, min(cap_s, math.ceil(rng() * ceiling)))


# -- paced slots: evenly spaced calls under the cap ------------------------------------------------
class SlotStore(Protocol):
    def take(self, second: int, cap: int, min_index: int = 0) -> int | None:
        """Atomically take the next free slot of pacing period `second` whose index is at least
        `min_index` (slots before it are already in the past): its index, or None when none of
        the `cap` slots is left."""


PACING_PERIOD_S = 1.05  # cap slots per 1.05 s: 5% margin for the jitter between slot and arrival


def paced_slot(
    store: SlotStore,
    clock: Clock,
    cap: int,
    max_wait_s: float,
    sleep: Callable[[float], None] = time.sleep,
    period_s: float = PACING_PERIOD_S,
) -> bool:
    """Take a call slot under the `cap` and wait for its moment. Time is cut into periods of
    `period_s` (a little over a second) with `cap` slots each; slot k of period P starts at
    P*period_s + k*period_s/cap, and only slots that have not started yet are handed out.
    Calls then leave at least period_s/cap apart, so no one-second window, however it is
    aligned (the registry counts by its own clock) and with a little jitter on the way, sees
    more than `cap` of them; a plain per-second count lets up to 2*cap through around a
    boundary. False when no slot can be had within `max_wait_s` (the caller defers the work)."""
    if cap < 1:
        raise ValueError("cap must be >= 1")
    deadline = clock.now() + max(0.0, max_wait_s)
    period = math.floor(clock.now() / period_s)
    while True:
        now = clock.now()
        period = max(period, math.floor(now / period_s))  # float rounding never moves us back
        begins = period * period_s
        index = store.take(period, cap, min_index=max(0, math.ceil((now - begins) * cap / period_s - 1e-9)))
        if index is not None:
            start = begins + index * period_s / cap
            if start > now:
                sleep(start - now)
            return True
        period += 1
        if period * period_s > deadline:
            return False
        sleep(max(0.0, period * period_s - now))
