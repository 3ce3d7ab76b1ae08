"""The change report: what differs between two catalogs, and whether it breaks callers.

Pure: two catalogs (or their snapshots, see `snapshot.py`) in, a sorted list of `Change` out.
Each check is a small function over plain data, like oasdiff's check list (the parameter
checks are in `diff_params.py`). Severities:

- `breaking`: code or calls that worked before fail now (a removed operation or parameter, a
  narrower type, enum or limit, a new required parameter);
- `warning`: the same call still works but behaves differently, or may fail (a changed
  default, and wire facts regeneration hides from callers: paths, auth, status vocabulary);
- `compatible`: nothing that worked stops working (additions, relaxed limits).

Parameters are matched by their Python name, the keyword a caller writes; operations by id,
and a removed id whose vendor entry reappears under a new id is reported as renamed. A
parameter swapped for exactly one new one of the same type and enum stays a removal and an
addition (names alone cannot prove a rename), the removal saying "possibly renamed to".
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Literal

import attrs

from .diff_params import SEVERITIES as SEVERITIES  # where it was; re-exported
from .diff_params import Severity, brief, param_changes, renamed_param
from .ir import Catalog
from .snapshot import CatalogData, catalog_data

Bump = Literal["major", "minor", "patch", "none"]


@attrs.frozen
class Change:
    """One difference: where it is, what kind (`change`, a stable id), how bad, in words."""

    provider: str
    operation: str | None
    param: str | None
    change: str
    severity: Severity
    message: str

    @property
    def where(self) -> str:
        """`provider`, `provider.operation` or `provider.operation(param)`."""
        out = self.provider if self.operation is None else f"{self.provider}.{self.operation}"
        return out if self.param is None else f"{out}({self.param})"

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)


def diff_catalogs(old: Catalog | CatalogData, new: Catalog | CatalogData) -> list[Change]:
    """Every change from old to new, most severe first, then by place."""
    old_data = catalog_data(old) if isinstance(old, Catalog) else old
    new_data = catalog_data(new) if isinstance(new, Catalog) else new
    changes = list(_providers(old_data["providers"], new_data["providers"]))
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    return sorted(
        changes,
        key=lambda c: (rank[c.severity], c.provider, c.operation or "", c.param or "", c.change),
    )


def summary(changes: Iterable[Change]) -> dict[str, int]:
    counts: dict[str, int] = dict.fromkeys(SEVERITIES, 0)
    for change in changes:
        counts[change.severity] += 1
    return counts


ADDITIONS = frozenset(
    {"provider_added", "operation_added", "param_added_optional", "enum_values_added"}
)
"""Compatible changes that add API surface: they call for a minor version."""


def version_bump(changes: Iterable[Change]) -> Bump:
    """major for anything breaking, minor for additions, patch for any other change."""
    found = list(changes)
    if any(c.severity == "breaking" for c in found):
        return "major"
    if any(c.change in ADDITIONS for c in found):
        return "minor"
    return "patch" if found else "none"


# -- providers --------------------------------------------------------------------------------


def _providers(old: Mapping[str, Any], new: Mapping[str, Any]) -> Iterator[Change]:
    for name in sorted(old.keys() - new.keys()):
        yield Change(
            name,
            None,
            None,
            "provider_removed",
            "breaking",
            f"provider removed: client.{name} and its {len(old[name].get('operations', {}))} "
            "operation(s) are gone",
        )
    for name in sorted(new.keys() - old.keys()):
        yield Change(name, None, None, "provider_added", "compatible", "provider added")
    for name in sorted(old.keys() & new.keys()):
        yield from provider_facts(name, old[name], new[name])
        yield from _operations(name, old[name].get("operations", {}), new[name]["operations"])


# Provider-level facts are compared as flattened key paths, so the check survives a reshaped
# provider format. Anything that changes the wire is a warning (regeneration hides it from
# callers, but their calls may behave differently or fail); growing one of these lists is not.
_GROWS_SAFELY = (
    "base_url_aliases",
    "credential_hosts",
    "download_hosts",
    "http_statuses",
    "vendor_codes",
    "task.states",
    "task.progress_field",
    "task.reason_field",
    "response.trace_id_field",
)
_DERIVED = ("task.vendor_states",)
"""Facts the loader derives from others (the typed form of task.states): reported once."""
_FACT_LABELS = {
    "task.states": "vendor status",
    "vendor_codes": "vendor error code",
    "http_statuses": "HTTP status",
}


def provider_facts(
    provider: str, old: Mapping[str, Any], new: Mapping[str, Any]
) -> Iterator[Change]:
    """Base URL, hosts, auth, envelopes, the task protocol, status and error vocabularies."""
    skip = ("operations", "name")
    before = flatten({k: v for k, v in old.items() if k not in skip})
    after = flatten({k: v for k, v in new.items() if k not in skip})
    for path in sorted(before.keys() | after.keys()):
        if path.startswith(_DERIVED) or before.get(path, _ABSENT) == after.get(path, _ABSENT):
            continue
        head = path.split("[", 1)[0]
        segment = "_".join(head.split(".")[:2])  # e.g. base_url, task_states, auth_credentials
        if path not in before:
            kind = "added"
            severity: Severity = "compatible" if head.startswith(_GROWS_SAFELY) else "warning"
            text = f"{_fact(path)} added{_was(path, after[path])}"
        elif path not in after:
            kind, severity = "removed", "warning"
            text = f"{_fact(path)} removed{_was(path, before[path])}"
            if head.startswith("task.states"):
                text += ": the client can no longer map that status"
        else:
            kind, severity = "changed", "warning"
            text = f"{_fact(path)} changed: {_change_text(before[path], after[path])}"
        yield Change(provider, None, None, f"{segment}_{kind}", severity, text)


def _was(path: str, value: Any) -> str:
    """What an added or removed fact held, unless its path already says it all."""
    if path.endswith(f"[{value}]"):
        return ""
    if path.startswith("task.states."):
        return f" (mapped to {value!r})"
    return f" ({brief(value)})"


def _change_text(before: Any, after: Any) -> str:
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        keys = [k for k in {**before, **after} if before.get(k) != after.get(k)]
        return ", ".join(f"{k} {before.get(k)!r} -> {after.get(k)!r}" for k in keys)
    return f"{before!r} -> {after!r}"


def _fact(path: str) -> str:
    for prefix, label in _FACT_LABELS.items():
        if path.startswith(prefix + "."):
            return f"{label} {path[len(prefix) + 1 :]!r} ({prefix})"
        if path.startswith(prefix + "["):
            return f"{label} {path[len(prefix) + 1 : -1].split(']', 1)[0]} ({prefix})"
    return path


_ABSENT = object()
_LIST_KEYS = ("code", "status", "name", "id")


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested data as {dotted.path: value}. Lists of scalars become one key per member
    (order does not matter), lists of records one key per record, by code/status/name/id."""
    out: dict[str, Any] = {}
    if isinstance(value, Mapping) and value:
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(value, list) and value:
        key = _record_key(value)
        for item in value:
            if key is not None:  # one record, one fact: a removed code is one change
                out[f"{prefix}[{item[key]}]"] = item
            elif isinstance(item, Mapping | list):
                out.update(flatten(item, f"{prefix}[{value.index(item)}]"))
            else:
                out[f"{prefix}[{item}]"] = item
    elif value is not None and not isinstance(value, Mapping | list):  # null, [] and {}: absent
        out[prefix] = value
    return out


