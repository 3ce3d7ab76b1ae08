"""`mediagen run`, `mediagen wait` and `mediagen demo`: operations end to end from a terminal."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from ..catalog import Operation
from ..client import AsyncClient
from ..engine import RESULT_WARNING, AsyncTaskHandle
from ..errors import CallError, TaskTimeoutError
from ..registry import default_registry
from ..results import Result
from ..retired import retired_operation
from .common import UsageError, add_output_option, err, json_text, out
from .params import build_params
from .progress import Progress


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("run", help="run one operation: validate, submit, wait, download")
    p.add_argument("provider")
    p.add_argument("operation")
    p.add_argument(
        "params",
        nargs="*",
        metavar="key=value",
        help="parameters; arrays as a JSON list or by repeating the key",
    )
    _common_options(p)
    p.add_argument(
        "--no-wait", action="store_true", help="print the task id and exit once submitted"
    )
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("wait", help="wait for a task submitted earlier, then download its result")
    p.add_argument("provider")
    p.add_argument("operation")
    p.add_argument("task_id")
    _common_options(p)
    p.set_defaults(func=cmd_wait)

    p = sub.add_parser("demo", help="run one operation per provider against the built-in emulator")
    add_output_option(p)
    p.set_defaults(func=cmd_demo)


def _common_options(p: argparse.ArgumentParser) -> None:
    add_output_option(p)
    p.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    p.add_argument(
        "--emulate", action="store_true", help="run against an in-process emulator (no credentials)"
    )
    p.add_argument(
        "--timeout", type=float, help="seconds to wait for the task (default: by output kind)"
    )


def _operation(provider: str, operation: str, *, retired_ok: bool = False) -> Operation:
    """The catalog's operation; with `retired_ok` (waiting on a task), a stand-in for one that
    left the catalog, when its provider can finish tasks by id."""
    try:
        found = default_registry().catalog.provider(provider)
    except KeyError as exc:
        raise UsageError(exc.args[0]) from None
    try:
        return found.operation(operation)
    except KeyError as exc:
        if not retired_ok:
            raise UsageError(exc.args[0]) from None
    return retired_operation(found, operation)


def _not_shown_by_us(record: logging.LogRecord) -> bool:
    """_deliver prints a result's warnings on stderr itself: not twice."""
    return not getattr(record, RESULT_WARNING, False)


@contextlib.asynccontextmanager
async def _client(emulate: bool) -> AsyncIterator[AsyncClient]:
    engine_log = logging.getLogger("mediagen.engine")
    engine_log.addFilter(_not_shown_by_us)
    try:
        async with _plain_client(emulate) as client:
            yield client
    finally:
        engine_log.removeFilter(_not_shown_by_us)


@contextlib.asynccontextmanager
async def _plain_client(emulate: bool) -> AsyncIterator[AsyncClient]:
    if not emulate:
        async with AsyncClient() as client:
            yield client
        return
    # An in-process emulator dies with the process: its tasks are not journaled.
    from ..testing import Emulator

    # Long enough to watch the progress line, short enough not to wait for.
    async with (
        Emulator(duration=0.8) as emulator,
        AsyncClient(**emulator.client_options()) as client,
    ):
        yield client


def cmd_run(args: argparse.Namespace) -> int:
    op = _operation(args.provider, args.operation)
    params = build_params(op, args.params)  # validation errors stop here, before any network
    return asyncio.run(_run(args, op, params))


async def _run(args: argparse.Namespace, op: Operation, params: Any) -> int:
    async with _client(args.emulate) as client:
        try:
            if op.kind == "query":
                data = await client.query(params)
                _emit(args, op, None, "succeeded", [], data)
                if not args.json:
                    print(json_text(data, indent=2))
                return 0
            if op.kind == "sync":
                progress = Progress(enabled=None if not args.json else False)
                progress.add(op.qualified_id, "running")
                try:
                    result = await client.run(params)
                finally:
                    progress.close()
                return await _deliver(args, client, op, result, started=progress.started)
            task = await client.submit(params)
        except CallError:
            # --json keeps its state vocabulary: a refused or lost submit is "failed"; the
            # error line on stderr says which (a lost one is journaled as unknown).
            _emit(args, op, None, "failed", [], None)
            raise
        if args.no_wait:
            _emit(args, op, task.task_id, "queued", [], None)
            if not args.json:
                out(task.task_id)
                err(
                    f"submitted; wait for it with: mediagen wait {op.provider} {op.id} {task.task_id}"
                )
            return 0
        return await _wait_and_deliver(args, client, op, task)


