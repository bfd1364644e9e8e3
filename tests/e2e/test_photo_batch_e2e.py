"""Photo upload by presigned POST + server-side inspection, batches with exact seats."""

from __future__ import annotations

import concurrent.futures as cf
import time
import uuid

import boto3
import pytest
import requests

from tests.e2e.client import Api, assert_problem, create_batch
from tests.e2e.people import next_person
from tests.imagegen import (
    damaged_exif_app1s,
    insert_after_soi,
    make_jpeg,
    make_png,
    motion_photo,
    mp4_file,
    pillow_jpeg,
    samsung_trailer,
)

pytestmark = pytest.mark.e2e


def upload(api: Api, rid: str, token: str, content: bytes, content_type: str = "image/jpeg") -> dict:  # type: ignore[type-arg]
    r = api.call("POST", f"/registrations/{rid}/photo", token=token, json={"content_type": content_type})
    assert r.status_code == 201, r.text
    post = r.json()
    assert 0 < post["expires_in"] <= 300 and post["max_bytes"] == 2097152
    up = requests.post(post["url"], data=post["fields"], files={"file": ("photo", content, content_type)}, timeout=30)
    assert up.status_code in (200, 201, 204), up.text
    return dict(post)


def s3(stack):  # type: ignore[no-untyped-def]
    return boto3.client(
        "s3", endpoint_url=stack.aws_url, region_name="ap-southeast-3", aws_access_key_id="x", aws_secret_access_key="x"
    )


def test_good_photo_is_accepted_and_a_new_one_replaces_it(api: Api, stack):
    _, rid, token = api.verified_person()
    first = upload(api, rid, token, make_jpeg(400, 400))
    s = api.wait_status(rid, token, "photo_status", {"ACCEPTED", "REJECTED"})
    assert (s["photo_status"], s["photo_reason"]) == ("ACCEPTED", None)
    second = upload(api, rid, token, make_png(640, 480), "image/png")
    assert second["fields"]["key"] != first["fields"]["key"]
    bucket = first["url"].rstrip("/").rsplit("/", 1)[-1]
    deadline = time.monotonic() + 20
    while True:  # the second photo is inspected asynchronously; then it replaces the first
        listed = s3(stack).list_objects_v2(Bucket=bucket, Prefix=f"uploads/{rid}/").get("Contents", [])
        keys = [o["Key"] for o in listed]
        if keys == [second["fields"]["key"]] or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert keys == [second["fields"]["key"]]
    assert api.status(rid, token)["photo_status"] == "ACCEPTED"


def test_a_phone_motion_photo_with_a_damaged_exif_block_is_accepted_as_uploaded(api: Api, stack):
    # Given what a phone uploads: a progressive JPEG with a broken EXIF block, a Motion
    # Photo MP4 after its end marker, and a Samsung trailer after that
    photo = insert_after_soi(pillow_jpeg(640, 480, progressive=True), damaged_exif_app1s()["bad-byte-order"])
    video = mp4_file(400_000)
    content = motion_photo(photo, video) + samsung_trailer([(0x0A30, "MotionPhoto_Data", b"")])
    _, rid, token = api.verified_person()
    post = upload(api, rid, token, content)
    # Then it is accepted, and the stored object is the upload, byte for byte
    s = api.wait_status(rid, token, "photo_status", {"ACCEPTED", "REJECTED"})
    assert (s["photo_status"], s["photo_reason"]) == ("ACCEPTED", None)
    bucket = post["url"].rstrip("/").rsplit("/", 1)[-1]
    assert s3(stack).get_object(Bucket=bucket, Key=post["fields"]["key"])["Body"].read() == content


@pytest.mark.parametrize(
    ("content", "ctype", "reason"),
    [
        (make_png(120, 120), "image/png", "too-small"),
        (b"<html><body>not a photo</body></html>", "image/jpeg", "not-an-image"),
        (make_png(400, 400), "image/jpeg", "not-an-image"),
        (make_jpeg(400, 400)[:-200], "image/jpeg", "not-an-image"),
        (make_png(400, 400, noise=True) + b"\0" * (2 * 1024 * 1024), "image/png", "too-large"),
    ],
)
def test_bad_photos_are_rejected_and_deleted(api: Api, stack, content, ctype, reason):
    _, rid, token = api.verified_person()
    post = upload(api, rid, token, content, ctype)
    s = api.wait_status(rid, token, "photo_status", {"ACCEPTED", "REJECTED"})
    assert (s["photo_status"], s["photo_reason"]) == ("REJECTED", reason)
    bucket = post["url"].rstrip("/").rsplit("/", 1)[-1]
    assert "Contents" not in s3(stack).list_objects_v2(Bucket=bucket, Prefix=post["fields"]["key"])


