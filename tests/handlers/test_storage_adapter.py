"""The S3 photo adapter under moto: presigned POST uploads, head, bounded reads, delete.

moto (in-process, `mock_aws`) also intercepts `requests`, so the browser-side upload is
a real multipart POST to the presigned URL. moto does not enforce POST policies, so what
S3 would enforce is checked on the decoded policy document instead.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
import requests
from moto import mock_aws

from prakerja.adapters.storage import ObjectInfo, ObjectMissing, PhotoStorage, PresignedPost, decode_policy
from prakerja.domain.photo import MAX_PHOTO_BYTES, PRESIGN_EXPIRES_S, inspect_image, photo_object_key
from tests.imagegen import make_png

BUCKET = "prakerja-local-photobucket"
KEY = photo_object_key("3f2a9c1b0d4e5f60718293a4b5c6d7e8", "upload1")


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-southeast-3")
    with mock_aws():
        client = boto3.client("s3", region_name="ap-southeast-3")
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-southeast-3"})
        yield client


@pytest.fixture
def storage(s3: Any) -> PhotoStorage:
    return PhotoStorage(s3, BUCKET)


def upload(post: PresignedPost, data: bytes) -> requests.Response:
    """What a browser does: multipart/form-data with every field, then `file`."""
    return requests.post(post.url, data=post.fields, files={"file": ("photo", data)}, timeout=10)


def conditions_of(policy: dict[str, Any]) -> list[Any]:
    return list(policy["conditions"])


# --- presign_upload ------------------------------------------------------------------------


def test_the_presigned_post_pins_key_type_and_size(storage: PhotoStorage) -> None:
    # Given the storage adapter
    before = time.time()
    # When an upload of a PNG is presigned
    post = storage.presign_upload(KEY, "image/png", MAX_PHOTO_BYTES, PRESIGN_EXPIRES_S)
    # Then the form fields name the exact key and the content type
    assert post.fields["key"] == KEY
    assert post.fields["Content-Type"] == "image/png"
    assert post.expires_in == 300
    assert post.max_bytes == 2_097_152
    # And the signed policy pins them, the bucket and the size range
    policy = decode_policy(post.fields)
    conditions = conditions_of(policy)
    assert {"key": KEY} in conditions
    assert {"bucket": BUCKET} in conditions
    assert {"Content-Type": "image/png"} in conditions
    assert ["content-length-range", 1, 2_097_152] in conditions
    assert not any(isinstance(c, list) and c[0] == "starts-with" for c in conditions)
    # And it expires no more than 300 s from now
    expires = datetime.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    assert before < expires <= time.time() + 300 + 1


def test_the_policy_is_signed(storage: PhotoStorage) -> None:
    post = storage.presign_upload(KEY, "image/jpeg", MAX_PHOTO_BYTES, PRESIGN_EXPIRES_S)
    assert {"policy", "x-amz-signature", "x-amz-credential", "x-amz-algorithm", "x-amz-date"} <= set(post.fields)
    assert {"Content-Type": "image/jpeg"} in conditions_of(decode_policy(post.fields))


def test_server_side_encryption_is_sent_and_pinned_when_configured(s3: Any) -> None:
    storage = PhotoStorage(s3, BUCKET, server_side_encryption="aws:kms", kms_key_id="alias/photos")
    post = storage.presign_upload(KEY, "image/png", MAX_PHOTO_BYTES, PRESIGN_EXPIRES_S)
    assert post.fields["x-amz-server-side-encryption"] == "aws:kms"
    assert post.fields["x-amz-server-side-encryption-aws-kms-key-id"] == "alias/photos"
    conditions = conditions_of(decode_policy(post.fields))
    assert {"x-amz-server-side-encryption": "aws:kms"} in conditions
    assert {"x-amz-server-side-encryption-aws-kms-key-id": "alias/photos"} in conditions


def test_without_encryption_settings_no_encryption_field_is_required(storage: PhotoStorage) -> None:
    post = storage.presign_upload(KEY, "image/png", MAX_PHOTO_BYTES, PRESIGN_EXPIRES_S)
    assert not any(name.startswith("x-amz-server-side") for name in post.fields)


@pytest.mark.parametrize("key", ["", "uploads/abc/${filename}"])
def test_an_open_ended_key_cannot_be_presigned(storage: PhotoStorage, key: str) -> None:
    with pytest.raises(ValueError):
        storage.presign_upload(key, "image/png", MAX_PHOTO_BYTES, PRESIGN_EXPIRES_S)


# --- upload, head, read, delete -------------------------------------------------------------


def test_a_browser_upload_to_the_presigned_post_stores_the_photo(storage: PhotoStorage) -> None:
    # Given a presigned POST for a PNG
    photo = make_png(400, 400)
    post = storage.presign_upload(KEY, "image/png", MAX_PHOTO_BYTES, PRESIGN_EXPIRES_S)
    # When the client posts the form with the file
    response = upload(post, photo)
    # Then S3 accepts it and the object is there, with the pinned content type
    assert response.status_code in (200, 201, 204)
    info = storage.head(KEY)
    assert info is not None
    assert (info.size, info.content_type) == (len(photo), "image/png")
    assert info.etag
    # And reading it back gives the photo, which passes inspection
    data = storage.read(KEY, MAX_PHOTO_BYTES)
    assert data == photo
    assert inspect_image(data, info.content_type or "").accepted


def test_head_of_a_missing_object_is_none(storage: PhotoStorage) -> None:
    assert storage.head("uploads/nobody/nothing") is None


def test_read_of_a_missing_object_raises_object_missing(storage: PhotoStorage) -> None:
    with pytest.raises(ObjectMissing):
        storage.read("uploads/nobody/nothing", MAX_PHOTO_BYTES)


def test_a_large_object_is_never_read_whole(storage: PhotoStorage, s3: Any) -> None:
    # Given an object far larger than the limit
    body = bytes(range(256)) * 40_000  # about 10 MB
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=body, ContentType="image/png")
    # When it is read with a limit of 1000 bytes
    data = storage.read(KEY, 1000)
    # Then exactly the first 1001 bytes come back: enough to know it is too large
    assert data == body[:1001]
    assert storage.head(KEY) == ObjectInfo(
        size=len(body), content_type="image/png", etag=s3.head_object(Bucket=BUCKET, Key=KEY)["ETag"]
    )


def test_a_small_object_is_read_whole(storage: PhotoStorage, s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"0123456789", ContentType="image/png")
    assert storage.read(KEY, 1000) == b"0123456789"
    assert storage.read(KEY, 10) == b"0123456789"
    assert storage.read(KEY, 9) == b"0123456789"
    assert storage.read(KEY, 4) == b"01234"


def test_an_empty_object_reads_as_no_bytes(storage: PhotoStorage, s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"", ContentType="image/png")
    assert storage.read(KEY, MAX_PHOTO_BYTES) == b""


def test_delete_removes_the_object_and_is_idempotent(storage: PhotoStorage, s3: Any) -> None:
    # Given a stored object
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"x", ContentType="image/png")
    # When it is deleted, twice
    storage.delete(KEY)
    storage.delete(KEY)
    # Then it is gone, and the second delete did not fail
    assert storage.head(KEY) is None


def test_other_s3_errors_are_not_hidden(s3: Any) -> None:
    storage = PhotoStorage(s3, "no-such-bucket-here")
    with pytest.raises(s3.exceptions.ClientError):
        storage.read(KEY, 10)
