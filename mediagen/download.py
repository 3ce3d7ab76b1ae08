"""Saving artifacts: allowed hosts only, streamed, size-capped, atomic, never clobbering."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

from .catalog import Provider
from .defaults import MAX_DOWNLOAD_BYTES
from .errors import CallError, DownloadError, UnsafeDownloadError
from .hosts import Target, download_allowed
from .results import Result
from .transport import Transport

_KNOWN_EXTENSIONS = (
    ".png",
    ".jpg",
    ".jpeg",
    ".webp",
    ".gif",
    ".svg",
    ".mp4",
    ".mov",
    ".webm",
    ".mp3",
    ".wav",
    ".m4a",
    ".aac",
    ".flac",
    ".json",
    ".txt",
)
_BY_CONTENT_TYPE = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/webp": ".webp",
    "image/gif": ".gif",
    "image/svg+xml": ".svg",
    "video/mp4": ".mp4",
    "video/quicktime": ".mov",
    "video/webm": ".webm",
    "audio/mpeg": ".mp3",
    "audio/mp3": ".mp3",
    "audio/wav": ".wav",
    "audio/x-wav": ".wav",
    "audio/mp4": ".m4a",
    "audio/aac": ".aac",
    "audio/flac": ".flac",
}
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", ".png"),
    (b"\xff\xd8\xff", ".jpg"),
    (b"GIF8", ".gif"),
    (b"ID3", ".mp3"),
)
_SOURCE_EXTENSIONS = {"mermaid": ".mmd"}


async def save_result(
    transport: Transport,
    provider: Provider,
    target: Target,
    result: Result,
    directory: Path,
    *,
    overwrite: bool = False,
    max_bytes: int = MAX_DOWNLOAD_BYTES,
) -> list[Path]:
    """Download every artifact of a result into directory; returns the paths written."""
    for artifact in result.artifacts:
        reason = download_allowed(provider, target, artifact.url)
        if reason:
            raise UnsafeDownloadError(
                f"refusing to download: {reason}",
                provider=result.provider,
                operation=result.operation,
                task_id=result.task_id,
            )
    directory = Path(directory)
    try:
        return await _save_all(transport, provider, target, result, directory, overwrite, max_bytes)
    except OSError as exc:
        raise DownloadError(
            f"cannot save into {directory}: {exc.strerror or exc}",
            provider=result.provider,
            operation=result.operation,
            task_id=result.task_id,
        ) from None
    except CallError as exc:
        raise exc.locate(result.provider, result.operation, result.task_id) from None


async def _save_all(
    transport: Transport,
    provider: Provider,
    target: Target,
    result: Result,
    directory: Path,
    overwrite: bool,
    max_bytes: int,
) -> list[Path]:
    stem = file_stem(result)
    many = len(result.artifacts) > 1
    paths: list[Path] = []
    sources: dict[str, Path] = {}
    for index, artifact in enumerate(result.artifacts, 1):
        tmp, content_type = await transport.fetch_to_temp(
            artifact.url,
            directory,
            max_bytes=max_bytes,
            allowed=lambda url: download_allowed(provider, target, url),
        )
        try:
            name = f"{stem}-{index}" if many else stem
            paths.append(
                place(
                    tmp,
                    directory / f"{name}{extension(artifact.url, content_type, tmp)}",
                    overwrite,
                )
            )
        finally:
            tmp.unlink(missing_ok=True)
        if artifact.source_code and artifact.source_code not in sources:
            ext = _SOURCE_EXTENSIONS.get(artifact.source_language or "", ".txt")
            sources[artifact.source_code] = write_text(
                directory / f"{stem}-source{ext}", artifact.source_code, overwrite
            )
    return paths + list(sources.values())


def file_stem(result: Result) -> str:
    """`<operation>-<task id>`, or a short digest of the URLs for synchronous results."""
    tail = (
        result.task_id
        or hashlib.sha256("\n".join(a.url for a in result.artifacts).encode()).hexdigest()[:10]
    )
    return safe_name(f"{result.operation}-{tail}")


def safe_name(text: str) -> str:
    """A file name with no path separators, no leading dots, nothing outside [A-Za-z0-9._-]."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._-")[:100]
    return name or "artifact"


def extension(url: str, content_type: str | None, path: Path) -> str:
    suffix = Path(urlsplit(url).path).suffix.lower()
    if suffix in _KNOWN_EXTENSIONS:
        return suffix
    if content_type:
        by_type = _BY_CONTENT_TYPE.get(content_type.split(";")[0].strip().lower())
        if by_type:
            return by_type
    with path.open("rb") as f:
        head = f.read(64)
    for magic, ext in _MAGIC:
        if head.startswith(magic):
            return ext
    if head[4:8] == b"ftyp":
        return ".mp4"
    if b"<svg" in head:
        return ".svg"
    return ".bin"


def place(tmp: Path, wanted: Path, overwrite: bool) -> Path:
    """Move tmp to wanted atomically; without overwrite, pick wanted.1.ext, wanted.2.ext, ..."""
    if overwrite:
        os.replace(tmp, wanted)
        return wanted
    for n in range(10_000):
        candidate = wanted if n == 0 else wanted.with_name(f"{wanted.stem}.{n}{wanted.suffix}")
        try:
            os.link(tmp, candidate)  # fails if candidate exists: no clobbering, no race
        except FileExistsError:
            continue
        except OSError:  # a filesystem without hard links
            if candidate.exists():
                continue
            os.replace(tmp, candidate)
            return candidate
        tmp.unlink()
        return candidate
    raise FileExistsError(f"no free file name next to {wanted}")


def write_text(wanted: Path, text: str, overwrite: bool) -> Path:
    tmp = wanted.with_name(f".{wanted.name}.part")
    tmp.write_text(text, encoding="utf-8")
    try:
        return place(tmp, wanted, overwrite)
    finally:
        tmp.unlink(missing_ok=True)
