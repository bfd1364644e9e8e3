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
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass, field
from urllib.parse import unquote_plus

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
    """Walk the chunks: IHDR first (valid), PLTE when paletted, IDATs in one run, IEND.

    Every chunk's CRC is checked: a CRC error is a damaged file (libpng refuses one in a
    critical chunk, Pillow in any chunk before the image data). Ancillary chunks
    (lower-case first letter: tEXt, iTXt, zTXt, eXIf, pHYs, iCCP, private ones) are
    otherwise only framed, never interpreted. Bytes after IEND are ignored, as decoders
    ignore them. Work is linear: each step consumes >= 12 bytes.
    """
    end = len(data)
    pos = len(_PNG_SIGNATURE)
    width = height = colour_type = -1
    seen_plte = seen_idat = idat_ended = False
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
        (crc,) = struct.unpack_from(">I", data, body_end)
        if zlib.crc32(data[pos + 4 : body_end]) != crc:
            return None
        if seen_idat and ctype != b"IDAT":
            idat_ended = True
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
            if (colour_type == 3 and not seen_plte) or idat_ended:
                return None  # IDAT chunks must be consecutive (PNG spec 5.6)
            seen_idat = True
        elif ctype == b"IEND":
            return (width, height) if length == 0 and seen_idat else None
        elif critical:
            return None  # unknown critical chunk: decoders must refuse it
        pos = body_end + 4
    return None  # no IEND: truncated


# --- JPEG ------------------------------------------------------------------------------

# The coding processes every browser decodes: baseline, extended and progressive Huffman
# (SOF0, SOF1, SOF2). Lossless, hierarchical and arithmetic-coded frames (the other
# SOFn) are JPEGs that browsers do not display: refused (cameras and phones write C0/C2).
_SOF_PROGRESSIVE = 0xC2
_DECODABLE_SOF = frozenset((0xC0, 0xC1, _SOF_PROGRESSIVE))
_DHT, _SOS, _DQT, _DRI, _EOI = 0xC4, 0xDA, 0xDB, 0xDD, 0xD9
# Markers without a length field (besides SOI/EOI): RST0-7, which decoders skip between
# segments. TEM (0x01) belongs to arithmetic coding only, and Pillow refuses it: refused.
_STANDALONE = frozenset(range(0xD0, 0xD8))
# libjpeg's limit on a side (JPEG_MAX_DIMENSION); the format itself allows 65535.
_JPEG_MAX_SIDE = 65_500
_MAX_BLOCKS_IN_MCU = 10  # T.81 B.2.3: an interleaved MCU holds at most 10 blocks


@dataclass
class _JpegState:
    width: int = 0
    height: int = 0
    progressive: bool = False
    # component id -> (horizontal sampling, vertical sampling, quantisation table)
    components: dict[int, tuple[int, int, int]] = field(default_factory=dict)
    quant_tables: set[int] = field(default_factory=set)
    huffman_tables: set[tuple[int, int]] = field(default_factory=set)  # (class 0=DC 1=AC, id)
    scans: int = 0


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """Walk the marker segments from SOI to EOI as a decoder does (ITU T.81, annex B).

    Segment lengths are followed (so an EXIF block, and the JPEG thumbnail inside it, is
    skipped unread whatever it holds); entropy-coded data after SOS is skipped by searching
    for the next marker. Tables, frame and scan headers are checked the way libjpeg checks
    them, so a header a decoder would refuse is refused here. Bytes that are not a marker
    between segments are skipped to the next marker, as libjpeg does ("extraneous bytes
    before marker", e.g. after an APP1 whose length field is short by a few bytes).
    Everything after the EOI marker is ignored, as decoders ignore it: phones append data
    there (a Motion Photo's MP4, Samsung's SEF trailer, an HDR gain-map JPEG).
    Every step moves forward: linear work.
    """
    end = len(data)
    if end < 3 or data[2] != 0xFF:
        return None  # a JPEG starts SOI and then straight away another marker
    state = _JpegState()
    pos = 2
    while True:
        if pos + 1 < end and data[pos] == 0xFF and data[pos + 1] not in (0x00, 0xFF):
            marker, pos = data[pos + 1], pos + 2  # the usual case: a marker right here
        else:
            marker, pos = _next_marker(data, pos)
        if marker < 0:
            return None  # ran out of bytes before EOI: truncated
        if marker == _EOI:
            if not state.components or state.scans == 0:
                return None
            return state.width, state.height
        if marker in _STANDALONE:
            continue
        if pos + 2 > end:
            return None
        length = data[pos] << 8 | data[pos + 1]
        seg_end = pos + length
        if length < 2 or seg_end > end:
            return None
        if marker in _OPAQUE:
            ok = marker not in _APP_HEADERS or _app_header_ok(marker, data[pos + 2 : seg_end])
        elif marker in _DECODABLE_SOF:
            ok = _read_sof(state, data[pos + 2 : seg_end], progressive=marker == _SOF_PROGRESSIVE)
        elif marker == _DHT:
            ok = _read_dht(state, data[pos + 2 : seg_end])
        elif marker == _DQT:
            ok = _read_dqt(state, data[pos + 2 : seg_end])
        elif marker == _DRI:
            ok = length == 4
        elif marker == _SOS:
            ok = _read_sos(state, data[pos + 2 : seg_end])
            if ok:
                state.scans += 1
                seg_end = _skip_entropy_data(data, seg_end)
                ok = seg_end >= 0
        else:
            # A second SOI, other SOFn, DAC, DNL, DHP, EXP, JPGn or reserved markers.
            ok = False
        if not ok:
            return None
        pos = seg_end


