"""Batch domain (seats, join, create), with in-memory fakes (no AWS, no network)."""

from __future__ import annotations

import random
import threading

import pytest

from prakerja.domain import errors
from prakerja.domain.batch import (
    MAX_SHARDS,
    Batch,
    BatchService,
    allotments,
    shard_count,
)
from prakerja.http.views import batch_body
from tests.fakes import FakeClock, InMemoryBatchStore, eligible

RID = "a" * 32
OTHER = "b" * 32


@pytest.fixture
def store() -> InMemoryBatchStore:
    s = InMemoryBatchStore()
    s.add(eligible(RID))
    return s


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def service(store: InMemoryBatchStore, sleeps: list[float]) -> BatchService:
    return BatchService(store, FakeClock(), rng=random.Random(1), sleep=sleeps.append)


# -- shards ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("seats", "shards"),
    [
        (1, 1),
        (50, 1),
        (51, 2),
        (100, 2),
        (700, 14),
        (1_600, 32),
        (1_601, 32),
        (1_000_000, 32),
    ],
)
def test_shard_count(seats, shards):
    assert shard_count(seats) == shards


@pytest.mark.parametrize("seats", [1, 7, 49, 50, 51, 99, 700, 1_599, 1_600, 12_345, 999_999, 1_000_000])
def test_allotments_add_up_exactly_and_keep_shards_small_or_few(seats):
    shards = shard_count(seats)
    allot = allotments(seats, shards)
    assert sum(allot) == seats and len(allot) == shards
    assert min(allot) >= 1 and max(allot) - min(allot) <= 1
    # every shard item either takes <= 50 joins in its life, or shares the peak 32 ways
    assert max(allot) <= 50 or shards == MAX_SHARDS


def test_allotments_spread_the_remainder():
    assert allotments(7, 3) == [3, 2, 2]


# -- create ------------------------------------------------------------------------------------------
def test_create_is_idempotent_and_refuses_other_values(service, store):
    assert service.create_batch("B-2026.01", "Gelombang 1", 120) == "created"
    assert service.create_batch("B-2026.01", "  Gelombang   1 ", 120) == "exists"
    assert store.batches["B-2026.01"].shards == 3
    assert sum(store.seats[("B-2026.01", k)][0] for k in range(3)) == 120
    with pytest.raises(errors.BatchExists) as exc:
        service.create_batch("B-2026.01", "Gelombang 1", 121)
    assert "120" in exc.value.detail
    with pytest.raises(errors.BatchExists):
        service.create_batch("B-2026.01", "Gelombang 2", 120)


@pytest.mark.parametrize(
    ("batch_id", "name", "seats", "field"),
    [
        ("", "n", 1, "id"),
        ("has space", "n", 1, "id"),
        ("x" * 65, "n", 1, "id"),
        ("ok", "", 1, "name"),
        ("ok", "   ", 1, "name"),
        ("ok", "n" * 101, 1, "name"),
        ("ok", "n", 0, "seats"),
        ("ok", "n", 1_000_001, "seats"),
        ("ok", "n", True, "seats"),
    ],
)
def test_create_validates(service, batch_id, name, seats, field):
    with pytest.raises(errors.ValidationFailed) as exc:
        service.create_batch(batch_id, name, seats)
    assert [e.field for e in exc.value.errors] == [field]


def test_create_accepts_the_limits(service):
    assert service.create_batch("x" * 64, "n" * 100, 1_000_000) == "created"


# -- list --------------------------------------------------------------------------------------------
def test_list_is_sorted_and_counts_seats_left(service, store):
    service.create_batch("b2", "Second", 3)
    service.create_batch("b1", "First", 120)
    service.join_batch(RID, "b2")
    assert [batch_body(b) for b in service.list_batches()] == [
        {"batch_id": "b1", "name": "First", "seats_total": 120, "seats_left": 120},
        {"batch_id": "b2", "name": "Second", "seats_total": 3, "seats_left": 2},
    ]


def test_list_empty(service):
    assert service.list_batches() == []


