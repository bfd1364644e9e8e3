"""GET /batches and POST /registrations/{id}/batch: the real handlers and DynamoDB adapter on moto."""

from __future__ import annotations

import importlib.util
import json
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra.sandbox import api_event
from prakerja import composition
from prakerja.adapters.batches import DynamoBatchStore
from prakerja.adapters.keys import reg_key, seat_key
from prakerja.adapters.registration_items import registration_to_item
from prakerja.adapters.table import Table
from prakerja.domain import security
from prakerja.domain.batch import BatchService, SeatOutcome
from prakerja.domain.models import Registration
from prakerja.domain.ports import SystemClock

ROOT = Path(__file__).resolve().parents[2]
REGION = "ap-southeast-3"
TABLE = "prakerja-test-table"
RID = "0123456789abcdef0123456789abcdef"
OTHER = "fedcba9876543210fedcba9876543210"


def load_handler(name: str) -> ModuleType:
    module_name = f"_handler_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, ROOT / "functions" / name / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def context() -> Any:
    return SimpleNamespace(
        function_name="test",
        memory_limit_in_mb=256,
        aws_request_id=str(uuid.uuid4()),
        invoked_function_arn=f"arn:aws:lambda:{REGION}:123456789012:function:test",
    )


def rest_event(
    method: str,
    path: str,
    resource: str,
    *,
    body: Any = None,
    token: str | None = None,
    path_parameters: dict[str, str] | None = None,
) -> dict[str, Any]:
    return api_event(method, resource, path, body=body, token=token, path_parameters=path_parameters)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("TABLE_NAME", TABLE)
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Prakerja")
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name=REGION)
        ddb.create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        )
        secret = boto3.client("secretsmanager", region_name=REGION).create_secret(
            Name="prakerja-test-secret", SecretString="m" * 48
        )
        monkeypatch.setenv("TOKEN_SECRET_ARN", secret["ARN"])
        composition.reset()
        yield ddb
        composition.reset()


def seed(ddb: Any, registration_id: str, **changes: Any) -> None:
    reg = Registration(
        registration_id=registration_id,
        email=f"{registration_id[:4]}@example.com",
        password_hash="scrypt$x",
        full_name="Budi Santoso",
        phone="+6281234567890",
        created_at=int(time.time()),
        email_verified=True,
        nik_status="VERIFIED",
        photo_status="ACCEPTED",
    )
    for name, value in changes.items():
        setattr(reg, name, value)
    ddb.put_item(TableName=TABLE, Item=registration_to_item(reg))


def create_batch(ddb: Any, batch_id: str, seats: int, name: str = "Gelombang") -> None:
    assert (
        BatchService(DynamoBatchStore(Table(ddb, TABLE)), SystemClock()).create_batch(batch_id, name, seats)
        == "created"
    )


def token_for(registration_id: str) -> str:
    return security.issue_token(composition.keys().token, registration_id, now=int(time.time()), ttl_s=600)


def join(registration_id: str, body: Any, token: str | None) -> dict[str, Any]:
    event = rest_event(
        "POST",
        f"/registrations/{registration_id}/batch",
        "/registrations/{id}/batch",
        body=body,
        token=token,
        path_parameters={"id": registration_id},
    )
    return load_handler("join_batch").handler(event, context())


def list_batches() -> dict[str, Any]:
    return load_handler("list_batches").handler(rest_event("GET", "/batches", "/batches"), context())


def problem(resp: dict[str, Any], status: int, slug: str) -> dict[str, Any]:
    assert resp["statusCode"] == status, resp
    assert header(resp, "Content-Type") == "application/problem+json"
    body = json.loads(resp["body"])
    assert body["type"] == slug and body["status"] == status and body["title"] and body["detail"]
    return body


def header(resp: dict[str, Any], name: str) -> str | None:
    single = (resp.get("headers") or {}).get(name)
    multi = (resp.get("multiValueHeaders") or {}).get(name) or [None]
    return single if single is not None else multi[0]


