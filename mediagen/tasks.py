"""The blocking task handle: the same shape as `AsyncTaskHandle`, run on the client's loop."""

from __future__ import annotations

from pathlib import Path

from .engine import AsyncTaskHandle, ProgressCallback
from .loop import LoopThread
from .results import Result
from .strategies import TaskStatus


class TaskHandle:
    def __init__(self, loop: LoopThread, task: AsyncTaskHandle) -> None:
        self._loop = loop
        self._task = task
        self.provider = task.provider
        self.operation = task.operation
        self.task_id = task.task_id

    def __repr__(self) -> str:
        return repr(self._task)

    @property
    def last_status(self) -> TaskStatus | None:
        return self._task.last_status

    def status(self) -> TaskStatus:
        return self._loop.run(self._task.status())

    def result(self) -> Result:
        return self._loop.run(self._task.result())

    def wait(
        self, timeout: float | None = None, on_progress: ProgressCallback | None = None
    ) -> Result:
        return self._loop.run(self._task.wait(timeout=timeout, on_progress=on_progress))

    def download(self, directory: str | Path, *, overwrite: bool = False) -> list[Path]:
        return self._loop.run(self._task.download(directory, overwrite=overwrite))
