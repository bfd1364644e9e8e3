"""Registry protection state shared by every check_nik instance: the circuit breaker
(one item, optimistic versioning) and the paced call slots."""

from __future__ import annotations

import dataclasses

from prakerja.adapters.dynamo_codec import from_item, ser, to_item
from prakerja.adapters.keys import breaker_key, slot_key
from prakerja.adapters.table import Table
from prakerja.domain.resilience import BreakerMode, BreakerState


class DynamoBreakerStore:
    """Implements prakerja.domain.resilience.BreakerStore."""

    def __init__(self, table: Table, name: str = "registry") -> None:
        self._table = table
        self._key = breaker_key(name)

    def load(self) -> BreakerState:
        item = self._table.get(self._key)
        if not item:
            return BreakerState()
        v = from_item(item)
        return BreakerState(
            mode=BreakerMode(v.get("mode", "CLOSED")),
            consecutive_failures=int(v.get("consecutive_failures", 0)),
            window_start=v.get("window_start"),
            window_calls=int(v.get("window_calls", 0)),
            window_failures=int(v.get("window_failures", 0)),
            opened_at=v.get("opened_at"),
            probe_started_at=v.get("probe_started_at"),
            version=int(v.get("version", 0)),
        )

    def save(self, new: BreakerState, expected_version: int) -> bool:
        values = dataclasses.asdict(new)
        values["mode"] = str(new.mode)
        try:
            self._table.client.put_item(
                TableName=self._table.name,
                Item={**self._key, **to_item(values)},
                ConditionExpression="attribute_not_exists(pk) OR version = :v",
                ExpressionAttributeValues={":v": ser(expected_version)},
            )
        except self._table.client.exceptions.ConditionalCheckFailedException:
            return False
        return True


class DynamoSlotStore:
    """Paced call slots shared by every worker: at most `cap` slots per pacing period
    (implements prakerja.domain.resilience.SlotStore)."""

    def __init__(self, table: Table, name: str = "registry") -> None:
        self._table = table
        self._name = name

    def take(self, second: int, cap: int, min_index: int = 0) -> int | None:
        if min_index >= cap:
            return None
        item_key = slot_key(self._name, second)
        values = {":one": 1, ":exp": second + 3600, ":cap": cap, ":min": min_index}
        for _ in range(3):
            # Usually: the next slot, if it has not started yet.
            taken = self._table.update_if(
                item_key,
                "ADD calls :one SET expires_at = :exp",
                "calls >= :min AND calls < :cap",
                values,
                return_new=True,
            )
            if isinstance(taken, dict):
                return int(taken["calls"]["N"]) - 1
            # The counter is behind the clock (or new): jump it to the first slot still ahead.
            jumped = self._table.update_if(
                item_key,
                "SET calls = :next, expires_at = :exp",
                "attribute_not_exists(calls) OR calls < :min",
                {":next": min_index + 1, ":exp": second + 3600, ":min": min_index},
            )
            if jumped:
                return min_index
            current = self._table.get(item_key)  # both refused: full, unless another caller raced us
            if current is None or int(from_item(current).get("calls", 0)) >= cap:
                return None
        return None
