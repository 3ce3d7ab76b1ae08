"""`mediagen run`, `mediagen wait` and `mediagen demo`: operations end to end from a terminal."""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import CallError, SubmitOutcomeUnknownError, TaskTimeoutError
from .common import (
    DEFAULT_OUTPUT,
    UsageError,
    add_output_option,
    check_credentials,
    dotted_arguments,
    emit_json,
    err,
    find_operation,
    json_context,
    json_text,
    out,
)
from .formatting import RawDescriptionHelpFormatter

if TYPE_CHECKING:  # the client and engine load aiohttp: imported by the commands that call
    from ..catalog import Operation
    from ..client import AsyncClient
    from ..engine import AsyncTaskHandle
    from ..results import Result

RUN_EXAMPLES = """\
examples:
  mediagen run mediaio imagen_4 prompt="a lighthouse at dusk" ratio=1:1
  mediagen run mediaio.imagen_4 prompt="a cat" --emulate --json
  mediagen run mediaio nano_banana prompt="merge" images=https://example.com/a.png \\
      images=https://example.com/b.png
  mediagen run tomoviee text_to_video prompt="a paper boat" --no-wait

`mediagen run PROVIDER OPERATION --help` lists that operation's parameters.
"""


def add_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "run",
        add_help=False,
        epilog=RUN_EXAMPLES,
        formatter_class=RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "-h",
        "--help",
        action="store_true",
        help="show this help; after PROVIDER OPERATION, also its parameters",
    )
    p.add_argument("provider", nargs="?", help="provider, or provider.operation as `list` shows")
    p.add_argument(
        "rest",
        nargs="*",
        metavar="OPERATION key=value",
        help="the operation, then its parameters; arrays as a JSON list or by repeating the key",
    )
    _common_options(p)
    p.add_argument(
        "--no-wait", action="store_true", help="print the task id and exit once submitted"
    )
    p.set_defaults(func=cmd_run, parser=p)

    # One task per command: the usage says so (argparse would render nargs="+" as a list).
    p = sub.add_parser(
        "wait",
        usage="%(prog)s [-h] PROVIDER OPERATION TASK_ID\n"
        "                     [--output OUTPUT] [--json] [--emulate] [--timeout TIMEOUT]",
    )
    p.add_argument("provider", metavar="PROVIDER", help="provider, or provider.operation")
    p.add_argument(
        "rest",
        nargs="+",
        metavar="OPERATION TASK_ID",
        help="the operation, then the task id its submit returned (after provider.operation,"
        " the task id alone)",
    )
    _common_options(p)
    p.set_defaults(func=cmd_wait)

    p = sub.add_parser("demo")
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


def _not_shown_by_us(record: logging.LogRecord) -> bool:
    """_deliver prints a result's warnings on stderr itself: not twice."""
    from ..engine import RESULT_WARNING

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
    from ..client import AsyncClient

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
    import asyncio

    from .params import build_params, describe_params

    provider, operation, pairs = dotted_arguments(args.provider, args.rest)
    if args.help:
        args.parser.print_help()
        if provider and operation:
            print()
            print(describe_params(find_operation(provider, operation)))
        return 0
    if not provider or not operation:
        raise UsageError("run needs PROVIDER OPERATION (see `mediagen list`)")
    op = find_operation(provider, operation)
    json_context(args).update(_doc(op, None, "rejected", []))
    params = build_params(op, pairs)  # validation errors stop here, before any network
    _check_before_paying(args, op, wait=not args.no_wait)
    return asyncio.run(_run(args, op, params))


def _check_before_paying(args: argparse.Namespace, op: Operation, *, wait: bool) -> None:
    """What would fail after the submit (and the vendor's charge) is refused before it."""
    if args.timeout is not None and not (math.isfinite(args.timeout) and args.timeout > 0):
        raise UsageError(f"--timeout {args.timeout:g}; allowed: a number of seconds above 0")
    if args.emulate and getattr(args, "no_wait", False):
        raise UsageError(
            "--no-wait with --emulate: the in-process emulator stops when this command exits,"
            " so the task could never be waited on; allowed: one of the two"
        )
    if wait and op.kind != "query":
        check_output_folder(args.output)
    if not args.emulate:
        check_credentials([op.provider], operation=op.id)


