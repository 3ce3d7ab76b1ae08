"""Many operations at once, and finishing what a crashed process left: batch and resume.

Both run jobs under a per-provider concurrency limit (vendors cap concurrent tasks; 3001 and
429 rejections are retried with backoff by the engine), isolate failures per item, return
outcomes in input order, and journal everything: a batch writes every item as `planned`
before sending anything, so a killed batch can be finished by `resume` without resubmitting.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

import attrs

from .catalog import default_catalog
from .engine import AsyncTaskHandle
from .errors import MediagenError, ParamError
from .journal import UNFINISHED, Entry
from .params import ParamsModel, model_for
from .results import Result
from .strategies import TaskStatus

if TYPE_CHECKING:
    from .client import AsyncClient

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 4
"""Jobs in flight per provider, unless told otherwise."""


class BatchInputError(MediagenError, ValueError):
    """Lines of a batch file that cannot run; nothing was sent."""

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        listed = "; ".join(self.problems[:5]) + (
            f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
        )
        super().__init__(f"{source}: {len(problems)} invalid item(s), nothing was sent: {listed}")


@attrs.frozen
class BatchItem:
    provider: str
    operation: str
    params: Mapping[str, Any]


@attrs.frozen
class Outcome:
    index: int
    provider: str
    operation: str
    state: str
    """succeeded; failed, cancelled or timed_out (by the vendor); rejected (refused before a
    task existed); unknown (a lost submit answer); download_failed (the result exists, its
    files could not be saved); or queued/running when we stopped waiting first."""
    task_id: str | None = None
    result: Result | None = None
    data: Any = None
    """A query's data."""
    error: MediagenError | None = None
    paths: tuple[Path, ...] = ()
    journal_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.state == "succeeded"

    def to_json(self) -> dict[str, Any]:
        artifacts = []
        if self.result is not None:
            artifacts = [
                {"url": a.url, "kind": a.kind, "path": str(p.resolve()) if p else None}
                for a, p in zip(
                    self.result.artifacts,
                    [*self.paths, *([None] * len(self.result.artifacts))],
                    strict=False,
                )
            ]
        return {
            "index": self.index,
            "provider": self.provider,
            "operation": self.operation,
            "task_id": self.task_id,
            "state": self.state,
            "artifacts": artifacts,
            "error": str(self.error) if self.error else None,
            "raw": self.result.raw if self.result is not None else self.data,
        }


def parse_jsonl(lines: Iterable[str], source: str = "batch") -> list[BatchItem]:
    """JSON lines of {"provider", "operation", "params"}; every line is validated first."""
    items: list[BatchItem] = []
    problems: list[str] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except ValueError as exc:
            problems.append(f"line {number}: not JSON ({exc})")
            continue
        if (
            not isinstance(doc, dict)
            or not isinstance(doc.get("provider"), str)
            or not isinstance(doc.get("operation"), str)
        ):
            problems.append(
                f'line {number}: expected {{"provider": ..., "operation": ..., "params": {{...}}}}'
            )
            continue
        item = BatchItem(doc["provider"], doc["operation"], doc.get("params") or {})
        problem = validate(item)
        if problem:
            problems.append(f"line {number}: {problem}")
        items.append(item)
    if problems:
        raise BatchInputError(source, problems)
    return items


def validate(item: BatchItem) -> str | None:
    try:
        default_catalog().provider(item.provider).operation(item.operation)
    except KeyError as exc:
        return str(exc.args[0])
    if not isinstance(item.params, Mapping):
        return "params must be an object"
    try:
        model_for(f"{item.provider}.{item.operation}").from_dict(item.params)
    except ParamError as exc:
        return str(exc)
    return None


@attrs.define
class _Job:
    index: int
    provider: str
    operation: str
    params: ParamsModel | None
    journal_id: int | None
    task_id: str | None = None
    last_state: str | None = None


async def run_batch(
    client: AsyncClient,
    items: Sequence[BatchItem | ParamsModel],
    *,
    concurrency: int | Mapping[str, int] = DEFAULT_CONCURRENCY,
    output: str | Path | None = None,
    on_update: Callable[[int, str], None] | None = None,
) -> list[Outcome]:
    """Run every item; outcomes come back in input order, one failure never stops the others."""
    models = [
        i
        if isinstance(i, ParamsModel)
        else model_for(f"{i.provider}.{i.operation}").from_dict(i.params)
        for i in items
    ]
    journal = client.journal
    batch_id = uuid.uuid4().hex[:12]
    jobs = []
    for index, model in enumerate(models):
        provider, _, operation = type(model).OPERATION.partition(".")
        entry = None
        if journal is not None:
            entry = journal.record_intent(
                provider, operation, model.to_dict(), state="planned", batch=batch_id, item=index
            )
        jobs.append(_Job(index, provider, operation, model, entry))
    return await _run_jobs(client, jobs, concurrency, output, on_update)


