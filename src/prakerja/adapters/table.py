"""The single DynamoDB table, as the stores use it (composition: every store holds a Table).
The boto3 client is injected."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from prakerja.adapters.dynamo_codec import Item, ser, to_item
from prakerja.adapters.keys import outbox_key
from prakerja.domain.models import OutboxJob
from prakerja.domain.ports import TransientConflict

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

OUTBOX_TTL_S = 7 * 24 * 3600


def cancellation_codes(exc: Exception) -> list[str]:
    response = getattr(exc, "response", {}) or {}
    return [r.get("Code", "None") for r in response.get("CancellationReasons", [])]


class Table:
    def __init__(self, client: DynamoDBClient, name: str) -> None:
        self.client = client
        self.name = name

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
            "ExpressionAttributeValues": {k: ser(v) for k, v in values.items()},
        }
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

    def transact(self, items: list[dict[str, Any]]) -> list[str] | None:
        """Run a transaction; None on success, else the cancellation reason codes.
        Conflicts with concurrent transactions raise TransientConflict."""
        try:
            # The token makes a retry of this same call (botocore retries after a timeout)
            # idempotent in DynamoDB, instead of failing its own conditions.
            self.client.transact_write_items(
                TransactItems=items,  # type: ignore[arg-type]
                ClientRequestToken=uuid.uuid4().hex,
            )
        except self.client.exceptions.TransactionCanceledException as exc:
            codes = cancellation_codes(exc)
            if "TransactionConflict" in codes and "ConditionalCheckFailed" not in codes:
                raise TransientConflict() from exc
            return codes
        except self.client.exceptions.TransactionConflictException as exc:
            raise TransientConflict() from exc
        return None

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
