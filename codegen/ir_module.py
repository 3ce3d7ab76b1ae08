"""The compiled catalog: the IR of a generated package's providers as a Python module.

`mediagen generate` writes it as `<generated>/_catalog_ir.py` so that the runtime builds the
catalog from bytecode instead of parsing YAML and vendor exports at every start-up (see
`mediagen.catalog.compiled`). The module is plain constructor calls of the IR classes, with
each field left at its default omitted; it evaluates to objects equal to what the loader
builds from the catalog files.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import attrs

from mediagen import __version__
from mediagen.catalog import ir
from mediagen.catalog.paths import FieldPath

_INDENT = "    "
_SCALARS = (str, int, float, bool, type(None))


def render_ir_module(catalog: ir.Catalog, keys: Mapping[str, str]) -> str:
    """The module's text (without the generated-file header line); `keys` maps each provider
    to its catalog folder's `folder_key`, which the runtime checks."""
    found = _classes_in(catalog.providers) | {ir.Provider}
    names = sorted(cls.__name__ for cls in found if cls is not FieldPath)
    lines = [
        '"""The catalog IR of the providers in this package, compiled by `mediagen generate`.',
        "",
        "The runtime builds the providers from here instead of parsing their catalog files, as",
        "long as VERSION is the running mediagen's and DIGESTS match the catalog folders.",
        '"""',
        "",
        "from typing import Final",
        "",
        "from mediagen.catalog.ir import (",
        *(f"{_INDENT}{name}," for name in names),
        ")",
    ]
    if FieldPath in found:
        lines.append("from mediagen.catalog.paths import FieldPath")
    lines += [
        "",
        f"VERSION: Final = {__version__!r}",
        '"""The mediagen that compiled it (another one reads the catalog files instead)."""',
        "",
        "DIGESTS: Final[dict[str, str]] = {",
        *(f"{_INDENT}{p.name!r}: {keys[p.name]!r}," for p in catalog.providers),
        "}",
        '"""Provider name -> key (`folder_key`) of the catalog folder it was compiled from."""',
        "",
        "PROVIDERS: Final[dict[str, Provider]] = {",
        *(f"{_INDENT}{p.name!r}: {_value(p, 1)}," for p in catalog.providers),
        "}",
        "",
    ]
    return "\n".join(lines)


def _value(value: Any, depth: int) -> str:
    """Python source that evaluates to `value`; nested IR instances on lines of their own."""
    if attrs.has(type(value)):
        return _instance(value, depth)
    if isinstance(value, float) and not math.isfinite(value):
        raise TypeError(f"the catalog IR holds {value!r}, which codegen cannot write")
    if isinstance(value, _SCALARS):
        return repr(value)
    if isinstance(value, tuple):
        items = [_value(v, depth + 1) for v in value]
        if len(items) == 1:
            return f"({items[0]},)"
        return _sequence("(", items, ")", depth, multiline=_nests(value))
    if isinstance(value, list):
        return _sequence("[", [_value(v, depth + 1) for v in value], "]", depth, multiline=False)
    if isinstance(value, Mapping):
        items = [f"{_value(k, depth + 1)}: {_value(v, depth + 1)}" for k, v in value.items()]
        return _sequence("{", items, "}", depth, multiline=False)
    raise TypeError(f"the catalog IR holds a {type(value).__name__}, which codegen cannot write")


def _instance(value: Any, depth: int) -> str:
    fields = []
    for field in attrs.fields(type(value)):
        item = getattr(value, field.name)
        if _is_default(field, item):
            continue
        fields.append(f"{field.name}={_value(item, depth + 1)}")
    return _sequence(f"{type(value).__name__}(", fields, ")", depth, multiline=_nests(value))


def _is_default(field: Any, item: Any) -> bool:
    default = field.default
    if default is attrs.NOTHING:
        return False
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        default = default.factory()
    return bool(type(item) is type(default) and item == default)


def _sequence(opening: str, items: list[str], closing: str, depth: int, *, multiline: bool) -> str:
    if not multiline:
        return opening + ", ".join(items) + closing
    inner = _INDENT * (depth + 1)
    body = "".join(f"\n{inner}{item}," for item in items)
    return f"{opening}{body}\n{_INDENT * depth}{closing}"


def _nests(value: Any) -> bool:
    """Whether an instance or tuple holds IR instances (other than field paths): then each of
    its items goes on a line of its own."""
    if attrs.has(type(value)):
        children = [getattr(value, f.name) for f in attrs.fields(type(value))]
    else:
        children = list(value)
    for child in children:
        if isinstance(child, tuple):
            if _nests(child) or any(attrs.has(type(c)) and type(c) is not FieldPath for c in child):
                return True
        elif attrs.has(type(child)) and type(child) is not FieldPath:
            return True
    return False


def _classes_in(values: Any) -> set[type]:
    """Every IR class that the module writes out for `values` (to import exactly those)."""
    found: set[type] = set()
    stack = [values]
    while stack:
        value = stack.pop()
        if attrs.has(type(value)):
            if type(value) is not FieldPath and vars(ir).get(type(value).__name__) is not type(
                value
            ):
                raise TypeError(f"{type(value).__qualname__} is not a class of mediagen.catalog.ir")
            found.add(type(value))
            for field in attrs.fields(type(value)):
                item = getattr(value, field.name)
                if not _is_default(field, item):  # written out, so its class is imported
                    stack.append(item)
        elif isinstance(value, list | tuple):
            stack.extend(value)
        elif isinstance(value, Mapping):
            stack.extend(value.values())
    return found
