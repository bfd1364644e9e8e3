"""DynamoDB's ClientRequestToken on TransactWriteItems, which moto ignores.

In AWS a transaction sent again with the same token within 10 minutes (botocore's retry of one
whose answer was lost to a read timeout) succeeds without writing a second time, and the same
token with different items is refused with IdempotentParameterMismatchException. The local stack
honours that with a small token -> (items digest, answer) cache, so a retried transaction that
had committed does not, say, take a second seat or send a second email locally either.
Kept apart from moto_fixes (transaction speed) on purpose: this is about idempotency only.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict
from typing import Any

TOKEN_LIFETIME_S = 600.0
MAX_TOKENS = 100_000  # bounded memory: the oldest tokens go first

_applied = False


class TokenCache:
    """token -> (digest of the transaction's items, its answer), for TOKEN_LIFETIME_S."""

    def __init__(self, lifetime_s: float = TOKEN_LIFETIME_S, max_tokens: int = MAX_TOKENS) -> None:
        self._entries: OrderedDict[str, tuple[str, float, Any]] = OrderedDict()
        self._lifetime_s = lifetime_s
        self._max = max_tokens
        self._lock = threading.Lock()

    def get(self, token: str, now: float) -> tuple[str, Any] | None:
        with self._lock:
            self._prune(now)
            found = self._entries.get(token)
            return (found[0], found[2]) if found else None

    def put(self, token: str, digest: str, answer: Any, now: float) -> None:
        with self._lock:
            self._entries[token] = (digest, now, answer)
            self._entries.move_to_end(token)
            self._prune(now)

    def _prune(self, now: float) -> None:
        while self._entries:
            _, at, _ = next(iter(self._entries.values()))
            if now - at < self._lifetime_s and len(self._entries) <= self._max:
                break
            self._entries.popitem(last=False)


def digest_of(items: Any) -> str:
    return hashlib.sha256(json.dumps(items, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def apply(cache: TokenCache | None = None) -> None:
    global _applied
    if _applied:
        return
    from moto.dynamodb.exceptions import DynamodbException
    from moto.dynamodb.responses import DynamoHandler

    tokens = cache or TokenCache()
    original = DynamoHandler.transact_write_items

    class IdempotentParameterMismatch(DynamodbException):
        def __init__(self) -> None:
            super().__init__(
                "com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException",
                "The request uses the same client token as a previous, but non-identical request.",
            )

    def transact_write_items(self: Any) -> Any:
        token = self.body.get("ClientRequestToken")
        if not token:
            return original(self)
        digest, now = digest_of(self.body.get("TransactItems")), time.monotonic()
        seen = tokens.get(str(token), now)
        if seen is not None:
            if seen[0] != digest:
                raise IdempotentParameterMismatch()
            return seen[1]  # committed before: same answer, nothing written again
        answer = original(self)  # a cancelled transaction raises: its token is not remembered
        tokens.put(str(token), digest, answer, now)
        return answer

    DynamoHandler.transact_write_items = transact_write_items  # type: ignore[method-assign]
    _applied = True
