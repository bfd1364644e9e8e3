"""What happens to an uploaded photo: accepted, or rejected with the contract's reason.

Images are real files built by tests/imagegen.py: byte by byte from the formats, or
encoded by Pillow and then spliced with what cameras and phones add (EXIF, XMP, Motion
Photo and Samsung trailers). Every generated and fuzzed image is cross-checked against
Pillow (a test dependency only): where the inspector says the bytes are a photo (accepted
or too-small), Pillow decodes them fully to the same size; for the variations real
devices produce, both agree both ways.
"""

from __future__ import annotations

import io
import struct
import time
import warnings
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PIL import Image

from prakerja.domain.photo import (
    ALLOWED_CONTENT_TYPES,
    MAX_PHOTO_BYTES,
    MAX_PHOTO_PIXELS,
    PRESIGN_EXPIRES_S,
    PhotoVerdict,
    decode_s3_event_key,
    inspect_image,
    parse_photo_key,
    photo_object_key,
)
from tests.imagegen import (
    WEBP_400X400,
    damaged_exif_app1s,
    exif_app1,
    insert_after_soi,
    insert_before_frame,
    insert_png_chunk,
    jpeg_segment,
    make_gif,
    make_jpeg,
    make_png,
    motion_photo,
    mp4_file,
    pad_png_to,
    pillow_jpeg,
    pillow_png,
    png_chunk,
    samsung_trailer,
    valid_exif_tiff,
    xmp_app1,
)

PNG, JPEG = "image/png", "image/jpeg"
REASONS = {"not-an-image", "too-large", "too-small"}


def make(kind: str, width: int, height: int) -> bytes:
    return make_png(width, height) if kind == PNG else make_jpeg(width, height)


def assert_valid_verdict(verdict: PhotoVerdict, declared: str) -> None:
    assert isinstance(verdict, PhotoVerdict)
    if verdict.accepted:
        assert verdict.reason is None
        assert verdict.kind == declared
        assert verdict.width is not None and verdict.width >= 300
        assert verdict.height is not None and verdict.height >= 300
    else:
        assert verdict.reason in REASONS


# --- the independent decoder ----------------------------------------------------------------

# In fuzzing, a flipped byte can declare a huge frame: both sides then use this pixel limit
# (Pillow refuses more than 2 * MAX_IMAGE_PIXELS as a decompression bomb), so the check
# never makes Pillow allocate gigabytes.
FUZZ_MAX_PIXELS = 4_000_000
_PILLOW_FORMATS = {"JPEG": JPEG, "MPO": JPEG, "PNG": PNG}


@contextmanager
def _pillow_pixel_limit(max_pixels: int) -> Iterator[None]:
    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = max_pixels // 2
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def pillow_reading(data: bytes, *, max_pixels: int = MAX_PHOTO_PIXELS) -> tuple[str, int, int] | None:
    """(content type, width, height) when Pillow decodes the whole image, else None."""
    with _pillow_pixel_limit(max_pixels), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # corrupt-EXIF and bomb warnings: not a verdict
        try:
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                kind = _PILLOW_FORMATS.get(image.format or "")
                return None if kind is None else (kind, *image.size)
        except Exception:  # any failure to decode (OSError, SyntaxError, bomb error...)
            return None


def assert_claims_are_decodable(data: bytes, *, max_pixels: int = FUZZ_MAX_PIXELS) -> PhotoVerdict:
    """Where the inspector says "this is a JPEG/PNG of that size" (accepted or too-small),
    Pillow decodes it fully, as that type and size. Returns the verdict for the declared
    type the bytes claim."""
    decoded: tuple[str, int, int] | bool | None = False  # not asked yet
    verdicts = {}
    for declared in (PNG, JPEG):
        verdict = inspect_image(data, declared, max_pixels=max_pixels)
        assert_valid_verdict(verdict, declared)
        verdicts[declared] = verdict
        if verdict.reason in (None, "too-small"):
            if decoded is False:
                decoded = pillow_reading(data, max_pixels=max_pixels)
            assert decoded == (declared, verdict.width, verdict.height), verdict
    return verdicts[JPEG if data.startswith(b"\xff") else PNG]


def assert_agrees_with_pillow(data: bytes, *, max_pixels: int = MAX_PHOTO_PIXELS) -> PhotoVerdict:
    """Both ways: the inspector accepts (or finds too small) exactly what Pillow decodes
    fully, at the size Pillow reads, and refuses the rest as not-an-image or too-large."""
    decoded = pillow_reading(data, max_pixels=max_pixels)
    for declared in (PNG, JPEG):
        verdict = inspect_image(data, declared, max_pixels=max_pixels)
        if decoded is not None and decoded[0] == declared:
            _, width, height = decoded
            big_enough = min(width, height) >= 300
            expected = PhotoVerdict(big_enough, None if big_enough else "too-small", declared, width, height)
            assert verdict == expected
        else:
            assert verdict.reason in ("not-an-image", "too-large"), (decoded, verdict)
    return inspect_image(data, JPEG if data.startswith(b"\xff") else PNG, max_pixels=max_pixels)


def test_the_contract_constants() -> None:
    assert ALLOWED_CONTENT_TYPES == ("image/jpeg", "image/png")
    assert MAX_PHOTO_BYTES == 2 * 1024 * 1024
    assert MAX_PHOTO_PIXELS // 2 == Image.MAX_IMAGE_PIXELS  # Pillow's decompression-bomb limit is twice it
    assert PRESIGN_EXPIRES_S == 300


# --- accepted ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [PNG, JPEG])
@pytest.mark.parametrize(("width", "height"), [(300, 300), (1000, 800), (800, 1000)])
def test_a_real_photo_of_at_least_300px_each_side_is_accepted(kind: str, width: int, height: int) -> None:
    # Given a real image of the declared type, at least 300x300
    data = make(kind, width, height)
    # When it is inspected
    verdict = inspect_image(data, kind)
    # Then it is accepted, and its size is read from the file
    assert verdict == PhotoVerdict(True, None, kind, width, height)


