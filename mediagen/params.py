"""The base of generated parameter models, and the validators they use.

Generated models (``<generated package>.<provider>.models``) are attrs classes that subclass
`ParamsModel` and validate on construction with the validators below. Each validator raises
`ParamError` naming the operation, the field, the bad value and what is allowed.

Stable surface: generated code, including plugins' own, depends on `ParamsModel` and the
validator factories here (with `mediagen.runtime` and `mediagen.results`); their names and
signatures only change with a major version.
"""

from __future__ import annotations

import math
import re
import weakref
from collections.abc import Callable, Iterable, Mapping
from keyword import iskeyword
from typing import Any, ClassVar, Self, cast
from urllib.parse import urlsplit

import attrs

from .errors import MissingParams, ParamError, UnknownParams, shown
from .hosts import is_loopback

Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]
Rule = Callable[["ParamsModel"], None]
"""A check across fields, run once every field has passed its own validators."""

WIRE_NAME = "wire"
"""attrs field metadata key: the JSON key when it differs from the attribute name."""


class ParamsModel:
    """A validated set of parameters for one operation, convertible to and from the wire dict."""

    OPERATION: ClassVar[str] = ""
    """``provider.operation`` this model belongs to."""
    RULES: ClassVar[tuple[Rule, ...]] = ()
    """Checks across fields (the catalog's `x-required-if`), run after construction."""

    def __attrs_post_init__(self) -> None:
        for rule in self.RULES:
            rule(self)

    def to_dict(self) -> dict[str, Any]:
        """The exact JSON object the vendor expects: wire keys, unset optional params omitted."""
        cls = type(self)
        return (_TO_DICT.get(cls) or _to_dict_of(cls))(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Build from a wire dict, exactly: `from_dict(d).to_dict() == d` for a valid `d`.

        An optional key that is absent stays unset (the vendor applies its default), unlike
        the keyword constructor, which fills in the documented defaults. Unknown and missing
        keys are errors naming the operation.
        """
        by_wire = {f.metadata.get(WIRE_NAME, f.name): f for f in _fields(cls)}
        unknown = [k for k in data if k not in by_wire]
        if unknown:
            raise _hinted(cls.OPERATION, UnknownParams(cls.OPERATION, unknown, list(by_wire)))
        missing = [w for w, f in by_wire.items() if f.default is attrs.NOTHING and w not in data]
        if missing:
            raise _hinted(cls.OPERATION, MissingParams(cls.OPERATION, missing))
        values = {f.name: data.get(wire) for wire, f in by_wire.items()}
        return cls(**values)

    @classmethod
    def wire_names(cls) -> dict[str, str]:
        """Attribute name -> wire key, for every field."""
        return {f.name: f.metadata.get(WIRE_NAME, f.name) for f in _fields(cls)}


def model_for(operation: str) -> type[ParamsModel]:
    """The generated parameter model of "provider.operation", built-in or contributed by a
    plugin (through the default registry)."""
    from .registry import default_registry

    model: type[ParamsModel] = default_registry().model_for(operation)
    return model


def _fields(cls: type) -> tuple[attrs.Attribute[Any], ...]:
    return tuple(attrs.fields(cast("type[attrs.AttrsInstance]", cls)))


_TO_DICT: dict[type, Callable[[Any], dict[str, Any]]] = {}
"""Model class -> its `to_dict`, compiled once (see _to_dict_of)."""


def _to_dict_of(cls: type) -> Callable[[Any], dict[str, Any]]:
    """`to_dict` for one model class, compiled from its fields once (as attrs compiles its
    `__init__`): each field read, and put under its wire key, by a line of its own rather
    than by a loop over the field list (to_dict runs on every call). The file name says whose
    code it is (profiles group it with mediagen's)."""
    known = _TO_DICT.get(cls)
    if known is not None:
        return known
    lines = ["def to_dict(self):", "    out = {}"]
    for field in _fields(cls):
        wire = field.metadata.get(WIRE_NAME, field.name)
        name = field.name
        read = (
            f"self.{name}"
            if name.isidentifier() and not iskeyword(name)
            else f"_get(self, {name!r})"
        )
        lines += [
            f"    value = {read}",
            "    if value is not None:",
            f"        out[{wire!r}] = list(value) if isinstance(value, tuple) else value",
        ]
    lines.append("    return out")
    namespace: dict[str, Any] = {"_get": getattr}
    exec(
        compile("\n".join(lines), f"<mediagen params: to_dict {cls.__qualname__}>", "exec"),
        namespace,
    )
    made: Callable[[Any], dict[str, Any]] = namespace["to_dict"]
    _TO_DICT[cls] = made
    return made


def _fail(
    inst: Any, attribute: attrs.Attribute[Any], value: Any, allowed: str, problem: str | None = None
) -> None:
    operation = type(inst).OPERATION
    raise _hinted(operation, ParamError(operation, attribute.name, value, allowed, problem=problem))


def _hinted(operation: str, error: ParamError) -> ParamError:
    """`error`, saying to run `mediagen generate` when the model is older than its catalog
    (only on a refusal: the check reads the compiled catalog)."""
    from .stale_models import hinted

    return hinted(operation, error)


_TYPE_NAMES = {str: "a string", int: "an integer", float: "a finite number", bool: "true or false"}
_PLURAL_NAMES = {
    str: "strings",
    int: "integers",
    float: "finite numbers",
    bool: "true/false values",
}


def is_type(kind: type) -> Validator:
    """Exact JSON type: bools are not integers here, integers are numbers."""

    def check(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if kind is bool:
            ok = isinstance(value, bool)
        elif kind is float:
            # JSON has no NaN or infinity: a vendor would refuse the body.
            ok = (
                isinstance(value, int | float)
                and not isinstance(value, bool)
                and math.isfinite(value)
            )
        else:
            ok = isinstance(value, kind) and not isinstance(value, bool)
        if not ok:
            _fail(
                inst,
                attribute,
                value,
                _TYPE_NAMES[kind],
                problem=f"{attribute.name} must be {_TYPE_NAMES[kind]}, got {type(value).__name__} {shown(value)}",
            )

    if kind is not float:  # a float must be finite too: no test of its type alone passes it
        _PASSES[check] = (_TYPE, kind)
    return check


def is_list_of(kind: type) -> Validator:
    item_check = is_type(kind)

    def check(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, list | tuple):
            _fail(
                inst,
                attribute,
                value,
                f"a list of {_PLURAL_NAMES[kind]}",
                problem=f"{attribute.name} must be a list, got {type(value).__name__}",
            )
        for index, item in enumerate(value):
            try:
                item_check(inst, attribute, item)
            except ParamError:
                _fail(
                    inst,
                    attribute,
                    value,
                    f"a list of {_PLURAL_NAMES[kind]}",
                    problem=f"{attribute.name}[{index}]={shown(item)} is not {_TYPE_NAMES[kind]}",
                )

    _LISTS.add(check)
    return check


def one_of(*allowed: Any) -> Validator:
    listed = ", ".join(repr(v) for v in allowed)
    try:  # (type, value) pairs for a set lookup, when every allowed value is hashable
        keys: frozenset[tuple[type, Any]] | None = frozenset((type(a), a) for a in allowed)
    except TypeError:
        keys = None

    def check(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if keys is not None:
            try:
                if (type(value), value) in keys:
                    return
            except TypeError:  # an unhashable value: compared one by one below
                pass
        _refuse(inst, attribute, value)

    def _refuse(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        # `True in (1,)` is true in Python: compare types too, so 1 never passes for "1" or True.
        if not any(value == a and type(value) is type(a) for a in allowed):
            kinds = {type(a) for a in allowed}
            if type(value) not in kinds and len(kinds) == 1:
                # counts=2 where the vendor wants "2": say so, or the message reads as if 2
                # were simply not among '1', '2', '3', '4'.
                (kind,) = kinds
                name = _TYPE_NAMES.get(kind, kind.__name__)
                _fail(
                    inst,
                    attribute,
                    value,
                    f"{name}, one of {listed}",
                    problem=f"{attribute.name}={shown(value)} is {_type_name(value)}, not {name}",
                )
            _fail(inst, attribute, value, listed)

    _ONE_OF[check] = (keys, _refuse)
    return check


_ONE_OF: weakref.WeakKeyDictionary[
    Validator, tuple[frozenset[tuple[type, Any]] | None, Validator]
] = weakref.WeakKeyDictionary()
"""A `one_of` check -> its (type, value) set and the check of what the set does not hold,
for `optional` to look a value up without calling the check."""


URL_ALLOWED = "an https URL the vendor can fetch (or http on loopback, e.g. the emulator)"


def url_problem(value: str) -> str | None:
    """Why value is not a URL a vendor (or the local emulator) can fetch, or None."""
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
    except ValueError:
        return "is not a URL"
    if parts.scheme == "https" and host:
        return None
    if parts.scheme == "http" and host and is_loopback(host):
        return None
    if not parts.scheme or "://" not in value:
        return "is not a URL: the vendor fetches this input itself, so a local file name or path will not do; upload the file and pass its https URL"
    if parts.scheme in ("http", "https") and not host:
        return "has no host"
    if parts.scheme == "http":
        return "is plain http to another machine; the vendor needs https"
    return f"is {_article(parts.scheme)} {parts.scheme} URL, which the vendor cannot fetch"


def _article(word: str) -> str:
    """'an' before a vowel sound: a vowel, or a letter said by its name in a word spelled out
    (one without vowels: an ftp, an s3, a ws)."""
    spelled = not any(c in "aeiouy" for c in word)
    return "an" if word[:1] in "aeiou" or (spelled and word[:1] in "fhlmnrsx") else "a"


def is_url() -> Validator:
    """A URL the vendor fetches (or each item of a list of them): https, or http on a
    loopback address for the local emulator. Runs after the type check."""

    def check(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        items = value if isinstance(value, list | tuple) else [value]
        for index, item in enumerate(items):
            problem = url_problem(item) if isinstance(item, str) else None
            if problem:
                name = attribute.name if items is not value else f"{attribute.name}[{index}]"
                _fail(
                    inst, attribute, value, URL_ALLOWED, problem=f"{name}={shown(item)} {problem}"
                )

    return check


def _type_name(value: Any) -> str:
    for kind in (bool, int, float, str):
        if isinstance(value, kind):
            return _TYPE_NAMES[kind] if kind is not bool else "a boolean"
    return f"a {type(value).__name__}"


def max_length(limit: int) -> Validator:
    def check(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if len(value) > limit:
            _fail(
                inst,
                attribute,
                value,
                f"at most {limit} characters",
                problem=f"{attribute.name} is {len(value)} characters long",
            )

    _PASSES[check] = (_LENGTH, 0, limit)
    return check


def min_length(limit: int) -> Validator:
    def check(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if len(value) < limit:
            _fail(
                inst,
                attribute,
                value,
                f"at least {limit} characters",
                problem=f"{attribute.name} is {len(value)} characters long",
            )

    _PASSES[check] = (_LENGTH, limit, _NO_LIMIT)
    if limit == 0:  # the catalog's explicit `minLength: 0`: empty is a value here
        _EMPTY_ALLOWED.add(check)
    return check


def max_items(limit: int) -> Validator:
    def check(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if len(value) > limit:
            _fail(
                inst,
                attribute,
                value,
                f"at most {limit} items",
                problem=f"{attribute.name} has {len(value)} items",
            )

    _PASSES[check] = (_LENGTH, 0, limit)
    return check


def min_items(limit: int) -> Validator:
    def check(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if len(value) < limit:
            _fail(
                inst,
                attribute,
                value,
                f"at least {limit} items",
                problem=f"{attribute.name} has {len(value)} items",
            )

    _PASSES[check] = (_LENGTH, limit, _NO_LIMIT)
    if limit == 0:  # the catalog's explicit `minItems: 0`: an empty list is a value here
        _EMPTY_ALLOWED.add(check)
    return check


def in_range(
    *,
    ge: float | None = None,
    le: float | None = None,
    gt: float | None = None,
    lt: float | None = None,
) -> Validator:
    parts = []
    if ge is not None:
        parts.append(f">= {ge}")
    if gt is not None:
        parts.append(f"> {gt}")
    if le is not None:
        parts.append(f"<= {le}")
    if lt is not None:
        parts.append(f"< {lt}")
    allowed = " and ".join(parts)

    def check(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if (
            (ge is not None and value < ge)
            or (le is not None and value > le)
            or (gt is not None and value <= gt)
            or (lt is not None and value >= lt)
        ):
            _fail(inst, attribute, value, allowed)

    if gt is None and lt is None:
        _PASSES[check] = (_VALUE, -_NO_LIMIT if ge is None else ge, _NO_LIMIT if le is None else le)
    return check


def matches(pattern: str) -> Validator:
    compiled = re.compile(pattern)

    def check(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not compiled.fullmatch(value):
            _fail(inst, attribute, value, f"text matching {pattern!r}")

    return check


def required_if(field: str, when: Mapping[str, tuple[Any, ...]]) -> Rule:
    """`field` must be set when every attribute named in `when` has one of its values."""
    conditions = " and ".join(
        f"{name} is {values[0]!r}"
        if len(values) == 1
        else f"{name} is one of {', '.join(map(repr, values))}"
        for name, values in when.items()
    )

    names = list(when)
    if len(names) == 1:
        listed = ", ".join(map(repr, when[names[0]]))
        allowed = f"{field} set, or {names[0]} other than {listed}"
    else:
        allowed = f"{field} set, or other values of {', '.join(names)}"

    def check(inst: ParamsModel) -> None:
        if getattr(inst, field) is not None:
            return
        for name, values in when.items():
            value = getattr(inst, name)
            if not any(value == v and type(value) is type(v) for v in values):
                return
        operation = type(inst).OPERATION
        raise _hinted(
            operation,
            ParamError(
                operation, field, None, allowed, problem=f"{field} is required when {conditions}"
            ),
        )

    return check


def is_empty(value: Any) -> bool:
    """The rule for a required string or list parameter's value (`all_of`; the CLI and batch
    files go through the models too): an empty or whitespace-only string, or an empty list,
    is no value."""
    if isinstance(value, str):
        return not value or value.isspace()
    return isinstance(value, list | tuple) and not value


def _refuse_empty(inst: Any, attribute: attrs.Attribute[Any], value: Any, *, text: bool) -> None:
    """The ParamError for a required string (`text`) or list parameter's value that
    `is_empty`; nothing for any other value (one of another type: its type check says what
    is wrong)."""
    of_its_type = isinstance(value, str) if text else isinstance(value, list | tuple)
    if of_its_type and is_empty(value):
        _fail(
            inst,
            attribute,
            value,
            "a non-empty string" if text else "a list of one or more items",
            problem=f"the required parameter {attribute.name} is empty",
        )


def _refuses_empty(chain: tuple[Validator, ...]) -> bool:
    """Whether a required parameter's checks get the `is_empty` rule: they check a string or
    a list, and state no minimum of 0 (which the vendor docs would have to say)."""
    if not chain:
        return False
    first = _PASSES.get(chain[0])
    checks_text = first is not None and first[0] is _TYPE and first[1] is str
    return (checks_text or chain[0] in _LISTS) and not any(v in _EMPTY_ALLOWED for v in chain)


_LISTS: weakref.WeakSet[Validator] = weakref.WeakSet()
"""The `is_list_of` checks."""
_EMPTY_ALLOWED: weakref.WeakSet[Validator] = weakref.WeakSet()
"""The `min_length(0)` and `min_items(0)` checks: an empty value is meaningful there."""


def optional(validators: Iterable[Validator]) -> Validator:
    """Skip the checks when the value is None (an unset optional parameter)."""
    chain = tuple(validators)
    keys, refuse = _ONE_OF.get(chain[0], (None, None)) if len(chain) == 1 else (None, None)
    if keys is not None and refuse is not None:
        # optional(one_of(...)), the usual optional choice: the set lookup done here.

        def check_choice(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
            if value is None:
                return
            try:
                if (type(value), value) in keys:
                    return
            except TypeError:  # an unhashable value: compared one by one
                pass
            refuse(inst, attribute, value)

        return check_choice
    fused = _fused(chain, None)
    if fused is not None:
        return fused

    def check(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is None:
            return
        for v in chain:
            v(inst, attribute, value)

    return check


def all_of(validators: Iterable[Validator]) -> Validator:
    """The checks of a required parameter as one validator: each in turn, as attrs runs a
    list of them, raising what the first to fail raises. A string or list parameter's value
    that `is_empty` is refused first ("the required parameter X is empty", as the CLI says):
    given as nothing, it is a typo, never a request; unless the chain has an explicit
    `min_length(0)` / `min_items(0)` (the vendor documents empty as meaningful). Generated
    models use it for their required parameters (a plain list, as older generated code has,
    still works, without the emptiness rule)."""
    chain = tuple(validators)
    nonempty = _refuses_empty(chain)
    fused = _fused(chain, _NOTHING_PASSES, nonempty=nonempty)
    if fused is not None:
        return fused
    if nonempty:
        text = chain[0] not in _LISTS

        def check_given(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
            # The first character tested inline (see `_fused`): no call for a value that is
            # surely given.
            if not value or (
                type(value) is str and not (" " < value[0] < "\x85" or value[0] > "\u3000")
            ):
                _refuse_empty(inst, attribute, value, text=text)
            for v in chain:
                v(inst, attribute, value)

        return check_given
    if len(chain) == 1:
        return chain[0]

    def check(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        for v in chain:
            v(inst, attribute, value)

    return check


def _fused(
    chain: tuple[Validator, ...], passes_as_is: object, *, nonempty: bool = False
) -> Validator | None:
    """One validator for a chain `_passes` reads (else None): a value that is `passes_as_is`
    (None for an optional parameter) or of exactly the checked type within the bounds passes
    with that test alone; any other value runs the chain in order. With `nonempty` (a
    required string, see `all_of`) the test also asks for a first character that is surely
    not whitespace, and any other value that `is_empty` is refused before the chain runs."""
    passes = _passes(chain)
    if passes is None:
        return None
    kind, measure, low, high = passes
    if nonempty and kind is str:
        # No whitespace character lies in (" ", "\x85") or above "\u3000" (a test pins it), so a
        # string starting with one is not blank: told by comparisons alone, no call.
        shortest = max(low, 1)

        def check_text(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
            if (
                type(value) is str
                and shortest <= len(value) <= high
                and (" " < value[0] < "\x85" or value[0] > "\u3000")
            ):
                return
            _refuse_empty(inst, attribute, value, text=True)
            for v in chain:
                v(inst, attribute, value)

        return check_text
    if measure is _LENGTH:

        def check_sized(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
            if value is passes_as_is or (type(value) is kind and low <= len(value) <= high):
                return
            for v in chain:
                v(inst, attribute, value)

        return check_sized

    def check_valued(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is passes_as_is or (type(value) is kind and low <= value <= high):
            return
        for v in chain:
            v(inst, attribute, value)

    return check_valued


_NOTHING_PASSES = object()
"""What a required parameter's fused check lets through as is: no value is this object."""

_TYPE = "type"
_LENGTH = "length"
_VALUE = "value"
_NO_LIMIT = math.inf

_PASSES: weakref.WeakKeyDictionary[Validator, tuple[Any, ...]] = weakref.WeakKeyDictionary()
"""A check -> what a value surely passes it by: (_TYPE, kind): its type is exactly `kind`;
(_LENGTH, low, high): low <= len(value) <= high; (_VALUE, low, high): low <= value <= high."""


def _passes(chain: tuple[Validator, ...]) -> tuple[Any, str, Any, Any] | None:
    """For a chain of a type check and bounds (`is_type(str), max_length(1200)`, the usual
    parameter), (kind, measure, low, high): a value of exactly that type whose length (strings)
    or value (integers) is within [low, high] passes every check of the chain, so a fused
    validator tests that alone and runs the chain (raising what it raises) only for other
    values. None for any other chain."""
    first = _PASSES.get(chain[0]) if chain else None
    if first is None or first[0] is not _TYPE:
        return None
    kind = first[1]
    measure = _LENGTH if kind is str else _VALUE if kind is int or kind is bool else None
    low: Any = -_NO_LIMIT
    high: Any = _NO_LIMIT
    for v in chain[1:]:
        bound = _PASSES.get(v)
        if bound is None or bound[0] is not measure or kind is bool:
            return None
        low, high = max(low, bound[1]), min(high, bound[2])
    if measure is None:
        return None
    return kind, measure, low, high
