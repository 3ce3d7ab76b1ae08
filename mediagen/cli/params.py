"""`key=value` arguments -> a validated parameter model, before anything touches the network.

Values are converted by the catalog's type for the key: integers, numbers, booleans
(true/false/yes/no/1/0), and arrays as a JSON list (`images='["a.png","b.png"]'`) or by
repeating the key (`images=URL images=URL`). Any other key given twice is refused: a command
line that says two things is a mistake; an empty value for a required parameter is refused by
the model, as in the library.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..catalog import Operation
from ..catalog.ir import Param
from ..defaults import MAX_ANSWER_DEPTH
from ..errors import ParamError, UnknownParams
from ..nesting import nested_deeper_than
from ..params import ParamsModel, model_for

MAX_PARAM_DEPTH = MAX_ANSWER_DEPTH
"""Deeper JSON values are refused: no parameter nests, and deeper ones would recurse later."""

_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


def build_params(op: Operation, pairs: Sequence[str]) -> ParamsModel:
    by_name = {p.python_name: p for p in op.params} | {p.name: p for p in op.params}
    values: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            example = op.params[0].python_name if op.params else "name"
            raise ParamError(
                op.qualified_id,
                pair,
                pair,
                f'parameters written as key=value, e.g. {example}="..."',
                problem=f"the argument {pair!r} has no key=value form",
            )
        param = by_name.get(key)
        if param is None:
            raise UnknownParams(op.qualified_id, [key], [p.python_name for p in op.params])
        if param.name in values and param.type != "array":
            raise ParamError(
                op.qualified_id,
                param.python_name,
                text,
                "one value (only array parameters may repeat their key)",
                problem=f"{param.python_name} is given twice",
            )
        value = convert(op, param, text)
        if param.type == "array" and param.name in values and not text.lstrip().startswith("["):
            values[param.name].extend(value)
        else:
            values[param.name] = value
    # The model refuses a required value given as nothing (`prompt=`, `images=[]`): a typo,
    # never a request (mediagen.params.is_empty). A model older than the catalog says so in
    # its refusal (mediagen.stale_models).
    return model_for(op.qualified_id).from_dict(values)


def convert(op: Operation, param: Param, text: str) -> Any:
    if param.type == "array":
        if text.lstrip().startswith("["):
            try:
                items = json.loads(text)
            except ValueError as exc:
                raise ParamError(
                    op.qualified_id,
                    param.python_name,
                    text,
                    "a JSON list",
                    problem=f"{param.python_name} is not a valid JSON list ({exc})",
                ) from None
            except RecursionError:  # the decoder's own limit, far below any 50,000 `[`
                items = None
            if items is None or nested_deeper_than(items, MAX_PARAM_DEPTH):
                raise ParamError(
                    op.qualified_id,
                    param.python_name,
                    text,
                    f"a JSON list nested at most {MAX_PARAM_DEPTH} levels deep",
                    problem=f"{param.python_name} is nested too deeply",
                )
            if not isinstance(items, list):
                raise ParamError(op.qualified_id, param.python_name, text, "a JSON list")
            return [
                convert_scalar(op, param, param.items or "string", i) if isinstance(i, str) else i
                for i in items
            ]
        return [convert_scalar(op, param, param.items or "string", text)]
    return convert_scalar(op, param, param.type, text)


def convert_scalar(op: Operation, param: Param, type_name: str, text: str) -> Any:
    if type_name == "string":
        return text
    if type_name == "boolean":
        lowered = text.strip().lower()
        if lowered in _TRUE | _FALSE:
            return lowered in _TRUE
        raise ParamError(
            op.qualified_id, param.python_name, text, "true or false (or yes/no, on/off, 1/0)"
        )
    try:
        return int(text) if type_name == "integer" else float(text)
    except ValueError:
        kind = "an integer" if type_name == "integer" else "a number"
        raise ParamError(op.qualified_id, param.python_name, text, kind) from None


def describe_params(op: Operation) -> str:
    """The operation's parameters for `run PROVIDER OPERATION --help`: name, type, whether
    required, and allowed values; `mediagen describe` has the rest."""
    lines = [
        f"{op.qualified_id} parameters ({op.name}; `mediagen describe {op.provider} {op.id}` has more):"
    ]
    if not op.params:
        lines.append("  none")
    for p in op.params:
        facts = [p.type_label, "required" if p.required else "optional"]
        if p.enum is not None:
            facts.append("one of " + ", ".join(str(v) for v in p.enum))
        if p.has_default:
            facts.append(f"default {p.default}")
        lines.append(f"  {p.python_name}=  ({'; '.join(facts)})")
    return "\n".join(lines)
