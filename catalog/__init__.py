"""The spec catalog: provider facts and operations, loaded into one IR."""

from .errors import CatalogError
from .ir import NO_DEFAULT, Catalog, Operation, Param, Provider
from .loader import default_catalog, default_root, load_catalog, load_provider

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
