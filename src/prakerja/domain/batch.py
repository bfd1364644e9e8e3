"""Batches with exact seats: list_batches, join_batch, create_batch.

Model: a catalogue entry per batch and `shards` seat counters (BatchStore; the DynamoDB items
are in prakerja.adapters.batches), each with an allotment `allot` and a counter `taken`; the
allotments add up to `seats_total` exactly (see `allotments`).

Why the seats are exact, under any concurrency
----------------------------------------------
A seat is only ever taken by ONE DynamoDB transaction that (1) increments one shard's
`taken` on the condition `taken < allot` and (2) sets the registration's `batch_id` on the
condition that it has none and is eligible. DynamoDB evaluates each condition atomically
against the committed item, and the two writes commit together or not at all. So for every
shard, `taken` can never exceed `allot` (each increment proves `taken < allot` before adding
one), hence the batch admits at most sum(allot) == seats_total people; and a person holds at
most one seat (their `batch_id` is set only if it did not exist, in the same transaction as
the seat). Nothing in the read path matters for exactness: reads only choose which shard to
try first. `taken` never decreases, so even an eventually consistent read can only show a
shard with MORE seats left than it has, never fewer: a shard that reads as full is full, and
skipping it can never refuse a seat that exists. The registration's `batch_id` is the source
of truth of membership.

Why shards (and how many): see `shard_count`.
"""

from __future__ import annotations

import enum
import math
import random
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from prakerja.domain import errors
from prakerja.domain.errors import FieldProblem
from prakerja.domain.models import Registration
from prakerja.domain.ports import Clock, TransientConflict
from prakerja.domain.sessions import ensure_current

BATCH_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
NAME_MAX = 100
SEATS_MAX = 1_000_000
SEATS_PER_SHARD = 50
MAX_SHARDS = 32
# Join retries on transaction conflicts (another join on the same shard at the same instant).
MAX_CONFLICT_RETRIES = 8
CONFLICT_BACKOFF_S = 0.005
CONFLICT_BACKOFF_CAP_S = 0.08

CreateOutcome = Literal["created", "exists"]


def shard_count(seats_total: int) -> int:
    """How many seat shards a batch of `seats_total` seats gets:
    ``min(32, max(1, ceil(seats_total / 50)))``.

    DynamoDB serves at most 1,000 write units/s per partition key, and a transaction
    touching an item conflicts with any other transaction on it at the same instant, so one
    seat counter cannot take the contract's peak of 1,333 joins/s. Every shard has its own
    partition key. The formula keeps each shard item far from that limit in both regimes:

    - up to 1,600 seats, every shard holds at most 50 seats, so a shard item takes at most
      50 successful joins in its whole life — it cannot take more than ~100 joins/s, however
      the load is spread (a 700-seat batch fills in half a second at peak);
    - from 1,600 seats on, 32 shards share the peak: 1,333 / 32 ~ 42 joins/s per shard.

    The cap of 32 bounds what a join reads (one BatchGetItem of <= 32 small items, one round
    trip) and what `GET /batches` reads per batch. Allotments of a few seats are fine: a join
    tries every shard that has seats left before answering batch-full, so seats are never
    stranded in a shard.
    """
    if seats_total < 1:
        raise ValueError("seats_total must be positive")
    return min(MAX_SHARDS, max(1, math.ceil(seats_total / SEATS_PER_SHARD)))


def allotments(seats_total: int, shards: int) -> list[int]:
    """Seats per shard: as even as possible, the first `seats_total % shards` get one more.
    sum(result) == seats_total exactly, and every shard gets at least one seat."""
    if not 1 <= shards <= seats_total:
        raise ValueError("need 1 <= shards <= seats_total")
    base, extra = divmod(seats_total, shards)
    return [base + (1 if k < extra else 0) for k in range(shards)]


@dataclass(frozen=True)
class Batch:
    """A catalogue entry. Immutable once created."""

    batch_id: str
    name: str
    seats_total: int
    shards: int
    created_at: int


@dataclass(frozen=True)
class SeatShard:
    index: int
    allot: int
    taken: int

    @property
    def seats_left(self) -> int:
        return max(0, self.allot - self.taken)


@dataclass(frozen=True)
class BatchState:
    batch: Batch
    shards: tuple[SeatShard, ...]

    @property
    def seats_left(self) -> int:
        return sum(s.seats_left for s in self.shards)


class SeatOutcome(enum.Enum):
    JOINED = "joined"
    SHARD_FULL = "shard-full"  # the shard's condition failed (taken == allot)
    REGISTRATION_REFUSED = "registration-refused"  # already has a batch_id, or not eligible (any more)


@dataclass(frozen=True)
class JoinResult:
    batch_id: str
    joined: bool  # False: the registration was already in this batch (a no-op)
    attempts: int = 0  # seat transactions tried (observability)


class BatchStore(Protocol):
    def get_registration(self, registration_id: str) -> Registration | None:
        """A strongly consistent read of the registration."""

    def get_batch(self, batch_id: str) -> BatchState | None:
        """The catalogue entry and its shards (shard counts may be slightly stale)."""

    def list_batches(self) -> list[BatchState]: ...

    def create_batch(self, batch: Batch, allot: list[int]) -> bool:
        """Atomically put the catalogue entry and its shards; False if the batch exists."""

    def take_seat(self, registration_id: str, batch_id: str, shard: int, joined_at: int) -> SeatOutcome:
        """ONE transaction: shard `taken + 1` if `taken < allot`, and the registration's
        `batch_id` if it has none and is eligible. Raises TransientConflict on contention."""


def missing_steps(reg: Registration) -> list[str]:
    missing = []
    if reg.nik_status != "VERIFIED":
        missing.append("NIK not verified")
    if reg.photo_status != "ACCEPTED":
        missing.append("photo not accepted")
    return missing


