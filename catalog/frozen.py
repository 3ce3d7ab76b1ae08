"""`Record`: the base of the catalog IR's immutable classes, defined without building code.

attrs writes and compiles an `__init__`, `__eq__`, `__hash__` and `__repr__` for every class
it decorates, at import: for the IR's fifteen classes that was most of what importing the IR
cost, and every command that reads the catalog paid it. Records share one set of methods
instead, driven by each class's field list, and behave as `attrs.frozen` classes do:
construction by keyword or in field order, with defaults and `field(factory=...)`; no
assignment afterwards (`attrs.exceptions.FrozenInstanceError`); equality and hashing by field
values; attrs' repr. attrs' own functions (`attrs.fields`, `has`, `evolve`, `asdict`) work on
them: their `__attrs_attrs__` is made by attrs when first asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, dataclass_transform

_MISSING: Any = object()


class _Factory:
    """A field default made anew for each instance (see `field`)."""

    __slots__ = ("factory",)

    def __init__(self, factory: Callable[[], Any]) -> None:
        self.factory = factory


def field(*, factory: Callable[[], Any]) -> Any:
    """A field whose default is `factory()`, called for each instance (attrs' `factory=`)."""
    return _Factory(factory)


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
class _RecordType(type):
    """Turns a record class's annotations into its fields when the class is made."""

    def __new__(mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any]) -> Any:
        if bases and bases != (Record,):
            raise TypeError(f"record class {name} must derive from Record alone")
        fields = tuple(namespace.get("__annotations__", {})) if bases else ()
        plain: dict[str, Any] = {}
        factories: list[tuple[str, Callable[[], Any]]] = []
        for field_name in fields:
            default = namespace.pop(field_name, _MISSING)  # no class attribute, as with slots
            if isinstance(default, _Factory):
                factories.append((field_name, default.factory))
            elif default is not _MISSING:
                plain[field_name] = default
        namespace.update(
            _fields=fields,
            _field_set=frozenset(fields),
            _plain_defaults=plain,
            _factories=tuple(factories),
            __match_args__=fields,
        )
        return super().__new__(mcs, name, bases, namespace)

    @property
    def __attrs_attrs__(cls) -> Any:
        found = cls.__dict__.get("_attrs_fields")
        if found is None:
            import attrs

            factories = dict(cls._factories)  # type: ignore[attr-defined]
            spec = {
                name: attrs.field(factory=factories[name])
                if name in factories
                else attrs.field(default=cls._plain_defaults[name])  # type: ignore[attr-defined]
                if name in cls._plain_defaults  # type: ignore[attr-defined]
                else attrs.field()
                for name in cls._fields  # type: ignore[attr-defined]
            }
            found = attrs.fields(attrs.make_class(cls.__name__, spec, frozen=True))
            type.__setattr__(cls, "_attrs_fields", found)
        return found


class Record(metaclass=_RecordType):
    """The methods every record class shares (see the module's docstring). A record class
    derives from it alone and annotates its fields; a class attribute is a field's default."""

    _fields: ClassVar[tuple[str, ...]]
    _field_set: ClassVar[frozenset[str]]
    _plain_defaults: ClassVar[dict[str, Any]]
    _factories: ClassVar[tuple[tuple[str, Callable[[], Any]], ...]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        cls = type(self)
        if args:
            if len(args) > len(cls._fields):
                raise TypeError(
                    f"{cls.__name__}() takes {len(cls._fields)} arguments but {len(args)} were given"
                )
            for name, value in zip(cls._fields, args, strict=False):
                if name in kwargs:
                    raise TypeError(f"{cls.__name__}() got multiple values for argument {name!r}")
                kwargs[name] = value
        values = {**cls._plain_defaults, **kwargs}
        for name, factory in cls._factories:
            if name not in values:
                values[name] = factory()
        if values.keys() != cls._field_set:
            unexpected = sorted(values.keys() - cls._field_set)
            if unexpected:
                raise TypeError(
                    f"{cls.__name__}() got an unexpected keyword argument {unexpected[0]!r}"
                )
            missing = ", ".join(repr(name) for name in cls._fields if name not in values)
            raise TypeError(f"{cls.__name__}() missing required arguments: {missing}")
        object.__setattr__(self, "__dict__", values)

    def __setattr__(self, name: str, value: Any) -> None:
        _frozen()

    def __delattr__(self, name: str) -> None:
        _frozen()

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self.__dict__ == other.__dict__

    def __hash__(self) -> int:
        values = self.__dict__
        return hash((type(self).__qualname__, *[values[name] for name in self._fields]))

    def __repr__(self) -> str:
        values = self.__dict__
        shown = ", ".join(f"{name}={values[name]!r}" for name in self._fields)
        return f"{type(self).__qualname__.rsplit('>.', 1)[-1]}({shown})"  # as attrs names it


def _frozen() -> None:
    from attrs.exceptions import FrozenInstanceError

    raise FrozenInstanceError()