@pytest.fixture
def joined_metrics(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the metrics the join handler adds."""
    names: list[str] = []
    metrics = load_handler("join_batch").metrics
    real = metrics.add_metric

    def record(*, name: str, **kw: Any) -> None:
        names.append(name)
        real(name=name, **kw)

    monkeypatch.setattr(metrics, "add_metric", record)
    return names


def test_list_batches(aws):
    create_batch(aws, "b2", 3, "Second")
    create_batch(aws, "b1", 120, "First")
    resp = list_batches()
    assert resp["statusCode"] == 200
    assert json.loads(resp["body"]) == {
        "batches": [
            {"batch_id": "b1", "name": "First", "seats_total": 120, "seats_left": 120},
            {"batch_id": "b2", "name": "Second", "seats_total": 3, "seats_left": 3},
        ]
    }


def test_list_batches_when_there_are_none(aws):
    resp = list_batches()
    assert resp["statusCode"] == 200 and json.loads(resp["body"]) == {"batches": []}


def test_join_then_again_is_a_no_op(aws, joined_metrics):
    seed(aws, RID)
    create_batch(aws, "b1", 120)
    resp = join(RID, {"batch_id": "b1"}, token_for(RID))
    assert resp["statusCode"] == 200, resp
    assert json.loads(resp["body"]) == {"batch_id": "b1", "status": "JOINED"}
    assert joined_metrics == ["BatchJoined"]
    item = aws.get_item(TableName=TABLE, Key=reg_key(RID))["Item"]
    assert item["batch_id"] == {"S": "b1"} and "joined_at" in item
    assert json.loads(list_batches()["body"])["batches"][0]["seats_left"] == 119

    again = join(RID, {"batch_id": "b1"}, token_for(RID))
    assert again["statusCode"] == 200 and json.loads(again["body"]) == {"batch_id": "b1", "status": "JOINED"}
    assert joined_metrics == ["BatchJoined"]  # not again for the no-op
    assert json.loads(list_batches()["body"])["batches"][0]["seats_left"] == 119


def test_batch_full_is_409_problem(aws):
    seed(aws, RID)
    seed(aws, OTHER)
    create_batch(aws, "tiny", 1)
    assert join(OTHER, {"batch_id": "tiny"}, token_for(OTHER))["statusCode"] == 200
    body = problem(join(RID, {"batch_id": "tiny"}, token_for(RID)), 409, "batch-full")
    assert body["title"] == "The batch has no seats left"
    shard = aws.get_item(TableName=TABLE, Key=seat_key("tiny", 0))["Item"]
    assert shard["taken"] == {"N": "1"} and shard["allot"] == {"N": "1"}
    assert "batch_id" not in aws.get_item(TableName=TABLE, Key=reg_key(RID))["Item"]


def test_the_seat_transaction_reports_which_condition_failed(aws):
    seed(aws, RID)
    seed(aws, OTHER, batch_id="elsewhere")
    create_batch(aws, "two", 60)  # 2 shards of 30
    aws.update_item(TableName=TABLE, Key=seat_key("two", 0), UpdateExpression="SET taken = allot")
    store = DynamoBatchStore(Table(aws, TABLE))
    assert store.take_seat(RID, "two", 0, 1) is SeatOutcome.SHARD_FULL
    assert store.take_seat(OTHER, "two", 1, 1) is SeatOutcome.REGISTRATION_REFUSED
    assert store.take_seat(OTHER, "two", 0, 1) is SeatOutcome.REGISTRATION_REFUSED  # both failed
    assert store.take_seat("9" * 32, "two", 1, 1) is SeatOutcome.REGISTRATION_REFUSED  # no such registration
    assert aws.get_item(TableName=TABLE, Key=seat_key("two", 1))["Item"]["taken"] == {"N": "0"}
    assert store.take_seat(RID, "two", 1, 1) is SeatOutcome.JOINED
    assert aws.get_item(TableName=TABLE, Key=seat_key("two", 1))["Item"]["taken"] == {"N": "1"}
    # the service skips the full shard it read and joins through the other one
    seed(aws, "8" * 32)
    assert BatchService(store, SystemClock()).join_batch("8" * 32, "two").attempts == 1


def test_create_writes_exact_shards_and_list_reads_more_than_100_of_them(aws):
    for i in range(4):
        create_batch(aws, f"big{i}", 5_000 + i)  # 32 shards each: 128 shard items
    store = DynamoBatchStore(Table(aws, TABLE))
    state = store.get_batch("big3")
    assert state is not None and len(state.shards) == 32 and sum(s.allot for s in state.shards) == 5_003
    assert [b["seats_left"] for b in json.loads(list_batches()["body"])["batches"]] == [5_000, 5_001, 5_002, 5_003]
    assert store.create_batch(state.batch, [1] * 32) is False  # already exists


def test_already_joined_and_not_eligible_and_unknown_batch(aws):
    seed(aws, RID)
    seed(aws, OTHER, photo_status="PENDING", nik_status="PENDING")
    create_batch(aws, "b1", 10)
    create_batch(aws, "b2", 10)
    assert join(RID, {"batch_id": "b1"}, token_for(RID))["statusCode"] == 200
    problem(join(RID, {"batch_id": "b2"}, token_for(RID)), 409, "already-joined")
    body = problem(join(OTHER, {"batch_id": "b1"}, token_for(OTHER)), 409, "not-eligible")
    assert "NIK not verified" in body["detail"] and "photo not accepted" in body["detail"]
    problem(join(OTHER, {"batch_id": "nope"}, token_for(OTHER)), 404, "not-found")


def test_without_token_is_401_even_with_an_invalid_body(aws):
    seed(aws, RID)
    problem(join(RID, {"batch_id": "b1"}, None), 401, "unauthorized")
    resp = join(RID, "{not json", None)
    problem(resp, 401, "unauthorized")
    assert str(header(resp, "WWW-Authenticate")).startswith("Bearer")
    problem(join(RID, {"batch_id": "b1"}, "garbage.token.here"), 401, "unauthorized")


def test_another_persons_token_is_404(aws):
    seed(aws, RID)
    seed(aws, OTHER)
    create_batch(aws, "b1", 10)
    problem(join(RID, {"batch_id": "b1"}, token_for(OTHER)), 404, "not-found")
    assert "batch_id" not in aws.get_item(TableName=TABLE, Key=reg_key(RID))["Item"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"batch_id": ""},
        {"batch_id": "has space"},
        {"batch_id": 7},
        {"batch_id": "b1", "extra": 1},
        "[]",
        "{not json",
    ],
)
def test_bad_body_is_422(aws, body):
    seed(aws, RID)
    resp = join(RID, body, token_for(RID))
    details = problem(resp, 422, "validation-error")
    assert details["errors"]
