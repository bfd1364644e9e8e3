"""PNG structure: is this a complete PNG a decoder reads, and how big is it (stdlib only).

`prakerja.domain.photo` asks `png_size` for the dimensions of bytes that start with
`PNG_SIGNATURE`; None means "not a decodable PNG". Never raises for bytes that carry the
signature: every read is bounds-checked and every step consumes input.
"""

from __future__ import annotations

import struct
import zlib

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_MAX_DIMENSION = 2**31 - 1
# colour type -> allowed bit depths (PNG spec, table 11.1)
_PNG_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}


def png_size(data: bytes) -> tuple[int, int] | None:
    """Walk the chunks: IHDR first (valid), PLTE when paletted, IDATs in one run, IEND.

    Every chunk's CRC is checked: a CRC error is a damaged file (libpng refuses one in a
    critical chunk, Pillow in any chunk before the image data). Ancillary chunks
    (lower-case first letter: tEXt, iTXt, zTXt, eXIf, pHYs, iCCP, private ones) are
    otherwise only framed, never interpreted. Bytes after IEND are ignored, as decoders
    ignore them. Work is linear: each step consumes >= 12 bytes.
    """
    end = len(data)
    pos = len(PNG_SIGNATURE)
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
