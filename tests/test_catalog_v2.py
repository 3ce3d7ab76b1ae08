"""The `mediagen-provider/2` vocabulary: field paths, and one precise loader error per new
key; `/1` files still load, into the same IR."""

from __future__ import annotations

import textwrap

import pytest
from conftest import CatalogDir

from mediagen.catalog import load_catalog
from mediagen.catalog.errors import (
    CatalogError,
    DuplicateName,
    InvalidEntry,
    MissingFact,
    UnboundPathParam,
)
from mediagen.catalog.paths import merge, parse_path


def load_error(cat: CatalogDir) -> CatalogError:
    with pytest.raises(CatalogError) as info:
        load_catalog(cat.root)
    return info.value


def test_field_paths_read_and_build_nested_values() -> None:
    files = parse_path("output.files[*].url")
    assert files is not None and files.has_wildcard
    doc = {"output": {"files": [{"url": "a"}, {"url": "b"}, {"name": "c"}]}}
    assert files.values(doc) == ["a", "b"]
    assert files.first(doc) == "a" and files.first({"output": None}) is None
    assert files.build(["x", "y"]) == {"output": {"files": [{"url": "x"}, {"url": "y"}]}}
    second = parse_path("items[1].id")
    assert second is not None and second.values({"items": [{"id": 1}, {"id": 2}]}) == [2]
    built = merge({"a": {"b": 1}}, {"a": {"c": 2}})
    assert built == {"a": {"b": 1, "c": 2}}
    assert parse_path("[*]") is not None and parse_path("[0].url") is not None
    for bad in ("", "a..b", "a.", ".a", "a[x]", "a b", "*", "a[*", 3):
        assert parse_path(bad) is None, bad


def _auth(cat: CatalogDir, block: str) -> None:
    text = (cat.folder / "provider.yaml").read_text()
    start, end = text.index("auth:\n"), text.index("response:\n")
    cat.write("provider.yaml", text[:start] + textwrap.dedent(block) + text[end:])


CREDS = "  credentials:\n    - {name: token, env: [T]}\n    - {name: extra, env: [E], required: false}\n"


@pytest.mark.parametrize(
    ("block", "error", "words"),
    [
        ("auth:\n  kind: oauth\n", InvalidEntry, ["auth kind 'oauth'", "api_key, bearer, basic"]),
        (
            "auth:\n  kind: api_key\n  in: cookie\n  name: k\n" + CREDS,
            InvalidEntry,
            ["in is 'cookie'"],
        ),
        ("auth:\n  kind: api_key\n  credential: token\n" + CREDS, MissingFact, ["missing 'name'"]),
        ("auth:\n  kind: bearer\n" + CREDS, MissingFact, ["needs 'credential'", "token, extra"]),
        ("auth:\n  kind: bearer\n  credential: extra\n" + CREDS, InvalidEntry, ["not required"]),
        (
            "auth:\n  kind: bearer\n  credential: tokn\n" + CREDS,
            InvalidEntry,
            ["'tokn' is not a credential"],
        ),
        (
            "auth:\n  kind: basic\n  username: token\n  name: X\n" + CREDS,
            InvalidEntry,
            ["takes no ['name']"],
        ),
        ("auth:\n  kind: basic\n  username: token\n" + CREDS, MissingFact, ["needs 'password'"]),
        (
            "auth:\n  kind: none\n  credentials:\n    - {name: a, env: [A]}\n    - {name: a, env: [B]}\n",
            DuplicateName,
            ["'a' is listed twice"],
        ),
    ],
)
def test_auth_errors(
    catalog_dir: CatalogDir, block: str, error: type[CatalogError], words: list[str]
) -> None:
    _auth(catalog_dir, block)
    err = load_error(catalog_dir)
    assert isinstance(err, error), err
    assert err.file.endswith("provider.yaml") and str(err.entry).startswith("auth")
    for word in words:
        assert word in str(err)


def test_every_auth_kind_loads(catalog_dir: CatalogDir) -> None:
    for block, kind in [
        ("auth:\n  kind: bearer\n  credentials:\n    - {name: token, env: [T]}\n", "bearer"),
        (
            "auth:\n  kind: api_key\n  in: query\n  name: key\n"
            + CREDS[:-1].rsplit("\n", 1)[0]
            + "\n",
            "api_key",
        ),
        ("auth:\n  kind: basic\n  username: token\n  password: token\n" + CREDS, "basic"),
        ("auth:\n  kind: custom\n", "custom"),
    ]:
        _auth(catalog_dir, block)
        (provider,) = load_catalog(catalog_dir.root).providers
        assert provider.auth.kind == kind