def test_a_listing_is_cached_for_its_ttl_while_joining_stays_exact(store):
    clock = FakeClock()
    reads = []
    real = store.list_batches

    def counting() -> list:  # type: ignore[type-arg]
        reads.append(clock.now())
        return real()

    store.list_batches = counting  # type: ignore[method-assign]
    cached = BatchService(store, clock, rng=random.Random(1), sleep=lambda s: None, list_ttl_s=2.0)
    cached.create_batch("b1", "First", 1)
    assert [b.seats_left for b in cached.list_batches()] == [1]
    cached.join_batch(RID, "b1")  # the only seat
    clock.advance(1.9)
    assert [b.seats_left for b in cached.list_batches()] == [1]  # up to 2 s stale
    assert len(reads) == 1  # 100 listings a second read the seat shards once per TTL
    clock.advance(0.2)
    assert [b.seats_left for b in cached.list_batches()] == [0]
    assert len(reads) == 2
    exact = BatchService(store, clock, rng=random.Random(1), sleep=lambda s: None)  # the CLI: no cache
    exact.list_batches()
    exact.list_batches()
    assert len(reads) == 4


# -- join --------------------------------------------------------------------------------------------
def test_join_takes_one_seat_and_records_membership(service, store):
    service.create_batch("b1", "First", 10)
    result = service.join_batch(RID, "b1")
    assert result.joined and result.batch_id == "b1" and result.attempts == 1
    assert store.regs[RID].batch_id == "b1" and store.joined_at[RID] == int(FakeClock().now())
    assert store.taken("b1") == 1


def test_joining_the_same_batch_again_is_a_no_op(service, store):
    service.create_batch("b1", "First", 10)
    service.join_batch(RID, "b1")
    again = service.join_batch(RID, "b1")
    assert not again.joined and again.batch_id == "b1"
    assert store.taken("b1") == 1


def test_same_batch_again_is_a_no_op_even_when_full(service, store):
    service.create_batch("b1", "First", 1)
    service.join_batch(RID, "b1")
    assert not service.join_batch(RID, "b1").joined


def test_other_batch_is_already_joined(service, store):
    service.create_batch("b1", "First", 10)
    service.create_batch("b2", "Second", 10)
    service.join_batch(RID, "b1")
    with pytest.raises(errors.AlreadyJoined) as exc:
        service.join_batch(RID, "b2")
    assert exc.value.slug == "already-joined"
    assert store.taken("b2") == 0


@pytest.mark.parametrize("batch_id", ["nope", "bad id", "", "x" * 65])
def test_unknown_batch_is_404(service, batch_id):
    with pytest.raises(errors.NotFound) as exc:
        service.join_batch(RID, batch_id)
    assert exc.value.slug == "not-found"


def test_unknown_registration_is_404(service):
    service.create_batch("b1", "First", 10)
    with pytest.raises(errors.NotFound):
        service.join_batch("c" * 32, "b1")


@pytest.mark.parametrize(
    ("changes", "named", "not_named"),
    [
        ({"nik_status": "PENDING", "photo_status": "NONE"}, ["NIK not verified", "photo not accepted"], []),
        ({"nik_status": "REJECTED"}, ["NIK not verified"], ["photo"]),
        ({"photo_status": "REJECTED"}, ["photo not accepted"], ["NIK"]),
    ],
)
def test_not_eligible_names_what_is_missing(service, store, changes, named, not_named):
    store.add(eligible(OTHER, **changes))
    service.create_batch("b1", "First", 10)
    with pytest.raises(errors.NotEligible) as exc:
        service.join_batch(OTHER, "b1")
    assert exc.value.slug == "not-eligible"
    for text in named:
        assert text in exc.value.detail
    for text in not_named:
        assert text not in exc.value.detail
    assert store.taken("b1") == 0 and store.take_calls == 0


def test_full_batch_is_batch_full_without_a_write(service, store):
    service.create_batch("b1", "First", 1)
    store.add(eligible(OTHER))
    service.join_batch(OTHER, "b1")
    calls = store.take_calls
    with pytest.raises(errors.BatchFull) as exc:
        service.join_batch(RID, "b1")
    assert exc.value.slug == "batch-full"
    assert store.take_calls == calls


@pytest.mark.parametrize("seed", range(12))
def test_stale_reads_try_every_shard_and_never_over_admit(store, seed):
    store.stale_reads = True  # every shard always looks empty
    service = BatchService(store, FakeClock(), rng=random.Random(seed), sleep=lambda s: None)
    service.create_batch("b1", "First", 120)  # 3 shards of 40
    for k in range(3):
        store.seats[("b1", k)][1] = 40 if k != 1 else 39  # one seat left, in shard 1
    assert service.join_batch(RID, "b1").joined
    store.add(eligible(OTHER))
    with pytest.raises(errors.BatchFull):
        service.join_batch(OTHER, "b1")
    assert store.taken("b1") == 120
    assert store.take_calls <= 3 + 3  # each shard tried at most once per join