def test_a_progressive_jpeg_is_accepted() -> None:
    # Given a progressive JPEG (SOF2, several scans with tables in between)
    data = make_jpeg(1000, 800, progressive=True)
    assert b"\xff\xc2" in data
    # When / Then
    assert inspect_image(data, JPEG) == PhotoVerdict(True, None, JPEG, 1000, 800)


def test_a_camera_jpeg_with_exif_before_the_frame_is_measured_by_the_photo_not_its_thumbnail() -> None:
    # Given a JPEG whose EXIF APP1 segment (before SOF) embeds a 160x120 JPEG thumbnail
    data = make_jpeg(1000, 800, exif=True)
    assert data.index(b"Exif\x00\x00") < data.index(b"\xff\xc0\x00\x11\x08\x03\x20")
    # When it is inspected
    verdict = inspect_image(data, JPEG)
    # Then the size is the photo's own, not the thumbnail's
    assert verdict == PhotoVerdict(True, None, JPEG, 1000, 800)


def test_a_small_photo_is_not_rescued_by_its_exif_block() -> None:
    assert inspect_image(make_jpeg(200, 200, exif=True), JPEG).reason == "too-small"


def test_a_jpeg_with_restart_markers_in_its_scan_is_accepted() -> None:
    data = make_jpeg(640, 480, restart_interval=3)
    assert b"\xff\xd0" in data and b"\xff\xd7" in data
    assert inspect_image(data, JPEG) == PhotoVerdict(True, None, JPEG, 640, 480)


def test_fill_bytes_and_standalone_markers_between_jpeg_segments_are_tolerated() -> None:
    # Given a JPEG with 0xFF fill bytes and a (parameterless) RST marker before its
    # quantisation table
    data = make_jpeg(400, 400)
    dqt = data.index(b"\xff\xdb")
    data = data[:dqt] + b"\xff\xd3" + b"\xff\xff\xff" + data[dqt:]
    # Then it is still read as a 400x400 JPEG, as Pillow reads it
    assert assert_agrees_with_pillow(data) == PhotoVerdict(True, None, JPEG, 400, 400)


def test_a_tem_marker_is_not_tolerated() -> None:
    # TEM belongs to arithmetic coding, which no camera writes; Pillow refuses it
    data = insert_after_soi(make_jpeg(400, 400), b"\xff\x01")
    assert assert_agrees_with_pillow(data).reason == "not-an-image"


def test_a_png_with_ancillary_chunks_is_accepted() -> None:
    data = insert_png_chunk(make_png(640, 480), b"tEXt", b"Comment\x00holiday")
    assert inspect_image(data, PNG).accepted


@pytest.mark.parametrize("declared", ["IMAGE/PNG", " image/png ", "image/png; charset=binary"])
def test_the_declared_type_is_compared_without_case_or_parameters(declared: str) -> None:
    assert inspect_image(make_png(300, 300), declared).accepted


# --- what real cameras and phones produce ----------------------------------------------------

# Pillow-encoded JPEGs: the kinds phones, cameras and editors write.
REAL_JPEGS = {
    "baseline-420": pillow_jpeg(640, 480),
    "baseline-444": pillow_jpeg(480, 640, subsampling=0),
    "baseline-422": pillow_jpeg(333, 301, subsampling=1),
    "progressive": pillow_jpeg(640, 480, progressive=True),
    "greyscale": pillow_jpeg(400, 300, mode="L"),
    "greyscale-progressive": pillow_jpeg(300, 400, mode="L", progressive=True),
    "cmyk": pillow_jpeg(400, 400, mode="CMYK"),
    "cmyk-progressive": pillow_jpeg(320, 320, mode="CMYK", progressive=True),
}


@pytest.mark.parametrize("name", list(REAL_JPEGS))
def test_jpegs_from_a_real_encoder_are_accepted_at_their_size(name: str) -> None:
    # Given a JPEG encoded by libjpeg (progressive, greyscale, CMYK, any chroma subsampling)
    data = REAL_JPEGS[name]
    # When it is inspected, Then it is accepted with the size Pillow decodes
    verdict = assert_agrees_with_pillow(data)
    assert verdict.accepted


@pytest.mark.parametrize("mode", ["RGB", "L", "CMYK"])
@pytest.mark.parametrize("progressive", [False, True], ids=["baseline", "progressive"])
def test_small_jpegs_from_a_real_encoder_are_too_small(mode: str, progressive: bool) -> None:
    data = pillow_jpeg(299, 480, mode=mode, progressive=progressive)
    assert assert_agrees_with_pillow(data) == PhotoVerdict(False, "too-small", JPEG, 299, 480)


TRAILERS = {
    # An Olympus camera file: one byte after EOI.
    "one-byte": b"\x00",
    "zero-padding": b"\x00" * 4096,
    # Ultra HDR / MPF: a second (gain map) JPEG right after the primary's EOI.
    "second-jpeg": make_jpeg(160, 120),
    # A Motion Photo's video on its own (ISO-BMFF: 'ftyp' box, then 'mdat').
    "mp4": mp4_file(50_000),
    # Samsung's trailer: data blocks, then the SEFH directory, its size and SEFT.
    "samsung-sef": samsung_trailer(
        [(0x0A01, "Image_UTC_Data", b"1764324000000"), (0x0A30, "MotionPhoto_Data", mp4_file(20_000, seed=2))]
    ),
    # Whatever else: it is never parsed, and this service never serves the object (S3
    # holds it under the image content type the upload policy pinned).
    "html": b"<html><body>hello</body></html>",
    "random": bytes(range(256)) * 64,
}


@pytest.mark.parametrize("trailer", list(TRAILERS))
@pytest.mark.parametrize("base", ["baseline-420", "progressive", "cmyk", "greyscale"])
def test_data_after_the_jpeg_end_marker_is_ignored(base: str, trailer: str) -> None:
    # Given a real JPEG with something appended after its EOI marker
    data = REAL_JPEGS[base] + TRAILERS[trailer]
    # When it is inspected, Then it is the photo: accepted, as decoders read it
    verdict = assert_agrees_with_pillow(data)
    assert verdict.accepted


