"""What happens to an uploaded photo: accepted, or rejected with the contract's reason.

Images are real files built by tests/imagegen.py (stdlib only); when Pillow happens to be
importable, one test confirms a real decoder reads them the same way.
"""

from __future__ import annotations

import io
import struct
import time
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prakerja.domain.photo import (
    ALLOWED_CONTENT_TYPES,
    MAX_PHOTO_BYTES,
    PRESIGN_EXPIRES_S,
    PhotoVerdict,
    decode_s3_event_key,
    inspect_image,
    parse_photo_key,
    photo_object_key,
)
from tests.imagegen import (
    WEBP_400X400,
    insert_png_chunk,
    make_gif,
    make_jpeg,
    make_png,
    pad_png_to,
    png_chunk,
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


def test_the_contract_constants() -> None:
    assert ALLOWED_CONTENT_TYPES == ("image/jpeg", "image/png")
    assert MAX_PHOTO_BYTES == 2 * 1024 * 1024
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
    # Given a JPEG with 0xFF fill bytes and a TEM marker before its quantisation table
    data = make_jpeg(400, 400)
    dqt = data.index(b"\xff\xdb")
    data = data[:dqt] + b"\xff\x01" + b"\xff\xff\xff" + data[dqt:]
    # Then it is still read as a 400x400 JPEG
    assert inspect_image(data, JPEG) == PhotoVerdict(True, None, JPEG, 400, 400)


def test_a_png_with_ancillary_chunks_is_accepted() -> None:
    data = insert_png_chunk(make_png(640, 480), b"tEXt", b"Comment\x00holiday")
    assert inspect_image(data, PNG).accepted


@pytest.mark.parametrize("declared", ["IMAGE/PNG", " image/png ", "image/png; charset=binary"])
def test_the_declared_type_is_compared_without_case_or_parameters(declared: str) -> None:
    assert inspect_image(make_png(300, 300), declared).accepted


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


@pytest.mark.parametrize(
    "data",
    [make_png(400, 400) + HTML, make_jpeg(400, 400) + HTML, make_jpeg(400, 400) + b"\x00"],
    ids=["png-then-html", "jpeg-then-html", "jpeg-then-a-zero"],
)
def test_bytes_after_the_end_of_the_image_make_it_not_an_image(data: bytes) -> None:
    # Given an image with something appended (e.g. a PNG/HTML polyglot)
    # Then it is refused: the file must end where the image ends
    assert inspect_image(data, PNG if data.startswith(b"\x89") else JPEG).reason == "not-an-image"


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
        b"\xff\xd8" + b"\xff\x01" * 1_000_000,  # a million TEM markers
        b"\xff\xd8\xff\xc0\x00\x11\x08\x01\x90\x01\x90\x03\x01\x11\x00\x02\x11\x00\x03\x11\x00"
        b"\xff\xda\x00\x0c\x03\x01\x00\x02\x00\x03\x00\x00\x3f\x00" + b"\xff\x00" * 1_000_000,
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 400, 400, 8, 2, 0, 0, 0))
        + png_chunk(b"tEXt", b"") * 170_000,  # many tiny chunks, no IEND
        b"\x89PNG\r\n\x1a\n" + b"\x7f\xff\xff\xffIDAT",  # a 2 GiB chunk claimed
    ],
    ids=["fill-bytes", "many-comments", "many-tem", "stuffed-scan", "many-png-chunks", "huge-chunk"],
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


_SEEDS = [make_png(300, 300), make_jpeg(300, 300), make_jpeg(304, 312, progressive=True, exif=True)]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.sampled_from(_SEEDS),
    cut=st.integers(min_value=0, max_value=20_000),
    flips=st.lists(st.tuples(st.integers(min_value=0, max_value=20_000), st.integers(0, 255)), max_size=8),
    tail=st.binary(max_size=64),
)
def test_damaged_real_images_never_raise(seed: bytes, cut: int, flips: list[tuple[int, int]], tail: bytes) -> None:
    # Given a real image, cut short, with some bytes overwritten and some appended
    data = bytearray(seed[: cut % (len(seed) + 1)])
    for index, value in flips:
        if data:
            data[index % len(data)] = value
    damaged = bytes(data) + tail
    # Then inspecting it never raises and returns a coherent verdict
    for declared in (PNG, JPEG):
        assert_valid_verdict(inspect_image(damaged, declared), declared)


@settings(max_examples=200, deadline=None)
@given(prefix=st.sampled_from([b"\x89PNG\r\n\x1a\n", b"\xff\xd8", b"\xff\xd8\xff"]), rest=st.binary(max_size=2048))
def test_random_bytes_behind_a_real_signature_never_raise(prefix: bytes, rest: bytes) -> None:
    for declared in (PNG, JPEG):
        assert_valid_verdict(inspect_image(prefix + rest, declared), declared)


# --- cross-check with a real decoder (only where Pillow is installed) ----------------------


def test_the_generated_images_are_read_the_same_by_a_real_decoder() -> None:
    pil_image = pytest.importorskip("PIL.Image")
    cases = [
        (make_png(1000, 800), "PNG"),
        (make_jpeg(1000, 800), "JPEG"),
        (make_jpeg(640, 480, progressive=True), "JPEG"),
        (make_jpeg(640, 480, exif=True), "JPEG"),
        (make_jpeg(640, 480, restart_interval=5), "JPEG"),
    ]
    for data, fmt in cases:
        with pil_image.open(io.BytesIO(data)) as image:
            image.load()
            ours = inspect_image(data, f"image/{fmt.lower()}")
            assert (image.format, image.size) == (fmt, (ours.width, ours.height))


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
