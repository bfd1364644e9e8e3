"""Photo rules: what an uploaded object must be, judged by its bytes (pure, stdlib only).

The upload is an S3 presigned POST whose policy pins the key, the declared content type
and the size; after the upload `InspectPhotoFunction` reads the object and asks
`inspect_image` for a verdict. Only headers are parsed (no pixel data is decompressed),
every loop advances through the input, and no input makes it raise: hostile bytes get
`not-an-image`.

Accepted: a complete PNG or JPEG (by magic bytes, never by name), of the declared
content type, at most `MAX_PHOTO_BYTES`, at least `MIN_PHOTO_SIDE` pixels on each side.
The structure must be complete: a PNG ends with its IEND chunk, a JPEG with its EOI
marker (nothing may follow), so a truncated upload is `not-an-image`.
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass
from urllib.parse import unquote_plus

ALLOWED_CONTENT_TYPES = ("image/jpeg", "image/png")
MAX_PHOTO_BYTES = 2_097_152  # 2 MiB
MIN_PHOTO_SIDE = 300
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
    if width < min_side or height < min_side:
        return PhotoVerdict(False, TOO_SMALL, kind, width, height)
    return PhotoVerdict(True, None, kind, width, height)


def _normalise_content_type(value: str) -> str:
    if not isinstance(value, str):
        return ""
    return value.split(";", 1)[0].strip().lower()


def _identify(data: bytes) -> tuple[str, int, int] | None:
    if data.startswith(_PNG_SIGNATURE):
        size = _png_size(data)
        return None if size is None else (PNG, *size)
    if data.startswith(b"\xff\xd8"):
        size = _jpeg_size(data)
        return None if size is None else (JPEG, *size)
    return None


# --- PNG -------------------------------------------------------------------------------

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_MAX_DIMENSION = 2**31 - 1
# colour type -> allowed bit depths (PNG spec, table 11.1)
_PNG_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}


def _png_size(data: bytes) -> tuple[int, int] | None:
    """Walk the chunks: IHDR first (valid), PLTE when paletted, >= 1 IDAT, IEND last.

    CRCs of critical chunks (upper-case first letter) are checked, as decoders do;
    ancillary chunks are only framed. Work is linear: each step consumes >= 12 bytes.
    """
    end = len(data)
    pos = len(_PNG_SIGNATURE)
    width = height = colour_type = -1
    seen_plte = seen_idat = False
    first = True
    while pos + 12 <= end:
        length, ctype = struct.unpack_from(">I4s", data, pos)
        if length > 2**31 - 1 or not ctype.isalpha():  # bytes.isalpha: ASCII letters only
            return None
        body_start = pos + 8
        body_end = body_start + length
        if body_end + 4 > end:
            return None  # truncated chunk
        critical = ctype[0:1].isupper()
        if critical:
            (crc,) = struct.unpack_from(">I", data, body_end)
            if zlib.crc32(data[pos + 4 : body_end]) != crc:
                return None
        if first:
            if ctype != b"IHDR" or length != 13:
                return None
            width, height, depth, colour_type, compression, filter_, interlace = struct.unpack_from(
                ">IIBBBBB", data, body_start
            )
            if not (0 < width <= _PNG_MAX_DIMENSION and 0 < height <= _PNG_MAX_DIMENSION):
                return None
            if depth not in _PNG_DEPTHS.get(colour_type, ()):
                return None
            if compression != 0 or filter_ != 0 or interlace not in (0, 1):
                return None
            first = False
        elif ctype == b"IHDR":
            return None
        elif ctype == b"PLTE":
            if seen_idat or length == 0 or length % 3 != 0 or length > 3 * 256:
                return None
            seen_plte = True
        elif ctype == b"IDAT":
            if colour_type == 3 and not seen_plte:
                return None
            seen_idat = True
        elif ctype == b"IEND":
            complete = length == 0 and seen_idat and body_end + 4 == end
            return (width, height) if complete else None
        elif critical:
            return None  # unknown critical chunk: decoders must refuse it
        pos = body_end + 4
    return None  # no IEND: truncated


# --- JPEG ------------------------------------------------------------------------------

# Start-of-frame markers that carry the frame size (not DHT C4, JPG C8, DAC CC).
_SOF_MARKERS = frozenset((0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF))
# The coding processes every browser decodes: baseline, extended and progressive Huffman.
# Lossless, hierarchical and arithmetic-coded frames are JPEGs that browsers do not
# display, so they are refused as not-an-image (cameras and phones write C0/C2).
_DECODABLE_SOF = frozenset((0xC0, 0xC1, 0xC2))
# Markers without a length field (besides SOI/EOI): RST0-7 and TEM.
_STANDALONE = frozenset((0x01, *range(0xD0, 0xD8)))
_SOS, _EOI, _SOI = 0xDA, 0xD9, 0xD8


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """Walk the marker segments from SOI to EOI; the size comes from the first SOFn.

    Segment lengths are followed (so an EXIF thumbnail, itself a JPEG inside APP1, is
    skipped); entropy-coded data after SOS is skipped by searching for the next marker
    (0xFF not followed by 0x00 stuffing or RSTn). Every step moves forward: linear work.
    The file must end exactly with EOI, after a frame header and at least one scan.
    """
    end = len(data)
    pos = 2  # after SOI
    size: tuple[int, int] | None = None
    scans = 0
    while pos < end:
        if data[pos] != 0xFF:
            return None  # garbage between segments
        # Any number of 0xFF fill bytes may precede a marker.
        while pos < end and data[pos] == 0xFF:
            pos += 1
        if pos >= end:
            return None
        marker = data[pos]
        pos += 1
        if marker == _EOI:
            if size is None or scans == 0 or pos != end:
                return None
            return size
        if marker in _STANDALONE:
            continue
        if marker < 0xC0 or marker == _SOI:
            return None  # 0xFF00 outside a scan, reserved markers, a second SOI
        if pos + 2 > end:
            return None
        (length,) = struct.unpack_from(">H", data, pos)
        seg_end = pos + length
        if length < 2 or seg_end > end:
            return None
        if marker in _SOF_MARKERS:
            if size is not None or marker not in _DECODABLE_SOF:
                return None  # a second frame header, or a process browsers cannot display
            size = _sof_size(data, pos, length)
            if size is None:
                return None
        elif marker == _SOS:
            if size is None or not _sos_header_ok(data, pos, length):
                return None
            scans += 1
            seg_end = _skip_entropy_data(data, seg_end)
            if seg_end < 0:
                return None
        pos = seg_end
    return None  # ran out of bytes before EOI: truncated


def _sof_size(data: bytes, pos: int, length: int) -> tuple[int, int] | None:
    # length(2) precision(1) height(2) width(2) components(1) + 3 bytes per component
    if length < 8:
        return None
    precision, height, width, components = struct.unpack_from(">BHHB", data, pos + 2)
    if precision not in (8, 12, 16) or not 1 <= components <= 4 or length != 8 + 3 * components:
        return None
    if width == 0 or height == 0:  # height 0 defers to a DNL marker: not supported
        return None
    return width, height


def _sos_header_ok(data: bytes, pos: int, length: int) -> bool:
    # length(2) Ns(1) + 2 bytes per component + Ss, Se, AhAl
    if length < 6:
        return False
    count = data[pos + 2]
    return 1 <= count <= 4 and length == 6 + 2 * count


def _skip_entropy_data(data: bytes, pos: int) -> int:
    """Offset of the marker (its 0xFF) ending the entropy-coded segment at pos, or -1."""
    end = len(data)
    while True:
        pos = data.find(b"\xff", pos)
        if pos < 0 or pos + 1 >= end:
            return -1
        following = data[pos + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7:
            pos += 2  # stuffed 0xFF byte or a restart marker: still scan data
        elif following == 0xFF:
            pos += 1  # fill byte; the marker follows
        else:
            return pos


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
