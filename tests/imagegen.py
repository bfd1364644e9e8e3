"""Real, decodable test images built with the standard library only (no Pillow).

- `make_png`: RGB, 8 bits per channel, one IDAT, correct CRCs.
- `make_jpeg`: a YCbCr JPEG (baseline SOF0 or progressive SOF2) whose blocks are all
  "DC difference 0, no AC coefficients": a uniform mid-grey picture of any size, encoded
  with one-symbol Huffman tables, so the scan is a string of zero bits. Decoders (libjpeg,
  Pillow, browsers) accept it. `exif=True` adds an EXIF APP1 segment before the frame
  header, carrying an orientation tag and a 160x120 JPEG thumbnail (its own SOI/SOF/EOI
  nested inside APP1, as cameras do).
- `make_gif`, `WEBP_400X400`: formats the service must refuse.

The PNG/JPEG builders were cross-checked with Pillow 13 (decoded size and mode); see
tests/unit/test_photo_inspection.py, which repeats that check when Pillow is importable.
"""

from __future__ import annotations

import random
import struct
import zlib

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# --- PNG -------------------------------------------------------------------------------


def png_chunk(ctype: bytes, body: bytes) -> bytes:
    """One PNG chunk: length, type, body, CRC-32 of type + body."""
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", zlib.crc32(ctype + body))


def make_png(
    width: int,
    height: int,
    *,
    color: tuple[int, int, int] = (200, 100, 50),
    noise: bool = False,
    seed: int = 0,
) -> bytes:
    """An RGB PNG of a single colour, or of random pixels when `noise` (incompressible,
    like a real photo: about 3 * width * height bytes)."""
    if noise:
        rng = random.Random(seed)
        raw = b"".join(b"\x00" + rng.randbytes(3 * width) for _ in range(height))
    else:
        raw = (b"\x00" + bytes(color) * width) * height  # filter type 0 per row
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        PNG_SIGNATURE + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(raw, 9)) + png_chunk(b"IEND", b"")
    )


def insert_png_chunk(png: bytes, ctype: bytes, body: bytes) -> bytes:
    """`png` with one more chunk just before its IEND (e.g. a tEXt or a private chunk)."""
    iend = png_chunk(b"IEND", b"")
    assert png.endswith(iend)
    return png[: -len(iend)] + png_chunk(ctype, body) + iend


def pad_png_to(png: bytes, total: int) -> bytes:
    """`png` grown to exactly `total` bytes with a private ancillary chunk (still valid)."""
    missing = total - len(png) - 12
    assert missing >= 0, "the image is already larger than that"
    return insert_png_chunk(png, b"prVt", b"\x00" * missing)


# --- JPEG ------------------------------------------------------------------------------


def _segment(marker: int, body: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(body) + 2) + body


def _zero_bits(nbits: int) -> bytes:
    """`nbits` zero bits, the last byte padded with 1 bits as the JPEG spec requires."""
    full, rest = divmod(nbits, 8)
    return b"\x00" * full + (bytes([0xFF >> rest]) if rest else b"")


_COMPONENTS = (1, 2, 3)  # Y, Cb, Cr, each sampled 1x1, all using tables 0