def check_output_folder(folder: Path) -> None:
    """Make sure downloads could be written to `folder`, without creating it (a download
    does, so a command that fails first leaves no empty folder behind): a UsageError naming
    the folder and the reason otherwise."""
    import tempfile

    try:
        existing = folder
        while not existing.exists() and existing.parent != existing:
            existing = existing.parent  # the folder a download would create the rest in
        if not existing.is_dir():
            shown = "it" if existing == folder else str(existing)
            raise UsageError(f"--output {folder}: {shown} is a file; allowed: a folder")
        with tempfile.TemporaryFile(dir=existing, prefix=".mediagen-probe-"):
            pass
    except OSError as exc:
        raise UsageError(
            f"--output {folder}: cannot write there ({exc.strerror or exc});"
            " allowed: a writable folder"
        ) from None


def _wait_command(args: argparse.Namespace, op: Operation, task_id: str) -> str:
    import shlex

    words = ["mediagen", "wait", op.provider, op.id, task_id]
    if args.output != DEFAULT_OUTPUT:
        words += ["--output", str(args.output)]
    if args.json:
        words.append("--json")
    return " ".join(shlex.quote(w) for w in words)


def _safe_note(args: argparse.Namespace, client: AsyncClient, op: Operation, task_id: str) -> str:
    """Where a task we stop waiting on stands, and the exact command to pick it up."""
    kept = (
        f"it is safe in the journal ({client.journal.path})"
        if client.journal is not None
        else "the journal is off: keep the task id"
    )
    return f"task {task_id} goes on at the vendor; {kept}; continue with: {_wait_command(args, op, task_id)}"


async def _run(args: argparse.Namespace, op: Operation, params: Any) -> int:
    from .progress import Progress

    async with _client(args.emulate) as client:
        try:
            if op.kind == "query":
                data = await client.query(params)
                _emit(args, op, None, "succeeded", [], data)
                if not args.json:
                    print(json_text(data, indent=2))
                return 0
            if op.kind == "sync":
                progress = Progress(enabled=not args.json)
                progress.add(op.qualified_id, "running")
                try:
                    result = await client.run(params, output=args.output)
                finally:
                    progress.close()
                return await _deliver(args, client, op, result, started=progress.started)
            # The folder is journaled with the intent: `resume` puts the files there.
            task = await client.submit(params, output=None if args.no_wait else args.output)
        except CallError as exc:
            # One vocabulary with `tasks` and batch: refused before a task existed is
            # rejected; a lost answer is unknown (journaled so, never resubmitted).
            state = "unknown" if isinstance(exc, SubmitOutcomeUnknownError) else "rejected"
            json_context(args).update(state=state)
            raise
        json_context(args).update(task_id=task.task_id, state="queued")
        if args.no_wait:
            _emit(args, op, task.task_id, "queued", [], None)
            if not args.json:
                out(task.task_id)
                err(f"submitted; wait for it with: {_wait_command(args, op, task.task_id)}")
            return 0
        return await _wait_and_deliver(args, client, op, task)


def cmd_wait(args: argparse.Namespace) -> int:
    import asyncio

    provider, operation, rest = dotted_arguments(args.provider, args.rest)
    if not operation or len(rest) != 1:
        raise UsageError("wait needs PROVIDER OPERATION TASK_ID (or PROVIDER.OPERATION TASK_ID)")
    op = find_operation(provider or "", operation, retired_ok=True)
    args.task_id = rest[0]
    # Until the vendor answers, nothing is known of the task's state: null, not a guess.
    json_context(args).update(_doc(op, args.task_id, None, []))
    if op.kind != "task":
        raise UsageError(f"{op.qualified_id} is a {op.kind} operation: it has no tasks to wait for")
    _check_before_paying(args, op, wait=True)
    return asyncio.run(_wait(args, op))


async def _wait(args: argparse.Namespace, op: Operation) -> int:
    async with _client(args.emulate) as client:
        # A mistyped id must not leave a journal row: adopt the task only once the vendor
        # has answered for it.
        await client.task(op.provider, op.id, args.task_id, journal=False).status()
        task = client.task(op.provider, op.id, args.task_id)
        return await _wait_and_deliver(args, client, op, task)


