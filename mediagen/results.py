"""What operations produce: typed artifacts plus the vendor's raw payload."""

from __future__ import annotations

from typing import Any, Literal

import attrs

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