def make_jpeg(
    width: int,
    height: int,
    *,
    progressive: bool = False,
    exif: bool = False,
    restart_interval: int = 0,
) -> bytes:
    """A real YCbCr JPEG of `width` x `height` (mid grey). `restart_interval` (baseline
    only) adds a DRI segment and RSTn markers inside the scan every that many MCUs."""
    if not (0 < width < 65536 and 0 < height < 65536):
        raise ValueError("JPEG sides are 1..65535")
    if restart_interval and progressive:
        raise ValueError("restart markers are only generated for baseline images")
    blocks = ((width + 7) // 8) * ((height + 7) // 8)
    parts = [b"\xff\xd8"]
    if exif:
        parts.append(_segment(0xE1, b"Exif\x00\x00" + _tiff_with_thumbnail(make_jpeg(160, 120))))
    else:
        parts.append(_segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"))
    parts.append(_segment(0xDB, b"\x00" + bytes([16]) * 64))  # quantisation table 0
    sof = struct.pack(">BHHB", 8, height, width, len(_COMPONENTS))
    sof += b"".join(bytes([cid, 0x11, 0]) for cid in _COMPONENTS)
    parts.append(_segment(0xC2 if progressive else 0xC0, sof))
    # Huffman tables with one symbol each, coded as the single bit "0":
    # DC table 0: category 0 (difference 0); AC table 0: 0x00 (EOB / EOB run of 1).
    one_symbol = bytes([1] + [0] * 15) + b"\x00"
    parts.append(_segment(0xC4, b"\x00" + one_symbol + b"\x10" + one_symbol))
    if restart_interval:
        parts.append(_segment(0xDD, struct.pack(">H", restart_interval)))

    def sos(component_ids: tuple[int, ...], ss: int, se: int) -> bytes:
        body = bytes([len(component_ids)]) + b"".join(bytes([cid, 0x00]) for cid in component_ids)
        return _segment(0xDA, body + bytes([ss, se, 0]))

    if progressive:
        # DC scan (interleaved): one "0" bit per block; then one AC scan per component
        # (spectral selection 1..63): one EOB bit per block.
        parts.append(sos(_COMPONENTS, 0, 0) + _zero_bits(blocks * len(_COMPONENTS)))
        for cid in _COMPONENTS:
            parts.append(sos((cid,), 1, 63) + _zero_bits(blocks))
    else:
        # Baseline, interleaved: per block a DC "0" bit and an EOB "0" bit; each restart
        # interval is byte-aligned and followed by RST0..RST7 in turn.
        bits_per_mcu = len(_COMPONENTS) * 2
        interval = restart_interval or blocks
        scan = []
        for index, first in enumerate(range(0, blocks, interval)):
            if index:
                scan.append(bytes([0xFF, 0xD0 + (index - 1) % 8]))
            scan.append(_zero_bits(min(interval, blocks - first) * bits_per_mcu))
        parts.append(sos(_COMPONENTS, 0, 63) + b"".join(scan))
    parts.append(b"\xff\xd9")
    return b"".join(parts)


def _tiff_with_thumbnail(thumbnail: bytes) -> bytes:
    """Little-endian TIFF: IFD0 (Orientation = 1) -> IFD1 (JPEG thumbnail offset/length)."""

    def entry(tag: int, type_: int, value: int) -> bytes:
        if type_ == 3:  # SHORT, left-justified in the 4-byte value field
            return struct.pack("<HHIHH", tag, type_, 1, value, 0)
        return struct.pack("<HHII", tag, type_, 1, value)  # LONG

    ifd0_at = 8
    ifd1_at = ifd0_at + 2 + 12 + 4
    thumb_at = ifd1_at + 2 + 3 * 12 + 4
    ifd0 = struct.pack("<H", 1) + entry(0x0112, 3, 1) + struct.pack("<I", ifd1_at)
    ifd1 = (
        struct.pack("<H", 3)
        + entry(0x0103, 3, 6)  # Compression: JPEG
        + entry(0x0201, 4, thumb_at)  # JPEGInterchangeFormat
        + entry(0x0202, 4, len(thumbnail))  # JPEGInterchangeFormatLength
        + struct.pack("<I", 0)
    )
    return b"II*\x00" + struct.pack("<I", ifd0_at) + ifd0 + ifd1 + thumbnail


# --- formats to refuse -------------------------------------------------------------------


def make_gif(width: int, height: int) -> bytes:
    """A valid GIF89a: a `width` x `height` screen holding one black 1x1 image."""
    return (
        b"GIF89a"
        + struct.pack("<HHBBB", width, height, 0x80, 0, 0)  # global colour table of 2
        + b"\x00\x00\x00\xff\xff\xff"
        + b"\x2c"
        + struct.pack("<HHHHB", 0, 0, 1, 1, 0)  # image descriptor
        + b"\x02\x02\x44\x01\x00"  # LZW min code size 2, one sub-block, terminator
        + b";"
    )


# A 400x400 lossless WebP (solid colour), made once with Pillow 13.
WEBP_400X400 = bytes.fromhex(
    "5249464628000000574542505650384c1c0000002f8fc163000750e42ad4a3ff010045faff9f22fa9ffadffffef7bf88"
)
