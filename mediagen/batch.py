"""Many operations at once, and finishing what a crashed process left: batch and resume.

Both run jobs under a per-provider concurrency limit (vendors cap concurrent tasks; 3001 and
429 rejections are retried with backoff by the engine), isolate failures per item, return
outcomes in input order, and journal everything: a batch writes every item as `planned`
before sending anything, so a killed batch can be finished by `resume` without resubmitting.
A batch run with a `key` (the CLI uses the file's path) finds the items of its earlier runs
and never pays for one twice; each entry worked on is claimed first (`mediagen.recovery`), so
a resume beside a live batch or another resume leaves the other's entries alone.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal, overload

import attrs

from .defaults import BATCH_CONCURRENCY, MAX_BATCH_FILE_BYTES, MAX_BATCH_LINE_BYTES
from .download import source_keys
from .engine import AsyncTaskHandle
from .errors import MediagenError, ParamError
from .journal import TERMINAL, Entry
from .params import ParamsModel, model_for
from .recovery import RESUBMITTABLE, Plan, item_keys, missing_files, plan
from .registry import default_registry
from .results import Result, artifacts_json
from .strategies import TaskStatus

if TYPE_CHECKING:
    from .client import AsyncClient

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = BATCH_CONCURRENCY
"""Jobs in flight per provider, unless told otherwise."""


class BatchInputError(MediagenError, ValueError):
    """Lines of a batch file that cannot run; nothing was sent."""

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        listed = "; ".join(self.problems[:5]) + (
            f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
        )
        super().__init__(f"{source}: {len(problems)} invalid item(s), nothing was sent: {listed}")

    def to_json(self) -> dict[str, Any]:
        """The `--json` error object, with every invalid line in `problems`."""
        return {**super().to_json(), "problems": self.problems}


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
    files could not be saved); queued/running when we stopped waiting first; skipped (another
    live process handles it: not a failure); invalid (an unusable journal entry, left as is);
    other_origin (a task submitted to another base URL than this client's, left as is)."""
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

    @property
    def failed(self) -> bool:
        """Neither succeeded nor left to another live process."""
        return self.state not in ("succeeded", "skipped")

    def to_json(self) -> dict[str, Any]:
        artifacts = artifacts_json(self.result, self.paths) if self.result is not None else []
        return {
            "index": self.index,
            "provider": self.provider,
            "operation": self.operation,
            "task_id": self.task_id,
            "state": self.state,
            "artifacts": artifacts,
            "error": self.error.to_json() if self.error else None,
            "raw": self.result.raw if self.result is not None else self.data,
        }


class BatchTooLargeError(BatchInputError):
    """A batch file, or one of its lines, over its size limit; nothing was sent."""

    def __init__(self, source: str, problem: str) -> None:
        self.problems = [problem]
        MediagenError.__init__(self, f"{source}: {problem}; nothing was sent")


def read_batch(stream: BinaryIO, source: str = "batch") -> bytes:
    """A batch file's bytes, read in chunks so that an endless or huge input stops at the
    limits (MAX_BATCH_FILE_BYTES, MAX_BATCH_LINE_BYTES in mediagen.defaults) instead of
    filling memory: over either one is a BatchTooLargeError."""
    max_file, max_line = MAX_BATCH_FILE_BYTES, MAX_BATCH_LINE_BYTES
    chunks: list[bytes] = []
    size = line_size = lines = 0  # bytes read; the last line's bytes so far; newlines seen
    while chunk := stream.read(min(max_line, 1 << 20)):
        size += len(chunk)
        if size > max_file:
            raise BatchTooLargeError(
                source, f"larger than {max_file} bytes, the limit per batch file; split it"
            )
        parts = chunk.split(b"\n")
        # The length of each line this chunk touches; the first continues the previous chunk's.
        lengths = [line_size + len(parts[0]), *map(len, parts[1:])]
        if max(lengths) > max_line:
            at = lines + 1 + next(i for i, n in enumerate(lengths) if n > max_line)
            raise BatchTooLargeError(
                source, f"line {at} is longer than {max_line} bytes, the limit per line"
            )
        lines += len(parts) - 1
        line_size = lengths[-1]
        chunks.append(chunk)
    return b"".join(chunks)


