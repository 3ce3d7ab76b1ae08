"""Saving artifacts: allowed hosts only, streamed, size-capped, atomic, never clobbering.

Each file is reported (`on_saved`) as soon as it is in place, so a failure on a later file
leaves the earlier ones recorded; transient download failures are retried (mediagen.retry);
hidden `.part` files that a killed process left in the folder are removed first.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from urllib.parse import urlsplit

from .catalog import Provider
from .defaults import MAX_DOWNLOAD_BYTES, STALE_PART_AGE, RetryPolicy
from .errors import CallError, DownloadError, UnsafeDownloadError
from .hosts import Target, download_allowed
from .results import Artifact, Result
from .retry import backoff, retry_download
from .transport import PART_PREFIX, PART_SUFFIX, Transport

log = logging.getLogger(__name__)

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

SOURCE_KEY_PREFIX = "source:"
"""How the key of a diagram's source file starts (see `source_keys`)."""


def source_keys(artifacts: Iterable[Artifact]) -> dict[str, str]:
    """Each distinct diagram source text among the artifacts, in order, with the key its file
    is reported (`on_saved`) and journaled under in place of a URL: `source:` and the URL of
    the first artifact carrying the text. A file written from the result has no URL of its
    own; this key is the same in every run of the result and unique to its task, as the
    artifacts' URLs are."""
    keys: dict[str, str] = {}
    for artifact in artifacts:
        if artifact.source_code and artifact.source_code not in keys:
            keys[artifact.source_code] = SOURCE_KEY_PREFIX + artifact.url
    return keys


async def save_result(
    transport: Transport,
    provider: Provider,
    target: Target,
    result: Result,
    directory: Path,
    *,
    overwrite: bool = False,
    max_bytes: int = MAX_DOWNLOAD_BYTES,
    retry: RetryPolicy | None = None,
    saved: Mapping[str, Path] | None = None,
    on_saved: Callable[[str, Path], None] | None = None,
) -> list[Path]:
    """Download every artifact of a result into directory; returns the paths, in artifact
    order, then the diagram source files (written now, or recorded in `saved`).

    `saved` maps artifact URLs (and `source_keys`) to files an earlier attempt placed: those
    are not fetched (or written) again, their paths are returned. `on_saved(key, path)` is
    called as soon as each new file is in place, with the artifact's URL or, for a source
    file, its key (`source_keys`). A failing file raises, naming it and the files already saved.
    """
    saved = saved or {}
    for artifact in result.artifacts:
        reason = None if artifact.url in saved else download_allowed(provider, target, artifact.url)
        if reason:
            raise UnsafeDownloadError(
                f"refusing to download: {reason}",
                provider=result.provider,
                operation=result.operation,
                task_id=result.task_id,
            )
    directory = Path(directory)
    remove_stale_parts(directory)
    try:
        return await _save_all(
            transport,
            provider,
            target,
            result,
            directory,
            overwrite=overwrite,
            max_bytes=max_bytes,
            retry=retry or RetryPolicy(),
            saved=saved,
            on_saved=on_saved,
        )
    except CallError as exc:
        raise exc.locate(result.provider, result.operation, result.task_id) from None


async def _save_all(
    transport: Transport,
    provider: Provider,
    target: Target,
    result: Result,
    directory: Path,
    *,
    overwrite: bool,
    max_bytes: int,
    retry: RetryPolicy,
    saved: Mapping[str, Path],
    on_saved: Callable[[str, Path], None] | None,
) -> list[Path]:
    stem = file_stem(result)
    many = len(result.artifacts) > 1
    paths: list[Path] = []
    keys = source_keys(result.artifacts)
    # A source recorded earlier and still there is listed again, not written again.
    sources = {code: saved[key] for code, key in keys.items() if key in saved}
    # One that came with an artifact saved earlier but was not recorded (a journal written
    # before sources were) was written then, next to it.
    written = {a.source_code for a in result.artifacts if a.url in saved and a.source_code}
    for index, artifact in enumerate(result.artifacts, 1):
        if artifact.url in saved:
            paths.append(saved[artifact.url])
            continue
        name = f"{stem}-{index}" if many else stem
        try:
            path = await _save_one(
                transport,
                artifact,
                directory,
                name,
                overwrite=overwrite,
                max_bytes=max_bytes,
                retry=retry,
                allowed=lambda url: download_allowed(provider, target, url),
            )
        except CallError as exc:
            raise _which_file(exc, index, len(result.artifacts), artifact, paths) from None
        paths.append(path)
        if on_saved is not None:
            on_saved(artifact.url, path)
        if artifact.source_code and artifact.source_code not in {*sources, *written}:
            ext = _SOURCE_EXTENSIONS.get(artifact.source_language or "", ".txt")
            try:
                source = write_text(
                    directory / f"{stem}-source{ext}", artifact.source_code, overwrite
                )
            except OSError as exc:
                raise _cannot_save(directory, exc) from None
            sources[artifact.source_code] = source
            if on_saved is not None:
                on_saved(keys[artifact.source_code], source)
    return paths + [sources[code] for code in keys if code in sources]


