"""Emulated artifacts match the request (image size or aspect ratio, video duration and frame
size, black-and-white masks), and their origin is configurable for testing a download step."""

from __future__ import annotations

import asyncio
import socket
import struct
import zlib
from pathlib import Path
from typing import Any

import aiohttp
import pytest

import mediagen
from mediagen.cli import main
from mediagen.errors import UnsafeDownloadError
from mediagen.testing import Emulator
from mediagen.testing.artifact_specs import image_size, seconds, video_size
from mediagen.testing.artifacts import mask, mp4, mp4_info, png, png_size


async def fetch(url: str) -> bytes:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200, url
        return await response.read()


async def first_file(emu: Emulator, op: str, **params: Any) -> bytes:
    async with mediagen.AsyncClient(**emu.client_options()) as client:
        provider, name = op.split(".")
        handle = await getattr(getattr(client, provider), name)(**params)
        result = await handle.wait(timeout=30)
        # A file off the base URL's origin is skipped by mediagen's client, not fetched.
        urls = [a.url for a in result.artifacts] or list(result.skipped_urls)
        return await fetch(urls[0])


def emulated(op: str, **params: Any) -> bytes:
    async def go() -> bytes:
        async with Emulator(duration=0.05) as emu:
            return await first_file(emu, op, **params)

    return asyncio.run(go())


def test_image_has_the_requested_width_and_height() -> None:
    data = emulated(
        "tomoviee.image_to_image",
        prompt="x",
        reference_image="https://example.com/a.png",
        control_type="0",
        width=640,
        height=1024,
        batch_size=1,
        control_intensity=0.5,
    )
    assert png_size(data) == (640, 1024)


def test_image_has_the_requested_aspect_ratio() -> None:
    assert png_size(emulated("mediaio.imagen_4", prompt="x", ratio="16:9")) == (256, 144)
    assert image_size({"aspect_ratio": "9:16"}) == (144, 256)
    assert image_size({}) is None


def test_video_container_states_the_requested_duration_and_size() -> None:
    data = emulated(
        "tomoviee.text_to_video", prompt="x", resolution="1080p", aspect_ratio="9:16", duration=5
    )
    assert mp4_info(data) == (5.0, 1080, 1920)
    assert seconds({"duration": "10s"}) == 10.0 and seconds({}) == 1.0
    assert video_size({"resolution": "720P"}) == (1280, 720)


def test_mediaio_answer_states_the_sizes_its_files_have() -> None:
    """Media.io's result names each file's size and duration: they are the files' own."""

    async def go() -> tuple[Any, Any]:
        async with (
            Emulator(duration=0.05) as emu,
            mediagen.AsyncClient(**emu.client_options()) as client,
        ):
            image = await (await client.mediaio.imagen_4(prompt="x", ratio="16:9")).wait()
            video = await (
                await client.mediaio.wan_2_6(
                    prompt="x", image="https://example.com/a.png", duration="10s"
                )
            ).wait()
            assert png_size(await fetch(image.artifacts[0].url)) == (256, 144)
            return image.raw, (video.raw, mp4_info(await fetch(video.artifacts[0].url)))

    image_raw, (video_raw, (secs, width, height)) = asyncio.run(go())
    assert [(i["width"], i["height"]) for i in image_raw["result"]["images"]] == [(256, 144)]
    (video,) = video_raw["result"]["videos"]
    assert (video["duration"], video["width"], video["height"]) == (secs, width, height)
    assert secs == 10.0


def _grey_pixels(data: bytes) -> tuple[int, set[int]]:
    """(colour type, the set of pixel values) of an 8-bit PNG without filtering."""
    width, height = png_size(data)
    colour_type = data[25]
    pos, idat = 8, b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        if data[pos + 4 : pos + 8] == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width + 1
    return colour_type, {
        b for row in range(height) for b in raw[row * stride + 1 : (row + 1) * stride]
    }


def test_mask_is_black_and_white() -> None:
    data = emulated("tomoviee.image_recognition", image="https://example.com/a.png")
    assert _grey_pixels(data) == (0, {0, 255})
    assert _grey_pixels(mask(33, 17, seed=9)) == (0, {0, 255})


def test_artifact_generators_keep_their_defaults() -> None:
    assert png_size(png()) == (64, 64) and mp4_info(mp4()) == (1.0, 64, 64)
    assert png(300, 200, texture=False) == png(300, 200, texture=False)
    assert mp4_info(mp4(seconds=2.5, width=1280, height=720)) == (2.5, 1280, 720)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_artifact_origin_on_another_loopback_port(tmp_path: Path) -> None:
    """Files are served on the origin; mediagen's own downloader takes only the base URL's
    origin (or the vendor's trusted https hosts), so it refuses these: a download step's
    refusal can be tested, and with the default origin its success."""
    origin = f"http://127.0.0.1:{_free_port()}"

    async def go() -> None:
        async with (
            Emulator(duration=0.05, artifact_origin=origin) as emu,
            mediagen.AsyncClient(**emu.client_options()) as client,
        ):
            result = await client.edrawmax.flowchart(prompt="x")
            url = result.artifacts[0].url
            assert url.startswith(f"{origin}/_files/")
            assert (await fetch(url)).startswith(b"\x89PNG")
            with pytest.raises(UnsafeDownloadError):
                await client.download(result, tmp_path)

    asyncio.run(go())


def test_artifact_origin_by_name_takes_the_emulators_port() -> None:
    async def go() -> None:
        async with Emulator(duration=0.05, artifact_origin="http://localhost") as emu:
            assert emu.files_origin == f"http://localhost:{emu.port}"
            data = await first_file(emu, "mediaio.imagen_4", prompt="x")
            assert data.startswith(b"\x89PNG")

    asyncio.run(go())


@pytest.mark.parametrize(
    "origin", ["https://cdn.example.com", "http://192.0.2.1:80", "http://localhost/files"]
)
def test_an_artifact_origin_off_loopback_is_refused(origin: str) -> None:
    with pytest.raises(ValueError, match="allowed: http://HOST"):
        Emulator(artifact_origin=origin)


def test_the_cli_refuses_an_artifact_origin_off_loopback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    origin = "https://cdn.example.com"
    assert main(["emulate", "--port", "0", "--artifact-origin", origin]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"mediagen: error: --artifact-origin: artifact origin {origin!r}")
