"""mediagen: a typed async client for AI media-generation APIs, compiled from a spec catalog.

Importing this package is cheap: every name below loads its module on first use (the
command line imports `mediagen` for commands that never build a client or a model).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .client import AsyncClient, Client
    from .defaults import PollSchedule, RetryPolicy, Timeouts
    from .errors import MediagenError, ParamError
    from .results import Artifact, Result

__version__ = "0.1.0"

__all__ = [
    "Artifact",
    "AsyncClient",
    "Client",
    "MediagenError",
    "ParamError",
    "PollSchedule",
    "Result",
    "RetryPolicy",
    "Timeouts",
    "__version__",
]

_HOME = {
    "Artifact": "results",
    "AsyncClient": "client",
    "Client": "client",
    "MediagenError": "errors",
    "ParamError": "errors",
    "PollSchedule": "defaults",
    "Result": "results",
    "RetryPolicy": "defaults",
    "Timeouts": "defaults",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is not None:
        return getattr(importlib.import_module(f"{__name__}.{home}"), name)
    if not name.startswith("__"):  # `mediagen.errors` after a bare `import mediagen`, as before
        try:
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
    raise AttributeError(f"module 'mediagen' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