def test_as_many_people_as_seats_all_get_one_despite_collisions(store):
    store.stale_reads = True  # everyone sees 3 free shards, so they collide
    service = BatchService(store, FakeClock(), rng=random.Random(11), sleep=lambda s: None)
    assert store.create_batch(Batch("b3", "Three", 6, 3, 0), allotments(6, 3))  # 2/2/2
    people = [f"{i:032x}" for i in range(1, 7)]
    for rid in people:
        store.add(eligible(rid))
    assert all(service.join_batch(rid, "b3").joined for rid in people)
    assert store.taken("b3") == 6


def test_conflicts_are_retried_with_a_small_jittered_sleep(store, sleeps):
    store.conflict_rate = 0.5
    service = BatchService(store, FakeClock(), rng=random.Random(5), sleep=sleeps.append, max_conflict_retries=50)
    service.create_batch("b1", "First", 2)  # a single shard: conflicts retry the same one
    assert service.join_batch(RID, "b1").joined
    assert store.taken("b1") == 1
    assert all(0 <= s <= 0.08 for s in sleeps)


def test_endless_conflicts_end_in_503(store, sleeps):
    store.conflict_rate = 1.0
    service = BatchService(store, FakeClock(), rng=random.Random(5), sleep=sleeps.append, max_conflict_retries=4)
    service.create_batch("b1", "First", 10)
    with pytest.raises(errors.ServiceUnavailable):
        service.join_batch(RID, "b1")
    assert len(sleeps) == 4 and store.take_calls == 5 and store.taken("b1") == 0


def _join_elsewhere_first(store: InMemoryBatchStore, batch_id: str):
    def hook(registration_id: str, shard: int) -> None:
        store.before_take = None
        with store.lock:
            store.regs[registration_id].batch_id = batch_id

    return hook


def test_registration_refused_in_the_transaction_answers_from_fresh_state(service, store):
    service.create_batch("b1", "First", 10)
    store.before_take = _join_elsewhere_first(store, "b2")  # a concurrent join of another batch wins
    with pytest.raises(errors.AlreadyJoined):
        service.join_batch(RID, "b1")
    assert store.taken("b1") == 0


def test_registration_refused_because_a_concurrent_same_join_won_is_a_no_op(service, store):
    service.create_batch("b1", "First", 10)
    store.before_take = _join_elsewhere_first(store, "b1")  # e.g. a double click
    result = service.join_batch(RID, "b1")
    assert result.batch_id == "b1" and not result.joined


def test_registration_refused_because_no_longer_eligible(service, store):
    service.create_batch("b1", "First", 10)

    def hook(registration_id: str, shard: int) -> None:
        store.before_take = None
        store.regs[registration_id].photo_status = "REJECTED"

    store.before_take = hook
    with pytest.raises(errors.NotEligible) as exc:
        service.join_batch(RID, "b1")
    assert "photo not accepted" in exc.value.detail


@pytest.mark.parametrize("stale_reads", [False, True])
def test_forty_people_race_for_seven_seats_on_three_shards(store, stale_reads):
    store.conflict_rate = 0.2  # and some transactions collide
    store.stale_reads = stale_reads
    service = BatchService(store, FakeClock(), sleep=lambda s: None, max_conflict_retries=1_000)
    assert store.create_batch(Batch("hot", "Hot batch", 7, 3, 0), allotments(7, 3))  # 3/2/2
    people = [f"{i:032x}" for i in range(1, 41)]
    for rid in people:
        store.add(eligible(rid))
    start = threading.Barrier(len(people))
    outcomes: dict[str, str] = {}

    def attempt(rid: str) -> None:
        start.wait()
        try:
            result = service.join_batch(rid, "hot")
            outcomes[rid] = "joined" if result.joined else "no-op"
        except errors.BatchFull:
            outcomes[rid] = "full"

    threads = [threading.Thread(target=attempt, args=(rid,)) for rid in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes.values()).count("joined") == 7
    assert list(outcomes.values()).count("full") == 33
    assert store.taken("hot") == 7
    assert all(taken <= allot for allot, taken in store.seats.values())
    members = [rid for rid in people if store.regs[rid].batch_id == "hot"]
    assert sorted(members) == sorted(rid for rid, o in outcomes.items() if o == "joined")
