"""The single DynamoDB table, as the stores use it (composition: every store holds a Table).
The boto3 client is injected."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from prakerja.adapters.aws_errors import (
    THROTTLE_CANCELLATION_REASONS,
    cancellation_reasons,
    is_transient_cancellation,
)
from prakerja.adapters.dynamo_codec import Item, ser, to_item
from prakerja.adapters.keys import outbox_key
from prakerja.domain.errors import DependencyBusy
from prakerja.domain.models import OutboxJob
from prakerja.domain.ports import TransientConflict

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

OUTBOX_TTL_S = 7 * 24 * 3600
# A transaction cancelled only by conflicts/throttles is run again (new token, re-evaluated
# conditions) this many times in all, with a jittered pause, before the caller hears of it:
# the loser of a race must get the contract's answer (e.g. email-taken), not a 503.
TRANSACT_ATTEMPTS = 3
TRANSACT_PAUSE_S = 0.05


class Table:
    def __init__(
        self,
        client: DynamoDBClient,
        name: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.client = client
        self.name = name
        self._sleep = sleep
        self._jitter = jitter

    def get(self, item_key: Item, *, consistent: bool = True) -> Item | None:
        resp = self.client.get_item(TableName=self.name, Key=item_key, ConsistentRead=consistent)
        item: Item | None = resp.get("Item")
        return item

    def update_if(
        self,
        item_key: Item,
        update: str,
        condition: str,
        values: dict[str, Any],
        names: dict[str, str] | None = None,
        *,
        return_new: bool = False,
    ) -> Item | bool:
        """UpdateItem with a condition: False when the condition fails; else True, or the
        updated attributes with `return_new`."""
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "Key": item_key,
            "UpdateExpression": update,
            "ConditionExpression": condition,
        }
        if values:
            kwargs["ExpressionAttributeValues"] = {k: ser(v) for k, v in values.items()}
        if names:
            kwargs["ExpressionAttributeNames"] = names
        if return_new:
            kwargs["ReturnValues"] = "UPDATED_NEW"
        try:
            resp = self.client.update_item(**kwargs)
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        if return_new:
            attributes: Item = resp.get("Attributes", {})
            return attributes
        return True

    def update_returning(
        self,
        item_key: Item,
        update: str,
        condition: str,
        values: dict[str, Any],
        names: dict[str, str] | None = None,
    ) -> tuple[bool, Item | None]:
        """A conditional UpdateItem that also reads, in the same call: (True, the whole item after
        the update) or (False, the whole item as it was when the condition failed; None if absent)."""
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "Key": item_key,
            "UpdateExpression": update,
            "ConditionExpression": condition,
            "ExpressionAttributeValues": {k: ser(v) for k, v in values.items()},
            "ReturnValues": "ALL_NEW",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if names:
            kwargs["ExpressionAttributeNames"] = names
        try:
            resp = self.client.update_item(**kwargs)
        except self.client.exceptions.ConditionalCheckFailedException as exc:
            old: Item | None = (getattr(exc, "response", {}) or {}).get("Item")
            return False, old or None
        new: Item = resp.get("Attributes", {})
        return True, new

    def transact(self, items: list[dict[str, Any]]) -> list[str] | None:
        """Run a transaction; None on success, else the cancellation reason codes.

        Each attempt carries its own ClientRequestToken, so botocore's retries of an attempt that
        committed but whose answer was lost (a read timeout) are idempotent in DynamoDB. An
        attempt cancelled only by conflicts or throttles is retried with jitter; when that
        persists, TransientConflict (contention: the caller decides, a different answer or a 503)
        or DependencyBusy (throttled: a 503)."""
        for attempt in range(1, TRANSACT_ATTEMPTS + 1):
            try:
                self.client.transact_write_items(
                    TransactItems=items,  # type: ignore[arg-type]
                    ClientRequestToken=uuid.uuid4().hex,
                )
                return None
            except self.client.exceptions.TransactionCanceledException as exc:
                codes = cancellation_reasons(exc)
                if not is_transient_cancellation(codes):
                    return codes
                if attempt == TRANSACT_ATTEMPTS:
                    if THROTTLE_CANCELLATION_REASONS.intersection(codes):
                        raise DependencyBusy("dynamodb") from exc  # throttled, not contended: a 503
                    raise TransientConflict() from exc
            except self.client.exceptions.TransactionConflictException as exc:
                if attempt == TRANSACT_ATTEMPTS:
                    raise TransientConflict() from exc
            self._sleep(TRANSACT_PAUSE_S * attempt * (0.5 + self._jitter()))
        raise AssertionError("unreachable")  # pragma: no cover

    def transact_if(self, items: list[dict[str, Any]]) -> bool:
        """Run a transaction whose conditions decide the outcome: True when it committed, False
        when a condition failed; any other cancellation is TransientConflict (see `transact`)."""
        codes = self.transact(items)
        if codes is None:
            return True
        if "ConditionalCheckFailed" in codes:
            return False
        raise TransientConflict()

    def outbox_put(self, job: OutboxJob, now: int) -> dict[str, Any]:
        """The transaction item that inserts an outbox job (the relay forwards it from the stream)."""
        item = to_item(
            {
                "kind": job.kind,
                "registration_id": job.registration_id,
                "payload": job.payload,
                "created_at": now,
                "expires_at": now + OUTBOX_TTL_S,
            }
        )
        item.update(outbox_key(uuid.uuid4().hex))
        return {"Put": {"TableName": self.name, "Item": item}}