def _record_key(items: list[Any]) -> str | None:
    if not all(isinstance(i, Mapping) for i in items):
        return None
    return next((k for k in _LIST_KEYS if all(k in i for i in items)), None)


# -- operations -------------------------------------------------------------------------------


def _operations(provider: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> Iterator[Change]:
    removed = [i for i in old if i not in new]
    added = [i for i in new if i not in old]
    pairs = [(i, i) for i in old if i in new]
    for old_id in list(removed):
        new_id = _same_entry(old[old_id], {a: new[a] for a in added})
        if new_id is None:
            continue
        removed.remove(old_id)
        added.remove(new_id)
        yield Change(
            provider,
            old_id,
            None,
            "operation_id_changed",
            "breaking",
            f"operation renamed to {new_id!r}: client.{provider}.{old_id}() no longer exists",
        )
        pairs.append((old_id, new_id))
    for op_id in removed:
        yield Change(
            provider,
            op_id,
            None,
            "operation_removed",
            "breaking",
            f"operation removed: client.{provider}.{op_id}() no longer exists",
        )
    for op_id in added:
        kind = new[op_id].get("kind", "?")
        yield Change(
            provider, op_id, None, "operation_added", "compatible", f"operation added ({kind})"
        )
    for old_id, new_id in sorted(pairs):
        yield from operation_changes(provider, new_id, old[old_id], new[new_id])


def _same_entry(op: Mapping[str, Any], candidates: Mapping[str, Any]) -> str | None:
    """The added operation that is the same vendor entry under a new id, if any."""
    for key in ("vendor_id", "name", "model_code"):
        if op.get(key) is None:
            continue
        found = [i for i, c in candidates.items() if c.get(key) == op.get(key)]
        if len(found) == 1:
            return found[0]
    return None


_OP_FIELDS: dict[str, tuple[str, Severity, str]] = {
    "kind": ("operation_kind_changed", "breaking", "kind changed from {old} to {new}"),
    "output": ("output_changed", "warning", "output changed from {old} to {new}"),
    "method": ("wire_method_changed", "warning", "HTTP method changed from {old} to {new}"),
    "path": ("wire_path_changed", "warning", "endpoint path changed from {old} to {new}"),
    "model_code": ("model_code_changed", "warning", "vendor model changed from {old} to {new}"),
    "vendor_status": (
        "vendor_status_changed",
        "warning",
        "vendor status changed from {old} to {new}",
    ),
    "name": ("vendor_name_changed", "compatible", "vendor name changed from {old} to {new}"),
    "vendor_id": ("vendor_id_changed", "compatible", "vendor entry id changed from {old} to {new}"),
    "notes": ("notes_changed", "compatible", "notes changed"),
}


def operation_changes(
    provider: str, op_id: str, old: Mapping[str, Any], new: Mapping[str, Any]
) -> Iterator[Change]:
    """Kind, output, wire facts, error codes, then every parameter."""
    for name in sorted((old.keys() | new.keys()) - {"id", "provider", "params", "vendor_codes"}):
        before, after = old.get(name), new.get(name)
        if before == after:
            continue
        change, severity, text = _OP_FIELDS.get(
            name, (f"{name}_changed", "warning", name + " changed from {old} to {new}")
        )
        yield Change(
            provider, op_id, None, change, severity, text.format(old=repr(before), new=repr(after))
        )
    codes_old, codes_new = old.get("vendor_codes") or {}, new.get("vendor_codes") or {}
    if gone := sorted(codes_old.keys() - codes_new.keys()):
        yield Change(
            provider,
            op_id,
            None,
            "error_codes_removed",
            "warning",
            f"documented status codes removed: {', '.join(gone)}",
        )
    if new_codes := sorted(codes_new.keys() - codes_old.keys()):
        yield Change(
            provider,
            op_id,
            None,
            "error_codes_added",
            "compatible",
            f"documented status codes added: {', '.join(new_codes)}",
        )
    params_old, params_new = old.get("params", {}), new.get("params", {})
    renamed = renamed_param(params_old, params_new)
    for name in sorted(params_old.keys() | params_new.keys()):
        for change, severity, text in param_changes(params_old.get(name), params_new.get(name)):
            if renamed is not None and (name, change) == (renamed[0], "param_removed"):
                text += f" (possibly renamed to {renamed[1]!r})"
            yield Change(provider, op_id, name, change, severity, text)
