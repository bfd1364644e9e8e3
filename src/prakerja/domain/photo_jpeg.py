"""JPEG structure: is this a complete JPEG a decoder reads, and how big is it (stdlib only).

`prakerja.domain.photo` asks `jpeg_size` for the frame size of bytes that start with SOI;
None means "not a decodable JPEG". Only marker segments are parsed (ITU T.81 annex B),
never the entropy-coded data; hostile input gets None (every read is bounds-checked,
every step moves forward, and `inspect_image` still catches a slip as not-an-image).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

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


def jpeg_size(data: bytes) -> tuple[int, int] | None:
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
# damaged or not), except the fields decoders read from a few well-known headers: a
# segment announcing one must hold those fields, and may end right after them.
#  - JFIF APP0: identifier and version (7 bytes). Pillow reads the version and treats the
#    units and density as optional; libjpeg ignores a JFIF header shorter than 14 bytes.
#  - Adobe APP14: identifier and version (7 bytes); Pillow reads the transform flag only
#    when present, and libjpeg ignores a header shorter than 12 bytes.
#  - ICC profile chunk (APP2): identifier, sequence number and chunk count (14 bytes);
#    Pillow indexes the count when it assembles the profile.
# Shorter ones make Pillow refuse the file (libjpeg skips them): refused, as a header
# cut short is damage, never something a camera writes.
_OPAQUE = frozenset((*range(0xE0, 0xF0), 0xFE))
_APP_HEADERS = {0xE0: (b"JFIF", 7), 0xEE: (b"Adobe", 7), 0xE2: (b"ICC_PROFILE\x00", 14)}


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
