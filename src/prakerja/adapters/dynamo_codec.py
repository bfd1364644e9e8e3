"""Minimal DynamoDB attribute-value codec for the low-level client (no Decimal, no boto3 import)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

AttrValue = dict[str, Any]
# An item of the low-level client (boto3 stubs type its values as TypedDicts).
Item = dict[str, Any]


def ser(value: Any) -> AttrValue:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int | float):
        return {"N": repr(value) if isinstance(value, float) else str(value)}
    if isinstance(value, Mapping):
        return {"M": {k: ser(v) for k, v in value.items() if v is not None}}
    if isinstance(value, list | tuple):
        return {"L": [ser(v) for v in value]}
    if value is None:
        return {"NULL": True}
    raise TypeError(f"cannot store {type(value).__name__}")


def de(attr: Mapping[str, Any]) -> Any:
    ((kind, raw),) = attr.items()
    if kind == "S":
        return raw
    if kind == "N":
        return float(raw) if any(c in raw for c in ".eE") else int(raw)
    if kind == "BOOL":
        return bool(raw)
    if kind == "M":
        return {k: de(v) for k, v in raw.items()}
    if kind == "L":
        return [de(v) for v in raw]
    if kind == "NULL":
        return None
    if kind == "SS":
        return set(raw)
    raise TypeError(f"unsupported attribute type {kind}")


def to_item(values: Mapping[str, Any]) -> Item:
    return {k: ser(v) for k, v in values.items() if v is not None}


def from_item(item: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    return {k: de(v) for k, v in item.items()}


def key(pk: str, sk: str) -> Item:
    return {"pk": {"S": pk}, "sk": {"S": sk}}