# APPn and COM bodies are opaque (EXIF, XMP, ICC, MPF, vendor data, comments: any content,
# damaged or not), except the fixed headers decoders read: a segment announcing one must
# hold all of it (JFIF 1.02: 14 bytes; Adobe APP14, tech note 5116: 12 bytes).
_OPAQUE = frozenset((*range(0xE0, 0xF0), 0xFE))
_APP_HEADERS = {0xE0: (b"JFIF", 14), 0xEE: (b"Adobe", 12)}


def _app_header_ok(marker: int, body: bytes) -> bool:
    prefix, size = _APP_HEADERS[marker]
    return len(body) >= size or not body.startswith(prefix)


def _next_marker(data: bytes, pos: int) -> tuple[int, int]:
    """(marker code, offset after it) of the next marker at or after pos, or (-1, end).

    Like libjpeg's next_marker: bytes before an 0xFF are skipped, 0xFF fill bytes are
    swallowed, and 0xFF 0x00 is not a marker.
    """
    end = len(data)
    while True:
        pos = data.find(b"\xff", pos)
        if pos < 0:
            return -1, end
        while pos < end and data[pos] == 0xFF:
            pos += 1
        if pos >= end:
            return -1, end
        if data[pos] != 0x00:
            return data[pos], pos + 1
        pos += 1


def _read_sof(state: _JpegState, body: bytes, *, progressive: bool) -> bool:
    # precision(1) height(2) width(2) components(1), then id, sampling HV, Tq per component
    if state.components or len(body) < 6:
        return False  # a second frame header
    precision, height, width, count = struct.unpack_from(">BHHB", body)
    # 8-bit samples in 1 (grey), 3 (YCbCr/RGB) or 4 (CMYK/YCCK) components: what
    # decoders display. Height 0 would defer to a DNL marker: refused.
    if precision != 8 or count not in (1, 3, 4) or len(body) != 6 + 3 * count:
        return False
    if not (0 < width <= _JPEG_MAX_SIDE and 0 < height <= _JPEG_MAX_SIDE):
        return False
    components: dict[int, tuple[int, int, int]] = {}
    for at in range(6, len(body), 3):
        cid, sampling, table = body[at], body[at + 1], body[at + 2]
        h, v = sampling >> 4, sampling & 0x0F
        if cid in components or not (1 <= h <= 4 and 1 <= v <= 4) or table > 3:
            return False
        components[cid] = (h, v, table)
    max_h = max(h for h, _, _ in components.values())
    max_v = max(v for _, v, _ in components.values())
    if any(max_h % h or max_v % v for h, v, _ in components.values()):
        return False  # fractional upsampling ratios: libjpeg cannot decode them
    state.width, state.height, state.progressive = width, height, progressive
    state.components = components
    return True


def _read_dqt(state: _JpegState, body: bytes) -> bool:
    # One or more tables: Pq|Tq, then 64 values (8-bit, as T.81 requires for 8-bit samples).
    pos = 0
    while pos < len(body):
        precision, table = body[pos] >> 4, body[pos] & 0x0F
        if precision != 0 or table > 3 or pos + 65 > len(body):
            return False
        state.quant_tables.add(table)
        pos += 65
    return pos > 0


def _read_dht(state: _JpegState, body: bytes) -> bool:
    # One or more tables: Tc|Th, 16 code counts, then the symbols (T.81 B.2.4.2).
    pos = 0
    while pos < len(body):
        if pos + 17 > len(body):
            return False
        table_class, table = body[pos] >> 4, body[pos] & 0x0F
        counts = body[pos + 1 : pos + 17]
        total = sum(counts)
        symbols = body[pos + 17 : pos + 17 + total]
        if table_class > 1 or table > 3 or total > 256 or len(symbols) != total:
            return False
        if table_class == 0 and any(symbol > 15 for symbol in symbols):
            return False  # a DC symbol is a bit count, at most 15 (annex F)
        code = 0
        for bits, count in enumerate(counts, start=1):
            code += count
            if code >= 1 << bits:
                return False  # more codes than fit in that many bits (all-ones excluded)
            code <<= 1
        state.huffman_tables.add((table_class, table))
        pos += 17 + total
    return pos > 0


def _read_sos(state: _JpegState, body: bytes) -> bool:
    # Ns, then component id and Td|Ta per component, then Ss, Se, Ah|Al (T.81 B.2.3).
    if not state.components or not body:
        return False
    count = body[0]
    if not 1 <= count <= 4 or len(body) != 4 + 2 * count:
        return False
    start, stop, approx = body[-3], body[-2], body[-1]
    high, low = approx >> 4, approx & 0x0F
    dc_first = start == 0 and high == 0
    if state.progressive:
        # A DC band (Ss = 0) is just coefficient 0; an AC band covers one component.
        dc_band_bad = start == 0 and stop != 0
        ac_band_bad = start > 0 and (start > stop or stop > 63 or count != 1)
        # A refinement scan refines by exactly one bit (Al = Ah - 1).
        bad = dc_band_bad or ac_band_bad or (high != 0 and low != high - 1) or low > 13
        needs_dc, needs_ac = dc_first, start > 0
    else:
        bad = (start, stop, approx) != (0, 63, 0)
        needs_dc = needs_ac = True
    if bad:
        return False
    seen: set[int] = set()
    blocks = 0
    for at in range(1, 1 + 2 * count, 2):
        cid, tables = body[at], body[at + 1]
        if cid in seen or cid not in state.components:
            return False
        seen.add(cid)
        h, v, quant = state.components[cid]
        blocks += h * v
        if quant not in state.quant_tables:
            return False
        if needs_dc and (0, tables >> 4) not in state.huffman_tables:
            return False
        if needs_ac and (1, tables & 0x0F) not in state.huffman_tables:
            return False
    return count == 1 or blocks <= _MAX_BLOCKS_IN_MCU


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
