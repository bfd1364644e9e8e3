"""get_status: how long the queues are and whether the population registry answers, for the
public status route (no personal data: counts, estimates and a registry health word).

The figures come from the queue attributes and the shared circuit breaker. They are cached in
memory for `cache_s` per execution environment (one refresh at a time), so any crowd of readers
costs at most one set of AWS calls per `cache_s` per environment. When a refresh fails and a
recent answer exists, that answer is served (a status page must not fail under the very load it
reports on).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Literal, Protocol

from prakerja.domain.ports import Clock
from prakerja.domain.resilience import BreakerMode, BreakerState

RegistryHealth = Literal["UP", "DEGRADED", "DOWN"]
CACHE_S = 15.0
STALE_LIMIT_S = 120.0  # how old a cached answer may be when a refresh fails
EMAILS_PER_INVOCATION_PER_S = 10.0  # one sender invocation sends its batch one email after another


class StatusSource(Protocol):
    def email_backlog(self) -> int:
        """Email jobs queued, in flight or delayed."""

    def nik_backlog(self) -> int:
        """NIK checks queued, in flight or delayed."""

    def breaker(self) -> BreakerState: ...


@dataclass(frozen=True)
class DrainRates:
    """How fast each backlog drains when all goes well (per second)."""

    email_per_s: float
    nik_per_s: float

    @classmethod
    def configured(cls, ses_send_rate: float, sender_concurrency: int, registry_max_rps: float) -> DrainRates:
        email = min(ses_send_rate, sender_concurrency * EMAILS_PER_INVOCATION_PER_S)
        return cls(email_per_s=max(email, 0.001), nik_per_s=max(registry_max_rps, 0.001))


@dataclass(frozen=True)
class Backlog:
    queued: int
    eta_s: int


@dataclass(frozen=True)
class SystemStatus:
    email: Backlog
    nik: Backlog
    registry: RegistryHealth
    updated_at: float


def eta_s(queued: int, per_s: float) -> int:
    return math.ceil(queued / per_s) if queued > 0 else 0


def registry_health(state: BreakerState, now: float, window_s: float = 10.0) -> RegistryHealth:
    """DOWN while the breaker is open; DEGRADED while it probes or after recent failures; else UP."""
    if state.mode is BreakerMode.OPEN:
        return "DOWN"
    if state.mode is BreakerMode.HALF_OPEN or state.consecutive_failures > 0:
        return "DEGRADED"
    if state.window_failures > 0 and state.window_start is not None and now - state.window_start < window_s:
        return "DEGRADED"
    return "UP"


class StatusService:
    def __init__(
        self,
        source: StatusSource,
        clock: Clock,
        rates: DrainRates,
        *,
        cache_s: float = CACHE_S,
        breaker_window_s: float = 10.0,
    ) -> None:
        self._source = source
        self._clock = clock
        self._rates = rates
        self._cache_s = cache_s
        self._window_s = breaker_window_s
        self._cached: SystemStatus | None = None
        self._lock = threading.Lock()

    def get_status(self) -> SystemStatus:
        with self._lock:  # one refresh at a time; the others read its result
            now = self._clock.now()
            cached = self._cached
            if cached is not None and now - cached.updated_at < self._cache_s:
                return cached
            try:
                fresh = self._read(now)
            except Exception:
                if cached is not None and now - cached.updated_at < STALE_LIMIT_S:
                    return cached
                raise
            self._cached = fresh
            return fresh

    def _read(self, now: float) -> SystemStatus:
        emails = self._source.email_backlog()
        checks = self._source.nik_backlog()
        health = registry_health(self._source.breaker(), now, self._window_s)
        return SystemStatus(
            email=Backlog(emails, eta_s(emails, self._rates.email_per_s)),
            nik=Backlog(checks, eta_s(checks, self._rates.nik_per_s)),
            registry=health,
            updated_at=now,
        )
