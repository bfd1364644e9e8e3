"""check_nik: one NikQueue message -> the registry check, with the retry and deferral policy.

- Registry failures are delays: the message's visibility is pushed out with exponential
  backoff + jitter and it comes back; after the queue's maxReceiveCount it is parked in
  NikDLQ (status stays PENDING) for operators to redrive.
- While the shared circuit breaker is open (or no paced slot is free) the registry is not
  called at all: the message is re-queued with a delay and acknowledged, so waiting does not
  spend its attempts (bounded by `max_deferrals`, then it counts as a failure).
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn, Protocol

from prakerja.domain.registry_check import Deferred, Transient
from prakerja.domain.resilience import backoff_delay
from prakerja.workers import Count, Log, QueueMessage, RetryLater

MAX_SQS_DELAY_S = 900
DEFERRAL_JITTER_S = 2.0
OUTCOME_METRICS = {"VERIFIED": "NikVerified", "REJECTED": "NikRejected"}


class NikChecker(Protocol):
    def check_nik(self, registration_id: str, seq: int) -> str: ...


class WorkQueue(Protocol):
    def send(self, body: str, delay_s: int = 0) -> None: ...

    def change_visibility(self, receipt_handle: str, timeout_s: int) -> None: ...


@dataclass(frozen=True)
class RetryPolicy:
    backoff_base_s: int = 2
    backoff_cap_s: int = 300
    max_deferrals: int = 60


class NikCheckWorker:
    def __init__(
        self,
        checker: NikChecker,
        queue: WorkQueue,
        policy: RetryPolicy,
        log: Log,
        count: Count,
        *,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._checker = checker
        self._queue = queue
        self._policy = policy
        self._log = log
        self._count = count
        self._jitter = jitter

    def check_nik(self, message: QueueMessage) -> None:
        try:
            job = json.loads(message.body)
            registration_id, seq = str(job["registration_id"]), int(job["payload"]["nik_seq"])
        except (ValueError, KeyError, TypeError):
            self._log.error("malformed NIK job dropped", extra={"message_id": message.message_id})
            return
        attempt = message.receive_count
        try:
            outcome = self._checker.check_nik(registration_id, seq)
        except Deferred as wait:
            deferrals = int(job.get("deferrals", 0))
            if deferrals >= self._policy.max_deferrals:
                self._retry_later(message, attempt, wait.delay_s)
            delay = min(MAX_SQS_DELAY_S, math.ceil(wait.delay_s + self._jitter() * DEFERRAL_JITTER_S))
            self._queue.send(json.dumps({**job, "deferrals": deferrals + 1}), delay_s=delay)
            self._count("NikCheckDeferred", 1)
            self._log.info("registry gate closed: check deferred", extra={"delay_s": delay, "deferrals": deferrals})
            return
        except Transient as failure:
            self._count("RegistryTransientFailure", 1)
            self._retry_later(message, attempt, failure.retry_after_s)
        self._log.info("NIK check done", extra={"outcome": outcome, "attempt": attempt})
        if outcome in OUTCOME_METRICS:
            self._count(OUTCOME_METRICS[outcome], 1)

    def _retry_later(self, message: QueueMessage, attempt: int, hint_s: float | None) -> NoReturn:
        delay = max(
            backoff_delay(
                attempt, base_s=self._policy.backoff_base_s, cap_s=self._policy.backoff_cap_s, rng=self._jitter
            ),
            math.ceil(hint_s or 0),
        )
        self._queue.change_visibility(message.receipt_handle, delay)
        self._log.warning("registry unavailable: check will be retried", extra={"attempt": attempt, "delay_s": delay})
        raise RetryLater()
