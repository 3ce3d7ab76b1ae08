"""Small, valid media files for the local API emulator to serve as generated artifacts.

Everything is built from the standard library and is deterministic: the same arguments
always give the same bytes, so tests can compare downloads byte for byte.
"""

from __future__ import annotations

import math
import struct
import zlib
from xml.sax.saxutils import escape

__all__ = ["MEDIA_TYPES", "mask", "mp3", "mp4", "mp4_info", "png", "png_size", "sniff", "svg"]

# kind -> (file extension, Content-Type header)
MEDIA_TYPES: dict[str, tuple[str, str]] = {
    "png": (".png", "image/png"),
    "svg": (".svg", "image/svg+xml"),
    "mp3": (".mp3", "audio/mpeg"),
    "mp4": (".mp4", "video/mp4"),
}

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    # The CRC covers the chunk type and data, not the length.
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width: int = 64, height: int = 64, *, seed: int = 0, texture: bool = True) -> bytes:
    """An 8-bit RGB PNG whose gradient pattern depends on `seed`. Without `texture` the blue
    channel is flat: a large image then compresses to a few kilobytes, fast."""
    _check_size(width, height)
    r0, g0, b0 = seed * 37 % 256, seed * 73 % 256, seed * 151 % 256
    reds = bytes((r0 + x * 255 // width) & 0xFF for x in range(width))
    if not texture:
        return _flat_png(width, height, reds, g0, b0)
    # The blue channel depends on (x ^ y) mod 256 only: at most 256 distinct rows, built once.
    blues: dict[int, bytes] = {}
    rows = bytearray()
    row = bytearray(3 * width)
    row[0::3] = reds
    for y in range(height):
        key = y & 0xFF
        if key not in blues:
            blues[key] = bytes((b0 + (x ^ y)) & 0xFF for x in range(width))
        row[1::3] = bytes(((g0 + y * 255 // height) & 0xFF,)) * width
        row[2::3] = blues[key]
        rows.append(0)  # filter type 0 (None): the row is stored as-is
        rows += row
    # bit depth 8, colour type 2 (truecolour), default compression/filter, no interlace
    return _png_file(width, height, 2, bytes(rows), level=9)


def _flat_png(width: int, height: int, reds: bytes, g0: int, b0: int) -> bytes:
    """`png(texture=False)`: red by column, green by row, blue flat, every row stored with the
    PNG "Sub" filter (each byte minus the one a pixel before), under which all rows but their
    first pixel are the same bytes: a large image compresses fast, to a few kilobytes."""
    # The red steps from pixel to pixel; green and blue do not change along a row.
    steps = bytes((reds[x] - reds[x - 1]) & 0xFF for x in range(1, width))
    tail = bytearray(3 * (width - 1))
    tail[0::3] = steps
    rows = bytearray()
    for y in range(height):
        rows.append(1)  # filter type 1 (Sub)
        rows += bytes((reds[0], (g0 + y * 255 // height) & 0xFF, b0))
        rows += tail
    return _png_file(width, height, 2, bytes(rows), level=1)


def mask(width: int = 64, height: int = 64, *, seed: int = 0) -> bytes:
    """A black-and-white 8-bit greyscale PNG: only 0 and 255, a white box on black whose
    place depends on `seed` (what a segmentation mask looks like to a client)."""
    _check_size(width, height)
    left = width // 8 + seed % max(1, width // 4)
    top = height // 8 + seed // 7 % max(1, height // 4)
    right, bottom = min(width, left + width // 2), min(height, top + height // 2)
    black = b"\x00" + bytes(width)
    box = b"\x00" + bytes(left) + b"\xff" * (right - left) + bytes(width - right)
    rows = black * top + box * (bottom - top) + black * (height - bottom)
    return _png_file(width, height, 0, rows, level=1)


def _check_size(width: int, height: int) -> None:
    if width < 1 or height < 1:
        raise ValueError(f"PNG size must be positive, got {width}x{height}")


def _png_file(width: int, height: int, colour_type: int, rows: bytes, level: int = 9) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return (
        _PNG_SIGNATURE
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(rows, level))
        + _png_chunk(b"IEND", b"")
    )


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk."""
    if not data.startswith(_PNG_SIGNATURE) or data[12:16] != b"IHDR":
        raise ValueError("not a PNG file")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def svg(*, title: str = "mediagen emulator", seed: int = 0) -> bytes:
    """A 64x64 SVG image with an escaped `<title>` and colours derived from `seed`."""
    background = f"#{seed * 2654435761 % 0x1000000:06x}"
    accent = f"#{(seed + 1) * 40503 % 0x1000000:06x}"
    radius = 8 + seed % 24
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64">'
        f"<title>{escape(title)}</title>"
        f'<rect width="64" height="64" fill="{background}"/>'
        f'<circle cx="32" cy="32" r="{radius}" fill="{accent}"/>'
        "</svg>\n"
    ).encode()


# MPEG-1 Layer III, 128 kbit/s, 44100 Hz, no CRC, no padding, mono.
_MP3_HEADER = bytes((0xFF, 0xFB, 0x90, 0xC0))
_MP3_BITRATE = 128_000
_MP3_SAMPLE_RATE = 44_100
_MP3_SAMPLES_PER_FRAME = 1152
_MP3_FRAME_LENGTH = 144 * _MP3_BITRATE // _MP3_SAMPLE_RATE  # 417 bytes, padding bit 0


def mp3(seconds: float = 1.0) -> bytes:
    """An MP3 stream of silence lasting at least `seconds` (always at least one frame).

    All-zero side info means every granule has no Huffman data, which decoders play as silence.
    """
    if seconds < 0:
        raise ValueError(f"duration must not be negative, got {seconds}")
    frames = max(1, math.ceil(seconds * _MP3_SAMPLE_RATE / _MP3_SAMPLES_PER_FRAME))
    frame = _MP3_HEADER + bytes(_MP3_FRAME_LENGTH - len(_MP3_HEADER))
    return frame * frames


def _box(kind: bytes, *payload: bytes) -> bytes:
    body = b"".join(payload)
    return struct.pack(">I", 8 + len(body)) + kind + body


def _full_box(kind: bytes, version: int, flags: int, *payload: bytes) -> bytes:
    return _box(kind, struct.pack(">I", version << 24 | flags), *payload)


# The identity transform, in 16.16 fixed point except the 2.30 third column.
_MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)


def mp4(*, seconds: float = 1, width: int = 64, height: int = 64) -> bytes:
    """A structurally valid MP4 (ISO BMFF) with one video track and no playable frames: its
    movie, track and media headers say `seconds` (to the millisecond) and `width` x `height`.

    Every box size is right and the sample tables are present but empty (`stsd` has no
    entries and `mdat` is empty): box parsers and probes walk it cleanly, players show nothing.
    """
    if not seconds >= 0:
        raise ValueError(f"duration must not be negative, got {seconds}")
    if not (0 < width < 1 << 16 and 0 < height < 1 << 16):
        raise ValueError(f"video size must be 1..65535 pixels a side, got {width}x{height}")
    timescale, duration = 1000, round(seconds * 1000)
    # Creation/modification times are 0 so the output stays deterministic.
    mvhd = _full_box(
        b"mvhd", 0, 0,
        struct.pack(">IIII", 0, 0, timescale, duration),
        struct.pack(">IH10x", 0x00010000, 0x0100),  # rate 1.0, volume 1.0, reserved
        _MATRIX,
        bytes(24),  # pre_defined
        struct.pack(">I", 2),  # next_track_ID
    )  # fmt: skip
    tkhd = _full_box(
        b"tkhd", 0, 3,  # enabled | in movie
        struct.pack(">IIIII", 0, 0, 1, 0, duration),  # times, track_ID 1, reserved
        struct.pack(">8xhhH2x", 0, 0, 0),  # layer, alternate group, volume 0 (video)
        _MATRIX,
        struct.pack(">II", width << 16, height << 16),  # width, height in 16.16
    )  # fmt: skip
    # Language 'und' packed as three 5-bit letters offset from 0x60.
    mdhd = _full_box(b"mdhd", 0, 0, struct.pack(">IIIIHH", 0, 0, timescale, duration, 0x55C4, 0))
    hdlr = _full_box(b"hdlr", 0, 0, struct.pack(">I4s12x", 0, b"vide"), b"VideoHandler\x00")
    vmhd = _full_box(b"vmhd", 0, 1, bytes(8))  # graphicsmode copy, opcolor 0
    # One 'url ' entry with flag 1: the media data is in this same file.
    dinf = _box(b"dinf", _full_box(b"dref", 0, 0, struct.pack(">I", 1), _full_box(b"url ", 0, 1)))
    stbl = _box(
        b"stbl",
        _full_box(b"stsd", 0, 0, struct.pack(">I", 0)),
        _full_box(b"stts", 0, 0, struct.pack(">I", 0)),
        _full_box(b"stsc", 0, 0, struct.pack(">I", 0)),
        _full_box(b"stsz", 0, 0, struct.pack(">II", 0, 0)),  # sample_size, sample_count
        _full_box(b"stco", 0, 0, struct.pack(">I", 0)),
    )
    trak = _box(b"trak", tkhd, _box(b"mdia", mdhd, hdlr, _box(b"minf", vmhd, dinf, stbl)))
    ftyp = _box(b"ftyp", b"isom", struct.pack(">I", 0x200), b"isom", b"iso2", b"mp41")
    return ftyp + _box(b"moov", mvhd, trak) + _box(b"mdat")


def mp4_info(data: bytes) -> tuple[float, int, int]:
    """(seconds, width, height) that an MP4's `mvhd` and first `tkhd` boxes state."""
    mvhd, tkhd = data.find(b"mvhd"), data.find(b"tkhd")
    if mvhd < 0 or tkhd < 0:
        raise ValueError("not an MP4 file with a movie and a track header")
    timescale, duration = struct.unpack(">II", data[mvhd + 16 : mvhd + 24])
    # tkhd (version 0): 4 bytes version/flags, 20 of times/ids/duration, 52 more, then the size.
    width, height = struct.unpack(">II", data[tkhd + 80 : tkhd + 88])
    return duration / timescale, width >> 16, height >> 16


def sniff(data: bytes) -> str | None:
    """The kind of media in `data` ("png", "svg", "mp3" or "mp4") from its magic bytes."""
    if data.startswith(_PNG_SIGNATURE):
        return "png"
    if data[4:8] == b"ftyp":
        return "mp4"
    # An ID3v2 tag, or an MPEG audio frame sync: eleven set bits.
    if data.startswith(b"ID3") or (len(data) >= 2 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return "mp3"
    text = data.removeprefix(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"<svg") or (text.startswith(b"<?xml") and b"<svg" in text[:1024]):
        return "svg"
    return None
