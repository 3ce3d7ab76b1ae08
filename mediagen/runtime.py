"""The interface between generated endpoint stubs and the runtime engine.

Stubs validate parameters by building a `ParamsModel`, then hand it to a runtime. The
runtime knows which provider and operation a model belongs to (`ParamsModel.OPERATION`), and
does the rest: auth, transport, task polling, result parsing. Three entry points, one per
operation kind in the catalog: `submit` (asynchronous tasks), `run` (synchronous APIs whose
response is the result) and `query` (credits, task results: the raw `data` object).

Stable surface: generated code, including plugins' own, depends on this module (with
`mediagen.params` and `mediagen.results`); its names and signatures only change with a major
version.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, final

if TYPE_CHECKING:  # annotations only: a generated index imports this module for ProviderKey
    from .params import ParamsModel
    from .results import Result
    from .strategies import TaskStatus

AsyncEndpoints = TypeVar("AsyncEndpoints", covariant=True)
BlockingEndpoints = TypeVar("BlockingEndpoints", covariant=True)


@final
class ProviderKey(Generic[AsyncEndpoints, BlockingEndpoints]):
    """A typed handle on one provider's endpoints, written by `mediagen generate` into the
    generated index (`ACME: Final[ProviderKey[AsyncAcme, Acme]] = ProviderKey("acme")`).

    `AsyncClient.provider(KEY)` returns the async endpoints and `Client.provider(KEY)` the
    blocking ones, typed, for built-in and contributed providers alike.
    """

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"ProviderKey({self.name!r})"


class AsyncTask(Protocol):
    """A submitted task, awaited asynchronously."""

    provider: str
    operation: str
    task_id: str
    last_status: TaskStatus | None

    async def status(self) -> TaskStatus: ...

    async def wait(
        self,
        timeout: float | None = None,
        on_progress: Callable[[TaskStatus], None] | None = None,
    ) -> Result: ...

    async def result(self) -> Result: ...

    async def download(self, directory: str | Path, *, overwrite: bool = False) -> list[Path]: ...


class Task(Protocol):
    """A submitted task, from the blocking client."""

    provider: str
    operation: str
    task_id: str

    @property
    def last_status(self) -> TaskStatus | None: ...

    def status(self) -> TaskStatus: ...

    def wait(
        self,
        timeout: float | None = None,
        on_progress: Callable[[TaskStatus], None] | None = None,
    ) -> Result: ...

    def result(self) -> Result: ...

    def download(self, directory: str | Path, *, overwrite: bool = False) -> list[Path]: ...


class AsyncRuntime(Protocol):
    async def submit(self, params: ParamsModel) -> AsyncTask: ...

    async def run(self, params: ParamsModel) -> Result: ...

    async def query(self, params: ParamsModel) -> dict[str, Any]: ...


class SyncRuntime(Protocol):
    def submit(self, params: ParamsModel) -> Task: ...

    def run(self, params: ParamsModel) -> Result: ...

    def query(self, params: ParamsModel) -> dict[str, Any]: ...
