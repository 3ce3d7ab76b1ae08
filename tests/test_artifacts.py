"""The emulator's artifact files, checked by parsing them the way a real reader would."""

from __future__ import annotations

import math
import struct
import zlib
from xml.etree import ElementTree

import pytest

from mediagen.testing.artifacts import MEDIA_TYPES, mp3, mp4, png, sniff, svg

# --- PNG ---------------------------------------------------------------------------------------


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """Every (type, data) chunk, after checking the signature and each chunk's CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack_from(">I", data, pos)
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack_from(">I", data, pos + 8 + length)
        assert crc == zlib.crc32(kind + body), kind
        chunks.append((kind, body))
        pos += 12 + length
    assert pos == len(data)
    return chunks


@pytest.mark.parametrize(("width", "height"), [(64, 64), (1, 1), (17, 5)])
def test_png_is_valid(width: int, height: int) -> None:
    chunks = png_chunks(png(width, height))
    kinds = [kind for kind, _ in chunks]
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND" and b"IDAT" in kinds
    ihdr = chunks[0][1]
    assert struct.unpack(">IIBBBBB", ihdr) == (width, height, 8, 2, 0, 0, 0)
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    stride = 1 + 3 * width
    assert len(raw) == height * stride
    assert all(raw[row * stride] == 0 for row in range(height))  # filter byte 0 on every row


def png_pixels(data: bytes) -> list[bytes]:
    """Each row's RGB bytes, undoing the row filters png() uses: None (0) and Sub (1)."""
    chunks = png_chunks(data)
    width, height = struct.unpack(">II", chunks[0][1][:8])
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    stride, rows = 1 + 3 * width, []
    for y in range(height):
        kind, row = raw[y * stride], bytearray(raw[y * stride + 1 : (y + 1) * stride])
        assert kind in (0, 1), kind
        if kind == 1:  # Sub: each byte was stored minus the one a pixel (3 bytes) before it
            for i in range(3, len(row)):
                row[i] = (row[i] + row[i - 3]) & 0xFF
        rows.append(bytes(row))
    return rows


