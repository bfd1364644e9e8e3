"""Real, decodable test images: built byte by byte from the formats, or encoded by Pillow.

- `make_png`: RGB, 8 bits per channel, one IDAT, correct CRCs.
- `make_jpeg`: a YCbCr JPEG (baseline SOF0 or progressive SOF2) whose blocks are all
  "DC difference 0, no AC coefficients": a uniform mid-grey picture of any size, encoded
  with one-symbol Huffman tables, so the scan is a string of zero bits. Decoders (libjpeg,
  Pillow, browsers) accept it. `exif=True` adds an EXIF APP1 segment before the frame
  header, carrying an orientation tag and a 160x120 JPEG thumbnail (its own SOI/SOF/EOI
  nested inside APP1, as cameras do).
- `make_gif`, `WEBP_400X400`: formats the service must refuse.
- `pillow_jpeg` and the splicing helpers below it: JPEGs from a real encoder (progressive,
  greyscale, CMYK, any chroma subsampling) and what cameras and phones add to them.

Pillow is a test dependency only (the Lambda runtime never imports it);
tests/unit/test_photo_inspection.py cross-checks every image built here against it.
"""

from __future__ import annotations

import io
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


# --- real JPEGs from a real encoder, and what phones and cameras add to them ---------------
#
# Pillow (a test dependency only) encodes the pictures; the segments and trailers spliced
# into them are built here from the formats' descriptions: JPEG markers (ITU T.81 annex B),
# the EXIF APP1 block (EXIF 2.3: "Exif\0\0" + a TIFF 6.0 header and IFDs), Google's Motion
# Photo (XMP in APP1 naming the video, then an ISO-BMFF MP4 appended after EOI) and
# Samsung's trailer (data blocks, then an "SEFH" directory, its size and "SEFT").


def pillow_jpeg(
    width: int,
    height: int,
    *,
    mode: str = "RGB",
    progressive: bool = False,
    subsampling: int = 2,
    quality: int = 85,
    seed: int = 0,
) -> bytes:
    """A JPEG encoded by Pillow/libjpeg: mode "RGB" (YCbCr), "L" (greyscale) or "CMYK"
    (with Adobe APP14), of gradients (their direction varies with `seed`) with noise,
    which compresses like a photo."""
    from PIL import Image, ImageFile  # noqa: PLC0415 - a test-only dependency, imported when used

    bands = []
    for band in range(len(mode)):
        gradient = Image.linear_gradient("L").rotate(90 * ((seed + band) % 4)).resize((width, height))
        bands.append(Image.blend(gradient, Image.effect_noise((width, height), 40).convert("L"), 0.3))
    image = Image.merge(mode, bands)
    out = io.BytesIO()
    options: dict[str, object] = {"quality": quality, "progressive": progressive}
    if mode == "RGB":
        options["subsampling"] = subsampling
    # Pillow sizes libjpeg's output buffer by guessing (for a progressive JPEG, 1-2 bytes a
    # pixel, at least MAXBLOCK); libjpeg writes a progressive file in one go and cannot
    # suspend, so a larger file ("Suspension not allowed here": 169x186, RGB, 4:4:4,
    # quality 100) fails to save. Room for any file: more than the raw pixels.
    maxblock = ImageFile.MAXBLOCK
    ImageFile.MAXBLOCK = max(maxblock, 2 * len(mode) * width * height + 65_536)
    try:
        image.save(out, "JPEG", **options)
    finally:
        ImageFile.MAXBLOCK = maxblock
    return out.getvalue()


def pillow_png(width: int, height: int, *, mode: str = "RGB", seed: int = 0) -> bytes:
    """A PNG encoded by Pillow/zlib in any of its PNG modes ("1", "L", "LA", "P", "RGB",
    "RGBA", "I;16"), of the same kind of picture as `pillow_jpeg`, with a pHYs chunk
    (dpi) and a tEXt chunk."""
    from PIL import Image, PngImagePlugin  # noqa: PLC0415 - a test-only dependency

    grey = Image.linear_gradient("L").rotate(90 * (seed % 4)).resize((width, height))
    picture = Image.merge("RGB", (grey, grey.transpose(Image.Transpose.FLIP_LEFT_RIGHT), grey))
    image = picture.convert("P", palette=Image.Palette.ADAPTIVE) if mode == "P" else picture.convert(mode)
    info = PngImagePlugin.PngInfo()
    info.add_text("Software", "imagegen")
    out = io.BytesIO()
    image.save(out, "PNG", pnginfo=info, dpi=(300, 300))
    return out.getvalue()


