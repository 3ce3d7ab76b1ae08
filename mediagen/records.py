"""Building the public frozen records (`HttpRequest`, `HttpResponse`, `Call`, `TaskStatus`,
`Artifact`, `Result`) on the per-call path without attrs' generated `__init__`.

attrs' `__init__` for a frozen slotted class is reached through `type.__call__` and sets each
field through `object.__setattr__` bound to the new instance (a lookup of the field by name per
field). `maker(cls)` writes, once per class, a function that takes every field positionally and
stores each through its slot's own descriptor: the same instance (same type, fields, equality,
hash, repr, immutability; `attrs.evolve`, `attrs.fields` and `attrs.asdict` unchanged), at
about half the cost. Only for classes where `__init__` does nothing else: no validators,
converters, `on_setattr` or init hooks (refused here otherwise, when the module is imported).
"""

from __future__ import annotations

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
    body = "".join(f"    _set_{name}(self, {name})\n" for name in names)
    source = f"def make({', '.join(names)}):\n    self = _new(_cls)\n{body}    return self\n"
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls, **setters}
    # The file name says whose code it is (profiles group it with mediagen's).
    exec(compile(source, f"<mediagen records: make {cls.__qualname__}>", "exec"), namespace)
    made: Callable[..., T] = namespace["make"]
    return made
