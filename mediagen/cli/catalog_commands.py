"""`mediagen list` and `mediagen describe`: the catalog, for people at a terminal."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from .common import (
    UsageError,
    dotted_arguments,
    find_operation,
    find_provider_operations,
    out,
)

if TYPE_CHECKING:
    from ..catalog import Catalog, Operation, Provider
    from ..catalog.ir import Param


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("list")
    p.add_argument("provider", nargs="?", help="only this provider")
    p.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("describe")
    p.add_argument("provider", help="provider, or provider.operation as `list` shows")
    p.add_argument("operation", nargs="?")
    p.add_argument("--json", action="store_true", help="print the operation as JSON")
    p.add_argument(
        "--verbose",
        "-v",
        action="store_true",
        help="also the catalog's bookkeeping (source, vendor status)",
    )
    p.set_defaults(func=cmd_describe)


def _select(catalog: Catalog, provider: str | None) -> list[Operation]:
    if provider is None:
        return list(catalog.operations())
    return find_provider_operations(provider)


def cmd_list(args: argparse.Namespace) -> int:
    from ..registry import default_registry

    ops = _select(default_registry().catalog, args.provider)
    if args.json:
        rows = [
            {
                "provider": op.provider,
                "operation": op.id,
                "name": op.name,
                "kind": op.kind,
                "output": op.output,
                "params": [
                    {"name": p.name, "type": p.type_label, "required": p.required}
                    for p in op.params
                ],
            }
            for op in ops
        ]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    width = max(len("OPERATION"), *(len(op.qualified_id) for op in ops))
    print(f"{'OPERATION':<{width}}  {'KIND':<5}  {'OUTPUT':<7}  NAME  [REQUIRED PARAMETERS]")
    for op in ops:
        required = ", ".join(p.python_name for p in op.params if p.required) or "-"
        print(
            f"{op.qualified_id:<{width}}  {op.kind:<5}  {op.output:<7}  {op.name}  [required: {required}]"
        )
    return 0


def cmd_describe(args: argparse.Namespace) -> int:
    name, operation, rest = dotted_arguments(
        args.provider, [args.operation] if args.operation else []
    )
    if not name or not operation or rest:
        raise UsageError("describe needs PROVIDER OPERATION (or PROVIDER.OPERATION)")
    op = find_operation(name, operation)
    from ..registry import default_registry
    from ..stale_models import STALE_HINT, compiled_from_another_catalog

    provider = default_registry().catalog.provider(op.provider)
    if args.json:
        print(json.dumps(_operation_json(op), indent=2, ensure_ascii=False))
        return 0
    base_url, override_note = _base_url(provider)
    print(f"{op.qualified_id}: {op.name} ({provider.title})")
    print(f"  kind: {op.kind}   output: {op.output}   {op.method} {base_url}{op.path}")
    if override_note:
        out(f"  {override_note}")  # may quote the variable's text
    if compiled_from_another_catalog(op):  # what is shown here is not yet what calls accept
        print(f"  stale: {STALE_HINT} (calls are checked by its models until then)")
    if op.model_code:
        print(f"  model code: {op.model_code}")
    if args.verbose and op.vendor_status not in (None, 1):
        print(f"  vendor status: {op.vendor_status}")
    if op.description:
        print(f"  {op.description}")
    print("  parameters:" if op.params else "  parameters: none")
    for p in op.params:
        print(f"    {p.python_name}: {p.type_label}, {'required' if p.required else 'optional'}")
        for line in _param_facts(p):
            print(f"      {line}")
    for note in op.notes:
        print(f"  note: {note}")
    if args.verbose:  # where the catalog got it: for maintainers, not for callers
        print(f"  source: {op.source}")
    return 0


def _base_url(provider: Provider) -> tuple[str, str | None]:
    """Where this machine's calls go: the MEDIAGEN_<PROVIDER>_BASE_URL override when one is
    set (with a note naming it and the vendor's URL), else the catalog's URL. An unusable
    override is noted, not fatal: describing an operation sends nothing."""
    from ..errors import ConfigurationError
    from ..hosts import base_url_env, resolve_target

    variable = base_url_env(provider.name)
    try:
        target = resolve_target(provider)
    except ConfigurationError as exc:
        return provider.base_url, f"note: {variable} is set but not usable: {exc}"
    if not target.overridden:
        return provider.base_url, None
    return target.base_url, f"base URL from {variable} (the vendor's: {provider.base_url})"


def _param_facts(p: Param) -> list[str]:
    facts = []
    if p.name != p.python_name:
        facts.append(f"wire name: {p.name}")
    if p.format == "uri":
        facts.append("a URL the vendor fetches: https (http only on loopback, for the emulator)")
    if p.enum is not None:
        facts.append(
            "allowed: "
            + ", ".join(
                f"{_value(v)} ({p.value_labels[str(v)]})" if str(v) in p.value_labels else _value(v)
                for v in p.enum
            )
        )
    if p.has_default:
        facts.append(f"default: {_value(p.default)}")
    for label, value in (
        ("minimum", p.minimum),
        ("maximum", p.maximum),
        ("greater than", p.exclusive_minimum),
        ("less than", p.exclusive_maximum),
        ("min length", p.min_length),
        ("max length", p.max_length),
        ("min items", p.min_items),
        ("max items", p.max_items),
        ("pattern", p.pattern),
    ):
        if value is not None:
            facts.append(f"{label}: {value}")
    if p.value_labels and p.enum is None:
        facts.append("values: " + ", ".join(f"{k} {v}" for k, v in p.value_labels.items()))
    for key, value in p.limits.items():
        facts.append(_limit(key, value))
    if p.required_if:
        from ..catalog.param_rules import describe_rule

        facts.append(f"required when {describe_rule(p)}")
    if p.note:
        facts.append(f"note: {p.note}")
    if p.location == "path":
        facts.append("sent in the URL path")
    if p.description:
        facts.append(p.description)
    return facts


_UNITS = {"_mb": "MB", "_s": "s", "_fps": "fps"}


def _limit(key: str, value: Any) -> str:
    """A vendor limit as text: `file size: up to 20 MB`, `formats: PNG, JPEG, JPG`."""
    unit = ""
    for suffix, name in _UNITS.items():
        if key.endswith(suffix):
            key, unit = key.removesuffix(suffix), f" {name}"
            break
    label = key.replace("_", " ")
    if isinstance(value, dict) and set(value) <= {"min", "max"}:
        low, high = value.get("min"), value.get("max")
        if low in (None, 0) and high is not None:
            text = f"up to {_number(high)}{unit}"
        elif high is None:
            text = f"at least {_number(low)}{unit}"
        else:
            text = f"{_number(low)} to {_number(high)}{unit}"
    elif isinstance(value, list | tuple):
        text = ", ".join(str(v) for v in value)
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    else:
        text = f"{_number(value)}{unit}"
    return f"{label}: {text}"


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _value(value: Any) -> str:
    """A value as written on the command line: strings quoted only when they need it."""
    if isinstance(value, str):
        return value if value and value.strip() == value and "," not in value else repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return _number(value)


def _operation_json(op: Operation) -> dict[str, Any]:
    return {
        "provider": op.provider,
        "operation": op.id,
        "name": op.name,
        "kind": op.kind,
        "output": op.output,
        "method": op.method,
        "path": op.path,
        "model_code": op.model_code,
        "vendor_status": op.vendor_status,
        "description": op.description,
        "notes": list(op.notes),
        "source": op.source,
        "params": [
            {
                "name": p.name,
                "python_name": p.python_name,
                "type": p.type_label,
                "required": p.required,
                "location": p.location,
                "enum": list(p.enum) if p.enum is not None else None,
                "default": p.default if p.has_default else None,
                "minimum": p.minimum,
                "maximum": p.maximum,
                "exclusive_minimum": p.exclusive_minimum,
                "exclusive_maximum": p.exclusive_maximum,
                "min_length": p.min_length,
                "max_length": p.max_length,
                "min_items": p.min_items,
                "max_items": p.max_items,
                "pattern": p.pattern,
                "format": p.format,
                "value_labels": dict(p.value_labels),
                "limits": dict(p.limits),
                "note": p.note,
                "description": p.description,
            }
            for p in op.params
        ],
    }
