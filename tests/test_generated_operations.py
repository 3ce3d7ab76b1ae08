"""All 39 operations: each generated model and stub carries exactly its catalog params."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import attrs
import pytest

from mediagen.catalog import Catalog, Operation, default_catalog
from mediagen.codegen.schema import annotation, default_repr, model_class, provider_class
from mediagen.generated import OPERATIONS, PROVIDERS, load
from mediagen.params import ParamsModel

ALL = [pytest.param(op, id=op.qualified_id) for op in default_catalog().operations()]


def test_index_lists_every_operation(catalog: Catalog) -> None:
    assert set(PROVIDERS) == {p.name for p in catalog.providers}
    for provider in catalog.providers:
        assert OPERATIONS[provider.name] == tuple(op.id for op in provider.operations)
    with pytest.raises(KeyError, match="known: edrawmax, mediaio, tomoviee"):
        load("nope")


def sample_value(op: Operation, name: str) -> Any:
    p = op.param(name)
    if p.enum is not None:
        return p.enum[-1]
    if p.type == "array":
        return ["https://example.test/a.png"]
    if p.type == "integer":
        return int(p.minimum if p.minimum is not None else 1)
    if p.type == "number":
        return float(p.maximum if p.maximum is not None else 0.5)
    if p.type == "boolean":
        return True
    return "https://example.test/in" if p.format == "uri" else "text"


@pytest.mark.parametrize("op", ALL)
def test_model_fields_match_the_catalog(op: Operation) -> None:
    module = load(op.provider)
    model = getattr(module.models, model_class(op))
    assert op.qualified_id == model.OPERATION
    fields = {f.name: f for f in attrs.fields(model)}
    assert list(fields) == [p.python_name for p in op.params]
    for p in op.params:
        field = fields[p.python_name]
        assert (field.default is attrs.NOTHING) == p.required, p.name
        if p.has_default:
            assert field.default == p.default
        elif not p.required:
            assert field.default is None
        assert field.metadata.get("wire", p.python_name) == p.name


@pytest.mark.parametrize("op", ALL)
def test_stub_signatures_match_the_catalog(op: Operation) -> None:
    module = load(op.provider)
    for cls in (
        getattr(module, f"Async{provider_class_name(op)}"),
        getattr(module, provider_class_name(op)),
    ):
        sig = inspect.signature(getattr(cls, op.id))
        params = [q for q in sig.parameters.values() if q.name != "self"]
        assert sorted(q.name for q in params) == sorted(p.python_name for p in op.params)
        for q in params:
            p = op.param(q.name)
            assert q.kind is inspect.Parameter.KEYWORD_ONLY
            assert q.annotation == annotation(p)
            expected = default_repr(p)
            assert (q.default is inspect.Parameter.empty) == (expected is None)
            if expected is not None:
                assert repr(q.default) == expected


def provider_class_name(op: Operation) -> str:
    return provider_class(default_catalog().provider(op.provider))


class RecordingRuntime:
    """Stands in for the engine behind the stubs' runtime interface (no network here)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ParamsModel]] = []

    def _record(self, kind: str, params: ParamsModel) -> str:
        self.calls.append((kind, params))
        return kind

    def submit(self, params: ParamsModel) -> str:
        return self._record("submit", params)

    def run(self, params: ParamsModel) -> str:
        return self._record("run", params)

    def query(self, params: ParamsModel) -> str:
        return self._record("query", params)


class AsyncRecordingRuntime(RecordingRuntime):
    async def submit(self, params: ParamsModel) -> str:  # type: ignore[override]
        return self._record("submit", params)

    async def run(self, params: ParamsModel) -> str:  # type: ignore[override]
        return self._record("run", params)

    async def query(self, params: ParamsModel) -> str:  # type: ignore[override]
        return self._record("query", params)


@pytest.mark.parametrize("op", ALL)
def test_stubs_hand_the_validated_model_to_the_runtime(op: Operation) -> None:
    module = load(op.provider)
    kwargs = {p.python_name: sample_value(op, p.name) for p in op.params}
    expected_call = {"task": "submit", "sync": "run", "query": "query"}[op.kind]

    sync_runtime = RecordingRuntime()
    sync_client = getattr(module, provider_class_name(op))(sync_runtime)
    assert getattr(sync_client, op.id)(**kwargs) == expected_call

    async_runtime = AsyncRecordingRuntime()
    async_client = getattr(module, f"Async{provider_class_name(op)}")(async_runtime)
    assert asyncio.run(getattr(async_client, op.id)(**kwargs)) == expected_call

    for runtime in (sync_runtime, async_runtime):
        ((kind, params),) = runtime.calls
        assert kind == expected_call
        assert type(params).__name__ == model_class(op)
        assert params.to_dict() == {op.param(k).name: v for k, v in kwargs.items()}