async def _wait_and_deliver(
    args: argparse.Namespace, client: AsyncClient, op: Operation, task: AsyncTaskHandle
) -> int:
    import asyncio

    from .progress import Progress

    progress = Progress(enabled=not args.json)
    label = op.qualified_id
    progress.add(label, "queued")
    args.interrupt_note = _safe_note(args, client, op, task.task_id)
    try:
        result = await task.wait(
            timeout=args.timeout, on_progress=lambda s: progress.update(label, s)
        )
    except CallError as exc:
        # Our own wait timeout leaves the task running: report its last known state.
        last = task.last_status.state if task.last_status else "queued"
        state = getattr(exc, "state", None) or (
            last if isinstance(exc, TaskTimeoutError) else "failed"
        )
        if isinstance(exc, TaskTimeoutError):
            exc.hint = _safe_note(args, client, op, task.task_id)
            exc.args = (exc._compose(),)
        raw = task.last_status.raw if task.last_status else None
        json_context(args).update(state=state, raw=raw)
        raise
    except (asyncio.CancelledError, KeyboardInterrupt):
        last = task.last_status.state if task.last_status else "queued"
        json_context(args).update(state=last)
        raise
    finally:
        progress.close()
    args.interrupt_note = None
    return await _deliver(args, client, op, result, started=progress.started)


async def _deliver(
    args: argparse.Namespace, client: AsyncClient, op: Operation, result: Result, *, started: float
) -> int:
    from ..results import artifacts_json

    for warning in result.warnings:
        err(f"mediagen: warning: {warning}")
    json_context(args).update(
        task_id=result.task_id,
        state="succeeded",
        artifacts=artifacts_json(result, []),
        raw=result.raw,
    )
    paths = await client.download(result, args.output)
    folder = Path(args.output).resolve()
    earlier = [p for p in paths if not p.resolve().is_relative_to(folder)]
    if earlier:  # the journal's copies are kept, not fetched again (see AsyncClient.download)
        listed = ", ".join(str(p) for p in earlier)
        err(f"mediagen: note: downloaded earlier, not fetched again into {args.output}: {listed}")
    _emit(args, op, result.task_id, "succeeded", artifacts_json(result, paths), result.raw)
    if not args.json:
        took = time.monotonic() - started
        task = f" (task {result.task_id})" if result.task_id else ""
        out(f"{op.qualified_id} succeeded{task} in {took:.1f}s")
        for path in paths:
            out(f"  {path}")
    return 0


def _doc(
    op: Operation,
    task_id: str | None,
    state: str | None,
    artifacts: list[dict[str, str | None]],
    raw: Any = None,
) -> dict[str, Any]:
    return {
        "provider": op.provider,
        "operation": op.id,
        "task_id": task_id,
        "state": state,
        "artifacts": artifacts,
        "raw": raw,
        "error": None,
    }


def _emit(
    args: argparse.Namespace,
    op: Operation,
    task_id: str | None,
    state: str,
    artifacts: list[dict[str, str | None]],
    raw: Any,
) -> None:
    """--json: the one JSON object on stdout (`provider, operation, task_id, state,
    artifacts, raw, error`); a failure's is printed by `main` from `json_context`."""
    if args.json:
        emit_json(args, _doc(op, task_id, state, artifacts, raw))


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
    import asyncio

    check_output_folder(args.output)
    return asyncio.run(_demo(args.output))


async def _demo(output: Path) -> int:
    import asyncio

    from ..client import AsyncClient
    from ..params import model_for
    from ..registry import default_registry
    from ..testing import Emulator
    from .progress import Progress

    print("Starting the local emulator (no credentials, no internet)...", flush=True)
    progress = Progress()
    async with (
        Emulator(duration=1.5) as emulator,
        AsyncClient(**emulator.client_options()) as client,
    ):
        print(f"Emulator at {emulator.url}; running one operation per provider:", flush=True)

        async def one(
            provider: str, operation: str, values: dict[str, Any]
        ) -> tuple[str, list[Path]]:
            label = f"{provider}.{operation}"
            params = model_for(label).from_dict(values)
            progress.add(label)
            if default_registry().catalog.provider(provider).operation(operation).kind == "sync":
                progress.set(label, "running")
                result = await client.run(params)
                progress.set(label, "succeeded", done=True)
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
