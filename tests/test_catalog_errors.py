"""Catalog validation: each malformed input gives its own error naming file, entry and fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import CatalogDir

from mediagen.catalog import load_catalog
from mediagen.catalog.errors import (
    CatalogError,
    DuplicateName,
    InvalidDefault,
    InvalidEntry,
    MissingFact,
    UnboundPathParam,
    UnknownType,
    UnreadableFile,
)


def load_error(cat: CatalogDir) -> CatalogError:
    with pytest.raises(CatalogError) as info:
        load_catalog(cat.root)
    return info.value


def test_the_minimal_catalog_loads(catalog_dir: CatalogDir) -> None:
    (provider,) = load_catalog(catalog_dir.root).providers
    assert [op.id for op in provider.operations] == ["draw"]


def test_unreadable_yaml_reports_line_and_column(catalog_dir: CatalogDir) -> None:
    catalog_dir.replace("operations.yaml", "    kind: task\n", "    kind: [task\n")
    err = load_error(catalog_dir)
    assert isinstance(err, UnreadableFile)
    assert err.file.endswith("operations.yaml")
    assert "line 6, column" in str(err) or "line 7, column" in str(err)


def test_unreadable_json_reports_line_and_column(catalog_dir: CatalogDir) -> None:
    catalog_dir.replace("provider.yaml", "file: operations.yaml", "file: operations.json")
    catalog_dir.write(
        "operations.json", '{\n  "format": "mediagen-operations/1",\n  "operations": [,]\n}\n'
    )
    err = load_error(catalog_dir)
    assert isinstance(err, UnreadableFile)
    assert "operations.json" in str(err)
    assert "line 3, column 18" in str(err)


def test_unknown_type(catalog_dir: CatalogDir) -> None:
    catalog_dir.replace("operations.yaml", "prompt: {type: string", "prompt: {type: strng")
    err = load_error(catalog_dir)
    assert isinstance(err, UnknownType)
    assert "'draw'" in str(err) and "param 'prompt'" in str(err)
    assert "unknown type 'strng'" in str(err)
    assert "string, integer, number, boolean, array" in str(err)


def test_unknown_array_item_type(catalog_dir: CatalogDir) -> None:
    catalog_dir.replace(
        "operations.yaml", "prompt: {type: string", "prompt: {type: array, items: {type: blob}"
    )
    assert isinstance(load_error(catalog_dir), UnknownType)


def test_duplicate_operation_id(catalog_dir: CatalogDir) -> None:
    text = (catalog_dir.folder / "operations.yaml").read_text()
    ops = text.split("operations:\n", 1)[1]
    catalog_dir.write("operations.yaml", text + ops)
    err = load_error(catalog_dir)
    assert isinstance(err, DuplicateName)
    assert "operation id 'draw' is used twice" in str(err)


def test_duplicate_parameter_name_after_renaming(catalog_dir: CatalogDir) -> None:
    catalog_dir.replace(
        "operations.yaml",
        "        prompt: {type: string, description: What to draw.}\n",
        "        prompt: {type: string, description: What to draw.}\n"
        "        seed-value: {type: integer, description: A.}\n"
        "        seed_value: {type: integer, description: B.}\n",
    )
    err = load_error(catalog_dir)
    assert isinstance(err, DuplicateName)
    assert "'seed-value' and 'seed_value'" in str(err)


def test_default_not_among_allowed_values(catalog_dir: CatalogDir) -> None:
    catalog_dir.replace("operations.yaml", 'default: "1:1"', 'default: "4:3"')
    err = load_error(catalog_dir)
    assert isinstance(err, InvalidDefault)
    assert "default '4:3' is not among the allowed values" in str(err)
    assert "'1:1', '16:9'" in str(err)


def test_default_outside_range(catalog_dir: CatalogDir) -> None:
    catalog_dir.replace(
        "operations.yaml",
        "        prompt: {type: string, description: What to draw.}\n",
        "        prompt: {type: string, description: What to draw.}\n"
        "        n: {type: integer, minimum: 1, maximum: 4, default: 9, description: Count.}\n",
    )
    assert isinstance(load_error(catalog_dir), InvalidDefault)


def test_path_placeholder_without_parameter(catalog_dir: CatalogDir) -> None:
    catalog_dir.replace("operations.yaml", "path: /draw", "path: /draw/{canvas_id}")
    err = load_error(catalog_dir)
    assert isinstance(err, UnboundPathParam)
    assert "['canvas_id']" in str(err)


def test_missing_required_provider_fact(catalog_dir: CatalogDir) -> None:
    catalog_dir.replace("provider.yaml", "base_url: https://api.acme.test\n", "")
    err = load_error(catalog_dir)
    assert isinstance(err, MissingFact)
    assert "missing 'base_url'" in str(err)


def test_task_operations_need_a_task_protocol(catalog_dir: CatalogDir) -> None:
    text = (catalog_dir.folder / "provider.yaml").read_text()
    start, end = text.index("task:\n"), text.index("operations:\n")
    catalog_dir.write("provider.yaml", text[:start] + text[end:])
    err = load_error(catalog_dir)
    assert isinstance(err, MissingFact)
    assert "no 'task' block" in str(err)


def test_unknown_error_category(catalog_dir: CatalogDir) -> None:
    catalog_dir.replace(
        "provider.yaml",
        "operations:\n",
        "errors:\n  vendor_codes:\n    - {code: 1, category: oops, retryable: false}\noperations:\n",
    )
    err = load_error(catalog_dir)
    assert isinstance(err, InvalidEntry)
    assert "category 'oops'" in str(err) and "rate_limited" in str(err)


def test_unknown_property_keyword_is_refused(catalog_dir: CatalogDir) -> None:
    catalog_dir.replace(
        "operations.yaml", "prompt: {type: string,", "prompt: {type: string, maxLenght: 5,"
    )
    err = load_error(catalog_dir)
    assert isinstance(err, InvalidEntry)
    assert "maxLenght" in str(err)


def _export_catalog(cat: CatalogDir, entries: list[dict[str, object]]) -> None:
    cat.replace(
        "provider.yaml",
        "format: mediagen-operations\n  file: operations.yaml",
        "format: mediaio-export\n  file: export.json",
    )
    (cat.folder / "export.json").write_text(json.dumps(entries), encoding="utf-8")


def _entry(
    name: str, endpoint: str = "https://api.acme.test/gen/x", body: object = None
) -> dict[str, object]:
    params = (
        body
        if body is not None
        else [
            {
                "name": "prompt",
                "type": "string",
                "describe": "Prompt. Maximum string length: 10.",
                "required": True,
            }
        ]
    )
    return {
        "id": 1,
        "name": name,
        "model_code": "t2i-x",
        "method": "POST",
        "endpoint": endpoint,
        "api_body": json.dumps({"category": [{"list": params}]}),
        "api_code_demo": json.dumps(
            {"title": "Example Request", "request": []}
        ),  # the known glitch
        "status": 1,
    }


def test_export_duplicate_names_are_refused(catalog_dir: CatalogDir) -> None:
    _export_catalog(catalog_dir, [_entry("Imagen 4"), _entry("Imagen 4")])
    err = load_error(catalog_dir)
    assert isinstance(err, DuplicateName)
    assert "name 'Imagen 4' is used twice" in str(err)


def test_export_names_that_collide_as_ids_are_refused(catalog_dir: CatalogDir) -> None:
    _export_catalog(catalog_dir, [_entry("Wan 2.6"), _entry("Wan-2.6")])
    err = load_error(catalog_dir)
    assert isinstance(err, DuplicateName)
    assert "operation id 'wan_2_6'" in str(err)


def test_export_unknown_type(catalog_dir: CatalogDir) -> None:
    body = [{"name": "n", "type": "object<thing>", "describe": "", "required": True}]
    _export_catalog(catalog_dir, [_entry("X", body=body)])
    err = load_error(catalog_dir)
    assert isinstance(err, UnknownType)
    assert "param 'n'" in str(err)


def test_export_endpoint_on_another_host_is_refused(catalog_dir: CatalogDir) -> None:
    _export_catalog(catalog_dir, [_entry("X", endpoint="https://evil.test/gen/x")])
    err = load_error(catalog_dir)
    assert isinstance(err, InvalidEntry)
    assert "'evil.test'" in str(err)


def test_export_invalid_nested_json(catalog_dir: CatalogDir) -> None:
    entry = _entry("X")
    entry["api_body"] = '{"category": [}'
    _export_catalog(catalog_dir, [entry])
    err = load_error(catalog_dir)
    assert isinstance(err, UnreadableFile)
    assert "'api_body'" in str(err) and "line 1, column" in str(err)


def test_export_glitches_are_tolerated_and_path_params_bound(catalog_dir: CatalogDir) -> None:
    body = [{"name": "task_id", "type": "string", "describe": "The task", "required": True}]
    _export_catalog(
        catalog_dir,
        [_entry("Task Result", endpoint="https://api.acme.test/result/{task_id}", body=body)],
    )
    (provider,) = load_catalog(catalog_dir.root).providers
    (op,) = provider.operations
    assert op.id == "task_result" and op.path == "/result/{task_id}"
    assert op.param("task_id").location == "path"
    assert op.vendor_codes == {}


def test_export_path_placeholder_without_param(catalog_dir: CatalogDir) -> None:
    _export_catalog(catalog_dir, [_entry("R", endpoint="https://api.acme.test/result/{task_id}")])
    assert isinstance(load_error(catalog_dir), UnboundPathParam)


def test_missing_catalog_directory(tmp_path: Path) -> None:
    with pytest.raises(MissingFact):
        load_catalog(tmp_path / "nowhere")


def test_unknown_key_in_a_provider_block_is_refused(catalog_dir: CatalogDir) -> None:
    catalog_dir.replace("provider.yaml", "  status_field: status", "  staus_field: status")
    err = load_error(catalog_dir)
    assert isinstance(err, InvalidEntry)
    assert "task: unknown keys ['staus_field']" in str(err)


def test_export_id_that_is_not_a_python_name_is_refused(catalog_dir: CatalogDir) -> None:
    _export_catalog(catalog_dir, [_entry("3D Model")])
    err = load_error(catalog_dir)
    assert isinstance(err, InvalidEntry)
    assert "operation id '3d_model' is not usable as a Python method name" in str(err)


def test_export_numeric_options_become_numbers(catalog_dir: CatalogDir) -> None:
    body = [
        {"name": "prompt", "type": "string", "describe": "P.", "required": True},
        {
            "name": "count",
            "type": "integer",
            "describe": "How many. Options: 1, 2, 4. Default is 2.",
            "required": False,
        },
        {
            "name": "scale",
            "type": "number",
            "describe": "Scale.",
            "keywords": ["0.5", "1.5"],
            "required": False,
        },
    ]
    _export_catalog(catalog_dir, [_entry("Multi", body=body)])
    (provider,) = load_catalog(catalog_dir.root).providers
    op = provider.operations[0]
    assert op.param("count").enum == (1, 2, 4) and op.param("count").default == 2
    assert op.param("scale").enum == (0.5, 1.5)


def test_a_yaml_mistake_is_named_as_the_pure_python_parser_names_it(
    catalog_dir: CatalogDir,
) -> None:
    """Catalog YAML is read by libyaml's C parser where PyYAML has it; a file it refuses is
    read again by the pure-Python parser, whose message names the mistake (here the alias)."""
    catalog_dir.replace("operations.yaml", "    kind: task\n", "    kind: *nowhere\n")
    err = load_error(catalog_dir)
    assert isinstance(err, UnreadableFile)
    assert "at line 5, column 11: found undefined alias 'nowhere'" in str(err)


def test_catalog_yaml_is_read_by_the_c_parser_where_pyyaml_has_it(
    catalog_dir: CatalogDir, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A valid catalog never reaches the pure-Python parser when libyaml is there, and reads
    to the catalog the pure-Python parser alone reads."""
    import yaml

    if not hasattr(yaml, "CSafeLoader"):
        pytest.skip("this PyYAML was built without libyaml")
    with monkeypatch.context() as without_libyaml:
        without_libyaml.delattr(yaml, "CSafeLoader")
        expected = load_catalog(catalog_dir.root)

    def refused(*args: object, **kwargs: object) -> None:
        raise AssertionError("the pure-Python parser read a valid file")

    monkeypatch.setattr(yaml, "safe_load", refused)
    assert load_catalog(catalog_dir.root) == expected