def test_a_google_motion_photo_is_accepted() -> None:
    # Given a Motion Photo: XMP naming the video in APP1, the MP4 appended after EOI
    video = mp4_file(300_000)
    data = motion_photo(REAL_JPEGS["baseline-420"], video)
    assert data.endswith(video) and b"MotionPhoto" in data[:2048]
    # Then it is accepted as the 640x480 photo
    assert assert_agrees_with_pillow(data) == PhotoVerdict(True, None, JPEG, 640, 480)


def test_a_samsung_motion_photo_is_accepted() -> None:
    # Given a Samsung photo: EXIF, then after EOI the video and the SEF trailer
    video = mp4_file(200_000, seed=3)
    trailer = samsung_trailer([(0x0A30, "MotionPhoto_Data", video), (0x0A01, "Image_UTC_Data", b"1764324000000")])
    data = insert_after_soi(REAL_JPEGS["baseline-444"], exif_app1(valid_exif_tiff())) + trailer
    assert data.endswith(b"SEFT")
    assert assert_agrees_with_pillow(data) == PhotoVerdict(True, None, JPEG, 480, 640)


def test_a_trailer_counts_towards_the_2_mib_limit() -> None:
    # Given a photo whose appended data brings the file to exactly 2 MiB, then to one more byte
    photo = REAL_JPEGS["progressive"]
    at_limit = photo + mp4_file(MAX_PHOTO_BYTES - len(photo) - 32)
    assert len(at_limit) == MAX_PHOTO_BYTES
    assert inspect_image(at_limit, JPEG).accepted
    assert inspect_image(at_limit + b"\x00", JPEG) == PhotoVerdict(False, "too-large", None, None, None)


