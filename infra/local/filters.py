"""Lambda event filtering (`FilterCriteria`) for the local pollers.

A record passes when any pattern matches. In a pattern, a mapping descends into the record;
a list holds the accepted values: exact values, or operators `{"prefix": s}`, `{"suffix": s}`,
`{"exists": bool}`, `{"anything-but": value | [values] | {"prefix": s}}`,
`{"numeric": [">", 0, "<=", 5]}`, `{"equals-ignore-case": s}`. When the record's value is a list,
any element may match. For SQS records a JSON `body` is matched as data.
"""

from __future__ import annotations

import contextlib
import json
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

_MISSING: Any = object()
_NUMERIC: dict[str, Callable[[float, float], bool]] = {
    "=": operator.eq,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def passes(record: Mapping[str, Any], patterns: Sequence[Mapping[str, Any]]) -> bool:
    """True when there are no patterns or at least one matches."""
    return not patterns or any(matches(pattern, record) for pattern in patterns)


def sqs_view(record: Mapping[str, Any]) -> dict[str, Any]:
    """An SQS record as filters see it: a body holding JSON is matched as that JSON."""
    view = dict(record)
    with contextlib.suppress(TypeError, ValueError):
        view["body"] = json.loads(record.get("body") or "")
    return view


def matches(pattern: Mapping[str, Any], data: Any) -> bool:
    if not isinstance(data, Mapping):
        return False
    for key, rule in pattern.items():
        value = data.get(key, _MISSING)
        if isinstance(rule, Mapping):
            if not matches(rule, value):
                return False
        elif isinstance(rule, list):
            if not _value_matches(value, rule):
                return False
        else:
            raise ValueError("filter pattern values must be objects or lists")
    return True


def _value_matches(value: Any, rules: list[Any]) -> bool:
    values = value if isinstance(value, list) and value else [value]
    present = value is not _MISSING
    return any(_rule_matches(item, rule, present=present) for rule in rules for item in values)


def _rule_matches(value: Any, rule: Any, *, present: bool) -> bool:
    if isinstance(rule, Mapping):
        return _operator_matches(value, rule, present=present)
    return present and _equal(value, rule)


def _operator_matches(value: Any, rule: Mapping[str, Any], *, present: bool) -> bool:
    ((name, arg),) = rule.items()
    if name == "exists":
        return present is bool(arg)
    if not present:
        return False
    if name == "prefix":
        return isinstance(value, str) and isinstance(arg, str) and value.startswith(arg)
    if name == "suffix":
        return isinstance(value, str) and isinstance(arg, str) and value.endswith(arg)
    if name == "equals-ignore-case":
        return isinstance(value, str) and str(arg).casefold() == value.casefold()
    if name == "anything-but":
        return _anything_but(value, arg)
    if name == "numeric":
        return _numeric(value, arg)
    raise ValueError(f"unsupported filter operator {name}")


def _anything_but(value: Any, arg: Any) -> bool:
    if isinstance(arg, Mapping):
        return not _operator_matches(value, arg, present=True)
    excluded = arg if isinstance(arg, list) else [arg]
    return not any(_equal(value, item) for item in excluded)


def _numeric(value: Any, arg: list[Any]) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    pairs = zip(arg[::2], arg[1::2], strict=True)
    return all(_NUMERIC[op](float(value), float(bound)) for op, bound in pairs)


def _equal(value: Any, expected: Any) -> bool:
    numbers = (int, float)
    if (
        isinstance(value, numbers)
        and isinstance(expected, numbers)
        and not isinstance(value, bool)
        and not isinstance(expected, bool)
    ):
        return float(value) == float(expected)
    return type(value) is type(expected) and bool(value == expected)
