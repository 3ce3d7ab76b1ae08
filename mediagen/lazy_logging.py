"""A module's logger, looked up on its first message: importing a module that may log (the
registry, the compiled catalog) then does not import `logging`, which commands such as
`mediagen list` never otherwise need."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    import logging


class _LazyLogger:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        import logging

        return getattr(logging.getLogger(self._name), attribute)


def get_logger(name: str) -> logging.Logger:
    """Stands for `logging.getLogger(name)`: every attribute is the real logger's, fetched
    (and `logging` imported) when first used."""
    return cast("logging.Logger", _LazyLogger(name))
