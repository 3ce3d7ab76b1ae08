"""The bytes of an emulated artifact, shaped by the request: an image of the requested width
and height (or aspect ratio), a black-and-white mask, a video whose container states the
requested duration and frame size."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from . import artifacts

RATIO_LONG_SIDE = 256
"""Pixels on the long side of an image asked for by aspect ratio alone."""
MAX_SIDE = 4096
"""The largest image side the emulator draws (a request for more gets this)."""

_RATIO = re.compile(r"^\s*(\d{1,3})\s*:\s*(\d{1,3})\s*$")
_LINES = re.compile(r"^\s*(\d{3,4})\s*[pP]\s*$")
_SECONDS = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*s?\s*$")


def file_bytes(kind: str, output: str, params: Mapping[str, Any], seed: int, title: str) -> bytes:
    """One file of kind png/svg/mp3/mp4 for an operation producing `output`."""
    if kind == "png" and output in ("image", "mask"):
        size = image_size(params)
        if output == "mask":
            return artifacts.mask(*(size or (64, 64)), seed=seed)
        return artifacts.png(*size, seed=seed, texture=False) if size else artifacts.png(seed=seed)
    if kind == "png":
        return artifacts.png(seed=seed)
    if kind == "svg":
        return artifacts.svg(title=title, seed=seed)
    if kind == "mp3":
        return artifacts.mp3(1.0)
    width, height = video_size(params)
    return artifacts.mp4(seconds=seconds(params), width=width, height=height)


def image_size(params: Mapping[str, Any]) -> tuple[int, int] | None:
    """width x height when both are asked for, else a size of the asked aspect ratio."""
    width, height = params.get("width"), params.get("height")
    if isinstance(width, int) and isinstance(height, int) and _whole(width) and _whole(height):
        return min(width, MAX_SIDE), min(height, MAX_SIDE)
    found = ratio(params)
    if found is None:
        return None
    w, h = found
    if w >= h:
        return RATIO_LONG_SIDE, max(1, round(RATIO_LONG_SIDE * h / w))
    return max(1, round(RATIO_LONG_SIDE * w / h)), RATIO_LONG_SIDE


def ratio(params: Mapping[str, Any]) -> tuple[int, int] | None:
    for key in ("aspect_ratio", "ratio", "size"):
        m = _RATIO.match(str(params.get(key, "")))
        if m and int(m.group(1)) and int(m.group(2)):
            return int(m.group(1)), int(m.group(2))
    return None


def video_size(params: Mapping[str, Any]) -> tuple[int, int]:
    """The frame size a resolution such as "720p" and an aspect ratio give (16:9 when none
    is asked): the resolution is the short side. 64x64 when no resolution is asked."""
    m = _LINES.match(str(params.get("resolution", "")))
    if not m:
        return 64, 64
    short = int(m.group(1))
    w, h = ratio(params) or (16, 9)
    if w >= h:
        return round(short * w / h), short
    return short, round(short * h / w)


def seconds(params: Mapping[str, Any]) -> float:
    """The duration asked for: 5, 5.0, "5" or "5s"; 1 second when none is."""
    value = params.get("duration")
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value <= 3600:
        return float(value)
    m = _SECONDS.match(value) if isinstance(value, str) else None
    return float(m.group(1)) if m and 0 < float(m.group(1)) <= 3600 else 1.0


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1