def test_every_shipped_yaml_file_reads_the_same_with_either_parser() -> None:
    """The C parser's data is the pure-Python parser's for every YAML file in the repository
    (catalogs, plugin and example catalogs, scenarios): the two differ at the edges (a tab
    after a key's colon), never on what we ship."""
    import yaml

    if not hasattr(yaml, "CSafeLoader"):
        pytest.skip("this PyYAML was built without libyaml")
    repo = Path(__file__).resolve().parents[1]
    found = [
        path
        for pattern in ("*.yaml", "*.yml")
        for path in repo.rglob(pattern)
        if not {".venv", "build", ".git", "node_modules"} & set(path.relative_to(repo).parts)
    ]
    assert len(found) >= 10  # the three vendors' catalogs at least
    for path in found:
        text = path.read_text(encoding="utf-8")
        fast = yaml.load(text, Loader=yaml.CSafeLoader)
        assert fast == yaml.load(text, Loader=yaml.SafeLoader), path


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2023-02-30", "invalid YAML: a value that cannot be read (day is out of range"),
        ("[" * 3000 + "]" * 3000, "invalid YAML: nested too deeply"),
    ],
    ids=["impossible-date", "deep-nesting"],
)
def test_a_yaml_value_that_cannot_be_made_is_an_unreadable_file(
    catalog_dir: CatalogDir, value: str, expected: str
) -> None:
    """A value that parses but cannot be built, or nesting past the parser's depth, is the
    catalog's one-line error naming the file, not a ValueError or RecursionError traceback."""
    catalog_dir.replace("operations.yaml", "    kind: task\n", f"    kind: task\n    x: {value}\n")
    err = load_error(catalog_dir)
    assert isinstance(err, UnreadableFile) and err.file.endswith("operations.yaml")
    assert expected in str(err)