def test_a_truncated_jpeg_is_not_rescued_by_a_trailer() -> None:
    # Given a JPEG cut inside its scan (no EOI), with an MP4 behind it
    photo = REAL_JPEGS["baseline-420"]
    data = photo[: len(photo) // 2] + mp4_file(10_000)
    # Then it is not an image, as Pillow cannot decode it either
    assert assert_agrees_with_pillow(data) == PhotoVerdict(False, "not-an-image", None, None, None)


@pytest.mark.parametrize("damage", list(damaged_exif_app1s()))
@pytest.mark.parametrize("base", ["baseline-420", "progressive", "cmyk", "greyscale"])
def test_a_damaged_exif_block_does_not_make_a_photo_not_an_image(base: str, damage: str) -> None:
    # Given a real JPEG whose APP1 EXIF block is broken inside, in a well-formed segment
    data = insert_after_soi(REAL_JPEGS[base], damaged_exif_app1s()[damage])
    # Then the photo is accepted: metadata is never interpreted
    verdict = assert_agrees_with_pillow(data)
    assert verdict.accepted


def test_unusual_metadata_segments_are_accepted() -> None:
    # Given a JPEG with every kind of APPn and comment, before and after the frame header
    segments = [
        exif_app1(valid_exif_tiff()),
        xmp_app1('<x:xmpmeta xmlns:x="adobe:ns:meta/"/>'),
        jpeg_segment(0xE2, b"ICC_PROFILE\x00\x01\x01" + b"\x00" * 500),  # first of one ICC chunk
        jpeg_segment(0xE2, b"MPF\x00II*\x00" + b"\x00" * 40),  # an MPF header with nonsense in it
        # Photoshop resources: one IPTC block (8BIM, id 0x0404, empty name, size, data)
        jpeg_segment(
            0xED, b"Photoshop 3.0\x008BIM\x04\x04\x00\x00" + struct.pack(">I", 6) + b"\x1c\x02\x00\x00\x02\x00"
        ),
        jpeg_segment(0xEF, bytes(range(256))),
        jpeg_segment(0xFE, b"\xff\xd9 not the end \xff\xd8"),
        jpeg_segment(0xE5, b""),
    ]
    data = insert_before_frame(insert_after_soi(REAL_JPEGS["baseline-420"], *segments[:4]), *segments[4:])
    assert assert_agrees_with_pillow(data).accepted


def test_bytes_between_segments_are_skipped_as_decoders_skip_them() -> None:
    # Given an EXIF APP1 whose length field is 40 bytes short: the rest of the block
    # (no 0xFF in it) sits between two segments, which libjpeg skips with a warning
    tiff = valid_exif_tiff() + b"\x00" * 40
    segment = jpeg_segment(0xE1, b"Exif\x00\x00" + tiff)
    short = segment[:2] + struct.pack(">H", len(segment) - 2 - 40) + segment[4:]
    data = insert_after_soi(REAL_JPEGS["progressive"], short)
    # Then the photo is accepted, as Pillow decodes it
    assert assert_agrees_with_pillow(data).accepted


def test_a_jpeg_must_start_with_a_marker_right_after_soi() -> None:
    data = b"\xff\xd8\x00" + REAL_JPEGS["baseline-420"][2:]
    assert assert_agrees_with_pillow(data).reason == "not-an-image"


def _replace_segment(jpeg: bytes, marker: int, body: bytes) -> bytes:
    at = jpeg.index(bytes([0xFF, marker]))
    (length,) = struct.unpack_from(">H", jpeg, at + 2)
    return jpeg[:at] + jpeg_segment(marker, body) + jpeg[at + 2 + length :]


def _segment_body(jpeg: bytes, marker: int) -> bytes:
    at = jpeg.index(bytes([0xFF, marker]))
    (length,) = struct.unpack_from(">H", jpeg, at + 2)
    return jpeg[at + 4 : at + 2 + length]


def _headers_a_decoder_refuses() -> dict[str, bytes]:
    photo = REAL_JPEGS["baseline-420"]
    sof = _segment_body(photo, 0xC0)
    dqt = _segment_body(photo, 0xDB)
    sos = _segment_body(photo, 0xDA)
    dqt_at = photo.index(b"\xff\xdb")
    (dqt_len,) = struct.unpack_from(">H", photo, dqt_at + 2)
    without_dqt = photo[:dqt_at] + photo[dqt_at + 2 + dqt_len :]
    while b"\xff\xdb" in without_dqt[: without_dqt.index(b"\xff\xda")]:
        at = without_dqt.index(b"\xff\xdb")
        (length,) = struct.unpack_from(">H", without_dqt, at + 2)
        without_dqt = without_dqt[:at] + without_dqt[at + 2 + length :]
    return {
        "12-bit-samples": _replace_segment(photo, 0xC0, b"\x0c" + sof[1:]),
        "two-components": _replace_segment(photo, 0xC0, sof[:5] + b"\x02" + sof[6:12]),
        "zero-width": _replace_segment(photo, 0xC0, sof[:3] + b"\x00\x00" + sof[5:]),
        "width-over-65500": _replace_segment(photo, 0xC0, sof[:3] + struct.pack(">H", 65_501) + sof[5:]),
        "sampling-factor-5": _replace_segment(photo, 0xC0, sof[:7] + b"\x51" + sof[8:]),
        "quant-table-4": _replace_segment(photo, 0xC0, sof[:8] + b"\x04" + sof[9:]),
        "no-quant-table": without_dqt,
        "dqt-table-id-4": _replace_segment(photo, 0xDB, bytes([0x04]) + dqt[1:]),
        "dqt-short": _replace_segment(photo, 0xDB, dqt[:-1]),
        "dht-class-2": photo.replace(b"\xff\xc4\x00\x1f\x00", b"\xff\xc4\x00\x1f\x20", 1),
        "sos-unknown-component": _replace_segment(photo, 0xDA, sos[:1] + b"\x09" + sos[2:]),
        "second-frame-header": insert_before_frame(photo, jpeg_segment(0xC0, sof)),
        "jpg-marker": insert_after_soi(photo, jpeg_segment(0xF0, b"\x00\x00")),
        "second-soi": insert_after_soi(photo, b"\xff\xd8"),
        "dri-wrong-length": insert_after_soi(photo, jpeg_segment(0xDD, b"\x00\x01\x00")),
        "jfif-header-cut-short": _replace_segment(photo, 0xE0, b"JFIF\x00\x01"),
        "adobe-header-cut-short": insert_after_soi(photo, jpeg_segment(0xEE, b"Adobe\x00")),
    }


@pytest.mark.parametrize("name", list(_headers_a_decoder_refuses()))
def test_a_jpeg_header_a_decoder_refuses_is_not_an_image(name: str) -> None:
    # Given a real JPEG with one header changed into something libjpeg refuses
    data = _headers_a_decoder_refuses()[name]
    # Then it is not an image, and Pillow fails to decode it too
    assert pillow_reading(data) is None
    assert inspect_image(data, JPEG).reason == "not-an-image"


def test_a_frame_of_more_pixels_than_a_decoder_allows_is_too_large() -> None:
    # Given a small file whose frame header declares 20000 x 20000 pixels (a decompression bomb)
    photo = REAL_JPEGS["baseline-420"]
    sof = _segment_body(photo, 0xC0)
    data = _replace_segment(photo, 0xC0, sof[:1] + struct.pack(">HH", 20_000, 20_000) + sof[5:])
    # Then it is refused as too large; Pillow refuses to open it at all
    assert inspect_image(data, JPEG) == PhotoVerdict(False, "too-large", JPEG, 20_000, 20_000)
    assert pillow_reading(data) is None
    assert inspect_image(data, JPEG, max_pixels=400_000_000).accepted


def test_a_narrow_frame_of_too_many_pixels_is_too_large_not_too_small() -> None:
    # Given a small PNG whose header declares 1 x 200,000,000 pixels
    png = make_png(1, 1)
    ihdr = struct.pack(">IIBBBBB", 1, 200_000_000, 8, 2, 0, 0, 0)
    data = png[:8] + png_chunk(b"IHDR", ihdr) + png[8 + 25 :]
    # Then it is too large (a decompression bomb Pillow refuses), not merely too small
    assert inspect_image(data, PNG) == PhotoVerdict(False, "too-large", PNG, 1, 200_000_000)
    assert pillow_reading(data) is None


PNG_ANCILLARY = {
    "tEXt": b"Software\x00Phone Camera 1.0",
    "iTXt": b"XML:com.adobe.xmp\x00\x00\x00\x00\x00<x:xmpmeta/>",
    "zTXt": b"Comment\x00\x00" + zlib.compress(b"a long comment " * 20),
    "eXIf": b"II*\x00" + valid_exif_tiff()[4:],
    "pHYs": struct.pack(">IIB", 3780, 3780, 1),
    "iCCP": b"icc\x00\x00" + zlib.compress(b"\x00" * 128),
    "gAMA": struct.pack(">I", 45455),
    "tIME": struct.pack(">HBBBBB", 2026, 11, 28, 10, 0, 0),
    "vpAg": b"\x00\x00\x01\x90\x00\x00\x01\x90\x00",  # an unknown (private) ancillary chunk
    "prVt": b"\xff\xd8\xff\xd9" * 100,
}


def _png_with_chunk_before_idat(png: bytes, ctype: bytes, body: bytes) -> bytes:
    idat = png.index(b"IDAT") - 4
    return png[:idat] + png_chunk(ctype, body) + png[idat:]


@pytest.mark.parametrize("chunk", list(PNG_ANCILLARY))
@pytest.mark.parametrize("where", ["before-image-data", "after-image-data"])
def test_a_png_with_ancillary_chunks_is_accepted_wherever_they_are(chunk: str, where: str) -> None:
    png = make_png(640, 480)
    insert = _png_with_chunk_before_idat if where == "before-image-data" else insert_png_chunk
    data = insert(png, chunk.encode(), PNG_ANCILLARY[chunk])
    assert assert_agrees_with_pillow(data) == PhotoVerdict(True, None, PNG, 640, 480)


@pytest.mark.parametrize("mode", ["1", "L", "LA", "P", "RGB", "RGBA", "I;16"])
def test_pngs_from_a_real_encoder_are_accepted_in_every_colour_type(mode: str) -> None:
    # Given PNGs as Pillow writes them: bilevel, grey, grey+alpha, paletted, RGB(A), 16-bit
    data = pillow_png(420, 310, mode=mode)
    # Then each is accepted at its size, as Pillow decodes it; and refused when small
    assert assert_agrees_with_pillow(data) == PhotoVerdict(True, None, PNG, 420, 310)
    small = pillow_png(310, 299, mode=mode)
    assert assert_agrees_with_pillow(small) == PhotoVerdict(False, "too-small", PNG, 310, 299)


@pytest.mark.parametrize("trailer", ["one-byte", "zero-padding", "html", "random"])
def test_data_after_the_png_end_chunk_is_ignored(trailer: str) -> None:
    # Decoders stop at IEND; what follows is never read, and never served by this service,
    # so it is ignored like a JPEG's trailer (screenshot and editing tools append data too).
    data = make_png(400, 300) + TRAILERS[trailer]
    assert assert_agrees_with_pillow(data) == PhotoVerdict(True, None, PNG, 400, 300)


def test_a_png_with_a_damaged_ancillary_chunk_is_not_an_image() -> None:
    # Given a PNG whose tEXt chunk before the image data fails its CRC (a damaged file)
    data = bytearray(_png_with_chunk_before_idat(make_png(400, 400), b"tEXt", b"Title\x00photo"))
    data[data.index(b"Title")] ^= 0x20
    # Then it is refused, as Pillow refuses it
    assert pillow_reading(bytes(data)) is None
    assert inspect_image(bytes(data), PNG).reason == "not-an-image"


def test_a_png_whose_image_data_is_interrupted_is_not_an_image() -> None:
    # Given a PNG whose IDAT chunks are not consecutive (PNG spec 5.6)
    raw = (b"\x00" + b"\x80" * 3 * 400) * 400
    stream = zlib.compress(raw)
    half = len(stream) // 2
    png = make_png(400, 400)
    start = png.index(b"IDAT") - 4
    data = (
        png[:start]
        + png_chunk(b"IDAT", stream[:half])
        + png_chunk(b"tEXt", b"a\x00b")
        + png_chunk(b"IDAT", stream[half:])
        + png_chunk(b"IEND", b"")
    )
    assert pillow_reading(data) is None
    assert inspect_image(data, PNG).reason == "not-an-image"


# Headers decoders read out of APPn segments: identifier, then the fields read (JFIF and
# Adobe: a version; an ICC profile chunk: sequence number and chunk count). A segment
# announcing one holds those fields; cut shorter, Pillow refuses the file.
WELL_KNOWN_HEADERS = {
    "jfif": (0xE0, b"JFIF", 7),
    "adobe": (0xEE, b"Adobe", 7),
    "icc-profile": (0xE2, b"ICC_PROFILE\x00", 14),
}


def device_segment(marker: int, body: bytes) -> bytes:
    """An APPn/COM segment of any content, as a device writes it: a body that starts with a
    well-known header's identifier holds the fields decoders read (zeros when drawn short;
    Hypothesis draws the identifiers, literals of the code under test, as whole bodies).
    Headers cut short are damage: test_a_jpeg_header_a_decoder_refuses_is_not_an_image."""
    for header_marker, identifier, size in WELL_KNOWN_HEADERS.values():
        if marker == header_marker and body.startswith(identifier):
            body = body.ljust(size, b"\x00")
    return jpeg_segment(marker, body)


# A JPEG as devices vary it: encoder settings, metadata segments (well-formed, any content),
# bytes between segments that decoders skip, and anything after EOI.
_app_segments = st.lists(
    st.tuples(st.sampled_from([*range(0xE0, 0xF0), 0xFE]), st.binary(max_size=300)),
    max_size=4,
)
_NOTHING_ADDED: dict[str, object] = {
    "after_soi": [],
    "before_frame": [],
    "exif": None,
    "junk": b"",
    "trailer": b"",
}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    size=st.tuples(st.integers(8, 520), st.integers(8, 520)),
    mode=st.sampled_from(["RGB", "L", "CMYK"]),
    progressive=st.booleans(),
    subsampling=st.sampled_from([0, 1, 2]),
    quality=st.integers(10, 100),
    after_soi=_app_segments,
    before_frame=_app_segments,
    exif=st.sampled_from([None, *damaged_exif_app1s()]),
    junk=st.binary(max_size=40).map(lambda raw: raw.replace(b"\xff", b"\x00")),
    trailer=st.binary(max_size=2000),
)
# Examples that failed on random runs: a progressive 4:4:4 file at quality 100, bigger than
# the buffer Pillow gave libjpeg (the encoder failed, not the inspector)...
@example(size=(169, 186), mode="RGB", progressive=True, subsampling=0, quality=100, **_NOTHING_ADDED)
# ...an Adobe APP14 whose body is just "Adobe" (as a device writes it: with its version)...
@example(
    size=(8, 8),
    mode="RGB",
    progressive=False,
    subsampling=0,
    quality=10,
    **{**_NOTHING_ADDED, "before_frame": [(0xEE, b"Adobe")]},
)
# ...and JFIF and Adobe headers that end after their version: Pillow and libjpeg decode
# them; the inspector refused them, wanting the whole header (JFIF 14 bytes, Adobe 12).
@example(
    size=(320, 300),
    mode="CMYK",
    progressive=True,
    subsampling=2,
    quality=75,
    **{
        **_NOTHING_ADDED,
        "after_soi": [(0xE0, b"JFIF\x00\x01\x02")],
        "before_frame": [(0xEE, b"Adobe\x00\x64\x00\x00\x00\x00")],
    },
)
def test_jpegs_as_devices_vary_them_get_the_verdict_a_decoder_gives(
    size: tuple[int, int],
    mode: str,
    progressive: bool,
    subsampling: int,
    quality: int,
    after_soi: list[tuple[int, bytes]],
    before_frame: list[tuple[int, bytes]],
    exif: str | None,
    junk: bytes,
    trailer: bytes,
) -> None:
    data = pillow_jpeg(*size, mode=mode, progressive=progressive, subsampling=subsampling, quality=quality)
    segments = [device_segment(*pair) for pair in after_soi]
    if exif is not None:
        segments = [damaged_exif_app1s()[exif], *segments]
    data = insert_after_soi(data, *segments)
    data = insert_before_frame(data, junk, *(device_segment(*pair) for pair in before_frame)) + trailer
    verdict = assert_agrees_with_pillow(data)
    assert verdict.kind == JPEG and (verdict.width, verdict.height) == size


