"""Paced call slots: however the registry's one-second windows are aligned, it never sees more
than the cap (a plain per-second counter lets up to 2x the cap through around a boundary)."""

from __future__ import annotations

import itertools

import pytest

from prakerja.domain.resilience import paced_slot
from tests.fakes import FakeClock, InMemorySlotStore


@pytest.mark.parametrize("start_offset", [0.0, 0.3, 0.999])
def test_a_burst_leaves_evenly_spaced_and_no_window_exceeds_the_cap_even_with_jitter(start_offset: float):
    clock, store, cap = FakeClock(1000 + start_offset), InMemorySlotStore(), 5
    departures = []
    for _ in range(23):  # a burst of callers, one after another on the same clock
        assert paced_slot(store, clock, cap, max_wait_s=10, sleep=clock.advance)
        departures.append(clock.now())
    gaps = [b - a for a, b in itertools.pairwise(departures)]
    assert min(gaps) >= 1.0 / cap
    jittered = [t + (0.02 if i % 2 else -0.02) for i, t in enumerate(departures)]  # +-20 ms on the way
    arrivals = sorted(jittered)
    for i, t in enumerate(arrivals):
        in_window = [d for d in arrivals[i:] if d < t + 1.0]
        assert len(in_window) <= cap


def test_no_slot_within_the_wait_means_defer():
    clock, store = FakeClock(2100.0), InMemorySlotStore()  # the start of a pacing period (2000 x 1.05)
    for _ in range(3):
        assert paced_slot(store, clock, 3, max_wait_s=2, sleep=clock.advance)
    assert not paced_slot(store, clock, 3, max_wait_s=0, sleep=clock.advance)