def jpeg_segment(marker: int, body: bytes) -> bytes:
    """One marker segment: 0xFF, the marker, a 2-byte length counting itself, the body."""
    if len(body) > 65533:
        raise ValueError("a JPEG segment body holds at most 65533 bytes")
    return _segment(marker, body)


def insert_after_soi(jpeg: bytes, *segments: bytes) -> bytes:
    """`jpeg` with these bytes right after its SOI, where cameras put EXIF (APP1)."""
    assert jpeg.startswith(b"\xff\xd8\xff")
    return jpeg[:2] + b"".join(segments) + jpeg[2:]


def insert_before_frame(jpeg: bytes, *segments: bytes) -> bytes:
    """`jpeg` with these bytes just before its frame header (the first SOFn segment),
    found by following the segment lengths from SOI (not by searching the bytes)."""
    pos = 2
    while jpeg[pos] == 0xFF and not 0xC0 <= jpeg[pos + 1] <= 0xC2:
        (length,) = struct.unpack_from(">H", jpeg, pos + 2)
        pos += 2 + length
    assert jpeg[pos] == 0xFF, "no frame header before the first scan"
    return jpeg[:pos] + b"".join(segments) + jpeg[pos:]


# EXIF: "Exif\0\0" then a TIFF structure. TIFF header: byte order "II" (little endian) or
# "MM", the number 42, the offset of IFD0. An IFD: a 2-byte entry count, 12-byte entries
# (tag, type, count, value or offset), the offset of the next IFD (0 = none).
_EXIF = b"Exif\x00\x00"


def _ifd(entries: list[tuple[int, int, int, bytes]], next_ifd: int, order: str = "<") -> bytes:
    out = struct.pack(order + "H", len(entries))
    for tag, type_, count, value in entries:
        out += struct.pack(order + "HHI", tag, type_, count) + value.ljust(4, b"\x00")[:4]
    return out + struct.pack(order + "I", next_ifd)


def exif_app1(tiff: bytes) -> bytes:
    """An EXIF APP1 segment around a TIFF structure."""
    return jpeg_segment(0xE1, _EXIF + tiff)


def valid_exif_tiff() -> bytes:
    """IFD0 with Make ("Phone"), Orientation 6 and an EXIF sub-IFD with a DateTimeOriginal."""
    make_at, sub_at = 8 + 2 + 3 * 12 + 4, 8 + 2 + 3 * 12 + 4 + 6
    date_at = sub_at + 2 + 12 + 4
    ifd0 = _ifd(
        [
            (0x010F, 2, 6, struct.pack("<I", make_at)),  # Make, ASCII, stored at make_at
            (0x0112, 3, 1, struct.pack("<H", 6)),  # Orientation: rotate 90
            (0x8769, 4, 1, struct.pack("<I", sub_at)),  # ExifIFD pointer
        ],
        0,
    )
    sub = _ifd([(0x9003, 2, 20, struct.pack("<I", date_at))], 0)
    return b"II*\x00" + struct.pack("<I", 8) + ifd0 + b"Phone\x00" + sub + b"2026:11:28 10:00:00\x00"