@pytest.mark.parametrize("header", list(WELL_KNOWN_HEADERS))
@pytest.mark.parametrize("where", ["after-soi", "before-frame"])
def test_a_well_known_header_is_read_as_far_as_decoders_read_it(header: str, where: str) -> None:
    # Given a real JPEG with a JFIF, Adobe or ICC header of every length from its bare
    # identifier to a little past the fields decoders read
    marker, identifier, size = WELL_KNOWN_HEADERS[header]
    photo = REAL_JPEGS["baseline-420"]
    insert = insert_after_soi if where == "after-soi" else insert_before_frame
    for length in range(len(identifier), size + 8):
        body = identifier + bytes(range(1, 1 + length - len(identifier)))
        data = insert(photo, jpeg_segment(marker, body))
        # Then it is accepted from the length where the read fields are all there, as
        # Pillow decodes it; shorter, both refuse it
        verdict = assert_agrees_with_pillow(data)
        assert verdict.accepted == (length >= size), length


@settings(max_examples=60, deadline=None)
@given(
    size=st.tuples(st.integers(1, 520), st.integers(1, 520)),
    chunks=st.lists(
        st.tuples(st.sampled_from(sorted(PNG_ANCILLARY)), st.booleans()),
        max_size=4,
    ),
    trailer=st.binary(max_size=2000),
)
def test_pngs_as_devices_vary_them_get_the_verdict_a_decoder_gives(
    size: tuple[int, int], chunks: list[tuple[str, bool]], trailer: bytes
) -> None:
    data = make_png(*size)
    for chunk, before_image_data in chunks:
        insert = _png_with_chunk_before_idat if before_image_data else insert_png_chunk
        data = insert(data, chunk.encode(), PNG_ANCILLARY[chunk])
    verdict = assert_agrees_with_pillow(data + trailer)
    assert verdict.kind == PNG and (verdict.width, verdict.height) == size


