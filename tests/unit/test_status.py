"""GET /status in the domain: backlog estimates, registry health from the breaker, and the
per-environment cache that bounds AWS calls, with in-memory fakes."""

from __future__ import annotations

import threading

import pytest

from prakerja.domain.resilience import BreakerMode, BreakerState
from prakerja.domain.status import DrainRates, StatusService, registry_health
from prakerja.http.views import status_body
from tests.fakes import FakeClock


class Source:
    def __init__(self, emails: int = 0, checks: int = 0, breaker: BreakerState | None = None) -> None:
        self.emails, self.checks = emails, checks
        self.state = breaker or BreakerState()
        self.calls = 0
        self.fail = False

    def email_backlog(self) -> int:
        self.calls += 1
        if self.fail:
            raise RuntimeError("throttled")
        return self.emails

    def nik_backlog(self) -> int:
        return self.checks

    def breaker(self) -> BreakerState:
        return self.state


RATES = DrainRates(email_per_s=14, nik_per_s=50)


def test_backlogs_and_their_drain_estimates() -> None:
    clock = FakeClock()
    status = StatusService(Source(emails=1400, checks=101), clock, RATES).get_status()
    body = status_body(status)
    assert body["email"] == {"queued": 1400, "eta_s": 100}
    assert body["nik"] == {"pending": 101, "eta_s": 3, "registry": "UP"}
    assert body["updated_at"].endswith("Z")


def test_the_email_drain_rate_is_the_slower_of_ses_and_the_senders() -> None:
    assert DrainRates.configured(ses_send_rate=14, sender_concurrency=10, registry_max_rps=50).email_per_s == 14
    assert DrainRates.configured(ses_send_rate=500, sender_concurrency=10, registry_max_rps=50).email_per_s == 100


@pytest.mark.parametrize(
    ("state", "health"),
    [
        (BreakerState(), "UP"),
        (BreakerState(mode=BreakerMode.OPEN, opened_at=990.0), "DOWN"),
        (BreakerState(mode=BreakerMode.HALF_OPEN, probe_started_at=999.0), "DEGRADED"),
        (BreakerState(consecutive_failures=2), "DEGRADED"),
        (BreakerState(window_start=995.0, window_calls=30, window_failures=3), "DEGRADED"),
        (BreakerState(window_start=900.0, window_calls=30, window_failures=3), "UP"),  # an old window
    ],
)
def test_registry_health_from_the_breaker(state: BreakerState, health: str) -> None:
    assert registry_health(state, now=1000.0, window_s=10.0) == health


def test_a_crowd_of_readers_costs_one_set_of_calls_per_15_s() -> None:
    clock, source = FakeClock(), Source(emails=5)
    service = StatusService(source, clock, RATES)
    readers = [threading.Thread(target=service.get_status) for _ in range(50)]
    for t in readers:
        t.start()
    for t in readers:
        t.join()
    clock.advance(14.9)
    service.get_status()
    assert source.calls == 1
    clock.advance(0.2)
    source.emails = 7
    assert service.get_status().email.queued == 7 and source.calls == 2


def test_a_failed_refresh_serves_the_recent_answer_then_gives_up() -> None:
    clock, source = FakeClock(), Source(emails=5)
    service = StatusService(source, clock, RATES)
    first = service.get_status()
    source.fail = True
    clock.advance(30)
    assert service.get_status() == first  # stale but recent beats an error under load
    clock.advance(120)
    with pytest.raises(RuntimeError):
        service.get_status()
