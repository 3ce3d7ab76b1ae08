"""Endpoint stubs and package glue: catalog IR -> Jinja templates -> Python modules."""

from __future__ import annotations

from typing import Any

from mediagen.catalog.ir import Catalog, Operation, Provider

from .models import TEMPLATES
from .schema import (
    annotation,
    default_repr,
    docstring_body,
    kind_doc,
    model_class,
    operation_doc,
    param_doc,
    provider_class,
)

_CALLS = {"task": "submit", "sync": "run", "query": "query"}


def _environment() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        autoescape=False,
    )


def render_endpoints(provider: Provider) -> str:
    name = provider_class(provider)
    methods = [_method(provider, op) for op in provider.operations]
    kinds = {op.kind for op in provider.operations}
    typing_imports = ["Any"] if "query" in kinds else []
    if any("Literal[" in p["annotation"] for m in methods for p in m["params"]):
        typing_imports.append("Literal")
    result_import = "sync" in kinds
    runtime_imports = ["AsyncRuntime", "SyncRuntime"]
    if "task" in kinds:
        runtime_imports = ["AsyncRuntime", "AsyncTask", "SyncRuntime", "Task"]
    flavours = [
        {
            "class_name": f"Async{name}",
            "doc": docstring_body(
                f"{provider.title} operations, async: `await client.{provider.name}.<operation>(...)`.",
                indent=4,
            ),
            "runtime": "AsyncRuntime",
            "def": "async def",
            "await": "await ",
            "returns": {"task": "AsyncTask", "sync": "Result", "query": "dict[str, Any]"},
        },
        {
            "class_name": name,
            "doc": docstring_body(
                f"{provider.title} operations, blocking: `client.{provider.name}.<operation>(...)`.",
                indent=4,
            ),
            "runtime": "SyncRuntime",
            "def": "def",
            "await": "",
            "returns": {"task": "Task", "sync": "Result", "query": "dict[str, Any]"},
        },
    ]
    text = (
        _environment()
        .get_template("endpoints.py.jinja2")
        .render(
            provider=provider,
            flavours=flavours,
            methods=methods,
            typing_imports=typing_imports,
            runtime_imports=runtime_imports,
            result_import=result_import,
        )
    )
    return str(text)


def _method(provider: Provider, op: Operation) -> dict[str, Any]:
    # Required parameters first: they read best at the top of a signature.
    ordered = sorted(op.params, key=lambda p: not p.required)
    return {
        "name": op.id,
        "kind": op.kind,
        "call": _CALLS[op.kind],
        "model": model_class(op),
        "summary": docstring_body(operation_doc(provider, op), indent=8),
        "kind_doc": docstring_body(kind_doc(op), indent=8),
        "params": [
            {
                "name": p.python_name,
                "annotation": annotation(p),
                "default": default_repr(p),
                "doc": docstring_body(
                    f"{p.python_name}: {param_doc(p)}", indent=16, first_indent=12
                ),
            }
            for p in ordered
        ],
    }


def render_provider_init(provider: Provider) -> str:
    name = provider_class(provider)
    return str(
        _environment()
        .get_template("provider_init.py.jinja2")
        .render(provider=provider, async_class=f"Async{name}", sync_class=name)
    )


def render_index(catalog: Catalog) -> str:
    providers = [
        {
            "name": p.name,
            "async_class": f"Async{provider_class(p)}",
            "sync_class": provider_class(p),
            "operations": [op.id for op in p.operations],
            "title": p.title,
            "count": len(p.operations),
        }
        for p in catalog.providers
    ]
    return str(_environment().get_template("index.py.jinja2").render(providers=providers))