class BatchService:
    def __init__(
        self,
        store: BatchStore,
        clock: Clock,
        *,
        rng: random.Random | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_conflict_retries: int = MAX_CONFLICT_RETRIES,
        list_ttl_s: float = 0.0,
    ) -> None:
        self._store = store
        self._clock = clock
        self._rng = rng or random.SystemRandom()
        self._sleep = sleep
        self._max_conflicts = max_conflict_retries
        self._list_ttl_s = list_ttl_s
        self._listed: tuple[float, list[BatchState]] | None = None

    # -- list ---------------------------------------------------------------------------------
    def list_batches(self) -> list[BatchState]:
        """All batches with seats left. With `list_ttl_s` (GET /batches: 2 s) the answer is kept
        that long in this execution environment, so a burst of listings reads the seat shards
        once per TTL; seats_left may lag by that much (joining is always exact)."""
        now = self._clock.now()
        cached = self._listed
        if cached is not None and now < cached[0]:
            return list(cached[1])
        listed = sorted(self._store.list_batches(), key=lambda s: s.batch.batch_id)
        if self._list_ttl_s > 0:
            self._listed = (now + self._list_ttl_s, listed)
        return list(listed)

    # -- join ----------------------------------------------------------------------------------
    def join_batch(self, registration_id: str, batch_id: str, *, token_generation: int | None = None) -> JoinResult:
        reg = self._store.get_registration(registration_id)
        if reg is None:
            raise errors.NotFound("No registration with this id.")
        ensure_current(reg, token_generation)
        state = self._store.get_batch(batch_id) if BATCH_ID_PATTERN.match(batch_id) else None
        if state is None:
            raise errors.NotFound("No batch with this id.")
        settled = self._settled(reg, batch_id)
        if settled is not None:
            return settled

        candidates = [s.index for s in state.shards if s.seats_left > 0]
        self._rng.shuffle(candidates)
        queue = deque(candidates)
        now = int(self._clock.now())
        attempts = conflicts = 0
        while queue:
            shard = queue.popleft()
            attempts += 1
            try:
                outcome = self._store.take_seat(registration_id, batch_id, shard, now)
            except TransientConflict:
                conflicts += 1
                self._back_off(conflicts)
                queue.append(shard)  # still worth trying, after the others
                continue
            if outcome is SeatOutcome.JOINED:
                return JoinResult(batch_id, joined=True, attempts=attempts)
            if outcome is SeatOutcome.REGISTRATION_REFUSED:
                fresh = self._store.get_registration(registration_id)
                if fresh is None:
                    raise errors.NotFound("No registration with this id.")
                settled = self._settled(fresh, batch_id)
                if settled is not None:
                    return JoinResult(settled.batch_id, joined=False, attempts=attempts)
                # The registration is joinable again (it changed between the transaction and
                # the re-read): try the same shard again, bounded like a conflict.
                conflicts += 1
                self._back_off(conflicts)
                queue.appendleft(shard)
            # SHARD_FULL: this shard is exhausted; try the next one.
        raise errors.BatchFull("This batch has no seats left; choose another batch.")

    def _settled(self, reg: Registration, batch_id: str) -> JoinResult | None:
        """The answer when the registration alone decides it (member, or refused); None to go on."""
        if reg.batch_id == batch_id:
            return JoinResult(batch_id, joined=False)
        if reg.batch_id:
            raise errors.AlreadyJoined(
                "This registration already joined another batch.", extra={"batch_id": reg.batch_id}
            )
        missing = missing_steps(reg)
        if missing:
            raise errors.NotEligible("Missing: " + " and ".join(missing) + ".")
        return None

    def _back_off(self, conflicts: int) -> None:
        if conflicts > self._max_conflicts:
            raise errors.ServiceUnavailable("Too many people are joining this batch right now; please retry.")
        self._sleep(self._rng.uniform(0, min(CONFLICT_BACKOFF_CAP_S, CONFLICT_BACKOFF_S * 2 ** (conflicts - 1))))

    # -- create (operators) -------------------------------------------------------------------------
    def create_batch(self, batch_id: str, name: str, seats_total: int) -> CreateOutcome:
        """Idempotent: the same id with the same name and seats is 'exists'; other values
        raise errors.BatchExists."""
        name = " ".join(name.split())
        problems = []
        if not BATCH_ID_PATTERN.match(batch_id):
            problems.append(FieldProblem("id", "must be 1 to 64 characters: letters, digits and _ . : -"))
        if not 1 <= len(name) <= NAME_MAX:
            problems.append(FieldProblem("name", f"must be 1 to {NAME_MAX} characters"))
        if isinstance(seats_total, bool) or not isinstance(seats_total, int) or not 1 <= seats_total <= SEATS_MAX:
            problems.append(FieldProblem("seats", f"must be a whole number from 1 to {SEATS_MAX:,}"))
        if problems:
            raise errors.ValidationFailed(problems)
        shards = shard_count(seats_total)
        batch = Batch(batch_id, name, seats_total, shards, int(self._clock.now()))
        try:
            if self._store.create_batch(batch, allotments(seats_total, shards)):
                return "created"
        except TransientConflict:
            pass  # a concurrent create of the same id: answer from what is stored
        existing = self._store.get_batch(batch_id)
        if existing is None:  # the concurrent create did not commit (yet)
            raise errors.ServiceUnavailable("The batch could not be created; please retry.")
        if existing.batch.name == name and existing.batch.seats_total == seats_total:
            return "exists"
        raise errors.BatchExists(
            f"Batch {batch_id} already exists with name {existing.batch.name!r} and "
            f"{existing.batch.seats_total} seats.",
            extra={"name": existing.batch.name, "seats_total": existing.batch.seats_total},
        )