def test_photo_request_validation(api: Api):
    _, rid, token = api.verified_person()
    gif = api.call("POST", f"/registrations/{rid}/photo", token=token, json={"content_type": "image/gif"})
    assert_problem(gif, 422)
    assert_problem(api.call("POST", f"/registrations/{rid}/photo", json={"content_type": "image/png"}), 401)


def eligible(api: Api) -> tuple[str, str]:
    _, rid, token = api.verified_person()
    assert api.call("POST", f"/registrations/{rid}/nik", token=token, json=next_person()).status_code == 202
    upload(api, rid, token, make_jpeg(320, 320))
    api.wait_status(rid, token, "nik_status", {"VERIFIED"})
    s = api.wait_status(rid, token, "status", {"READY"})
    assert s["status"] == "READY", s
    return rid, token


def seats_left_within_the_cache_ttl(api: Api, batch: str) -> int:
    """GET /batches is cached up to 2 s per instance (docs/API.md): the listing a client sees
    once that has passed."""
    time.sleep(2.1)
    listed = {b["batch_id"]: b for b in api.call("GET", "/batches").json()["batches"]}
    return int(listed[batch]["seats_left"])


def test_batch_join_rules(api: Api, stack):
    batch = f"b-{uuid.uuid4().hex[:8]}"
    created = create_batch(stack.aws_port, batch, "Gelombang Uji", 3)
    assert created.returncode == 0, created.stderr
    assert create_batch(stack.aws_port, batch, "Gelombang Uji", 3).returncode == 0
    time.sleep(2.1)  # a listing cached by an earlier test has expired (GET /batches: 2 s cache)
    listed = {b["batch_id"]: b for b in api.call("GET", "/batches").json()["batches"]}
    assert listed[batch] == {"batch_id": batch, "name": "Gelombang Uji", "seats_total": 3, "seats_left": 3}

    _, rid, token = api.verified_person()
    body = assert_problem(
        api.call("POST", f"/registrations/{rid}/batch", token=token, json={"batch_id": batch}), 409, "not-eligible"
    )
    assert "NIK" in body["detail"] and "photo" in body["detail"].lower()

    rid, token = eligible(api)
    assert_problem(api.call("POST", f"/registrations/{rid}/batch", token=token, json={"batch_id": "nope"}), 404)
    ok = api.call("POST", f"/registrations/{rid}/batch", token=token, json={"batch_id": batch})
    assert ok.status_code == 200 and ok.json() == {"batch_id": batch, "status": "JOINED"}
    again = api.call("POST", f"/registrations/{rid}/batch", token=token, json={"batch_id": batch})
    assert again.status_code == 200
    other = f"o-{uuid.uuid4().hex[:8]}"
    assert create_batch(stack.aws_port, other, "Lain", 5).returncode == 0
    assert_problem(
        api.call("POST", f"/registrations/{rid}/batch", token=token, json={"batch_id": other}), 409, "already-joined"
    )
    s = api.status(rid, token)
    assert (s["status"], s["batch_id"]) == ("JOINED", batch)
    assert seats_left_within_the_cache_ttl(api, batch) == 2


@pytest.mark.slow
def test_more_people_than_seats_join_at_once_exactly_seats_win(api: Api, stack):
    batch = f"hot-{uuid.uuid4().hex[:8]}"
    assert create_batch(stack.aws_port, batch, "Rebutan", 4).returncode == 0
    with cf.ThreadPoolExecutor(4) as pool:
        people = list(pool.map(lambda _: eligible(api), range(10)))
    with cf.ThreadPoolExecutor(10) as pool:
        results = list(
            pool.map(
                lambda p: api.call("POST", f"/registrations/{p[0]}/batch", token=p[1], json={"batch_id": batch}), people
            )
        )
    codes = sorted(r.status_code for r in results)
    assert codes.count(200) == 4, codes
    assert all(r.json()["type"] == "batch-full" for r in results if r.status_code == 409)
    assert seats_left_within_the_cache_ttl(api, batch) == 0
