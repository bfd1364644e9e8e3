"""The execution environment's shared pieces: one boto3 session for every client, and the
collector settled after a Lambda function's init."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from prakerja import runtime


@pytest.fixture(autouse=True)
def fresh_runtime(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-southeast-3")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    runtime.reset()
    yield
    runtime.reset()


def test_every_client_comes_from_one_session_and_is_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    created: list[Any] = []
    real = boto3.session.Session

    def counting_session(*args: Any, **kwargs: Any) -> Any:
        created.append(real(*args, **kwargs))
        return created[-1]

    monkeypatch.setattr(boto3.session, "Session", counting_session)

    ddb, sm = runtime.aws_client("dynamodb"), runtime.aws_client("secretsmanager")

    assert len(created) == 1
    assert runtime.aws_client("dynamodb") is ddb and runtime.aws_client("secretsmanager") is sm
    assert ddb.meta.service_model.service_name == "dynamodb"
    assert sm.meta.service_model.service_name == "secretsmanager"
    assert ddb.meta.config.retries["mode"] == "standard" and ddb.meta.config.connect_timeout == 1


def test_in_lambda_settle_freezes_what_init_built_and_collects_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "register")
    was_enabled = gc.isenabled()
    gc.disable()  # as prakerja/__init__.py does while a Lambda function initialises
    try:
        runtime.settle()
        assert gc.isenabled()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.enable() if was_enabled else gc.disable()


def test_outside_lambda_settle_leaves_the_collector_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    before = gc.get_freeze_count()
    runtime.settle()
    assert gc.get_freeze_count() == before


def test_a_lazy_client_is_made_on_first_use_only_and_is_the_shared_one() -> None:
    s3 = runtime.lazy_client("s3")
    assert "s3" not in runtime._clients  # wiring an adapter with it costs nothing
    assert s3.meta.service_model.service_name == "s3"
    assert runtime._clients["s3"] is runtime.aws_client("s3")
    assert s3.exceptions.ClientError is runtime.aws_client("s3").exceptions.ClientError


def test_a_service_wired_for_photos_makes_no_s3_client_until_it_touches_s3(monkeypatch: pytest.MonkeyPatch) -> None:
    from prakerja import composition
    from prakerja.config import get_settings

    monkeypatch.setenv("TABLE_NAME", "t")
    monkeypatch.setenv("PHOTO_BUCKET", "b")
    get_settings.cache_clear()
    composition.photo_service.cache_clear()
    try:
        composition.photo_service()
        assert "s3" not in runtime._clients
    finally:
        composition.photo_service.cache_clear()
        get_settings.cache_clear()


def test_clients_pool_botocores_ten_connections_unless_the_local_stack_asks_for_more(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AWS_MAX_POOL_CONNECTIONS", raising=False)
    assert runtime.aws_client("dynamodb").meta.config.max_pool_connections == 10
    runtime.reset()
    monkeypatch.setenv("AWS_MAX_POOL_CONNECTIONS", "64")
    assert runtime.aws_client("dynamodb").meta.config.max_pool_connections == 64
