"""What operations produce: typed artifacts plus the vendor's raw payload.

Stable surface: generated code depends on `Result` (with `mediagen.runtime` and
`mediagen.params`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import attrs

from .records import maker

ArtifactKind = Literal["image", "video", "audio", "mask", "diagram", "other"]


@attrs.frozen
class Artifact:
    """One generated file, by URL; `source_code` holds a diagram's text source when returned."""

    url: str
    kind: ArtifactKind
    source_code: str | None = None
    source_language: str | None = None
    """What `source_code` is written in, e.g. "mermaid", when the vendor says."""


@attrs.frozen
class Result:
    """A finished operation: its artifacts, and the raw payload the vendor returned."""

    provider: str
    operation: str
    artifacts: tuple[Artifact, ...]
    raw: Any
    task_id: str | None = None
    skipped_urls: tuple[str, ...] = ()
    """URLs in the vendor's result that are not downloaded (not https, or a host the provider
    does not allow); they stay in `raw`."""
    warnings: tuple[str, ...] = ()
    """What the caller should know, e.g. that a result promising files has none to download."""
    journal_id: int | None = attrs.field(default=None, eq=False)
    """The task journal entry holding this result, when it was journaled: downloads record
    their files there (a synchronous result has no task id to find it by)."""


new_artifact = maker(Artifact)
"""Artifact(url, kind, source_code, source_language) (see mediagen.records)."""
new_result = maker(Result)
"""Result(provider, operation, artifacts, raw, task_id, skipped_urls, warnings, journal_id),
every field given (see mediagen.records)."""


def artifacts_json(result: Result, paths: Sequence[Path | None]) -> list[dict[str, str | None]]:
    """`--json`'s artifact list: each artifact with its saved path (None when not saved),
    then each extra file a download wrote (a diagram's source: kind "source", no URL)."""
    padded = [*paths, *([None] * (len(result.artifacts) - len(paths)))]
    rows: list[dict[str, str | None]] = [
        {"url": a.url, "kind": a.kind, "path": str(p.resolve()) if p else None}
        for a, p in zip(result.artifacts, padded, strict=False)
    ]
    rows += [
        {"url": None, "kind": "source", "path": str(p.resolve())}
        for p in padded[len(result.artifacts) :]
        if p is not None
    ]
    return rows