@pytest.mark.parametrize(
    ("old", "new", "error", "words"),
    [
        (
            "envelope: {code: code, success: [0],",
            "envelope: {code: code, success: [true],",
            MissingFact,
            ["success is [True]", "an int, a string"],
        ),
        (
            "envelope: {code: code,",
            "envelope: {code: 'a..b',",
            InvalidEntry,
            ["code 'a..b' is not a field path", "output.files[*].url"],
        ),
        ("envelope: {code: code,", "envelope: {cod: code,", InvalidEntry, ["unknown keys ['cod']"]),
        (
            "  status_field: status",
            "  status_field: 'st[x]'",
            InvalidEntry,
            ["status_field 'st[x]' is not a field path"],
        ),
        (
            "error: failed}",
            "error: running}",
            MissingFact,
            ["no vendor status maps to a failure", "failed, cancelled, timed_out"],
        ),
        (
            "running: running,",
            "1: running, '1': queued,",
            DuplicateName,
            ["vendor status '1' is listed twice"],
        ),
        (
            "task_id_in: path}",
            "task_id_in: header}",
            MissingFact,
            ["task_id_in is 'header'", "'path', 'query' or 'body'"],
        ),
        (
            'method: POST, path: "/result/{task_id}", task_id_in: path}',
            "method: GET, path: /result, task_id_in: body}",
            InvalidEntry,
            ["GET poll cannot carry the task id in a body"],
        ),
        ('path: "/result/{task_id}"', 'path: "/result/{task_id}/{x}"', UnboundPathParam, ["['x']"]),
        (
            "  envelope:",
            "  trace: x\n  envelope:",
            InvalidEntry,
            ["response: unknown keys ['trace']"],
        ),
    ],
)
def test_response_and_task_errors(
    catalog_dir: CatalogDir, old: str, new: str, error: type[CatalogError], words: list[str]
) -> None:
    catalog_dir.replace("provider.yaml", old, new)
    err = load_error(catalog_dir)
    assert isinstance(err, error), err
    for word in words:
        assert word in str(err)


@pytest.mark.parametrize(
    ("block", "error", "words"),
    [
        (
            "results: {anywhere: true, urls: [{path: a}]}\n",
            MissingFact,
            ["exactly one of anywhere: true or urls"],
        ),
        (
            "results: {urls: [{path: a, kind: text}]}\n",
            InvalidEntry,
            ["kind 'text'", "image, video"],
        ),
        ("results: {urls: []}\n", MissingFact, ["urls is empty"]),
        ("request: {params_in: form}\n", InvalidEntry, ["params_in is 'form'"]),
        ("request: {params_in: query, wrap: data}\n", InvalidEntry, ["wrap is set but"]),
        (
            "errors:\n  vendor_codes:\n    - {code: E1, category: auth, retryable: false}\n    - {code: E1, category: auth, retryable: false}\n",
            DuplicateName,
            ["code E1 is listed twice"],
        ),
        (
            "errors:\n  vendor_codes:\n    - {code: 7, category: auth, retryable: false}\n    - {code: '7', category: auth, retryable: false}\n",
            DuplicateName,
            ["listed twice"],
        ),
        (
            "errors:\n  vendor_codes:\n    - {code: true, category: auth, retryable: false}\n",
            InvalidEntry,
            ["code is True", "an int or a string"],
        ),
    ],
)
def test_results_request_and_error_table_errors(
    catalog_dir: CatalogDir, block: str, error: type[CatalogError], words: list[str]
) -> None:
    catalog_dir.replace("provider.yaml", "operations:\n", block + "operations:\n")
    err = load_error(catalog_dir)
    assert isinstance(err, error), err
    for word in words:
        assert word in str(err)


