"""outbox_relay: one batch of table stream records -> outbox jobs onto their queues, and the
funnel counters (exactly once per record).

On a failure the batch reports the first failed record; the stream redelivers from there
(records before it are done; repeats are harmless: queue consumers are idempotent and the
counters skip records already seen).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from prakerja.domain.outbox import Change, plan
from prakerja.domain.ports import TransientConflict
from prakerja.workers import Count, Log

COUNT_ATTEMPTS = 4


class Sender(Protocol):
    def send_batch(self, bodies: list[str], delay_s: int = 0) -> list[int]: ...


class FunnelCounter(Protocol):
    def count(self, increments: list[tuple[str, str]], shard: int) -> None: ...


class OutboxRelay:
    def __init__(
        self,
        queues: Mapping[str, Sender],
        funnel: FunnelCounter,
        shards: int,
        decode: Callable[[Mapping[str, Any]], Change],
        log: Log,
        count: Count,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self._queues = queues
        self._funnel = funnel
        self._shards = shards
        self._decode = decode
        self._log = log
        self._count = count
        self._rng = rng or random.Random()  # noqa: S311  # nosec B311 # spreading load, not security

    def relay(self, records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        changes = [self._decode(r) for r in records]
        work = plan(changes)
        first_failure = len(changes)
        for kind, messages in work.messages.items():
            queue = self._queues.get(kind)
            if queue is None:
                self._log.error("outbox job of unknown kind", extra={"kind": kind})
                continue
            failed = queue.send_batch([body for _, body in messages])
            if failed:
                first_failure = min(first_failure, *(messages[i][0] for i in failed))
            self._count(f"Relayed{kind.title().replace('_', '')}", len(messages) - len(failed))
        increments = [(event_id, step) for index, event_id, step in work.increments if index < first_failure]
        if increments and not self._count_funnel(increments):
            first_failure = 0
        if first_failure < len(changes):
            self._log.warning("relay batch partly failed", extra={"failed_from": first_failure, "size": len(changes)})
            return {"batchItemFailures": [{"itemIdentifier": changes[first_failure].sequence_number}]}
        return {"batchItemFailures": []}

    def _count_funnel(self, increments: list[tuple[str, str]]) -> bool:
        for _ in range(COUNT_ATTEMPTS):
            try:
                self._funnel.count(increments, shard=self._rng.randrange(self._shards))
                return True
            except TransientConflict:
                continue
        return False