async def resume(
    client: AsyncClient,
    *,
    concurrency: int | Mapping[str, int] = DEFAULT_CONCURRENCY,
    output: str | Path | None = None,
    on_update: Callable[[int, str], None] | None = None,
) -> list[Outcome]:
    """Finish every unfinished task in the journal and download missing artifacts.

    planned entries are submitted (they were never sent); queued and running ones are waited
    on; succeeded ones get any missing files; pending ones (a submit cut off by a crash) are
    marked unknown, never resubmitted.
    """
    journal = client.journal
    if journal is None:
        raise MediagenError("resume needs the task journal; it is turned off")
    jobs: list[_Job] = []
    outcomes: list[Outcome] = []
    for entry in journal.entries(states=(*UNFINISHED, "succeeded")):
        if entry.state != "succeeded" and entry.owned_by_a_live_process:
            # A batch or run still going in another process: its entries are its own.
            log.warning(
                "journal entry %s belongs to running process %s; skipped", entry.id, entry.owner
            )
            continue
        if entry.state == "pending":
            journal.record_unknown(
                entry.id, "the process stopped while submitting; the vendor may have the task"
            )
            outcomes.append(_unknown(len(jobs) + len(outcomes), entry))
            continue
        if entry.state == "succeeded" and not _missing_files(entry):
            continue
        if entry.state in ("queued", "running") and not entry.task_id:
            journal.record_unknown(entry.id, "no task id was recorded for this entry")
            outcomes.append(_unknown(len(jobs) + len(outcomes), entry))
            continue
        params = None
        if entry.state == "planned":
            try:
                params = model_for(entry.qualified_operation).from_dict(entry.params)
            except (KeyError, ParamError) as exc:  # the catalog changed since it was planned
                error = MediagenError(
                    f"{entry.qualified_operation}: planned entry {entry.id} was never sent and no "
                    f"longer fits the catalog ({exc.args[0] if isinstance(exc, KeyError) else exc})"
                )
                journal.record_rejected(entry.id, str(error))
                index = len(jobs) + len(outcomes)
                outcomes.append(
                    Outcome(
                        index,
                        entry.provider,
                        entry.operation,
                        "rejected",
                        error=error,
                        journal_id=entry.id,
                    )
                )
                continue
        jobs.append(
            _Job(
                len(jobs) + len(outcomes),
                entry.provider,
                entry.operation,
                params,
                entry.id,
                entry.task_id,
            )
        )
    done = await _run_jobs(client, jobs, concurrency, output, on_update)
    return sorted([*outcomes, *done], key=lambda o: o.index)


def _unknown(index: int, entry: Entry) -> Outcome:
    error = MediagenError(
        f"{entry.qualified_operation}: journal entry {entry.id} was cut off while submitting"
    )
    return Outcome(
        index, entry.provider, entry.operation, "unknown", error=error, journal_id=entry.id
    )


def _missing_files(entry: Entry) -> bool:
    if entry.result is None:
        return False
    saved = {url: Path(path) for url, path in entry.files}
    return any(a.url not in saved or not saved[a.url].exists() for a in entry.result.artifacts)


async def _run_jobs(
    client: AsyncClient,
    jobs: Sequence[_Job],
    concurrency: int | Mapping[str, int],
    output: str | Path | None,
    on_update: Callable[[int, str], None] | None,
) -> list[Outcome]:
    limits: dict[str, asyncio.Semaphore] = {}

    def limit(provider: str) -> asyncio.Semaphore:
        if provider not in limits:
            n = (
                concurrency
                if isinstance(concurrency, int)
                else concurrency.get(provider, DEFAULT_CONCURRENCY)
            )
            limits[provider] = asyncio.Semaphore(max(1, n))
        return limits[provider]

    def notify(job: _Job, state: str) -> None:
        if on_update is not None:
            on_update(job.index, state)

    async def one(job: _Job) -> Outcome:
        async with limit(job.provider):
            return await _run_job(client, job, output, notify)

    return list(await asyncio.gather(*(one(job) for job in jobs)))


