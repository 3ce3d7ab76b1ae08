"""The public clients: `AsyncClient`, and `Client` with the same shape for blocking code.

async with mediagen.AsyncClient() as client:
    task = await client.mediaio.imagen_4(prompt="a cat")
    result = await task.wait()
    paths = await client.download(result, "out")
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypedDict, TypeVar, Unpack, overload

from .credentials import CLIENT_SHORTCUTS, CredentialStore
from .defaults import (
    BATCH_CONCURRENCY,
    MAX_DOWNLOAD_BYTES,
    MAX_RESPONSE_BYTES,
    PollSchedule,
    RetryPolicy,
    Timeouts,
)
from .engine import AsyncTaskHandle, Engine
from .errors import ConfigurationError
from .generated import AsyncProviders, Providers
from .journal import JOURNAL_ENV, Journal, configured_path
from .loop import LoopThread
from .names import close_names, unknown_name
from .params import ParamsModel
from .registry import Registry, default_registry
from .results import Result
from .runtime import AsyncRuntime, ProviderKey, SyncRuntime
from .tasks import TaskHandle
from .transport import Transport

if TYPE_CHECKING:  # batches and resume load mediagen.batch (and recovery) when first run
    from .batch import BatchItem, Outcome

CredentialMap = Mapping[str, Mapping[str, str | None]]
JournalOption = Journal | str | Path | bool | None
E = TypeVar("E")


def open_journal(option: JournalOption) -> Journal | None:
    """True/None: the configured journal ($MEDIAGEN_JOURNAL, else the user data dir); False:
    none; a path or a Journal: that one."""
    if isinstance(option, Journal):
        return option
    if option is False or (
        isinstance(option, str) and option.strip().lower() in ("off", "none", "")
    ):
        return None
    path = configured_path(None if option in (None, True) else Path(option))  # type: ignore[arg-type]
    if path is None:
        return None
    try:
        return Journal(path)
    except (OSError, sqlite3.Error) as exc:  # before any request: a mistake in the path
        reason = str(exc)
        if isinstance(exc, OSError) and exc.strerror:  # not Python's "[Errno 17] ..." form
            reason = exc.strerror
            if exc.filename and str(exc.filename) != str(path):
                reason += f" ({exc.filename})"  # the part of the path that is wrong
        raise ConfigurationError(
            f"cannot open the task journal {path}: {reason}; allowed: a path to a SQLite"
            f" journal file in a writable folder (journal= or ${JOURNAL_ENV}), or off for none"
        ) from None


def _credentials(options: Mapping[str, Any]) -> CredentialStore:
    """The credentials given to the client: `credentials=`, then the keyword shortcuts."""
    merged: dict[str, dict[str, str | None]] = {
        p: dict(v) for p, v in (options.get("credentials") or {}).items()
    }
    for (provider, name), option in CLIENT_SHORTCUTS.items():
        value = options.get(option)
        if value is not None:
            merged.setdefault(provider, {})[name] = value
    return CredentialStore(merged)


class ClientOptions(TypedDict, total=False):
    """Everything `AsyncClient` and `Client` accept, as keyword arguments (all optional)."""

    credentials: CredentialMap
    """`{provider: {credential: value}}`; missing ones come from the environment (MEDIAIO_API_KEY
    or API_KEY, TOMOVIEE_APP_KEY + TOMOVIEE_APP_SECRET, EDRAWMAX_USER_ID)."""
    mediaio_api_key: str | None
    tomoviee_app_key: str | None
    tomoviee_app_secret: str | None
    edrawmax_user_id: str | None
    base_urls: Mapping[str, str]
    """`{provider: url}` overrides (else MEDIAGEN_<PROVIDER>_BASE_URL); https, or http on
    loopback only."""
    timeouts: Timeouts
    polling: PollSchedule
    """One poll schedule for every task, instead of the per-output defaults."""
    retry: RetryPolicy
    journal: JournalOption
    """None (default): $MEDIAGEN_JOURNAL or the user data directory; False: off; a path or a
    Journal: that one."""
    registry: Registry
    """A plugin registry (default: built-ins plus installed entry points)."""
    max_download_bytes: int
    max_response_bytes: int
    """The largest API answer (submit, poll, query, run) accepted, in bytes; a bigger one is a
    MalformedResponseError, refused without being read whole (default 8 MiB)."""


class AsyncClient(AsyncProviders):
    """The async client. Use it as an async context manager; `client.<provider>.<operation>()`.

    Options (see `ClientOptions`): credentials and the mediaio_api_key / tomoviee_app_key /
    tomoviee_app_secret / edrawmax_user_id shortcuts, base_urls, timeouts, polling, retry,
    journal, registry, max_download_bytes, max_response_bytes. Defaults live in mediagen.defaults.
    """

    def __init__(self, **options: Unpack[ClientOptions]) -> None:
        unknown = set(options) - set(ClientOptions.__annotations__)
        if unknown:
            raise TypeError(f"unknown client option(s): {', '.join(sorted(unknown))}")
        journal = options.get("journal")
        registry = options.get("registry") or default_registry()  # first: it may fail (a plugin)
        self._owns_journal = not isinstance(journal, Journal)
        self._owns_engine = True
        self._parent_transport: Transport | None = None
        self._engine = Engine(
            registry=registry,
            credentials=_credentials(options),
            base_urls=options.get("base_urls"),
            timeouts=options.get("timeouts"),
            polling=options.get("polling"),
            retry=options.get("retry"),
            journal=open_journal(journal),
            max_download_bytes=options.get("max_download_bytes", MAX_DOWNLOAD_BYTES),
            max_response_bytes=options.get("max_response_bytes", MAX_RESPONSE_BYTES),
        )
        self._endpoint_cache: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"AsyncClient({self._engine!r})"

    @property
    def journal(self) -> Journal | None:
        return self._engine.journal

    def with_options(
        self,
        *,
        timeouts: Timeouts | None = None,
        polling: PollSchedule | None = None,
        retry: RetryPolicy | None = None,
    ) -> AsyncClient:
        """The same client (session, credentials, journal) with other policies, for some calls:
        `await client.with_options(retry=RetryPolicy(attempts=1)).mediaio.credits()`."""
        clone = object.__new__(AsyncClient)
        clone._owns_journal = False
        clone._owns_engine = False
        clone._engine = self._engine.with_options(timeouts=timeouts, polling=polling, retry=retry)
        clone._parent_transport = self._engine.transport
        clone._endpoint_cache = {}
        return clone

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the session and the journal; a `with_options` copy closes only what it made."""
        if not self._owns_engine:
            if self._engine.transport is not self._parent_transport:
                await self._engine.transport.close()
            return
        await self._engine.close()
        if self._owns_journal and self._engine.journal is not None:
            self._engine.journal.close()

    def _endpoints(self, provider: str) -> Any:
        if provider not in self._endpoint_cache:
            self._engine.check_provider(provider)
            cls = self._engine.registry.endpoints_class(provider, blocking=False)
            self._endpoint_cache[provider] = cls(self._engine)
        return self._endpoint_cache[provider]

    @overload
    def provider(self, key: ProviderKey[E, Any]) -> E: ...

    @overload
    def provider(self, key: str) -> Any: ...

    def provider(self, key: ProviderKey[Any, Any] | str) -> Any:
        """The endpoints object of any provider, built-in or contributed by a plugin.

        With the `ProviderKey` from a generated package (`client.provider(acme.ACME)`) the
        result is typed; with a name (`client.provider("acme")`) it is not.
        """
        return self._endpoints(key if isinstance(key, str) else key.name)

    if not TYPE_CHECKING:  # mypy keeps checking attribute names; use provider(KEY) for types

        def __getattr__(self, name: str) -> Any:
            return _provider_attribute(self, name)

    def task(
        self, provider: str, operation: str, task_id: str, *, journal: bool = True
    ) -> AsyncTaskHandle:
        """A handle on a task submitted earlier (by this process or another), from its id.

        An unknown provider or operation is a ConfigurationError naming the closest known
        names, raised before the journal is touched; an operation that has left the catalog
        is accepted only for a task the journal recorded under it (mediagen.retired). With
        `journal=False` the task is not recorded in the journal (e.g. to check with one
        `status()` that the vendor knows the id before adopting it)."""
        return self._engine.task(provider, operation, task_id, journal=journal)

    async def download(
        self, result: Result, directory: str | Path, *, overwrite: bool = False
    ) -> list[Path]:
        """Save a result's artifacts into directory; returns their paths. With the journal on,
        a file an earlier download of the same task placed (and still there) is not fetched
        again: its path is returned."""
        return await self._engine.download(result, directory, overwrite=overwrite)

    async def submit(
        self, params: ParamsModel, *, output: str | Path | None = None
    ) -> AsyncTaskHandle:
        """Submit a task from a parameter model built by hand (the generated methods do this).

        `output`: the folder the caller will download into, journaled so that `resume` puts
        the files there if this process stops first (None: resume fetches no files)."""
        return await self._engine.submit(params, output=_folder(output))

    async def run(self, params: ParamsModel, *, output: str | Path | None = None) -> Result:
        """Call a synchronous operation from a parameter model built by hand (`output` as for
        `submit`)."""
        return await self._engine.run(params, output=_folder(output))

    async def batch(
        self,
        items: Sequence[BatchItem | ParamsModel],
        *,
        key: str | None = None,
        concurrency: int | Mapping[str, int] = BATCH_CONCURRENCY,
        output: str | Path | None = None,
        on_update: Callable[[int, str], None] | None = None,
    ) -> list[Outcome]:
        """Run many operations: at most `concurrency` in flight per provider, failures kept
        per item, outcomes in input order, every item journaled before anything is sent.
        `key` names the batch (e.g. its file's resolved path): a re-run with the same key
        adopts the items of earlier runs instead of paying for them again."""
        from .batch import run_batch

        return await run_batch(
            self, items, key=key, concurrency=concurrency, output=output, on_update=on_update
        )

    async def resume(
        self,
        *,
        force: bool = False,
        concurrency: int | Mapping[str, int] = BATCH_CONCURRENCY,
        output: str | Path | None = None,
        on_update: Callable[[int, str], None] | None = None,
    ) -> list[Outcome]:
        """Finish every unfinished task in the journal (never resubmitting one) and download
        missing artifacts; entries another live process holds are reported `skipped`.
        `force` also takes over entries whose owner is recorded on another host."""
        from .batch import resume

        return await resume(
            self, force=force, concurrency=concurrency, output=output, on_update=on_update
        )

    async def query(self, params: ParamsModel) -> dict[str, Any]:
        """Call a query operation from a parameter model built by hand."""
        return await self._engine.query(params)