def test_string_codes_query_params_and_count_param_load(catalog_dir: CatalogDir) -> None:
    catalog_dir.replace(
        "provider.yaml",
        "operations:\n",
        "errors:\n  vendor_codes:\n    - {code: E_AUTH, category: auth, retryable: false}\n"
        "results: {urls: [{path: 'out.files[*].url', kind: image}]}\noperations:\n",
    )
    catalog_dir.replace(
        "operations.yaml", "    path: /draw\n", "    path: /draw\n    count_param: n\n"
    )
    catalog_dir.replace(
        "operations.yaml",
        "        ratio:",
        "        n: {type: integer, x-location: query, description: How many.}\n        ratio:",
    )
    (provider,) = load_catalog(catalog_dir.root).providers
    op = provider.operation("draw")
    assert op.param("n").location == "query" and op.result_count_param == "n"
    assert provider.vendor_codes[0].code == "E_AUTH"
    assert provider.results.urls[0].path.text == "out.files[*].url"


def test_operation_errors_for_the_new_keys(catalog_dir: CatalogDir) -> None:
    catalog_dir.replace(
        "operations.yaml", "    path: /draw\n", "    path: /draw\n    count_param: ratio2\n"
    )
    err = load_error(catalog_dir)
    assert isinstance(err, InvalidEntry) and "count_param 'ratio2'" in str(err)

    catalog_dir.replace("operations.yaml", "    count_param: ratio2\n", "    method: GET\n")
    (provider,) = load_catalog(catalog_dir.root).providers  # GET: parameters in the query
    assert {p.location for p in provider.operation("draw").params} == {"query"}
    catalog_dir.replace(
        "operations.yaml", "prompt: {type: string,", "prompt: {type: string, x-location: body,"
    )
    err = load_error(catalog_dir)
    assert isinstance(err, InvalidEntry)
    assert "GET operation with body parameters ['prompt']" in str(err)
    assert "no x-location: body" in str(err)
    catalog_dir.replace("operations.yaml", "    method: GET\n", "")
    catalog_dir.replace("operations.yaml", " x-location: body,", "")

    catalog_dir.replace(
        "provider.yaml", "operations:\n", "request: {params_in: query}\noperations:\n"
    )
    (provider,) = load_catalog(catalog_dir.root).providers
    assert {p.location for p in provider.operation("draw").params} == {"query"}


V1_PROVIDER = """\
format: mediagen-provider/1
name: acme
title: Acme
base_url: https://api.acme.test
credential_hosts: [api.acme.test]
download_hosts: ["*"]
auth:
  kind: api_key_header
  credentials:
    - {name: api_key, header: X-Key, env: [ACME_KEY], secret: true, required: true}
request: {envelope: data}
response: {code_field: code, success_code: 0, message_field: msg, data_field: data, trace_id_field: tid}
task:
  id_field: task_id
  result: {method: POST, path: "/result", task_id_in: body}
  status_field: status
  result_field: result
  states: {running: running, done: succeeded, error: failed}
operations:
  format: mediagen-operations
  file: operations.yaml
"""


def test_format_1_files_still_load_into_the_same_ir(catalog_dir: CatalogDir) -> None:
    catalog_dir.write("provider.yaml", V1_PROVIDER)
    (provider,) = load_catalog(catalog_dir.root).providers
    assert (provider.auth.kind, provider.auth.key_name, provider.auth.credential) == (
        "api_key",
        "X-Key",
        "api_key",
    )
    assert provider.request.wrap == "data"
    envelope = provider.response.envelope
    assert envelope is not None and envelope.success == (0,) and envelope.code.text == "code"
    assert provider.response.trace_id is not None and provider.response.trace_id.text == "tid"
    assert provider.task is not None
    assert (provider.task.poll.method, provider.task.poll.task_id_in) == ("POST", "body")
    assert provider.task.poll.task_id_param == "task_id"
    assert provider.results.anywhere


def test_format_1_keeps_its_own_vocabulary(catalog_dir: CatalogDir) -> None:
    catalog_dir.write("provider.yaml", V1_PROVIDER.replace("kind: api_key_header", "kind: bearer"))
    err = load_error(catalog_dir)
    assert "auth kind 'bearer'" in str(err) and "api_key_header, basic_app_key, none" in str(err)
    catalog_dir.write("provider.yaml", V1_PROVIDER.replace("  status_field:", "  staus_field:"))
    assert "task: unknown keys ['staus_field']" in str(load_error(catalog_dir))
    catalog_dir.write("provider.yaml", V1_PROVIDER + "results: {anywhere: true}\n")
    assert "unknown keys ['results']" in str(load_error(catalog_dir))