async def _run_job(
    client: AsyncClient, job: _Job, output: str | Path | None, notify: Callable[[_Job, str], None]
) -> Outcome:
    """One item, start to finish; whatever happens is an Outcome, never an exception that
    would stop the other items."""
    engine = client._engine
    try:
        # A task already submitted is finished even if its operation has since been retired.
        _, op = engine.operation(job.provider, job.operation, retired_ok=job.params is None)
        if op.kind == "query":
            assert job.params is not None
            notify(job, "running")
            data = await engine.query(job.params, journal_id=job.journal_id)
            notify(job, "succeeded")
            return _outcome(job, "succeeded", data=data)
        if op.kind == "sync":
            if job.params is None:  # a finished synchronous entry whose files are missing
                result = _journaled_result(client, job, missing_ok=False)
            else:
                notify(job, "running")
                result = await engine.run(job.params, journal_id=job.journal_id)
        else:
            result = await _task_result(client, job, notify)
    except Exception as exc:  # a failed item, not a failed batch
        error = _as_mediagen_error(exc, job)
        _reject_if_unsent(client, job, error)
        state = getattr(error, "state", None) or _state_of(error, job)
        notify(job, state)
        return _outcome(
            job, state, task_id=job.task_id or getattr(error, "task_id", None), error=error
        )
    paths: tuple[Path, ...] = ()
    if output is not None:
        try:
            paths = tuple(await engine.download(result, output, journal_id=job.journal_id))
        except Exception as exc:  # the result exists and is journaled: only the files are missing
            notify(job, "download_failed")
            return _outcome(
                job,
                "download_failed",
                task_id=result.task_id,
                result=result,
                error=_as_mediagen_error(exc, job),
            )
    notify(job, "succeeded")
    return _outcome(job, "succeeded", task_id=result.task_id, result=result, paths=paths)


def _as_mediagen_error(exc: Exception, job: _Job) -> MediagenError:
    if isinstance(exc, MediagenError):
        return exc
    log.error("%s.%s failed unexpectedly", job.provider, job.operation, exc_info=exc)
    return MediagenError(f"{job.provider}.{job.operation}: unexpected {type(exc).__name__}: {exc}")


def _reject_if_unsent(client: AsyncClient, job: _Job, error: MediagenError) -> None:
    """A planned entry that failed before it was sent stays resumable unless marked: mark it
    rejected, so a later `resume` does not submit it behind the user's back."""
    journal = client.journal
    if journal is None or job.journal_id is None:
        return
    try:
        if journal.get(job.journal_id).state == "planned":
            journal.record_rejected(job.journal_id, str(error))
    except Exception:
        log.exception("could not update journal entry %s", job.journal_id)


def _outcome(
    job: _Job,
    state: str,
    *,
    task_id: str | None = None,
    result: Result | None = None,
    data: Any = None,
    error: MediagenError | None = None,
    paths: tuple[Path, ...] = (),
) -> Outcome:
    return Outcome(
        job.index,
        job.provider,
        job.operation,
        state,
        task_id=task_id,
        result=result,
        data=data,
        error=error,
        paths=paths,
        journal_id=job.journal_id,
    )


async def _task_result(
    client: AsyncClient, job: _Job, notify: Callable[[_Job, str], None]
) -> Result:
    engine = client._engine
    if job.task_id is None:
        assert job.params is not None
        notify(job, "submitting")
        handle = await engine.submit(job.params, journal_id=job.journal_id)
        job.task_id = handle.task_id
    else:
        handle = AsyncTaskHandle(
            engine, job.provider, job.operation, job.task_id, journal_id=job.journal_id
        )
        journaled = _journaled_result(client, job, missing_ok=True)
        if journaled is not None:
            return journaled
    notify(job, "queued")

    def progress(status: TaskStatus) -> None:
        job.last_state = status.state
        notify(job, status.state)

    return await handle.wait(on_progress=progress)


@overload
def _journaled_result(client: AsyncClient, job: _Job, *, missing_ok: Literal[False]) -> Result: ...


@overload
def _journaled_result(
    client: AsyncClient, job: _Job, *, missing_ok: Literal[True]
) -> Result | None: ...


def _journaled_result(client: AsyncClient, job: _Job, *, missing_ok: bool) -> Result | None:
    """The result a journal entry already holds (a task finished before the crash)."""
    journal = client.journal
    entry = (
        journal.get(job.journal_id) if journal is not None and job.journal_id is not None else None
    )
    if entry is not None and entry.state == "succeeded" and entry.result is not None:
        return entry.result
    if missing_ok:
        return None
    raise MediagenError(f"journal entry {job.journal_id} has no result to download")


def _state_of(exc: MediagenError, job: _Job) -> str:
    """An item's state after an error: unknown for a lost submit, the task's last known state
    when we merely stopped waiting (it may still finish), failed or rejected otherwise."""
    from .errors import SubmitOutcomeUnknownError, TaskTimeoutError

    if isinstance(exc, SubmitOutcomeUnknownError):
        return "unknown"
    if isinstance(exc, TaskTimeoutError):
        return job.last_state or "queued"
    return "failed" if job.task_id is not None else "rejected"