def damaged_exif_app1s() -> dict[str, bytes]:
    """APP1 segments whose EXIF content is broken the ways damaged files are; each is a
    well-formed segment, so the JPEG's marker structure stays sound."""
    good = valid_exif_tiff()
    thumb = make_jpeg(160, 120)
    return {
        "bad-byte-order": exif_app1(b"XX*\x00" + good[4:]),
        "bad-magic-number": exif_app1(b"II\x2b\x00" + good[4:]),
        "ifd0-offset-past-the-end": exif_app1(b"II*\x00" + struct.pack("<I", 0x7FFF_FFF0) + good[8:]),
        "entry-count-beyond-the-block": exif_app1(b"II*\x00" + struct.pack("<IH", 8, 0xFFFF) + good[10:40]),
        "ifd-pointing-at-itself": exif_app1(b"II*\x00" + struct.pack("<I", 8) + _ifd([], 8)),
        "value-offsets-past-the-end": exif_app1(
            b"MM\x00*" + struct.pack(">I", 8) + _ifd([(0x010F, 2, 4000, struct.pack(">I", 60000))], 0, ">")
        ),
        "unknown-types-and-tags": exif_app1(
            b"II*\x00" + struct.pack("<I", 8) + _ifd([(0xBEEF, 99, 7, b"\xff\xd9\xff\xd8")], 0)
        ),
        "truncated-tiff-header": exif_app1(b"II*"),
        "exif-header-only": exif_app1(b""),
        "no-exif-padding": jpeg_segment(0xE1, b"Exif" + good),
        "empty-app1": jpeg_segment(0xE1, b""),
        "truncated-thumbnail": exif_app1(good[:8] + thumb[: len(thumb) // 2]),
        "markers-inside-maker-note": exif_app1(good + b"\xff\xd8\xff\xc0\x00\x11\xff\xda\xff\xd9" * 20),
        "full-size-segment": exif_app1(good + bytes(random.Random(1).randbytes(65533 - 6 - len(good)))),
    }


def xmp_app1(xmp: str) -> bytes:
    """An XMP APP1 segment (namespace header, NUL, the packet)."""
    return jpeg_segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + xmp.encode())


def mp4_file(payload_size: int, *, seed: int = 0) -> bytes:
    """A small ISO-BMFF file: an 'ftyp' box (size, type, major brand, minor version,
    compatible brands) then an 'mdat' box of random bytes standing for the video."""
    ftyp_body = b"mp42" + struct.pack(">I", 0) + b"isommp42"
    ftyp = struct.pack(">I", 8 + len(ftyp_body)) + b"ftyp" + ftyp_body
    mdat = struct.pack(">I", 8 + payload_size) + b"mdat" + random.Random(seed).randbytes(payload_size)
    return ftyp + mdat


def motion_photo(jpeg: bytes, video: bytes) -> bytes:
    """A Google Motion Photo: XMP (Camera:MotionPhoto, a Container directory giving the
    video's length) in an APP1 after SOI, and the MP4 appended after the JPEG's EOI."""
    xmp = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description xmlns:Camera="http://ns.google.com/photos/1.0/camera/"'
        ' xmlns:Container="http://ns.google.com/photos/1.0/container/"'
        ' xmlns:Item="http://ns.google.com/photos/1.0/container/item/"'
        ' Camera:MotionPhoto="1" Camera:MotionPhotoVersion="1" Camera:MotionPhotoPresentationTimestampUs="0">'
        "<Container:Directory><rdf:Seq>"
        '<rdf:li rdf:parseType="Resource"><Container:Item Item:Mime="image/jpeg" Item:Semantic="Primary"'
        ' Item:Length="0" Item:Padding="0"/></rdf:li>'
        '<rdf:li rdf:parseType="Resource"><Container:Item Item:Mime="video/mp4" Item:Semantic="MotionPhoto"'
        f' Item:Length="{len(video)}" Item:Padding="0"/></rdf:li>'
        "</rdf:Seq></Container:Directory></rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    return insert_after_soi(jpeg, xmp_app1(xmp)) + video


def samsung_trailer(blocks: list[tuple[int, str, bytes]]) -> bytes:
    """Samsung's trailer after EOI: data blocks (2 zero bytes, a 2-byte type, a 4-byte name
    length, the name, the data), then the "SEFH" directory (version, block count, and per
    block: 2 zero bytes, type, offset back from SEFH, length), its size, and "SEFT".
    All numbers little endian."""
    body = b""
    spans: list[tuple[int, int, int]] = []
    for type_, name, data in blocks:
        record = struct.pack("<HHI", 0, type_, len(name)) + name.encode() + data
        spans.append((type_, len(body), len(record)))
        body += record
    directory = b"SEFH" + struct.pack("<II", 107, len(blocks))
    for type_, start, length in spans:
        directory += struct.pack("<HHII", 0, type_, len(body) - start, length)
    return body + directory + struct.pack("<I", len(directory)) + b"SEFT"