def cmd_wait(args: argparse.Namespace) -> int:
    op = _operation(args.provider, args.operation, retired_ok=True)
    if op.kind != "task":
        raise UsageError(f"{op.qualified_id} is a {op.kind} operation: it has no tasks to wait for")
    return asyncio.run(_wait(args, op))


async def _wait(args: argparse.Namespace, op: Operation) -> int:
    async with _client(args.emulate) as client:
        return await _wait_and_deliver(
            args, client, op, client.task(op.provider, op.id, args.task_id)
        )


async def _wait_and_deliver(
    args: argparse.Namespace, client: AsyncClient, op: Operation, task: AsyncTaskHandle
) -> int:
    progress = Progress(enabled=None if not args.json else False)
    label = op.qualified_id
    progress.add(label, "submitted")
    try:
        result = await task.wait(
            timeout=args.timeout, on_progress=lambda s: progress.update(label, s)
        )
    except CallError as exc:
        progress.close()
        # Our own wait timeout leaves the task running: report its last known state.
        last = task.last_status.state if task.last_status else "queued"
        state = getattr(exc, "state", None) or (
            last if isinstance(exc, TaskTimeoutError) else "failed"
        )
        raw = task.last_status.raw if task.last_status else None
        _emit(args, op, task.task_id, state, [], raw)
        raise
    progress.close()
    return await _deliver(args, client, op, result, started=progress.started)


async def _deliver(
    args: argparse.Namespace, client: AsyncClient, op: Operation, result: Result, *, started: float
) -> int:
    for warning in result.warnings:
        err(f"mediagen: warning: {warning}")
    try:
        paths = await client.download(result, args.output)
    except CallError:
        # The result exists (and is journaled): report it, with the files that are missing.
        missing = [{"url": a.url, "kind": a.kind, "path": None} for a in result.artifacts]
        _emit(args, op, result.task_id, "succeeded", missing, result.raw)
        raise
    artifacts: list[dict[str, str | None]] = [
        {"url": a.url, "kind": a.kind, "path": str(p.resolve())}
        for a, p in zip(result.artifacts, paths, strict=False)
    ]
    _emit(args, op, result.task_id, "succeeded", artifacts, result.raw)
    if not args.json:
        took = time.monotonic() - started
        task = f" (task {result.task_id})" if result.task_id else ""
        out(f"{op.qualified_id} succeeded{task} in {took:.1f}s")
        for path in paths:
            out(f"  {path}")
    return 0


def _emit(
    args: argparse.Namespace,
    op: Operation,
    task_id: str | None,
    state: str,
    artifacts: list[dict[str, str | None]],
    raw: Any,
) -> None:
    """--json: the one JSON object on stdout (`provider, operation, task_id, state, artifacts, raw`)."""
    if args.json:
        print(
            json_text(
                {
                    "provider": op.provider,
                    "operation": op.id,
                    "task_id": task_id,
                    "state": state,
                    "artifacts": artifacts,
                    "raw": raw,
                }
            )
        )


DEMO = (
    ("mediaio", "imagen_4", {"prompt": "a lighthouse at dusk, watercolour"}),
    (
        "tomoviee",
        "text_to_video",
        {"prompt": "a paper boat drifting down a rainy street", "camera_move_index": 24},
    ),
    ("edrawmax", "flowchart", {"prompt": "user sign-up with email verification", "lang": "en"}),
)


def cmd_demo(args: argparse.Namespace) -> int:
    return asyncio.run(_demo(args.output))


async def _demo(output: Path) -> int:
    from ..params import model_for
    from ..testing import Emulator

    print("Starting the local emulator (no credentials, no internet)...")
    progress = Progress()
    async with (
        Emulator(duration=1.5) as emulator,
        AsyncClient(**emulator.client_options()) as client,
    ):
        print(f"Emulator at {emulator.url}; running one operation per provider:")

        async def one(
            provider: str, operation: str, values: dict[str, Any]
        ) -> tuple[str, list[Path]]:
            label = f"{provider}.{operation}"
            params = model_for(label).from_dict(values)
            progress.add(label)
            if default_registry().catalog.provider(provider).operation(operation).kind == "sync":
                progress.set(label, "running")
                result = await client.run(params)
                progress.set(label, "succeeded")
            else:
                task = await client.submit(params)
                result = await task.wait(on_progress=lambda s: progress.update(label, s))
            return label, await client.download(result, output)

        try:
            done = await asyncio.gather(*(one(*job) for job in DEMO))
        finally:
            progress.close()
    for label, paths in done:
        print(f"{label}:")
        for path in paths:
            out(f"  {path}")
    out(f"All artifacts are in {output.resolve()}")
    return 0
