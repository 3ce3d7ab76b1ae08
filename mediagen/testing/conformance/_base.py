"""The context a conformance class works in, and the parametrisation of its checks."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Mapping, Sequence
from typing import Any, ClassVar, TypeVar

import pytest

from ...catalog.ir import Operation, Provider
from ...errors import ConfigurationError
from ...registry import Registry
from ._harness import Session, Steering
from ._loading import provider_registry
from ._scopes import cases, scope_of

T = TypeVar("T")
STEERING = "mediagen-conformance"
"""The name the suite's steering plugin is registered under."""


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


class _Context:
    """What one conformance class works with, built once (at collection) and kept."""

    def __init__(self, cls: type[CheckBase]) -> None:
        if not cls.provider:
            raise ConfigurationError(
                f"{cls.__name__} sets no `provider`: name the provider key to check, "
                'e.g. provider = "acme"'
            )
        self.registry: Registry = provider_registry(cls.provider, cls.plugins)
        self.steering = Steering(cls.provider)
        self.registry.register(self.steering, name=STEERING)
        self.provider: Provider = self.registry.catalog.provider(cls.provider)
        known = [op.id for op in self.provider.operations]
        chosen = list(cls.operations) if cls.operations is not None else known
        unknown = sorted(set(chosen) - set(known)) + sorted(set(cls.params) - set(known))
        if unknown:
            raise ConfigurationError(
                f"{cls.__name__}: {cls.provider} has no operation {', '.join(unknown)}; "
                f"it has {', '.join(known)}"
            )
        self.operations: list[Operation] = [self.provider.operation(o) for o in chosen]
        self.params: Mapping[str, Mapping[str, Any]] = cls.params

    def session(self, **options: Any) -> Session:
        self.steering.reset()
        return Session(self.registry, self.provider, self.params, self.steering, **options)


class CheckBase:
    """What every group of checks shares: the class attributes a subclass sets, the
    context built from them, and the parametrisation of each check from the catalog."""

    provider: ClassVar[str] = ""
    """The provider key to check (required)."""
    operations: ClassVar[Sequence[str] | None] = None
    """The operation ids to check; None checks every operation of the provider."""
    params: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    """{"op_id": {"param": value}}: minimal valid params overriding the derived ones."""
    plugins: ClassVar[Sequence[Any]] = ()
    """Plugin objects to register instead of loading the installed entry point (for plugins
    built in the test itself; leave empty to check the installed plugin)."""

    # -- parametrisation ------------------------------------------------------------------

    @classmethod
    def _context(cls) -> _Context:
        found = cls.__dict__.get("_conformance_context")
        if not isinstance(found, _Context):
            found = _Context(cls)
            cls._conformance_context = found  # type: ignore[attr-defined]
        return found

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        scope = scope_of(metafunc.function)
        if scope is None or "case" not in metafunc.fixturenames:
            return
        ctx = self._context()
        metafunc.parametrize("case", cases(scope, ctx.provider, ctx.operations))

    def _op(self, op_id: str) -> Operation:
        return self._context().provider.operation(op_id)
