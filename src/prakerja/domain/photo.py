"""Photo rules: what an uploaded object must be, judged by its bytes (pure, stdlib only).

The upload is an S3 presigned POST whose policy pins the key, the declared content type
and the size; after the upload `InspectPhotoFunction` reads the object and asks
`inspect_image` for a verdict. Only headers are parsed (no pixel data is decompressed),
every loop advances through the input, and no input makes it raise: hostile bytes get
`not-an-image`.

Accepted: a complete PNG or JPEG (by magic bytes, never by name), of the declared
content type, at most `MAX_PHOTO_BYTES`, at least `MIN_PHOTO_SIDE` pixels on each side.
The structure must be complete and decodable: a PNG runs from its signature to its IEND
chunk, a JPEG from SOI to EOI, with the headers a decoder needs (tables, frame, scans), so
a truncated upload is `not-an-image`. What real cameras and phones add is accepted:
metadata segments and chunks of any content (a damaged EXIF block included), and bytes
after the end of the image (Motion Photos append an MP4, Samsung a trailer of its own);
decoders ignore both. A frame of more than `MAX_PHOTO_PIXELS` is refused as `too-large`:
no photo of at most 2 MiB has that many pixels, and decoders refuse it as a
decompression bomb.

The structure walks live in `photo_jpeg` and `photo_png`; this module holds the policy
(limits, reasons, the declared type) and the object keys.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from urllib.parse import unquote_plus

from prakerja.domain.photo_jpeg import jpeg_size
from prakerja.domain.photo_png import PNG_SIGNATURE, png_size

ALLOWED_CONTENT_TYPES = ("image/jpeg", "image/png")
MAX_PHOTO_BYTES = 2_097_152  # 2 MiB
MIN_PHOTO_SIDE = 300
# Pillow's decompression-bomb limit (2 x 89,478,485 pixels); a 2 MiB file declaring more
# is not a photo anyone took.
MAX_PHOTO_PIXELS = 178_956_970
PRESIGN_EXPIRES_S = 300

# Rejection reasons: the contract's `photo_reason` slugs.
NOT_AN_IMAGE = "not-an-image"
TOO_LARGE = "too-large"
TOO_SMALL = "too-small"

PNG = "image/png"
JPEG = "image/jpeg"


@dataclass(frozen=True)
class PhotoVerdict:
    accepted: bool
    reason: str | None  # None when accepted, else one of the slugs above
    kind: str | None  # detected content type ("image/png" / "image/jpeg"), None if unknown
    width: int | None
    height: int | None


def inspect_image(
    data: bytes,
    declared_content_type: str,
    *,
    max_bytes: int = MAX_PHOTO_BYTES,
    min_side: int = MIN_PHOTO_SIDE,
    max_pixels: int = MAX_PHOTO_PIXELS,
) -> PhotoVerdict:
    """Judge an uploaded photo by its content. Never raises for any `data`."""
    if len(data) > max_bytes:
        return PhotoVerdict(False, TOO_LARGE, None, None, None)
    data = bytes(data)  # accept any bytes-like object; slicing below must yield bytes
    try:
        found = _identify(data)
    except (struct.error, IndexError, ValueError):  # defence in depth: parsers check bounds
        found = None
    if found is None:
        return PhotoVerdict(False, NOT_AN_IMAGE, None, None, None)
    kind, width, height = found
    if _normalise_content_type(declared_content_type) != kind:
        # The policy pinned the declared type; bytes of another format are not that image.
        return PhotoVerdict(False, NOT_AN_IMAGE, kind, width, height)
    if width * height > max_pixels:
        # Before the side check: a 1 x 200,000,000 PNG is a decompression bomb, not a photo
        # that is a little too narrow.
        return PhotoVerdict(False, TOO_LARGE, kind, width, height)
    if width < min_side or height < min_side:
        return PhotoVerdict(False, TOO_SMALL, kind, width, height)
    return PhotoVerdict(True, None, kind, width, height)


def _normalise_content_type(value: str) -> str:
    if not isinstance(value, str):
        return ""
    return value.split(";", 1)[0].strip().lower()


def _identify(data: bytes) -> tuple[str, int, int] | None:
    if data.startswith(PNG_SIGNATURE):
        size = png_size(data)
        return None if size is None else (PNG, *size)
    if data.startswith(b"\xff\xd8"):
        size = jpeg_size(data)
        return None if size is None else (JPEG, *size)
    return None


# --- object keys -----------------------------------------------------------------------

PHOTO_KEY_PREFIX = "uploads"
_ID = r"[A-Za-z0-9_-]{1,64}"
_ID_RE = re.compile(_ID)
_KEY_RE = re.compile(rf"{PHOTO_KEY_PREFIX}/({_ID})/({_ID})")


def photo_object_key(registration_id: str, upload_id: str) -> str:
    """`uploads/<registration_id>/<upload_id>`; both ids must be plain tokens."""
    for value in (registration_id, upload_id):
        if not _ID_RE.fullmatch(value):
            raise ValueError("photo key ids must be 1-64 characters of A-Z a-z 0-9 _ -")
    return f"{PHOTO_KEY_PREFIX}/{registration_id}/{upload_id}"


def parse_photo_key(key: str) -> tuple[str, str] | None:
    """(registration_id, upload_id) for a key made by `photo_object_key`, else None.

    Expects an already decoded key (see `decode_s3_event_key`); anything that still
    contains '%', '+', spaces, dots, extra segments or other characters is refused.
    """
    if not isinstance(key, str):
        return None
    match = _KEY_RE.fullmatch(key)
    if match is None:
        return None
    return match.group(1), match.group(2)


def decode_s3_event_key(raw_key: str) -> str:
    """S3 event notifications URL-encode object keys, with '+' for spaces: undo it once."""
    # Invalid UTF-8 becomes U+FFFD, which `parse_photo_key` then refuses: never raises.
    return unquote_plus(raw_key, encoding="utf-8", errors="replace")
