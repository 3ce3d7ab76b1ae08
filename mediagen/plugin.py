"""Everything a mediagen plugin may import: `from mediagen.plugin import ...`.

This module is the plugin authors' API and is kept stable; everything else inside mediagen
is private to it and may change between releases. The built-in providers' plugins import
from here only (a test checks it), and so should yours.

- Hooks: `hookimpl` marks a plugin's hook functions (see `mediagen.hookspecs` for the hooks).
- Contributing a provider: `ProviderPlugin` (one provider from its catalog folder, generated
  package and factories), or implement `mediagen_providers(register)` and call `Register`.
- Strategy protocols: `AuthStrategy`, `TaskStrategy`, `ResultParser`, `ErrorClassifier`,
  `EmulatorProfile`; and their catalog-driven implementations to reuse or subclass:
  `CatalogAuth`, `CatalogTaskStrategy`, `CatalogResults`, `CatalogErrorClassifier`,
  `CatalogEmulatorProfile`.
- Wire and result types: `HttpRequest`, `HttpResponse`, `TaskStatus`, `Call`, `EmulatedTask`,
  `Artifact`, `ArtifactKind`, `Result`, `PollSchedule`, `TaskEvent`.
- Catalog IR a strategy reads: `Provider`, `Operation`, `Param`, `TaskState`, `TaskProtocol`
  (`provider.task`) and `FieldPath` (a catalog field path: `.first(doc)`, `.values(doc)`).
- Helpers: `fill_path`, `is_http_url`, `iter_urls`, `kind_for`, `output_kind`,
  `unique_artifacts`, `retry_after`, `builtin_catalog`.
- Errors a strategy raises: `MalformedResponseError` (`UnknownTaskStatusError` for a task
  status word it does not know: wait() then says so), `ConfigurationError`, `ParamError` (a
  value it cannot send, before any request), and the `APIError` family
  (`AuthenticationError`, `InvalidParameterError`, `NotFoundError`, ...); `MediagenError` is
  the base of every error mediagen raises.

Generated code (yours, from `mediagen generate`) depends on `mediagen.runtime`,
`mediagen.params` and `mediagen.results`, which are stable in the same way.
"""

from __future__ import annotations

from pathlib import Path

from .catalog.ir import Operation, Param, Provider, TaskProtocol, TaskState
from .catalog.paths import FieldPath
from .contributions import Factory, Register
from .defaults import PollSchedule
from .emulation import CatalogEmulatorProfile
from .errors import (
    APIError,
    AuthenticationError,
    CallError,
    ConfigurationError,
    ContentRejectedError,
    GenerationFailedError,
    InsufficientCreditsError,
    InvalidParameterError,
    MalformedResponseError,
    MediagenError,
    NotFoundError,
    ParamError,
    PayloadTooLargeError,
    RateLimitError,
    ServerError,
    TransientError,
    UnknownTaskStatusError,
)
from .events import TaskEvent
from .hookspecs import hookimpl
from .protocol import (
    CatalogAuth,
    CatalogErrorClassifier,
    CatalogResults,
    CatalogTaskStrategy,
    fill_path,
    is_http_url,
    iter_urls,
    kind_for,
    output_kind,
    retry_after,
    unique_artifacts,
)
from .provider_plugin import ProviderPlugin
from .results import Artifact, ArtifactKind, Result
from .strategies import (
    AuthStrategy,
    Call,
    EmulatedTask,
    EmulatorProfile,
    ErrorClassifier,
    HttpRequest,
    HttpResponse,
    ResultParser,
    TaskStatus,
    TaskStrategy,
)

__all__ = [
    "APIError",
    "Artifact",
    "ArtifactKind",
    "AuthStrategy",
    "AuthenticationError",
    "Call",
    "CallError",
    "CatalogAuth",
    "CatalogEmulatorProfile",
    "CatalogErrorClassifier",
    "CatalogResults",
    "CatalogTaskStrategy",
    "ConfigurationError",
    "ContentRejectedError",
    "EmulatedTask",
    "EmulatorProfile",
    "ErrorClassifier",
    "Factory",
    "FieldPath",
    "GenerationFailedError",
    "HttpRequest",
    "HttpResponse",
    "InsufficientCreditsError",
    "InvalidParameterError",
    "MalformedResponseError",
    "MediagenError",
    "NotFoundError",
    "Operation",
    "Param",
    "ParamError",
    "PayloadTooLargeError",
    "PollSchedule",
    "Provider",
    "ProviderPlugin",
    "RateLimitError",
    "Register",
    "Result",
    "ResultParser",
    "ServerError",
    "TaskEvent",
    "TaskProtocol",
    "TaskState",
    "TaskStatus",
    "TaskStrategy",
    "TransientError",
    "UnknownTaskStatusError",
    "builtin_catalog",
    "fill_path",
    "hookimpl",
    "is_http_url",
    "iter_urls",
    "kind_for",
    "output_kind",
    "retry_after",
    "unique_artifacts",
]


def builtin_catalog(provider: str) -> Path:
    """The catalog folder of a provider that ships with mediagen (for the built-in plugins;
    a third-party plugin ships its own folder)."""
    from .catalog import default_root

    return default_root() / provider
