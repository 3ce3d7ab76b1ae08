"""Building the public frozen records (`HttpRequest`, `HttpResponse`, `Call`, `TaskStatus`,
`Artifact`, `Result`) on the per-call path without attrs' generated `__init__`.

attrs' `__init__` for a frozen slotted class is reached through `type.__call__` and sets each
field through `object.__setattr__` bound to the new instance (a lookup of the field by name per
field). `maker(cls)` writes, once per class, a function that takes every field positionally and
builds the same instance (same type, fields, equality, hash, repr, immutability;
`attrs.evolve`, `attrs.fields` and `attrs.asdict` unchanged) at a fraction of the cost. Only
for classes where `__init__` does nothing else: no validators, converters, `on_setattr` or init
hooks (refused here otherwise, when the module is imported).

How it stores the fields: the instance is made as a *twin* of the class (a subclass adding no
slot, with object's own `__setattr__`), whose plain attribute stores the interpreter compiles
to direct slot writes, and is then given its class (`__class__` assignment, allowed since the
twin's layout is the class's). Where that assignment is refused (another Python), each field
goes through its slot's own descriptor (`__set__`, a method-wrapper call and an argument tuple
per field), as before. The twin only exists inside `make`: every instance leaves it as `cls`
(it shows in `cls.__subclasses__()`, named after the class).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar, cast

import attrs

T = TypeVar("T")


def maker(cls: type[T]) -> Callable[..., T]:
    """A function building `cls` from all its fields, positionally, in field order."""
    fields = attrs.fields(cast("type[attrs.AttrsInstance]", cls))
    names = [field.name for field in fields]
    if "__dict__" in cls.__dict__ or not getattr(cls, "__attrs_attrs__", None):
        raise TypeError(f"{cls.__qualname__} is not a slotted attrs class")
    for hook in ("__attrs_pre_init__", "__attrs_post_init__"):
        if hasattr(cls, hook):
            raise TypeError(f"{cls.__qualname__} has {hook}: its __init__ does more")
    if "_attrs_cached_hash" in getattr(cls, "__slots__", ()):
        raise TypeError(f"{cls.__qualname__} caches its hash: its __init__ resets it")
    setters: dict[str, Any] = {}
    for field in fields:
        if field.validator is not None or field.converter is not None or not field.init:
            raise TypeError(f"{cls.__qualname__}.{field.name}: its __init__ does more than set it")
        if field.alias != field.name:
            raise TypeError(f"{cls.__qualname__}.{field.name} is initialised as {field.alias}")
        slot: Any = next(
            (klass.__dict__[field.name] for klass in cls.__mro__ if field.name in klass.__dict__),
            None,
        )
        if type(slot).__name__ != "member_descriptor":
            raise TypeError(f"{cls.__qualname__}.{field.name} is not a slot")
        setters[f"_set_{field.name}"] = slot.__set__
    made = _twin_maker(cls, names)
    if made is not None:
        return made
    body = "".join(f"    _set_{name}(self, {name})\n" for name in names)
    source = f"def make({', '.join(names)}):\n    self = _new(_cls)\n{body}    return self\n"
    by_descriptors: Callable[..., T] = _compiled(
        cls, source, {"_new": object.__new__, "_cls": cls, **setters}
    )
    return by_descriptors


def _twin_maker(cls: type[T], names: list[str]) -> Callable[..., T] | None:
    """The maker that builds a twin and gives it its class (see the module docstring), when
    this Python allows that and it gives back what was stored; else None. Not on a
    free-threaded build, where a `__class__` assignment may stop every thread; not for a
    class whose subclasses run code when they are made (`__init_subclass__`)."""
    gil = getattr(sys, "_is_gil_enabled", None)  # 3.13+: False on a free-threaded build
    if (gil is not None and not gil()) or "__init_subclass__" in _own_names(cls):
        return None
    try:
        twin = type(
            cls.__name__,
            (cls,),
            {
                "__slots__": (),
                # Both: the two share one type slot, which a Python method of either takes over.
                "__setattr__": object.__setattr__,
                "__delattr__": object.__delattr__,
                "__module__": cls.__module__,
                "__qualname__": f"{cls.__qualname__}.<twin for make>",
            },
        )
    except TypeError:  # a class that cannot be subclassed so
        return None
    body = "".join(f"    self.{name} = {name}\n" for name in names)
    source = (
        f"def make({', '.join(names)}):\n    self = _new(_twin)\n{body}"
        "    self.__class__ = _cls\n    return self\n"
    )
    make: Callable[..., T] = _compiled(
        cls, source, {"_new": object.__new__, "_twin": twin, "_cls": cls}
    )
    try:
        sample = make(*names)  # each field holds its own name
    except TypeError:  # "__class__ assignment: ... object layout differs"
        return None
    if type(sample) is not cls or any(getattr(sample, name) is not name for name in names):
        return None
    return make


def _own_names(cls: type) -> set[str]:
    """The names defined by `cls` and its bases other than `object`."""
    return {name for klass in cls.__mro__[:-1] for name in vars(klass)}


def _compiled(cls: type, source: str, namespace: dict[str, Any]) -> Any:
    # The file name says whose code it is (profiles group it with mediagen's).
    exec(compile(source, f"<mediagen records: make {cls.__qualname__}>", "exec"), namespace)
    return namespace["make"]