class Client(Providers):
    """The blocking client: the same shape as `AsyncClient`, for code without an event loop."""

    def __init__(self, **options: Unpack[ClientOptions]) -> None:
        self._async = AsyncClient(**options)  # first: a bad option leaves no thread behind
        self._loop = LoopThread()
        self._owns_loop = True
        self._endpoint_cache: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"Client({self._async._engine!r})"

    @property
    def journal(self) -> Journal | None:
        return self._async.journal

    def with_options(
        self,
        *,
        timeouts: Timeouts | None = None,
        polling: PollSchedule | None = None,
        retry: RetryPolicy | None = None,
    ) -> Client:
        clone = object.__new__(Client)
        clone._loop = self._loop
        clone._owns_loop = False
        clone._async = self._async.with_options(timeouts=timeouts, polling=polling, retry=retry)
        clone._endpoint_cache = {}
        return clone

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        with contextlib.suppress(RuntimeError):  # already closed
            self._loop.run(self._async.close())
        if self._owns_loop:  # a with_options copy shares its parent's loop thread
            self._loop.close()

    def _endpoints(self, provider: str) -> Any:
        if provider not in self._endpoint_cache:
            self._async._engine.check_provider(provider)
            cls = self._async._engine.registry.endpoints_class(provider, blocking=True)
            # This client is the SyncRuntime its endpoints call: submit / run / query.
            self._endpoint_cache[provider] = cls(self)
        return self._endpoint_cache[provider]

    @overload
    def provider(self, key: ProviderKey[Any, E]) -> E: ...

    @overload
    def provider(self, key: str) -> Any: ...

    def provider(self, key: ProviderKey[Any, Any] | str) -> Any:
        """The blocking endpoints object of any provider (see `AsyncClient.provider`)."""
        return self._endpoints(key if isinstance(key, str) else key.name)

    if not TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any:
            return _provider_attribute(self, name)

    def task(self, provider: str, operation: str, task_id: str) -> TaskHandle:
        return TaskHandle(self._loop, self._async.task(provider, operation, task_id))

    def download(
        self, result: Result, directory: str | Path, *, overwrite: bool = False
    ) -> list[Path]:
        return self._loop.run(self._async.download(result, directory, overwrite=overwrite))

    def submit(self, params: ParamsModel, *, output: str | Path | None = None) -> TaskHandle:
        return TaskHandle(self._loop, self._loop.run(self._async.submit(params, output=output)))

    def run(self, params: ParamsModel, *, output: str | Path | None = None) -> Result:
        return self._loop.run(self._async.run(params, output=output))

    def batch(
        self,
        items: Sequence[BatchItem | ParamsModel],
        *,
        key: str | None = None,
        concurrency: int | Mapping[str, int] = BATCH_CONCURRENCY,
        output: str | Path | None = None,
        on_update: Callable[[int, str], None] | None = None,
    ) -> list[Outcome]:
        return self._loop.run(
            self._async.batch(
                items, key=key, concurrency=concurrency, output=output, on_update=on_update
            )
        )

    def resume(
        self,
        *,
        force: bool = False,
        concurrency: int | Mapping[str, int] = BATCH_CONCURRENCY,
        output: str | Path | None = None,
        on_update: Callable[[int, str], None] | None = None,
    ) -> list[Outcome]:
        return self._loop.run(
            self._async.resume(
                force=force, concurrency=concurrency, output=output, on_update=on_update
            )
        )

    def query(self, params: ParamsModel) -> dict[str, Any]:
        return self._loop.run(self._async.query(params))


def _provider_attribute(client: AsyncClient | Client, name: str) -> Any:
    """`client.acme` for providers contributed by plugins (built-ins have typed properties);
    an AttributeError for any other name, naming the provider a misspelt one is close to."""
    engine = client._async._engine if isinstance(client, Client) else client._engine
    providers = [p.name for p in engine.registry.catalog.providers]
    if name.startswith("_") or name not in providers:
        message = f"{type(client).__name__!r} object has no attribute {name!r}"
        if not name.startswith("_") and close_names(name, providers):
            message += f"; {unknown_name('provider', name, providers)}"
        raise AttributeError(message, name=name, obj=client)
    return client.provider(name)


if TYPE_CHECKING:  # mypy proves the engine and the blocking client fit the stubs' interface

    def _conforms(engine: Engine, client: Client) -> tuple[AsyncRuntime, SyncRuntime]:
        return engine, client


def _folder(output: str | Path | None) -> str | None:
    """A download folder as journaled: absolute, so a resume from elsewhere finds it."""
    return str(Path(output).resolve()) if output is not None else None
