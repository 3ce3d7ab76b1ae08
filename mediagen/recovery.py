"""What to do with a journal entry found again: by `resume`, or by a re-run of the same batch.

One decision for both, so neither pays twice: an entry held by another live process is left
to it; a planned one is submitted once; a queued or running one is waited on; a succeeded one
gives its result (and any missing files); a submit cut off by a crash becomes `unknown` and is
never sent again. A bad row (unreadable parameters, parameters the catalog no longer accepts,
an unknown operation or state, a column that is not what it should be) is reported and skipped; the other entries go on.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import attrs

from .errors import ConfigurationError, ParamError
from .journal import Entry, Journal

if TYPE_CHECKING:
    from .engine import Engine
    from .params import ParamsModel

RESUBMITTABLE = ("rejected", "failed", "cancelled", "timed_out")
"""States of an earlier attempt after which a re-run of the same batch item may submit anew:
no task exists, or the one that existed has ended without a result."""


@attrs.frozen
class Plan:
    """run: work on the entry (submit `params`, or wait on / fetch `task_id`); report: the
    entry ends here with `state` and `message`; done: nothing is left to do."""

    entry: Entry
    action: Literal["run", "report", "done"]
    params: ParamsModel | None = None
    state: str = ""
    message: str = ""


def item_keys(items: Sequence[ParamsModel], scope: str) -> list[str]:
    """One idempotency key per batch item: sha256 of `scope` (the batch's identity, e.g. its
    file's resolved path) and the item's canonical JSON, plus its occurrence number among
    identical items, so two identical lines are two items and moving a line changes nothing."""
    import hashlib  # here: `mediagen tasks` reads entries without hashing anything

    seen: Counter[str] = Counter()
    keys = []
    for model in items:
        canonical = json.dumps(
            {"operation": model.OPERATION, "params": model.to_dict()},
            sort_keys=True,
            separators=(",", ":"),
        )
        digest = hashlib.sha256(f"{scope}\n{canonical}".encode("utf-8", "surrogatepass"))
        seen[digest.hexdigest()] += 1
        keys.append(f"{digest.hexdigest()}:{seen[digest.hexdigest()]}")
    return keys


def entry_problem(engine: Engine | None, entry: Entry) -> str | None:
    """What makes `entry` unusable, if anything: one line naming it."""
    where = f"journal entry {entry.id} ({entry.qualified_operation})"
    if entry.row_error:
        return f"{where}: {entry.row_error}"
    if engine is not None:
        try:
            # A task already sent is finished even if its operation has left the catalog.
            engine.operation(entry.provider, entry.operation, retired_ok=entry.state != "planned")
        except (ConfigurationError, KeyError) as exc:
            return f"{where}: unknown operation ({exc})"
    if entry.state == "planned":
        if entry.params_error:
            return f"{where}: {entry.params_error}"
        from .params import model_for

        try:
            model_for(entry.qualified_operation).from_dict(entry.params)
        except KeyError as exc:
            return f"{where}: unknown operation ({exc.args[0]})"
        except ParamError as exc:
            return f"{where}: its params are no longer valid: {exc}"
    return None


def plan(
    journal: Journal,
    engine: Engine,
    entry: Entry,
    *,
    force: bool = False,
    output: str | Path | None = None,
) -> Plan:
    """Claim `entry` for this process and decide what to do with it (files count as missing
    only when there is an `output` folder to put them in)."""
    if journal.held_elsewhere(entry, force=force) or not journal.take(entry):
        return _elsewhere(journal, entry)
    entry = journal.get(entry.id)  # as it is now that it is ours
    problem = entry_problem(engine, entry)
    if problem is not None:
        if entry.state == "planned":  # never sent: nothing exists, and it cannot be sent now
            journal.record_rejected(entry.id, problem)
            return Plan(entry, "report", state="rejected", message=f"{problem}; never sent")
        return Plan(entry, "report", state="invalid", message=f"{problem}; skipped")
    if entry.state == "pending":
        journal.record_unknown(
            entry.id, "the process stopped while submitting; the vendor may have the task"
        )
        return Plan(
            entry,
            "report",
            state="unknown",
            message=f"{entry.qualified_operation}: journal entry {entry.id} was cut off while"
            " submitting; the vendor may have the task, so it is not sent again",
        )
    if entry.state == "unknown":
        return Plan(
            entry,
            "report",
            state="unknown",
            message=f"{entry.qualified_operation}: journal entry {entry.id}: an earlier submit's"
            " answer was lost, so the vendor may have created the task; it is not sent again."
            " Check the vendor's dashboard: if the task exists, `mediagen wait` picks it up by"
            " id; if not, send it again with `mediagen run` or from another batch file",
        )
    current = engine.origin(entry.provider)
    if entry.state in ("queued", "running") and entry.task_id and entry.origin != current:
        # Its id means nothing to another host (or names someone else's task there).
        return Plan(
            entry,
            "report",
            state="other_origin",
            message=f"{entry.qualified_operation}: journal entry {entry.id} (task"
            f" {entry.task_id}) was submitted to {entry.origin or 'the default base URL'}, not"
            f" to {current or 'the default base URL'}: resume it with that base URL",
        )
    if entry.state in ("queued", "running") and not entry.task_id:
        journal.record_unknown(entry.id, "no task id was recorded for this entry")
        return Plan(
            entry,
            "report",
            state="unknown",
            message=f"{entry.qualified_operation}: journal entry {entry.id} has no task id",
        )
    if entry.state == "succeeded" and (output is None or not missing_files(entry)):
        return Plan(entry, "done", state="succeeded")
    if entry.state == "planned":
        from .params import model_for

        params = model_for(entry.qualified_operation).from_dict(entry.params)
        return Plan(entry, "run", params=params)
    return Plan(entry, "run")


def _elsewhere(journal: Journal, entry: Entry) -> Plan:
    owner = journal.get(entry.id).owner or entry.owner
    return Plan(
        entry,
        "report",
        state="skipped",
        message=f"{entry.qualified_operation}: journal entry {entry.id} is handled by another"
        f" process ({owner}); left to it",
    )


def missing_files(entry: Entry) -> bool:
    """A succeeded entry has artifacts whose files were never saved or are gone."""
    if entry.result is None:
        return False
    saved = {url: Path(path) for url, path in entry.files}
    return any(a.url not in saved or not saved[a.url].exists() for a in entry.result.artifacts)