@pytest.mark.parametrize(("width", "height", "seed"), [(256, 144, 7), (1, 1, 0), (300, 200, 1)])
def test_a_flat_png_has_red_by_column_green_by_row_and_flat_blue(
    width: int, height: int, seed: int
) -> None:
    """texture=False (large emulated images) is stored Sub-filtered, to compress fast: its
    pixels are still the gradient that the unfiltered encoding stores."""
    r0, g0, b0 = seed * 37 % 256, seed * 73 % 256, seed * 151 % 256
    expected = [
        bytes(
            v
            for x in range(width)
            for v in ((r0 + x * 255 // width) & 0xFF, (g0 + y * 255 // height) & 0xFF, b0)
        )
        for y in range(height)
    ]
    assert png_pixels(png(width, height, seed=seed, texture=False)) == expected


def test_a_large_flat_png_is_a_few_kilobytes() -> None:
    """What the emulator serves for a large requested size stays small (3 MB of pixels)."""
    assert len(png(1024, 1024, texture=False)) < 64 * 1024


def test_png_rejects_empty_size() -> None:
    with pytest.raises(ValueError):
        png(0, 10)


# --- SVG ---------------------------------------------------------------------------------------


def test_svg_parses() -> None:
    root = ElementTree.fromstring(svg())
    assert root.tag.endswith("svg")


def test_svg_escapes_title() -> None:
    title = 'cats & dogs <"quoted">'
    root = ElementTree.fromstring(svg(title=title))
    (element,) = (child for child in root if child.tag.endswith("title"))
    assert element.text == title


# --- MP3 ---------------------------------------------------------------------------------------

MP3_BITRATES = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320]  # kbit/s
MP3_SAMPLE_RATES = [44100, 48000, 32000]


def mp3_frames(data: bytes) -> list[int]:
    """The length of every MPEG-1 Layer III frame, after any ID3v2 tag; frames must fill the rest."""
    pos = 0
    if data[:3] == b"ID3":
        size = data[6:10]  # syncsafe: 7 bits per byte
        pos = 10 + (size[0] << 21 | size[1] << 14 | size[2] << 7 | size[3])
    lengths = []
    while pos < len(data):
        header = int.from_bytes(data[pos : pos + 4], "big")
        assert header >> 21 == 0x7FF, f"no frame sync at {pos}"
        assert (header >> 19) & 3 == 3 and (header >> 17) & 3 == 1  # MPEG-1, Layer III
        bitrate = MP3_BITRATES[(header >> 12) & 0xF] * 1000
        sample_rate = MP3_SAMPLE_RATES[(header >> 10) & 3]
        padding = (header >> 9) & 1
        length = 144 * bitrate // sample_rate + padding
        assert length > 4
        lengths.append(length)
        pos += length
    assert pos == len(data)
    return lengths


@pytest.mark.parametrize("seconds", [1.0, 0.5, 2.25, 0.0])
def test_mp3_frames(seconds: float) -> None:
    data = mp3(seconds)
    lengths = mp3_frames(data)
    assert len(lengths) == max(1, math.ceil(seconds * 44100 / 1152))
    assert set(lengths) == {144 * 128_000 // 44_100}
    assert len(data) == len(lengths) * lengths[0]


# --- MP4 ---------------------------------------------------------------------------------------

CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"dinf", b"stbl"}


def mp4_boxes(data: bytes, start: int, end: int) -> dict[bytes, bytes]:
    """All boxes between start and end, recursing into containers, by type -> payload."""
    found: dict[bytes, bytes] = {}
    pos = start
    while pos < end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        assert size >= 8 and pos + size <= end, kind
        found[kind] = data[pos + 8 : pos + size]
        if kind in CONTAINERS:
            found.update(mp4_boxes(data, pos + 8, pos + size))  # children fill it exactly
        pos += size
    assert pos == end
    return found


@pytest.mark.parametrize("seconds", [1, 5, 0])
def test_mp4_box_tree(seconds: int) -> None:
    data = mp4(seconds=seconds)
    boxes = mp4_boxes(data, 0, len(data))
    assert {b"ftyp", b"moov", b"mdat", b"mvhd", b"tkhd", b"mdhd", b"hdlr", b"vmhd"} <= set(boxes)
    assert {b"dref", b"stsd", b"stts", b"stsc", b"stsz", b"stco"} <= set(boxes)
    assert boxes[b"ftyp"] == b"isom" + struct.pack(">I", 0x200) + b"isomiso2mp41"
    version, timescale, duration = struct.unpack_from(">B11xII", boxes[b"mvhd"])
    assert (version, timescale, duration) == (0, 1000, seconds * 1000)
    assert struct.unpack_from(">I", boxes[b"mvhd"], 96)[0] == 2  # next_track_ID
    assert boxes[b"hdlr"][8:12] == b"vide"
    assert struct.unpack_from(">II", boxes[b"tkhd"], 76) == (64 << 16, 64 << 16)


# --- sniff and shared properties ---------------------------------------------------------------


def test_sniff_recognises_each_kind() -> None:
    assert sniff(png()) == "png"
    assert sniff(svg()) == "svg"
    assert sniff(b"<svg xmlns='http://www.w3.org/2000/svg'/>") == "svg"
    assert sniff(mp3()) == "mp3"
    assert sniff(b"ID3\x04\x00\x00\x00\x00\x00\x00") == "mp3"
    assert sniff(mp4()) == "mp4"
    assert sniff(b"hello") is None
    assert sniff(b"") is None
    assert sniff(b"<?xml version='1.0'?><html/>") is None


def test_media_types_cover_every_generator() -> None:
    assert MEDIA_TYPES == {
        "png": (".png", "image/png"),
        "svg": (".svg", "image/svg+xml"),
        "mp3": (".mp3", "audio/mpeg"),
        "mp4": (".mp4", "video/mp4"),
    }
    samples = {"png": png(), "svg": svg(), "mp3": mp3(), "mp4": mp4()}
    assert {kind: sniff(data) for kind, data in samples.items()} == {k: k for k in MEDIA_TYPES}


def test_deterministic() -> None:
    assert png(seed=3) == png(seed=3)
    assert svg(seed=3) == svg(seed=3)
    assert mp3(1.5) == mp3(1.5)
    assert mp4(seconds=2) == mp4(seconds=2)
    assert png(seed=0) != png(seed=1)
    assert svg(seed=0) != svg(seed=1)
