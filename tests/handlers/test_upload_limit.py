"""At most 10 presigned photo uploads per registration an hour (moto): the 11th is a 429
problem+json with Retry-After; the window restarts an hour after its first upload."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from infra.sandbox import FakeContext, Sandbox, api_event, load_handler, sandbox
from prakerja import composition
from prakerja.adapters.keys import reg_key
from prakerja.adapters.photos import DynamoPhotoStore
from prakerja.domain import security
from prakerja.domain.photo_service import UPLOAD_WINDOW_S, UPLOADS_PER_WINDOW
from tests.handlers.pipeline import body


@pytest.fixture
def box() -> Iterator[Sandbox]:
    with sandbox() as b:
        yield b


def registered(box: Sandbox) -> str:
    person = {
        "email": "foto@example.com",
        "password": "sandi-kuat-2026",
        "full_name": "Budi",
        "phone": "081234567890",
        "consent": {"terms_version": "2026-01", "accepted": True},
    }
    r = load_handler("register")(api_event("POST", "/registrations", "/registrations", body=person), FakeContext())
    return str(body(r)["registration_id"])


def upload(rid: str) -> dict:  # type: ignore[type-arg]
    token = security.issue_token(composition.keys().token, rid, now=int(time.time()), ttl_s=600)
    event = api_event(
        "POST",
        "/registrations/{id}/photo",
        f"/registrations/{rid}/photo",
        body={"content_type": "image/jpeg"},
        token=token,
        path_parameters={"id": rid},
    )
    return load_handler("upload_photo")(event, FakeContext())  # type: ignore[no-any-return]


def test_the_eleventh_upload_url_in_an_hour_is_refused_with_retry_after(box):
    rid = registered(box)
    answers = [upload(rid) for _ in range(UPLOADS_PER_WINDOW + 1)]
    assert [a["statusCode"] for a in answers] == [201] * UPLOADS_PER_WINDOW + [429]
    refused = answers[-1]
    assert refused["headers"]["Content-Type"] == "application/problem+json"
    assert json.loads(refused["body"])["type"].endswith("too-many-attempts")
    assert 3500 < int(refused["headers"]["Retry-After"]) <= UPLOAD_WINDOW_S
    # the refused request did not replace the latest upload key
    item = box.client("dynamodb").get_item(TableName=box.env["TABLE_NAME"], Key=reg_key(rid))["Item"]
    assert item["photo_uploads"] == {"N": str(UPLOADS_PER_WINDOW)}
    assert json.loads(answers[-2]["body"])["fields"]["key"] == item["photo_upload_key"]["S"]


def test_the_window_restarts_an_hour_after_its_first_upload_and_unknown_ids_are_404(box):
    rid = registered(box)
    from prakerja.adapters.table import Table

    store = DynamoPhotoStore(Table(box.client("dynamodb"), box.env["TABLE_NAME"]))
    t0 = 1_800_000_000
    assert all(store.set_upload_key(rid, f"k{i}", t0 + i).allowed for i in range(UPLOADS_PER_WINDOW))
    refused = store.set_upload_key(rid, "late", t0 + 600)
    assert refused.found and not refused.allowed and refused.retry_after_s == UPLOAD_WINDOW_S - 600
    assert store.set_upload_key(rid, "next", t0 + UPLOAD_WINDOW_S).allowed  # a new window
    assert not store.set_upload_key("f" * 32, "k", t0).found
