"""FilterCriteria matching as Lambda does it (exact values, prefix, exists, anything-but, numeric)."""

from __future__ import annotations

import json

import pytest

from infra.local.filters import matches, passes, sqs_view

INSERT_OUTBOX = {
    "eventName": "INSERT",
    "dynamodb": {
        "Keys": {"pk": {"S": "OUTBOX#1"}, "sk": {"S": "OUTBOX"}},
        "NewImage": {"kind": {"S": "EMAIL"}, "n": {"N": "3"}},
    },
}
MODIFY_REG = {"eventName": "MODIFY", "dynamodb": {"Keys": {"pk": {"S": "REG#1"}, "sk": {"S": "REG"}}}}
MODIFY_FUNNEL = {"eventName": "MODIFY", "dynamodb": {"Keys": {"pk": {"S": "FUNNEL"}, "sk": {"S": "SHARD#1"}}}}

# The relay's filters in template.yaml.
RELAY = [
    json.loads('{"eventName":["INSERT"],"dynamodb":{"Keys":{"pk":{"S":[{"prefix":"OUTBOX#"}]}}}}'),
    json.loads('{"dynamodb":{"Keys":{"pk":{"S":[{"prefix":"REG#"}]}}}}'),
]


def test_any_of_several_patterns_lets_a_record_through():
    assert passes(INSERT_OUTBOX, RELAY)
    assert passes(MODIFY_REG, RELAY)
    assert not passes(MODIFY_FUNNEL, RELAY)
    assert not passes({**INSERT_OUTBOX, "eventName": "REMOVE"}, RELAY[:1])


def test_no_patterns_means_everything_passes():
    assert passes(MODIFY_FUNNEL, [])


@pytest.mark.parametrize(
    ("rule", "value", "expected"),
    [
        (["EMAIL"], "EMAIL", True),
        (["EMAIL", "NIK_CHECK"], "NIK_CHECK", True),
        (["EMAIL"], "email", False),
        ([3], 3.0, True),
        (["3"], 3, False),
        ([None], None, True),
        ([True], True, True),
        ([{"prefix": "OUT"}], "OUTBOX#1", True),
        ([{"prefix": "OUT"}], "REG#1", False),
        ([{"suffix": ".png"}], "a.png", True),
        ([{"equals-ignore-case": "email"}], "EMAIL", True),
        ([{"anything-but": ["EMAIL", "X"]}], "NIK", True),
        ([{"anything-but": ["EMAIL", "X"]}], "EMAIL", False),
        ([{"anything-but": "EMAIL"}], "EMAIL", False),
        ([{"anything-but": {"prefix": "OUT"}}], "OUTBOX#1", False),
        ([{"anything-but": {"prefix": "OUT"}}], "REG#1", True),
        ([{"numeric": [">", 0, "<=", 5]}], 5, True),
        ([{"numeric": [">", 0, "<=", 5]}], 6, False),
        ([{"numeric": [">", 0]}], "7", False),
        ([{"exists": True}], "anything", True),
    ],
)
def test_value_rules(rule, value, expected):
    assert matches({"field": rule}, {"field": value}) is expected


def test_exists_false_matches_only_a_missing_key():
    assert matches({"field": [{"exists": False}]}, {})
    assert not matches({"field": [{"exists": False}]}, {"field": "x"})
    assert not matches({"field": [{"exists": True}]}, {})
    assert not matches({"field": ["x"]}, {})
    assert not matches({"field": [{"anything-but": "x"}]}, {})


def test_nested_patterns_need_nested_data():
    assert matches({"dynamodb": {"NewImage": {"kind": {"S": ["EMAIL"]}}}}, INSERT_OUTBOX)
    assert not matches({"dynamodb": {"NewImage": {"kind": {"S": ["EMAIL"]}}}}, MODIFY_REG)
    assert not matches({"dynamodb": {"Keys": ["x"]}}, {"dynamodb": "flat"})


def test_a_list_in_the_record_matches_when_any_element_does():
    assert matches({"tags": ["b"]}, {"tags": ["a", "b"]})
    assert not matches({"tags": ["c"]}, {"tags": ["a", "b"]})


def test_sqs_json_bodies_are_matched_as_data_and_plain_bodies_as_text():
    record = {"messageId": "1", "body": json.dumps({"kind": "EMAIL", "attempt": 2})}
    assert passes(sqs_view(record), [{"body": {"kind": ["EMAIL"], "attempt": [{"numeric": [">=", 2]}]}}])
    assert not passes(sqs_view(record), [{"body": {"kind": ["NIK_CHECK"]}}])
    assert passes(sqs_view({"body": "plain text"}), [{"body": ["plain text"]}])
    assert not passes(sqs_view({"body": "plain text"}), [{"body": {"kind": ["EMAIL"]}}])