# --- too-small ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [PNG, JPEG])
@pytest.mark.parametrize(("width", "height"), [(299, 300), (300, 299), (1, 1), (4000, 120)])
def test_a_photo_under_300px_on_any_side_is_too_small(kind: str, width: int, height: int) -> None:
    # Given a real image with a side under 300 px
    data = make(kind, width, height)
    # When it is inspected
    verdict = inspect_image(data, kind)
    # Then it is rejected as too small, with its measured size
    assert verdict == PhotoVerdict(False, "too-small", kind, width, height)


# --- too-large ---------------------------------------------------------------------------


def test_a_photo_over_2_mib_is_too_large() -> None:
    # Given a real, incompressible 900x900 PNG (about 2.4 MB)
    data = make_png(900, 900, noise=True)
    assert len(data) > MAX_PHOTO_BYTES
    # When / Then
    assert inspect_image(data, PNG) == PhotoVerdict(False, "too-large", None, None, None)


def test_exactly_2_mib_is_allowed_and_one_byte_more_is_not() -> None:
    at_limit = pad_png_to(make_png(300, 300), MAX_PHOTO_BYTES)
    assert len(at_limit) == MAX_PHOTO_BYTES
    assert inspect_image(at_limit, PNG).accepted
    over = pad_png_to(make_png(300, 300), MAX_PHOTO_BYTES + 1)
    assert inspect_image(over, PNG).reason == "too-large"


def test_size_is_judged_before_content() -> None:
    # Given 3 MiB of something that is not an image at all
    # Then the answer is too-large (checked first, without parsing)
    assert inspect_image(b"<html>" * (512 * 1024), PNG).reason == "too-large"


def test_the_limits_are_parameters() -> None:
    data = make_png(100, 100)
    assert inspect_image(data, PNG, min_side=50).accepted
    assert inspect_image(data, PNG, max_bytes=len(data) - 1).reason == "too-large"


# --- not-an-image ------------------------------------------------------------------------


def test_a_truncated_png_is_not_an_image() -> None:
    data = make_png(1000, 800)
    idat_middle = data.index(b"IDAT") + 100
    for cut in (len(data) - 1, len(data) - 12, idat_middle, 33, 20, 8):
        assert inspect_image(data[:cut], PNG) == PhotoVerdict(False, "not-an-image", None, None, None), cut


def test_a_truncated_jpeg_is_not_an_image() -> None:
    for data in (make_jpeg(1000, 800), make_jpeg(1000, 800, progressive=True)):
        sos = data.index(b"\xff\xda")
        for cut in (len(data) - 1, len(data) - 2, len(data) - 50, sos + 20, sos, 200, 3, 2):
            verdict = inspect_image(data[:cut], JPEG)
            assert verdict == PhotoVerdict(False, "not-an-image", None, None, None), cut


@pytest.mark.parametrize(
    ("data", "declared"),
    [
        (make_png(1000, 800), JPEG),
        (make_jpeg(1000, 800), PNG),
        (make_png(1000, 800), "image/gif"),
        (make_png(1000, 800), "application/octet-stream"),
        (make_jpeg(1000, 800), ""),
    ],
    ids=["png-as-jpeg", "jpeg-as-png", "png-as-gif", "png-as-octet-stream", "jpeg-undeclared"],
)
def test_a_real_image_that_is_not_the_declared_type_is_not_an_image(data: bytes, declared: str) -> None:
    # Given a real image uploaded under another content type than its own
    # When it is inspected
    verdict = inspect_image(data, declared)
    # Then it is rejected (the policy pinned the declared type; the bytes must agree)
    assert not verdict.accepted
    assert verdict.reason == "not-an-image"


HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"


@pytest.mark.parametrize(
    "data",
    [
        HTML,
        b"just some text, renamed to photo.jpg\n" * 20,
        make_gif(400, 400),
        WEBP_400X400,
        b"",
        b"\x89PNG\r\n\x1a\n",
        b"\x89PNG\r\n\x1a\n" + HTML,
        b"\xff\xd8",
        b"\xff\xd8\xff\xd9",
        b"\xff\xd8" + HTML,
        b"\x00" * 4096,
    ],
    ids=[
        "html",
        "text",
        "gif",
        "webp",
        "empty",
        "png-signature-only",
        "png-signature-then-html",
        "jpeg-soi-only",
        "jpeg-soi-eoi",
        "jpeg-soi-then-html",
        "zeros",
    ],
)
@pytest.mark.parametrize("declared", [PNG, JPEG])
def test_anything_that_is_not_a_png_or_jpeg_is_not_an_image(data: bytes, declared: str) -> None:
    assert inspect_image(data, declared) == PhotoVerdict(False, "not-an-image", None, None, None)


def test_a_png_with_a_corrupted_header_is_not_an_image() -> None:
    data = bytearray(make_png(1000, 800))
    data[20] ^= 0x01  # a bit of the width flips; the IHDR CRC no longer matches
    assert inspect_image(bytes(data), PNG).reason == "not-an-image"


def test_a_png_with_an_invalid_header_is_not_an_image() -> None:
    good = make_png(400, 400)
    ihdr_end = 8 + 12 + 13
    for ihdr in (
        struct.pack(">IIBBBBB", 0, 400, 8, 2, 0, 0, 0),  # zero width
        struct.pack(">IIBBBBB", 400, 400, 3, 2, 0, 0, 0),  # bit depth 3
        struct.pack(">IIBBBBB", 400, 400, 8, 5, 0, 0, 0),  # colour type 5
    ):
        data = good[:8] + png_chunk(b"IHDR", ihdr) + good[ihdr_end:]
        assert inspect_image(data, PNG).reason == "not-an-image"


def test_a_paletted_png_without_a_palette_is_not_an_image() -> None:
    good = make_png(400, 400)
    ihdr = struct.pack(">IIBBBBB", 400, 400, 8, 3, 0, 0, 0)
    data = good[:8] + png_chunk(b"IHDR", ihdr) + good[8 + 25 :]
    assert inspect_image(data, PNG).reason == "not-an-image"


def test_a_png_without_image_data_is_not_an_image() -> None:
    good = make_png(400, 400)
    data = good[: 8 + 25] + png_chunk(b"IEND", b"")
    assert inspect_image(data, PNG).reason == "not-an-image"


def test_a_jpeg_without_a_frame_header_is_not_an_image() -> None:
    data = make_jpeg(400, 400)
    sof = data.index(b"\xff\xc0")
    sof_len = struct.unpack(">H", data[sof + 2 : sof + 4])[0]
    without = data[:sof] + data[sof + 2 + sof_len :]
    assert inspect_image(without, JPEG).reason == "not-an-image"


@pytest.mark.parametrize(
    "sof",
    [0xC3, 0xC5, 0xC9, 0xCA, 0xCF],
    ids=["lossless", "hierarchical", "arith", "arith-progressive", "arith-hier-lossless"],
)
def test_a_jpeg_coded_in_a_process_no_viewer_decodes_is_not_an_image(sof: int) -> None:
    # Given a JPEG whose frame header announces lossless / hierarchical / arithmetic coding
    data = make_jpeg(400, 400).replace(b"\xff\xc0", bytes([0xFF, sof]), 1)
    # Then it is refused, like any file a browser could not show
    assert inspect_image(data, JPEG).reason == "not-an-image"


def test_an_extended_sequential_jpeg_is_accepted() -> None:
    data = make_jpeg(400, 400).replace(b"\xff\xc0", b"\xff\xc1", 1)
    assert inspect_image(data, JPEG).accepted


def test_a_jpeg_segment_claiming_more_bytes_than_the_file_has_is_not_an_image() -> None:
    data = bytearray(make_jpeg(400, 400))
    data[4:6] = b"\xff\xff"  # APP0 length 65535
    assert inspect_image(bytes(data), JPEG).reason == "not-an-image"


# --- hostile input: never raises, bounded work --------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xd8" + b"\xff" * 2_000_000,  # endless fill bytes
        b"\xff\xd8" + b"\xff\xfe\x00\x02" * 500_000,  # half a million empty comments
        b"\xff\xd8" + b"\xff\xd5" * 1_000_000,  # a million RST markers
        b"\xff\xd8\xff\xc0\x00\x11\x08\x01\x90\x01\x90\x03\x01\x11\x00\x02\x11\x00\x03\x11\x00"
        b"\xff\xda\x00\x0c\x03\x01\x00\x02\x00\x03\x00\x00\x3f\x00" + b"\xff\x00" * 1_000_000,
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 400, 400, 8, 2, 0, 0, 0))
        + png_chunk(b"tEXt", b"") * 170_000,  # many tiny chunks, no IEND
        b"\x89PNG\r\n\x1a\n" + b"\x7f\xff\xff\xffIDAT",  # a 2 GiB chunk claimed
    ],
    ids=["fill-bytes", "many-comments", "many-rst", "stuffed-scan", "many-png-chunks", "huge-chunk"],
)
def test_hostile_input_is_refused_quickly(data: bytes) -> None:
    started = time.perf_counter()
    verdict = inspect_image(data, JPEG if data.startswith(b"\xff") else PNG)
    elapsed = time.perf_counter() - started
    assert verdict.reason == "not-an-image"
    assert elapsed < 5.0  # linear: a few tens of ms in practice


