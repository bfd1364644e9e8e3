"""S3 adapter for uploaded photos (`PhotoBucket`). The boto3 client is injected.

Uploads never pass through a Lambda: `presign_upload` hands the client an S3 presigned
POST whose policy pins the exact key, the content type and the size range; S3 enforces
it. The inspector then reads at most `max_bytes + 1` bytes with a ranged GET, so even an
oversized object is never read whole.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound"})


@dataclass(frozen=True)
class PresignedPost:
    url: str
    fields: dict[str, str]  # every form field to send, before the `file` field
    expires_in: int  # seconds
    max_bytes: int


@dataclass(frozen=True)
class ObjectInfo:
    size: int
    content_type: str | None
    etag: str | None


class ObjectMissing(LookupError):  # noqa: N818 - reads like the condition it signals
    """The object does not exist (any more): e.g. replaced by a newer upload."""


def decode_policy(fields: dict[str, str]) -> dict[str, Any]:
    """The POST policy document carried (base64 JSON) in a presigned POST's fields."""
    decoded: dict[str, Any] = json.loads(base64.b64decode(fields["policy"]))
    return decoded


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


class PhotoStorage:
    def __init__(
        self,
        s3_client: S3Client,
        bucket: str,
        *,
        server_side_encryption: str | None = None,
        kms_key_id: str | None = None,
    ) -> None:
        """`server_side_encryption` ("AES256" or "aws:kms") is only needed when the bucket
        policy demands the x-amz-server-side-encryption header on uploads; then the POST
        sends it (and the policy pins it). Buckets with default encryption need nothing."""
        if kms_key_id and server_side_encryption != "aws:kms":
            raise ValueError("kms_key_id needs server_side_encryption='aws:kms'")
        self._s3 = s3_client
        self._bucket = bucket
        self._sse = server_side_encryption
        self._kms_key_id = kms_key_id

    @property
    def bucket(self) -> str:
        return self._bucket

    def presign_upload(self, key: str, content_type: str, max_bytes: int, expires_s: int) -> PresignedPost:
        """A presigned POST for exactly this key, this content type, 1..max_bytes bytes."""
        if not key or key.endswith("${filename}"):
            raise ValueError("the upload key must be fixed")
        if max_bytes < 1 or expires_s < 1:
            raise ValueError("max_bytes and expires_s must be positive")
        fields: dict[str, str] = {"Content-Type": content_type}
        conditions: list[Any] = [
            {"Content-Type": content_type},
            ["content-length-range", 1, max_bytes],
        ]
        if self._sse:
            fields["x-amz-server-side-encryption"] = self._sse
            conditions.append({"x-amz-server-side-encryption": self._sse})
        if self._kms_key_id:
            fields["x-amz-server-side-encryption-aws-kms-key-id"] = self._kms_key_id
            conditions.append({"x-amz-server-side-encryption-aws-kms-key-id": self._kms_key_id})
        # boto3 adds the {"bucket": ...} and exact {"key": ...} conditions and the key field.
        post = self._s3.generate_presigned_post(
            Bucket=self._bucket, Key=key, Fields=fields, Conditions=conditions, ExpiresIn=expires_s
        )
        return PresignedPost(
            url=str(post["url"]),
            fields={str(k): str(v) for k, v in post["fields"].items()},
            expires_in=expires_s,
            max_bytes=max_bytes,
        )

    def head(self, key: str) -> ObjectInfo | None:
        """Size, content type and ETag of the object; None when it does not exist."""
        try:
            resp = self._s3.head_object(Bucket=self._bucket, Key=key)
        except self._s3.exceptions.ClientError as exc:
            if _error_code(exc) in _MISSING_CODES:
                return None
            raise
        return ObjectInfo(
            size=int(resp.get("ContentLength", 0)),
            content_type=resp.get("ContentType"),
            etag=resp.get("ETag"),
        )

    def read(self, key: str, max_bytes: int) -> bytes:
        """The first `max_bytes + 1` bytes at most (a ranged GET), so a result longer than
        `max_bytes` means "too large" without reading the rest. Raises ObjectMissing."""
        if max_bytes < 0:
            raise ValueError("max_bytes must not be negative")
        limit = max_bytes + 1
        try:
            resp = self._s3.get_object(Bucket=self._bucket, Key=key, Range=f"bytes=0-{max_bytes}")
        except self._s3.exceptions.ClientError as exc:
            code = _error_code(exc)
            if code in _MISSING_CODES:
                raise ObjectMissing(key) from None
            if code == "InvalidRange":  # the object is empty: no byte 0 to start from
                return b""
            raise
        body = resp["Body"]
        try:
            # Bounded even if a server ignored the Range header.
            return bytes(body.read(limit))
        finally:
            body.close()

    def delete(self, key: str) -> None:
        """Remove the object; deleting one that is already gone is fine."""
        try:
            self._s3.delete_object(Bucket=self._bucket, Key=key)
        except self._s3.exceptions.ClientError as exc:
            if _error_code(exc) not in _MISSING_CODES:
                raise
