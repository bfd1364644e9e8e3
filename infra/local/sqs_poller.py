"""Emulated SQS event source mapping: receive -> SQS Lambda event -> handler -> delete.

One receiver thread per mapping long-polls the queue (as Lambda's pollers do; the local moto
emulates the wait outside its lock and answers as soon as a message is sent) and hands batches
to at most `MaximumConcurrency` concurrent invocations.
On success every message not named in `batchItemFailures` is deleted; when the handler
raises nothing is deleted: the messages come back after their visibility timeout, and
moto's RedrivePolicy moves them to the DLQ after maxReceiveCount. Messages filtered out by
FilterCriteria are deleted without an invocation, as Lambda does. The poller never changes a
message's visibility itself.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from infra.local.events import SqsSource
from infra.local.filters import passes, sqs_view

log = logging.getLogger("infra.local.sqs")
RECEIVE_WAIT_S = 1  # long poll; short enough for the poller to notice a stop
BATCH_WINDOW_STEP_S = 0.05
ERROR_BACKOFF_S = 1.0


class SqsPoller:
    def __init__(
        self,
        source: SqsSource,
        queue_url: str,
        invoke: Callable[[dict[str, Any]], Any],
        client: Any,
        region: str,
        stop: threading.Event,
    ) -> None:
        self.source = source
        self._url = queue_url
        self._invoke = invoke
        self._sqs = client
        self._region = region
        self._stop = stop
        self._slots = threading.BoundedSemaphore(source.concurrency)
        self._pool = ThreadPoolExecutor(max_workers=source.concurrency, thread_name_prefix=f"sqs-{source.function}")
        self._thread = threading.Thread(target=self._run, name=f"sqs-poller-{source.function}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- receiving ----------------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            if not self._slots.acquire(timeout=0.2):
                continue
            try:
                messages = self._receive_batch()
            except Exception as exc:
                self._slots.release()
                log.warning("receive failed", extra={"function": self.source.function, "error": type(exc).__name__})
                self._stop.wait(ERROR_BACKOFF_S)
                continue
            if not messages:
                self._slots.release()
                continue
            self._pool.submit(self._process_and_release, messages)

    def _receive_batch(self) -> list[dict[str, Any]]:
        messages = self._receive(self.source.batch_size, RECEIVE_WAIT_S)
        deadline = time.monotonic() + self.source.window_s
        while messages and len(messages) < self.source.batch_size and time.monotonic() < deadline:
            more = self._receive(self.source.batch_size - len(messages))
            if not more:
                self._stop.wait(BATCH_WINDOW_STEP_S)
            messages.extend(more)
        return messages

    def _receive(self, wanted: int, wait_s: int = 0) -> list[dict[str, Any]]:
        response = self._sqs.receive_message(
            QueueUrl=self._url,
            MaxNumberOfMessages=max(1, min(10, wanted)),
            WaitTimeSeconds=wait_s,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(response.get("Messages") or [])

    # -- invoking -----------------------------------------------------------------------------------
    def _process_and_release(self, messages: list[dict[str, Any]]) -> None:
        try:
            self.process(messages)
        except Exception:
            log.exception("poller error", extra={"function": self.source.function})
        finally:
            self._slots.release()

    def process(self, messages: list[dict[str, Any]]) -> None:
        records = [sqs_record(m, self.source.queue_arn, self._region) for m in messages]
        passing = [r for r in records if passes(sqs_view(r), self.source.filters)]
        failed = self._invoke_batch(passing) if passing else set()
        done = [r for r in records if r["messageId"] not in failed]
        self._delete(done)

    def _invoke_batch(self, records: list[dict[str, Any]]) -> set[str]:
        """Message ids that must stay in the queue."""
        ids = {r["messageId"] for r in records}
        try:
            result = self._invoke({"Records": records})
        except Exception as exc:
            log.warning(
                "handler raised; the batch returns to the queue after its visibility timeout",
                extra={"function": self.source.function, "error": type(exc).__name__, "size": len(ids)},
            )
            return ids
        if not self.source.report_failures:
            return set()
        failed = batch_item_failures(result, ids)
        if failed:
            log.info(
                "partial batch failure",
                extra={"function": self.source.function, "failed": len(failed), "size": len(ids)},
            )
        return failed

    def _delete(self, records: list[dict[str, Any]]) -> None:
        for start in range(0, len(records), 10):
            chunk = records[start : start + 10]
            entries = [{"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(chunk)]
            response = self._sqs.delete_message_batch(QueueUrl=self._url, Entries=entries)
            if response.get("Failed"):
                log.warning("delete failed", extra={"function": self.source.function, "count": len(response["Failed"])})


def batch_item_failures(result: Any, ids: set[str]) -> set[str]:
    """Ids reported in `batchItemFailures`; an unusable report fails the whole batch (Lambda's rule)."""
    if not isinstance(result, Mapping) or not result.get("batchItemFailures"):
        return set()
    failed: set[str] = set()
    for item in result["batchItemFailures"]:
        identifier = item.get("itemIdentifier") if isinstance(item, Mapping) else None
        if not identifier or identifier not in ids:
            return set(ids)
        failed.add(str(identifier))
    return failed


def sqs_record(message: Mapping[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One record of the SQS event Lambda sends."""
    record = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": dict(message.get("Attributes") or {}),
        "messageAttributes": {
            name: _message_attribute(value) for name, value in (message.get("MessageAttributes") or {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def _message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    converted: dict[str, Any] = {"stringListValues": [], "binaryListValues": [], "dataType": value.get("DataType")}
    if "StringValue" in value:
        converted["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        raw = value["BinaryValue"]
        converted["binaryValue"] = base64.b64encode(raw).decode("ascii") if isinstance(raw, bytes) else raw
    return converted
