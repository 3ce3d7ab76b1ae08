"""The spec catalog: provider facts and operations, loaded into one IR.

Names are imported on first use: the runtime gets its providers compiled (see `compiled.py`)
and never needs the loaders, nor the YAML and vendor-export parsers behind them; catching a
`CatalogError` (from `.errors`) loads no IR.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .compiled import default_catalog
    from .errors import CatalogError
    from .folders import default_root
    from .ir import NO_DEFAULT, Catalog, Operation, Param, Provider
    from .loader import load_catalog, load_provider

__all__ = [
    "NO_DEFAULT",
    "Catalog",
    "CatalogError",
    "Operation",
    "Param",
    "Provider",
    "default_catalog",
    "default_root",
    "load_catalog",
    "load_provider",
]

_HOME = {
    "NO_DEFAULT": "ir",
    "Catalog": "ir",
    "CatalogError": "errors",
    "Operation": "ir",
    "Param": "ir",
    "Provider": "ir",
    "default_catalog": "compiled",
    "default_root": "folders",
    "load_catalog": "loader",
    "load_provider": "loader",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
