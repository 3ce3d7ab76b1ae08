"""Operations that left the catalog while tasks of theirs were still running.

A vendor update can remove an operation between a submit and its result. Where the provider's
task protocol polls by task id alone (its poll endpoint names no other placeholder; Media.io
and Tomoviee do), such a task is still finished: the engine polls it through a stand-in
Operation built from what is known (provider, id), whose output kind is unknown, so artifacts
are found by URL as usual. Where polling needs the operation, the error says so.
"""

from __future__ import annotations

from .catalog.importers import placeholders
from .catalog.ir import Operation, Provider
from .errors import ConfigurationError

RETIRED_NOTE = "retired: no longer in the catalog; kept only to finish earlier tasks by id"


def polls_by_task_id(provider: Provider) -> bool:
    """Whether this provider's tasks can be polled knowing only the task id."""
    task = provider.task
    return task is not None and placeholders(task.poll.path) <= {"task_id"}


def is_retired(op: Operation) -> bool:
    return RETIRED_NOTE in op.notes


def retired_operation(provider: Provider, op_id: str) -> Operation:
    """The stand-in for a task's operation that is no longer in the catalog, or a clear
    ConfigurationError when its tasks cannot be finished without it."""
    qualified = f"{provider.name}.{op_id}"
    if provider.task is None:
        raise ConfigurationError(
            f"{qualified} is no longer in the catalog, and {provider.name} answers synchronously: "
            "there is no task of it to poll"
        )
    if not polls_by_task_id(provider):
        raise ConfigurationError(
            f"{qualified} is no longer in the catalog, and {provider.name} polls tasks through "
            f"{provider.task.poll.path!r}, which needs more than the task id: its tasks cannot "
            "be finished with this catalog"
        )
    return Operation(
        provider=provider.name,
        id=op_id,
        name=op_id,
        kind="task",
        output="none",
        method=provider.task.poll.method,
        path=provider.task.poll.path,
        params=(),
        notes=(RETIRED_NOTE,),
    )
