"""`mediagen tasks`, `mediagen resume` and `mediagen batch`: the task journal at a terminal."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..defaults import BATCH_CONCURRENCY as DEFAULT_CONCURRENCY
from ..journal_states import TERMINAL, UNFINISHED
from .common import UsageError, add_output_option, check_credentials, err, json_text, out

if TYPE_CHECKING:  # the journal, batches and clients load with the commands that use them
    from ..batch import Outcome
    from ..journal import Journal
    from ..params import ParamsModel


STATES = (*UNFINISHED, *TERMINAL)


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("tasks")
    p.add_argument(
        "--state", action="append", choices=STATES, help="only these states (repeatable)"
    )
    p.add_argument("--unfinished", action="store_true", help="only tasks not finished yet")
    p.add_argument("--limit", type=int, metavar="N", help="only the N most recent tasks (N >= 1)")
    p.add_argument("--json", action="store_true", help="print a JSON list (times in ISO 8601, UTC)")
    p.add_argument(
        "--journal",
        type=Path,
        help="journal file (default: $MEDIAGEN_JOURNAL or the user data dir)",
    )
    p.set_defaults(func=cmd_tasks)

    p = sub.add_parser("resume")
    _batch_options(p, resuming=True)
    p.add_argument(
        "--force",
        action="store_true",
        help="also take over entries whose owner is recorded on another host"
        " (a process provably alive on this host is still left alone)",
    )
    p.set_defaults(func=cmd_resume)

    p = sub.add_parser("batch")
    p.add_argument("file", type=Path, help="the JSON-lines file ('-' for standard input)")
    _batch_options(p)
    p.set_defaults(func=cmd_batch)


def _batch_options(p: argparse.ArgumentParser, *, resuming: bool = False) -> None:
    p.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        help=f"operations in flight per provider (default: {DEFAULT_CONCURRENCY})",
    )
    if resuming:
        p.add_argument(
            "--output",
            type=Path,
            help="download folder for tasks whose command named none (library calls);"
            " the others' files go where their command said (it is journaled)",
        )
    else:
        add_output_option(p)
    p.add_argument(
        "--json", action="store_true", help="print one JSON object per item, in input order"
    )
    p.add_argument(
        "--journal",
        type=Path,
        help="journal file (default: $MEDIAGEN_JOURNAL or the user data dir)",
    )


def _journal_path(path: Path | None) -> Path:
    from ..journal import configured_path

    resolved = configured_path(path)
    if resolved is None:
        raise UsageError(
            "the task journal is turned off (MEDIAGEN_JOURNAL=off); set it or pass --journal"
        )
    return resolved


def _journal(path: Path | None) -> Journal:
    from ..journal import Journal

    return Journal(_journal_path(path))


def _iso(when: float | None) -> str | None:
    """Epoch seconds as ISO 8601 in UTC, the form other tools read."""
    if when is None:
        return None
    return datetime.fromtimestamp(when, UTC).isoformat(timespec="milliseconds")


def cmd_tasks(args: argparse.Namespace) -> int:
    from ..journal import Journal, JournalUnreadableError
    from ..recovery import entry_problem

    if args.limit is not None and args.limit < 1:
        raise UsageError(f"--limit {args.limit}; allowed: a whole number of 1 or more")
    path = _journal_path(args.journal)
    states = args.state or (UNFINISHED if args.unfinished else None)
    if not path.exists():
        if args.json:
            print("[]")
            return 0
        print(f"no tasks in {path}: no journal there yet (nothing has been recorded in it)")
        return 0
    try:  # listing writes nothing: a journal on a read-only disk or file still reads
        journal = Journal(path, read_only=True)
    except JournalUnreadableError as exc:
        raise UsageError(str(exc)) from None
    try:
        entries = journal.entries(states=states)
    finally:
        journal.close()
    if args.limit is not None:
        entries = entries[-args.limit :]
    for entry in entries:  # a bad row is named, and listed with what can be read of it
        problem = entry_problem(None, entry)
        if problem:
            err(f"mediagen: warning: {problem}")
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "id": e.id,
                        "provider": e.provider,
                        "operation": e.operation,
                        "task_id": e.task_id,
                        "state": e.state,
                        "progress": e.progress,
                        "error": e.error,
                        "batch": e.batch,
                        "item": e.item,
                        "created_at": _iso(e.created_at),
                        "updated_at": _iso(e.updated_at),
                        "files": [path for _, path in e.files],
                        "params_error": e.params_error,
                    }
                    for e in entries
                ],
                indent=2,
            )
        )
        return 0
    if not entries:
        out(f"no tasks in {journal.path}" + (f" with state {', '.join(states)}" if states else ""))
        return 0
    for e in entries:
        when = (
            time.strftime("%Y-%m-%d %H:%M", time.localtime(e.created_at))
            if e.created_at is not None
            else f"{'?':<16}"
        )
        extra = f"  {e.error}" if e.error and e.state not in ("succeeded",) else ""
        files = f"  {len(e.files)} file(s)" if e.files else ""
        out(
            f"{e.id:>5}  {when}  {e.state:<9}  {e.qualified_operation:<36}  {e.task_id or '-'}{files}{extra}"
        )
    return 0


def _check_concurrency(args: argparse.Namespace) -> None:
    if args.concurrency < 1:
        raise UsageError(f"--concurrency {args.concurrency}; allowed: a whole number of 1 or more")


def cmd_resume(args: argparse.Namespace) -> int:
    import asyncio

    from .run_commands import check_output_folder

    _check_concurrency(args)
    if args.output is not None:
        check_output_folder(args.output)
    journal = _journal(args.journal)
    try:
        return asyncio.run(_run(args, journal, None, None))
    finally:
        journal.close()  # (a process's exit would too; main() run in-process must)


def cmd_batch(args: argparse.Namespace) -> int:
    import asyncio

    from ..batch import decode_lines, parse_jsonl, read_batch
    from .run_commands import check_output_folder

    _check_concurrency(args)
    source = "<stdin>" if str(args.file) == "-" else str(args.file)
    try:
        if source == "<stdin>":
            data = read_batch(sys.stdin.buffer, source)
        else:
            with args.file.open("rb") as stream:
                data = read_batch(stream, source)
    except OSError as exc:
        raise UsageError(f"cannot read {source}: {exc.strerror or exc}") from None
    # Every line decoded and validated before anything is sent.
    items = parse_jsonl(decode_lines(data, source), source)
    if not items:
        raise UsageError(f"{source} has no items")
    # One error for the whole file, not one rejected journal row per item.
    check_credentials(item.provider for item in items)
    check_output_folder(args.output)
    # The file's identity: a re-run of the same file adopts its earlier items (never paying
    # twice). Standard input has none: each run is new.
    key = None if source == "<stdin>" else str(args.file.resolve())
    journal = _journal(args.journal)
    try:
        return asyncio.run(_run(args, journal, items, key))
    except KeyboardInterrupt:
        _explain_interrupt(journal, items, key, source)
        raise
    finally:
        journal.close()


def _explain_interrupt(journal: Journal, items: list[Any], key: str | None, source: str) -> None:
    """After Ctrl-C: where each item stands, and how to finish without paying twice."""
    from ..params import model_for
    from ..recovery import item_keys

    if key is None:
        err("mediagen: interrupted; `mediagen resume` finishes what was started")
        return
    models: list[ParamsModel] = [
        model_for(f"{i.provider}.{i.operation}").from_dict(i.params) for i in items
    ]
    try:
        states = Counter(
            entry.state if entry is not None else "not recorded"
            for entry in (journal.find_item(k) for k in item_keys(models, key))
        )
    except Exception:  # the journal is busy or gone: the advice holds all the same
        states = Counter()
    summary = ", ".join(f"{n} {s}" for s, n in sorted(states.items())) or "states unknown"
    err(
        f"mediagen: interrupted: {len(items)} item(s): {summary}. Run `mediagen batch {source}`"
        " again to finish them: it submits the planned ones once, waits on those already"
        " submitted and never resubmits one (`mediagen resume` also finishes them)"
    )


async def _run(
    args: argparse.Namespace, journal: Journal, items: list[Any] | None, key: str | None
) -> int:
    from ..client import AsyncClient
    from .progress import Progress

    progress = Progress(enabled=not args.json)
    states: dict[int, str] = {}

    def update(index: int, state: str) -> None:
        states[index] = state
        counts = Counter(states.values())
        progress.set("tasks", ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))

    async with AsyncClient(journal=journal) as client:
        if items is None:
            outcomes = await client.resume(
                force=args.force,
                concurrency=args.concurrency,
                output=args.output,
                on_update=update,
            )
        else:
            outcomes = await client.batch(
                items,
                key=key,
                concurrency=args.concurrency,
                output=args.output,
                on_update=update,
            )
    progress.close()
    _report(args, outcomes, resumed=items is None)
    return 1 if any(o.failed for o in outcomes) else 0


def _report(args: argparse.Namespace, outcomes: list[Outcome], *, resumed: bool) -> None:
    if resumed and not outcomes:
        nothing = "nothing to resume: every task in the journal is finished"
        if args.json:  # no outcome: no line on stdout, and the reason on stderr
            err(f"mediagen: {nothing}")
        else:
            out(nothing)
        return
    if args.json:
        for outcome in outcomes:
            print(json_text(outcome.to_json()))
        return
    outcomes = [_with_paths_as_given(o) for o in outcomes]  # (--json's are absolute)
    for o in outcomes:
        label = f"{o.provider}.{o.operation}"
        task = f" {o.task_id}" if o.task_id else ""
        if o.ok:
            out(f"  [{o.index}] {label}{task}: succeeded")
            for path in o.paths:
                out(f"      {path}")
        else:
            out(f"  [{o.index}] {label}{task}: {o.state}: {o.error}")
    folders = sorted({str(p.parent) for o in outcomes for p in o.paths})
    if resumed and folders:
        out("files are in: " + ", ".join(folders))
    counts = Counter(o.state for o in outcomes)
    err(f"{len(outcomes)} item(s): " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))


def _with_paths_as_given(outcome: Outcome) -> Outcome:
    """The outcome with its files as a download names them (relative to the working folder
    when inside it): the journal keeps them absolute, and an item finished by an earlier run
    should read like one finished now."""
    if not outcome.paths:
        return outcome
    import attrs

    here = Path.cwd()
    paths = tuple(p.relative_to(here) if p.is_relative_to(here) else p for p in outcome.paths)
    return attrs.evolve(outcome, paths=paths)
