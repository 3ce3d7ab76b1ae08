"""mediagen: a typed async client for AI media-generation APIs, compiled from a spec catalog.

Importing this package is cheap: the clients and the providers' generated modules load on
first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .defaults import PollSchedule, RetryPolicy, Timeouts
from .errors import MediagenError, ParamError
from .results import Artifact, Result

if TYPE_CHECKING:
    from .client import AsyncClient, Client

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


def __getattr__(name: str) -> Any:
    if name in ("AsyncClient", "Client"):
        from . import client

        return getattr(client, name)
    raise AttributeError(f"module 'mediagen' has no attribute {name!r}")