async def _save_one(
    transport: Transport,
    artifact: Artifact,
    directory: Path,
    name: str,
    *,
    overwrite: bool,
    max_bytes: int,
    retry: RetryPolicy,
    allowed: Callable[[str], str | None],
) -> Path:
    """Fetch one artifact (retrying transient failures) and move it into place."""
    attempt = 0
    while True:
        attempt += 1
        try:
            tmp, content_type = await transport.fetch_to_temp(
                artifact.url, directory, max_bytes=max_bytes, allowed=allowed
            )
            break
        except CallError as exc:
            if not retry_download(exc, attempt, retry):
                raise
            delay = backoff(
                attempt,
                base=retry.base,
                cap=retry.cap,
                retry_after=getattr(exc, "retry_after", None),
            )
            log.info("%s; retry %d in %.2fs", exc.detail, attempt, delay)
            await asyncio.sleep(delay)
    try:
        return place(
            tmp, directory / f"{name}{extension(artifact.url, content_type, tmp)}", overwrite
        )
    except OSError as exc:
        raise _cannot_save(directory, exc) from None
    finally:
        tmp.unlink(missing_ok=True)


def _cannot_save(directory: Path, exc: OSError) -> DownloadError:
    return DownloadError(f"cannot save into {directory}: {exc.strerror or exc}")


def _which_file(
    error: CallError, index: int, total: int, artifact: Artifact, saved: list[Path]
) -> CallError:
    """The error, saying which file failed and which ones are saved already."""
    if total > 1:
        done = (
            f"; the {len(saved)} file(s) before it are saved: {', '.join(map(str, saved))}"
            if saved
            else ""
        )
        error.detail = f"file {index} of {total} ({artifact.url}) failed: {error.detail}{done}"
        error.args = (error._compose(),)
    return error


def remove_stale_parts(
    directory: Path, *, max_age: float = STALE_PART_AGE, now: float | None = None
) -> list[Path]:
    """Remove the hidden `.part` files of downloads that died with their process (kill -9)
    from directory; returns what was removed.

    A `.mediagen-<pid>-*.part` file goes when its pid is not a live process, or when nothing
    wrote to it for `max_age` seconds (the pid was reused); a live process's fresh file is never
    touched. Older `.mediagen-*.part` names without a pid go by age alone.
    """
    now = time.time() if now is None else now
    removed: list[Path] = []
    try:
        entries = list(directory.iterdir())
    except OSError:  # no folder yet, or not readable: nothing to clean
        return removed
    for path in entries:
        match = _PART_FILE.fullmatch(path.name)
        if match is None:
            continue
        try:
            info = path.lstat()
        except OSError:
            continue
        if not stat.S_ISREG(info.st_mode):
            continue
        pid = int(match.group(1)) if match.group(1) else None
        if now - info.st_mtime <= max_age and (pid is None or pid_alive(pid)):
            continue
        try:
            path.unlink()
        except OSError:
            continue
        log.info("removed %s, left by a download that did not finish", path)
        removed.append(path)
    return removed


_PART_FILE = re.compile(re.escape(PART_PREFIX) + r"(?:(\d{1,10})-)?[^/]*" + re.escape(PART_SUFFIX))


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this machine (ours included). When that
    cannot be told, it counts as alive: a file is kept rather than pulled from under a writer."""
    if pid == os.getpid():
        return True
    if sys.platform == "win32" or pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):  # EPERM: it exists, as another user; or it cannot be asked
        return True
    return True


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
    fd, name = tempfile.mkstemp(
        prefix=f"{PART_PREFIX}{os.getpid()}-", suffix=PART_SUFFIX, dir=wanted.parent
    )
    tmp = Path(name)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.chmod(tmp, 0o644)  # mkstemp makes it private; the source is an ordinary file
    try:
        return place(tmp, wanted, overwrite)
    finally:
        tmp.unlink(missing_ok=True)
