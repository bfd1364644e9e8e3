"""SQS adapter. The boto3 client is injected."""

from __future__ import annotations

from typing import Any


class SqsQueue:
    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self.url = queue_url

    def send_batch(self, bodies: list[str], delay_s: int = 0) -> list[int]:
        """Send bodies (chunks of 10); returns the indexes that failed."""
        failed: list[int] = []
        for start in range(0, len(bodies), 10):
            chunk = bodies[start : start + 10]
            entries = [{"Id": str(start + i), "MessageBody": b, "DelaySeconds": delay_s} for i, b in enumerate(chunk)]
            resp = self._client.send_message_batch(QueueUrl=self.url, Entries=entries)
            failed.extend(int(f["Id"]) for f in resp.get("Failed", []))
        return failed

    def send(self, body: str, delay_s: int = 0) -> None:
        self._client.send_message(QueueUrl=self.url, MessageBody=body, DelaySeconds=min(900, delay_s))

    def change_visibility(self, receipt_handle: str, timeout_s: int) -> None:
        self._client.change_message_visibility(
            QueueUrl=self.url, ReceiptHandle=receipt_handle, VisibilityTimeout=max(0, min(43_200, timeout_s))
        )
