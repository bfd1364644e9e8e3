"""In-memory fake of prakerja.domain.batch.BatchStore, with the adapter's transaction semantics."""

from __future__ import annotations

import copy
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from prakerja.domain.batch import Batch, BatchState, SeatOutcome, SeatShard
from prakerja.domain.models import Registration
from prakerja.domain.ports import TransientConflict


def eligible(registration_id: str, **changes: object) -> Registration:
    reg = Registration(
        registration_id=registration_id,
        email=f"{registration_id}@example.com",
        password_hash="x",
        full_name="Budi",
        phone="+6281234567890",
        created_at=0,
        email_verified=True,
        nik_status="VERIFIED",
        photo_status="ACCEPTED",
    )
    for name, value in changes.items():
        setattr(reg, name, value)
    return reg


@dataclass
class InMemoryBatchStore:
    regs: dict[str, Registration] = field(default_factory=dict)
    batches: dict[str, Batch] = field(default_factory=dict)
    # (batch_id, shard) -> [allot, taken]
    seats: dict[tuple[str, int], list[int]] = field(default_factory=dict)
    joined_at: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Share of seat transactions that fail with a transaction conflict (before any effect).
    conflict_rate: float = 0.0
    # Reads of the shards show nothing taken (a maximally stale eventually consistent read).
    stale_reads: bool = False
    # Called at the start of each seat transaction (to simulate a concurrent change).
    before_take: Callable[[str, int], None] | None = None
    take_calls: int = 0
    rng: random.Random = field(default_factory=lambda: random.Random(7))

    def add(self, reg: Registration) -> None:
        self.regs[reg.registration_id] = copy.deepcopy(reg)

    def get_registration(self, registration_id: str) -> Registration | None:
        with self.lock:
            reg = self.regs.get(registration_id)
            return copy.deepcopy(reg) if reg else None

    def _state(self, batch: Batch) -> BatchState:
        shards = []
        for k in range(batch.shards):
            allot, taken = self.seats[(batch.batch_id, k)]
            shards.append(SeatShard(k, allot, 0 if self.stale_reads else taken))
        return BatchState(batch, tuple(shards))

    def get_batch(self, batch_id: str) -> BatchState | None:
        with self.lock:
            batch = self.batches.get(batch_id)
            return self._state(batch) if batch else None

    def list_batches(self) -> list[BatchState]:
        with self.lock:
            return [self._state(b) for b in self.batches.values()]

    def create_batch(self, batch: Batch, allot: list[int]) -> bool:
        with self.lock:
            if batch.batch_id in self.batches:
                return False
            self.batches[batch.batch_id] = batch
            for k, n in enumerate(allot):
                self.seats[(batch.batch_id, k)] = [n, 0]
            return True

    def take_seat(self, registration_id: str, batch_id: str, shard: int, joined_at: int) -> SeatOutcome:
        if self.before_take is not None:
            self.before_take(registration_id, shard)
        with self.lock:
            self.take_calls += 1
            if self.conflict_rate and self.rng.random() < self.conflict_rate:
                raise TransientConflict()
            reg = self.regs.get(registration_id)
            seat = self.seats.get((batch_id, shard))
            reg_ok = (
                reg is not None
                and reg.batch_id is None
                and reg.nik_status == "VERIFIED"
                and reg.photo_status == "ACCEPTED"
            )
            if not reg_ok:
                return SeatOutcome.REGISTRATION_REFUSED
            if seat is None or not seat[1] < seat[0]:
                return SeatOutcome.SHARD_FULL
            seat[1] += 1
            assert reg is not None
            reg.batch_id = batch_id
            self.joined_at[registration_id] = joined_at
            return SeatOutcome.JOINED

    def taken(self, batch_id: str) -> int:
        return sum(t for (b, _), (_, t) in self.seats.items() if b == batch_id)
