"""`mediagen tasks`, `mediagen resume` and `mediagen batch`: the task journal at a terminal."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from ..batch import DEFAULT_CONCURRENCY, Outcome, parse_jsonl
from ..client import AsyncClient
from ..journal import TERMINAL, UNFINISHED, Journal, configured_path
from .common import UsageError, add_output_option, err, json_text, out
from .progress import Progress

STATES = (*UNFINISHED, *TERMINAL)


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("tasks", help="list the tasks in the journal")
    p.add_argument(
        "--state", action="append", choices=STATES, help="only these states (repeatable)"
    )
    p.add_argument("--unfinished", action="store_true", help="only tasks not finished yet")
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.add_argument(
        "--journal",
        type=Path,
        help="journal file (default: $MEDIAGEN_JOURNAL or the user data dir)",
    )
    p.set_defaults(func=cmd_tasks)

    p = sub.add_parser(
        "resume", help="finish every unfinished task in the journal; download missing files"
    )
    _batch_options(p)
    p.set_defaults(func=cmd_resume)

    p = sub.add_parser("batch", help='run a JSON-lines file of {"provider", "operation", "params"}')
    p.add_argument("file", type=Path, help="the JSON-lines file ('-' for standard input)")
    _batch_options(p)
    p.set_defaults(func=cmd_batch)


def _batch_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        help=f"operations in flight per provider (default: {DEFAULT_CONCURRENCY})",
    )
    add_output_option(p)
    p.add_argument(
        "--json", action="store_true", help="print one JSON object per item, in input order"
    )
    p.add_argument(
        "--journal",
        type=Path,
        help="journal file (default: $MEDIAGEN_JOURNAL or the user data dir)",
    )


def _journal(path: Path | None) -> Journal:
    resolved = configured_path(path)
    if resolved is None:
        raise UsageError(
            "the task journal is turned off (MEDIAGEN_JOURNAL=off); set it or pass --journal"
        )
    return Journal(resolved)


def cmd_tasks(args: argparse.Namespace) -> int:
    journal = _journal(args.journal)
    states = args.state or (UNFINISHED if args.unfinished else None)
    entries = journal.entries(states=states)
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
                        "created_at": e.created_at,
                        "updated_at": e.updated_at,
                        "files": [path for _, path in e.files],
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
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(e.created_at))
        extra = f"  {e.error}" if e.error and e.state not in ("succeeded",) else ""
        files = f"  {len(e.files)} file(s)" if e.files else ""
        out(
            f"{e.id:>5}  {when}  {e.state:<9}  {e.qualified_operation:<36}  {e.task_id or '-'}{files}{extra}"
        )
    return 0


def cmd_resume(args: argparse.Namespace) -> int:
    journal = _journal(args.journal)
    return asyncio.run(_run(args, journal, None))


def cmd_batch(args: argparse.Namespace) -> int:
    source = "<stdin>" if str(args.file) == "-" else str(args.file)
    try:
        lines = (
            sys.stdin.read().splitlines()
            if source == "<stdin>"
            else args.file.read_text(encoding="utf-8").splitlines()
        )
    except OSError as exc:
        raise UsageError(f"cannot read {source}: {exc.strerror or exc}") from None
    items = parse_jsonl(lines, source)  # every line validated before anything is sent
    if not items:
        raise UsageError(f"{source} has no items")
    journal = _journal(args.journal)
    return asyncio.run(_run(args, journal, items))


async def _run(args: argparse.Namespace, journal: Journal, items: list[Any] | None) -> int:
    progress = Progress(enabled=None if not args.json else False)
    states: dict[int, str] = {}

    def update(index: int, state: str) -> None:
        states[index] = state
        counts = Counter(states.values())
        progress.set("tasks", ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))

    async with AsyncClient(journal=journal) as client:
        if items is None:
            outcomes = await client.resume(
                concurrency=args.concurrency, output=args.output, on_update=update
            )
        else:
            outcomes = await client.batch(
                items, concurrency=args.concurrency, output=args.output, on_update=update
            )
    progress.close()
    _report(args, outcomes, resumed=items is None)
    return 0 if all(o.ok for o in outcomes) else 1


def _report(args: argparse.Namespace, outcomes: list[Outcome], *, resumed: bool) -> None:
    if args.json:
        for outcome in outcomes:
            print(json_text(outcome.to_json()))
        return
    if resumed and not outcomes:
        print("nothing to resume: every task in the journal is finished")
        return
    for o in outcomes:
        label = f"{o.provider}.{o.operation}"
        task = f" {o.task_id}" if o.task_id else ""
        if o.ok:
            out(f"  [{o.index}] {label}{task}: succeeded")
            for path in o.paths:
                out(f"      {path}")
        else:
            out(f"  [{o.index}] {label}{task}: {o.state}: {o.error}")
    counts = Counter(o.state for o in outcomes)
    err(f"{len(outcomes)} item(s): " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