def test_image_data_is_never_decompressed() -> None:
    # Given a PNG whose IDAT is a zlib bomb (1 GiB of zeros compressed) but a valid frame
    bomb = zlib.compressobj(9)
    idat = b"".join(bomb.compress(b"\x00" * (1 << 20)) for _ in range(64)) + bomb.flush()
    png = make_png(400, 400)
    start = png.index(b"IDAT") - 4
    data = png[:start] + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")
    assert len(data) < MAX_PHOTO_BYTES
    # When it is inspected, only headers are read: quick, and accepted by its frame header
    started = time.perf_counter()
    assert inspect_image(data, PNG).accepted
    assert time.perf_counter() - started < 1.0


@settings(max_examples=400, deadline=None)
@given(data=st.binary(max_size=4096), declared=st.sampled_from([PNG, JPEG, "text/html", ""]))
def test_random_bytes_never_raise(data: bytes, declared: str) -> None:
    assert_valid_verdict(inspect_image(data, declared), declared)


_SEEDS = [
    make_png(300, 300),
    insert_png_chunk(make_png(301, 300), b"tEXt", b"Comment\x00x"),
    make_jpeg(300, 300),
    make_jpeg(304, 312, progressive=True, exif=True),
    make_jpeg(300, 301, restart_interval=7),
    pillow_jpeg(300, 300, quality=5),
    pillow_jpeg(304, 300, mode="L", progressive=True, quality=10),
    pillow_jpeg(300, 300, mode="CMYK", progressive=True, quality=5),
    insert_after_soi(pillow_jpeg(300, 302, quality=5, subsampling=1), exif_app1(valid_exif_tiff())) + mp4_file(200),
]
# Most flips land in the headers (the first few hundred bytes), where a flip changes the
# structure; the rest anywhere in the file.
_offsets = st.one_of(st.integers(min_value=0, max_value=700), st.integers(min_value=0, max_value=20_000))


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.sampled_from(_SEEDS),
    cut=st.integers(min_value=0, max_value=20_000),
    flips=st.lists(st.tuples(_offsets, st.integers(0, 255)), max_size=8),
    tail=st.binary(max_size=64),
)
def test_damaged_real_images_are_photos_only_where_a_decoder_agrees(
    seed: bytes, cut: int, flips: list[tuple[int, int]], tail: bytes
) -> None:
    # Given a real image, cut short, with some bytes overwritten and some appended
    data = bytearray(seed[: cut % (len(seed) + 1)])
    for index, value in flips:
        if data:
            data[index % len(data)] = value
    damaged = bytes(data) + tail
    # Then inspecting it never raises, and where the verdict says it is a photo (accepted
    # or too small), Pillow decodes it fully to that size
    assert_claims_are_decodable(damaged)


@settings(max_examples=200, deadline=None)
@given(prefix=st.sampled_from([b"\x89PNG\r\n\x1a\n", b"\xff\xd8", b"\xff\xd8\xff"]), rest=st.binary(max_size=2048))
def test_random_bytes_behind_a_real_signature_never_raise(prefix: bytes, rest: bytes) -> None:
    assert_claims_are_decodable(prefix + rest)


def test_the_generated_images_are_read_the_same_by_a_real_decoder() -> None:
    # The byte-by-byte builders make what a real decoder reads, at the size asked for
    cases = [
        make_png(1000, 800),
        make_jpeg(1000, 800),
        make_jpeg(640, 480, progressive=True),
        make_jpeg(640, 480, exif=True),
        make_jpeg(640, 480, restart_interval=5),
        make_jpeg(200, 200, exif=True),
        *_SEEDS,
    ]
    for data in cases:
        verdict = assert_agrees_with_pillow(data)
        assert verdict.reason in (None, "too-small")


# --- object keys ---------------------------------------------------------------------------


def test_a_photo_key_names_the_registration_and_the_upload() -> None:
    key = photo_object_key("3f2a9c1b0d4e5f60718293a4b5c6d7e8", "u_1-2")
    assert key == "uploads/3f2a9c1b0d4e5f60718293a4b5c6d7e8/u_1-2"
    assert parse_photo_key(key) == ("3f2a9c1b0d4e5f60718293a4b5c6d7e8", "u_1-2")


@pytest.mark.parametrize(("registration_id", "upload_id"), [("", "x"), ("a/b", "x"), ("a", "x y"), ("a", "..")])
def test_a_photo_key_cannot_be_built_from_odd_ids(registration_id: str, upload_id: str) -> None:
    with pytest.raises(ValueError):
        photo_object_key(registration_id, upload_id)


@pytest.mark.parametrize(
    "key",
    [
        "",
        "uploads/abc",
        "uploads/abc/",
        "uploads//def",
        "uploads/abc/def/ghi",
        "/uploads/abc/def",
        "other/abc/def",
        "Uploads/abc/def",
        "uploads/abc/../def",
        "uploads/a%2Fb/def",
        "uploads/abc/de%20f",
        "uploads/abc/de+f",
        "uploads/abc/de f",
        "uploads/abc/def\n",
        "uploads/abc/d\u00e9f",
        "uploads/abc/d\ufffdf",
        "uploads/abc/def.jpg",
        "uploads/" + "a" * 65 + "/def",
    ],
)
def test_any_other_key_is_not_a_photo_key(key: str) -> None:
    assert parse_photo_key(key) is None


def test_s3_event_keys_are_url_decoded_once() -> None:
    assert decode_s3_event_key("uploads/abc/def") == "uploads/abc/def"
    assert decode_s3_event_key("uploads/abc/a+b") == "uploads/abc/a b"
    assert decode_s3_event_key("uploads/abc/a%2Bb") == "uploads/abc/a+b"
    assert decode_s3_event_key("uploads/abc/%2541") == "uploads/abc/%41"  # only once
    # Invalid UTF-8 does not raise; the result is simply not a photo key
    assert parse_photo_key(decode_s3_event_key("uploads/abc/%FF")) is None


@given(st.text(max_size=200))
def test_decoding_any_event_key_never_raises(raw: str) -> None:
    key = decode_s3_event_key(raw)
    parsed = parse_photo_key(key)
    if parsed is not None:
        assert photo_object_key(*parsed) == key
