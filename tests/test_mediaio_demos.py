"""The vendor's own cURL examples in c_api_doc_detail.json, reproduced by our wire dicts."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from mediagen.catalog import default_catalog
from mediagen.codegen.schema import model_class
from mediagen.generated.mediaio import models

_PLACEHOLDER = re.compile(r"<([a-z_]+)>")


def demos() -> list[Any]:
    from mediagen.catalog import default_root

    entries = json.loads(
        (default_root() / "mediaio" / "c_api_doc_detail.json").read_text(encoding="utf-8")
    )
    out = []
    for entry in entries:
        request = json.loads(entry["api_request_demo"])["request"][0]
        curl = request["code_example"]
        body = re.search(r"--data '(.*)'", curl, re.S)
        url = re.search(r"--url (\S+)", curl)
        assert body and url, entry["name"]
        out.append(
            pytest.param(entry["name"], url.group(1), json.loads(body.group(1)), id=entry["name"])
        )
    return out


@pytest.mark.parametrize(("name", "url", "body"), demos())
def test_demo_body_is_reproduced(name: str, url: str, body: dict[str, Any]) -> None:
    provider = default_catalog().provider("mediaio")
    op = next(o for o in provider.operations if o.name == name)
    model = getattr(models, model_class(op))

    # Path parameters appear in the demo URL as <name>.
    path_values = {m: f"<{m}>" for m in _PLACEHOLDER.findall(url)}
    assert set(path_values) == {p.name for p in op.path_params}
    # The demos write "<string>" where the vendor fetches a URL: a URL stands in for it.
    body = _with_urls(op, body)
    demo_params = {**body.get("data", {}), **path_values}

    params = model.from_dict(demo_params)
    assert provider.request_body(op, params.to_dict()) == body
    assert provider.base_url + op.path.format(**path_values) == url

    # Built from keyword arguments with the same values, the wire dict is the same.
    kwargs = {op.param(k).python_name: v for k, v in demo_params.items()}
    assert provider.request_body(op, model(**kwargs).to_dict()) == body


def _with_urls(op: Any, body: dict[str, Any]) -> dict[str, Any]:
    data = dict(body.get("data", {}))
    for p in op.params:
        if p.format == "uri" and p.name in data:
            value = data[p.name]
            url = "https://example.com/input.png"
            data[p.name] = [url for _ in value] if isinstance(value, list) else url
    return {**body, "data": data} if "data" in body else body


@pytest.mark.parametrize(("name", "url", "body"), demos())
def test_demo_values_for_optionals_are_the_documented_defaults(
    name: str, url: str, body: dict[str, Any]
) -> None:
    provider = default_catalog().provider("mediaio")
    op = next(o for o in provider.operations if o.name == name)
    data = body.get("data", {})
    for p in op.params:
        if p.has_default:
            assert data.get(p.name) == p.default, p.name
