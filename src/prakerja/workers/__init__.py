"""The asynchronous half: what each worker does with one message or stream batch, and its
retry policy. Handlers (functions/<worker>/app.py) only adapt the Lambda event; everything
here is unit-tested with in-memory fakes (tests/unit/test_workers.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class QueueMessage:
    """One SQS message as a worker sees it."""

    message_id: str
    body: str
    receipt_handle: str = ""
    receive_count: int = 1


class RetryLater(Exception):  # noqa: N818 - a signal
    """The message failed for this batch and comes back later (its visibility is already set)."""


class Log(Protocol):
    """The structured logger (Powertools Logger in Lambda)."""

    def info(self, msg: str, *args: Any, **kwargs: Any) -> None: ...

    def warning(self, msg: str, *args: Any, **kwargs: Any) -> None: ...

    def error(self, msg: str, *args: Any, **kwargs: Any) -> None: ...


# count(metric name, value): one EMF count metric of the function.
Count = Callable[[str, int], None]