def decode_lines(data: bytes, source: str = "batch") -> list[str]:
    """The lines of a batch file's bytes; text that is not UTF-8 is a BatchInputError naming
    the line, not a traceback."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise BatchInputError(
            source,
            [f"line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); expected JSON lines"],
        ) from None
    # JSON lines end at \n (\r\n too); not at U+2028 and the other line breaks
    # str.splitlines knows, which JSON allows raw inside a string.
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


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
        except RecursionError:
            problems.append(f"line {number}: nested too deeply to be a batch item")
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
        params = doc.get("params", {})
        if not isinstance(params, dict):
            problems.append(
                f"line {number}: params must be a JSON object (or left out), not {json.dumps(params)[:40]}"
            )
            continue
        item = BatchItem(doc["provider"], doc["operation"], params)
        problem = validate(item)
        if problem:
            problems.append(f"line {number}: {problem}")
        items.append(item)
    if problems:
        raise BatchInputError(source, problems)
    return items


def validate(item: BatchItem) -> str | None:
    try:
        op = default_registry().catalog.provider(item.provider).operation(item.operation)
    except KeyError as exc:
        return str(exc.args[0])
    if not isinstance(item.params, Mapping):
        return "params must be an object"
    try:
        model_for(op.qualified_id).from_dict(item.params)
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
    output: str | Path | None = None
    """Where this item's files go, when not where the whole run's go (a resumed entry's
    journaled folder)."""


async def run_batch(
    client: AsyncClient,
    items: Sequence[BatchItem | ParamsModel],
    *,
    key: str | None = None,
    concurrency: int | Mapping[str, int] = DEFAULT_CONCURRENCY,
    output: str | Path | None = None,
    on_update: Callable[[int, str], None] | None = None,
) -> list[Outcome]:
    """Run every item; outcomes come back in input order, one failure never stops the others.

    With `key` (a stable name for this batch, e.g. its file's resolved path) and a journal,
    items that an earlier run with the same key left are found by their idempotency key
    (`recovery.item_keys`) instead of being paid for again: planned ones are submitted once,
    queued ones waited on, succeeded ones returned (missing files fetched); an `unknown` one is
    reported, never resubmitted; rejected or failed ones are submitted anew.
    """
    models = [
        i
        if isinstance(i, ParamsModel)
        else model_for(f"{i.provider}.{i.operation}").from_dict(i.params)
        for i in items
    ]
    journal = client.journal
    keys: list[str | None] = [None] * len(models)
    if key is not None and journal is not None:
        keys = list(item_keys(models, key))
    batch_id = uuid.uuid4().hex[:12]
    jobs: list[_Job] = []
    outcomes: list[Outcome] = []
    for index, (model, item_key) in enumerate(zip(models, keys, strict=True)):
        provider, _, operation = type(model).OPERATION.partition(".")
        if journal is None:
            jobs.append(_Job(index, provider, operation, model, None))
            continue
        earlier = journal.find_item(item_key) if item_key is not None else None
        if (
            earlier is not None
            and earlier.state not in RESUBMITTABLE
            and client._engine.operation(provider, operation)[1].kind != "query"
        ):
            step = plan(journal, client._engine, earlier, output=output)
            if step.action == "run" and step.params is not None:
                step = attrs.evolve(step, params=model)
            _adopt(step, index, jobs, outcomes)
            continue
        entry = journal.record_intent(
            provider,
            operation,
            model.to_dict(),
            state="planned",
            batch=batch_id,
            item=index,
            item_key=item_key,
            output=str(Path(output).resolve()) if output is not None else None,
        )
        jobs.append(_Job(index, provider, operation, model, entry))
    try:
        done = await _run_jobs(client, jobs, concurrency, output, on_update)
    except BaseException:  # cancelled or interrupted: say what is left and how to finish it
        _log_interrupted(client, jobs, keyed=key is not None)
        raise
    finally:
        _release(client, jobs)
    return sorted([*outcomes, *done], key=lambda o: o.index)


def _log_interrupted(client: AsyncClient, jobs: Sequence[_Job], *, keyed: bool) -> None:
    journal = client.journal
    if journal is None:
        return
    try:
        planned = sum(
            1
            for j in jobs
            if j.journal_id is not None and journal.get(j.journal_id).state == "planned"
        )
    except Exception:
        return
    again = "running the batch again with the same key" if keyed else "`resume`"
    log.warning(
        "batch interrupted: %d of %d item(s) were never sent (planned); %s submits them once"
        " and waits on the ones already submitted",
        planned,
        len(jobs),
        again,
    )


async def resume(
    client: AsyncClient,
    *,
    force: bool = False,
    concurrency: int | Mapping[str, int] = DEFAULT_CONCURRENCY,
    output: str | Path | None = None,
    on_update: Callable[[int, str], None] | None = None,
) -> list[Outcome]:
    """Finish every unfinished task in the journal and download missing artifacts.

    planned entries are submitted (they were never sent); queued and running ones are waited
    on; succeeded ones get any missing files; pending ones (a submit cut off by a crash) are
    marked unknown, never resubmitted. Each entry is claimed before any request: one held by
    another live process (a running batch, another resume) is reported `skipped`. `force`
    also takes over entries whose owner is recorded on another host (its lock may be held
    over a shared disk). A bad entry is reported and skipped; the others go on.
    """
    journal = client.journal
    if journal is None:
        raise MediagenError("resume needs the task journal; it is turned off")
    jobs: list[_Job] = []
    outcomes: list[Outcome] = []
    # Every entry but the ended ones: an entry in a state we do not know is a bad row to report.
    ended = [state for state in TERMINAL if state != "succeeded"]
    for entry in journal.entries(exclude_states=ended):
        # Files go where the submitting command said; an entry that named no folder (a
        # library call that never asked for files) only where this resume's `output` says.
        folder = entry.output or output
        if entry.state == "succeeded" and (folder is None or not missing_files(entry)):
            continue  # finished: nothing to claim
        step = plan(journal, client._engine, entry, force=force, output=folder)
        _adopt(step, len(jobs) + len(outcomes), jobs, outcomes, done_is_silent=True)
        if jobs and jobs[-1].journal_id == entry.id:
            jobs[-1].output = folder
    try:
        done = await _run_jobs(client, jobs, concurrency, output, on_update)
    finally:
        _release(client, [*jobs, *(o for o in outcomes if o.state != "skipped")])
    return sorted([*outcomes, *done], key=lambda o: o.index)


def _adopt(
    step: Plan,
    index: int,
    jobs: list[_Job],
    outcomes: list[Outcome],
    *,
    done_is_silent: bool = False,
) -> None:
    """Turn a recovery plan for a journal entry into a job to run or an outcome to report."""
    entry = step.entry
    if step.action == "run":
        jobs.append(
            _Job(index, entry.provider, entry.operation, step.params, entry.id, entry.task_id)
        )
        return
    if step.action == "done":
        if not done_is_silent:
            paths = _recorded_paths(entry)
            outcomes.append(
                Outcome(
                    index,
                    entry.provider,
                    entry.operation,
                    "succeeded",
                    task_id=entry.task_id,
                    result=entry.result,
                    paths=paths,
                    journal_id=entry.id,
                )
            )
        return
    outcomes.append(
        Outcome(
            index,
            entry.provider,
            entry.operation,
            step.state,
            task_id=entry.task_id,
            error=MediagenError(step.message),
            journal_id=entry.id,
        )
    )


def _recorded_paths(entry: Entry) -> tuple[Path, ...]:
    """The entry's saved files in the order a download returns them (its result's artifacts,
    then their source files), whatever order they were journaled in; files the result does
    not name last."""
    if entry.result is None:
        return tuple(Path(path) for _, path in entry.files)
    artifacts = entry.result.artifacts
    keys = [*(a.url for a in artifacts), *source_keys(artifacts).values()]
    order = {key: n for n, key in enumerate(keys)}
    files = sorted(entry.files, key=lambda file: order.get(file[0], len(order)))
    return tuple(Path(path) for _, path in files)


def _release(client: AsyncClient, worked_on: Iterable[_Job | Outcome]) -> None:
    """Entries this run held are free again once it is done with them (or interrupted)."""
    journal = client.journal
    ids = [w.journal_id for w in worked_on if w.journal_id is not None]
    if journal is None or not ids:
        return
    try:
        journal.release(ids)
    except Exception:
        log.exception("could not release journal entries; they are free once this process ends")


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
            return await _run_job(client, job, job.output or output, notify)

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
        if _taken_elsewhere(client, job):  # another process claimed it first: its item now
            notify(job, "skipped")
            return _outcome(job, "skipped", error=error)
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


def _taken_elsewhere(client: AsyncClient, job: _Job) -> bool:
    """The job's entry now belongs to another process (it won the claim to submit it)."""
    journal = client.journal
    if journal is None or job.journal_id is None or job.task_id is not None:
        return False
    try:
        entry = journal.get(job.journal_id)
    except Exception:
        return False
    return entry.state != "planned" and entry.owner not in (None, journal.owner)


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
