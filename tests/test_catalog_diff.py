"""The change report's checks, one by one: each change kind with its severity.

`tests/fixtures/diff/old` and `.../new` hold one instance of every change kind; the unit tests
below pin the edge rules (bound directions, whole enums, defaults) on plain data.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import FIXTURES

from mediagen.catalog import load_catalog
from mediagen.catalog.diff import (
    Change,
    diff_catalogs,
    flatten,
    provider_facts,
    summary,
    version_bump,
)
from mediagen.catalog.diff_params import magnitude, param_changes
from mediagen.catalog.snapshot import catalog_data

OLD = FIXTURES / "diff" / "old"
NEW = FIXTURES / "diff" / "new"

EXPECTED = {
    ("acme", "describe", None, "operation_kind_changed", "breaking"),
    ("acme", "draw", "images", "limit_tightened", "breaking"),
    ("acme", "draw", "legacy", "param_removed", "breaking"),
    ("acme", "draw", "quality", "param_became_required", "breaking"),
    ("acme", "draw", "ratio", "enum_values_removed", "breaking"),
    ("acme", "draw", "seed", "type_changed", "breaking"),
    ("acme", "draw", "size", "param_added_required", "breaking"),
    ("acme", "draw", "steps", "limit_tightened", "breaking"),
    ("acme", "paint", None, "operation_id_changed", "breaking"),
    ("acme", "sketch", None, "operation_removed", "breaking"),
    ("beta", None, None, "provider_removed", "breaking"),
    ("acme", None, None, "auth_key_name_changed", "warning"),
    ("acme", None, None, "base_url_changed", "warning"),
    ("acme", None, None, "task_states_removed", "warning"),
    ("acme", None, None, "vendor_codes_removed", "warning"),
    ("acme", "draw", None, "model_code_changed", "warning"),
    ("acme", "draw", "control_intensity", "wire_name_changed", "warning"),
    ("acme", "draw", "style", "default_changed", "warning"),
    ("acme", "move", None, "output_changed", "warning"),
    ("acme", "move", None, "wire_method_changed", "warning"),
    ("acme", "move", None, "wire_path_changed", "warning"),
    ("acme", None, None, "credential_hosts_added", "compatible"),
    ("acme", None, None, "task_states_added", "compatible"),
    ("acme", None, None, "vendor_codes_added", "compatible"),
    ("acme", "draw", "images", "limit_relaxed", "compatible"),
    ("acme", "draw", "mask", "param_added_optional", "compatible"),
    ("acme", "draw", "negative", "param_became_optional", "compatible"),
    ("acme", "draw", "steps", "limit_relaxed", "compatible"),
    ("acme", "draw", "style", "enum_values_added", "compatible"),
    ("acme", "erase", None, "operation_added", "compatible"),
    ("gamma", None, None, "provider_added", "compatible"),
}


@pytest.fixture(scope="module")
def changes() -> list[Change]:
    return diff_catalogs(load_catalog(OLD), load_catalog(NEW))


def test_every_change_kind_with_its_severity(changes: list[Change]) -> None:
    found = {(c.provider, c.operation, c.param, c.change, c.severity) for c in changes}
    assert found == EXPECTED
    assert len(changes) == len(EXPECTED)  # one report line per change, no duplicates


def test_most_severe_first_and_summarised(changes: list[Change]) -> None:
    order = [c.severity for c in changes]
    assert order == sorted(order, key=("breaking", "warning", "compatible").index)
    assert summary(changes) == {"breaking": 11, "warning": 10, "compatible": 10}
    assert version_bump(changes) == "major"


def test_messages_say_what_changed(changes: list[Change]) -> None:
    text = {c.where + " " + c.change: c.message for c in changes}
    assert "'4:3'" in text["acme.draw(ratio) enum_values_removed"]
    assert text["acme.paint operation_id_changed"].startswith("operation renamed to 'paint_v2'")
    assert "50 to 30 (tightened)" in text["acme.draw(steps) limit_tightened"]
    assert "'JPG'" in text["acme.draw(images) limit_tightened"]
    assert "'a' to 'b'" in text["acme.draw(style) default_changed"]
    assert "'X-Key' -> 'X-Api-Key'" in text["acme auth_key_name_changed"]
    assert "'waiting'" in text["acme task_states_removed"]
    assert "can no longer map" in text["acme task_states_removed"]


def test_the_same_catalog_has_no_changes() -> None:
    catalog = load_catalog(OLD)
    assert diff_catalogs(catalog, catalog) == []
    assert diff_catalogs(catalog_data(catalog), catalog) == []  # a snapshot compares the same
    assert version_bump([]) == "none"


def _param(**fields: Any) -> dict[str, Any]:
    return {"name": "p", "python_name": "p", "type": "string", "required": False, **fields}


def _kinds(old: dict[str, Any] | None, new: dict[str, Any] | None) -> set[tuple[str, str]]:
    return {(change, severity) for change, severity, _ in param_changes(old, new)}


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ({"max_length": 10}, {"max_length": 5}, ("limit_tightened", "breaking")),
        ({"max_length": 5}, {"max_length": 10}, ("limit_relaxed", "compatible")),
        ({}, {"max_items": 3}, ("limit_tightened", "breaking")),
        ({"max_items": 3}, {}, ("limit_relaxed", "compatible")),
        ({"min_length": 1}, {"min_length": 2}, ("limit_tightened", "breaking")),
        ({"minimum": 2}, {"minimum": 1}, ("limit_relaxed", "compatible")),
        ({"exclusive_maximum": 10}, {"exclusive_maximum": 9}, ("limit_tightened", "breaking")),
        ({"pattern": "^a"}, {"pattern": "^b"}, ("limit_changed", "warning")),
        ({}, {"pattern": "^a"}, ("limit_tightened", "breaking")),
        ({"format": "uri"}, {}, ("limit_relaxed", "compatible")),
        ({}, {"enum": ["a"]}, ("enum_added", "breaking")),
        ({"enum": ["a"]}, {}, ("enum_removed", "compatible")),
        (
            {"type": "array", "items": "string"},
            {"type": "array", "items": "integer"},
            ("type_changed", "breaking"),
        ),
        ({}, {"default": "x"}, ("default_changed", "warning")),
        ({"default": "x"}, {}, ("default_changed", "warning")),
        ({"location": "body"}, {"location": "path"}, ("param_location_changed", "warning")),
        (
            {"value_labels": {"a": "A"}},
            {"value_labels": {"a": "Aa"}},
            ("value_labels_changed", "compatible"),
        ),
        (
            {"limits": {"duration_s": 5}},
            {"limits": {"duration_s": 10}},
            ("limit_changed", "warning"),
        ),
        (
            {"limits": {"max_file_size_mb": 200}},
            {"limits": {"max_file_size_mb": 100}},
            ("limit_tightened", "breaking"),
        ),
        (
            {"limits": {"min_width": 512}},
            {"limits": {"min_width": 256}},
            ("limit_relaxed", "compatible"),
        ),
        (
            {"limits": {"image_resolution": {"min": "300x300", "max": "4000x4000"}}},
            {"limits": {"image_resolution": {"min": "300x300", "max": "2000x2000"}}},
            ("limit_tightened", "breaking"),
        ),
        (
            {"limits": {"aspect_ratio": {"min": "1:2", "max": "2:1"}}},
            {"limits": {"aspect_ratio": {"min": "1:4", "max": "2:1"}}},
            ("limit_relaxed", "compatible"),
        ),
        ({"limits": {}}, {"limits": {"formats": ["PNG"]}}, ("limit_tightened", "breaking")),
        ({"brand_new_field": 1}, {"brand_new_field": 2}, ("brand_new_field_changed", "warning")),
    ],
)
def test_param_check(old: dict[str, Any], new: dict[str, Any], expected: tuple[str, str]) -> None:
    assert _kinds(_param(**old), _param(**new)) == {expected}


def test_presence_and_required() -> None:
    assert _kinds(None, _param()) == {("param_added_optional", "compatible")}
    assert _kinds(None, _param(required=True)) == {("param_added_required", "breaking")}
    assert _kinds(_param(), None) == {("param_removed", "breaking")}
    assert _kinds(_param(), _param(required=True)) == {("param_became_required", "breaking")}
    assert _kinds(_param(required=True), _param()) == {("param_became_optional", "compatible")}
    assert _kinds(_param(enum=["a", "b"]), _param(enum=["b", "c"])) == {
        ("enum_values_removed", "breaking"),
        ("enum_values_added", "compatible"),
    }


@pytest.mark.parametrize(
    ("value", "size"),
    [
        (3, 3.0),
        (2.5, 2.5),
        ("300x200", 60000.0),
        ("1:2", 0.5),
        ("720p", 720.0),
        ("big", None),
        (True, None),
    ],
)
def test_magnitude(value: object, size: float | None) -> None:
    assert magnitude(value) == size


def test_provider_facts_are_compared_generically() -> None:
    """Fields the check has never heard of (a reshaped provider format) are still reported,
    as warnings; growing a known list is compatible."""
    old = {"name": "x", "envelope": {"path": "data"}, "download_hosts": ["a.test"]}
    new = {"name": "x", "envelope": {"path": "payload"}, "download_hosts": ["a.test", "b.test"]}
    found = {(c.change, c.severity) for c in provider_facts("x", old, new)}
    assert found == {("envelope_path_changed", "warning"), ("download_hosts_added", "compatible")}
    assert flatten({"a": {"b": None, "c": [1, 2], "d": [], "e": {}}}) == {"a.c[1]": 1, "a.c[2]": 2}
    grown = provider_facts("x", {"base_url_aliases": []}, {"base_url_aliases": ["https://b.test"]})
    assert [(c.change, c.severity) for c in grown] == [("base_url_aliases_added", "compatible")]


def test_version_bump_rules() -> None:
    def change(kind: str, severity: Any) -> Change:
        return Change("p", "o", None, kind, severity, "")

    assert version_bump([change("operation_added", "compatible")]) == "minor"
    assert version_bump([change("limit_relaxed", "compatible")]) == "patch"
    assert version_bump([change("default_changed", "warning")]) == "patch"
    assert version_bump([change("x", "warning"), change("y", "breaking")]) == "major"
