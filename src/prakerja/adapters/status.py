"""What the status route reads: SQS queue depths and the registry's circuit breaker
(implements prakerja.domain.status.StatusSource). The boto3 client is injected."""

from __future__ import annotations

from typing import Any

from prakerja.adapters.breaker import DynamoBreakerStore
from prakerja.domain.resilience import BreakerState

DEPTH_ATTRIBUTES = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)


class AwsStatusSource:
    def __init__(self, sqs: Any, email_queue_url: str, nik_queue_url: str, breaker: DynamoBreakerStore) -> None:
        self._sqs = sqs
        self._email_queue_url = email_queue_url
        self._nik_queue_url = nik_queue_url
        self._breaker = breaker

    def _depth(self, url: str) -> int:
        attributes = self._sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(DEPTH_ATTRIBUTES))
        values = attributes.get("Attributes", {})
        return sum(int(values.get(name, 0)) for name in DEPTH_ATTRIBUTES)

    def email_backlog(self) -> int:
        return self._depth(self._email_queue_url)

    def nik_backlog(self) -> int:
        return self._depth(self._nik_queue_url)

    def breaker(self) -> BreakerState:
        return self._breaker.load()
