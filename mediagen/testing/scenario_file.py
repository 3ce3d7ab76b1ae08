"""Scenario documents (a `mediagen emulate --scenario` file, an admin API body) to and from
the `Scenario` model, checked against the catalog: every problem is named with what is
allowed, before anything changes. The schema is in docs/emulator.md."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import yaml

from ..catalog import Catalog
from ..catalog.ir import Provider
from .scenario import (
    FAULT_KINDS,
    PHASES,
    ROTATE,
    TERMINAL,
    Fault,
    Outcome,
    Scenario,
    StatusWords,
)

TOP_KEYS = ("duration", "durations", "status_words", "rules")
MATCH_KEYS = ("provider", "operation", "phase", "times")
OUTCOME_KEYS = ("outcome", "reason", "result", "code")
FAULT_KEYS = (
    "fault",
    "status",
    "code",
    "retry_after",
    "delay",
    "message",
    "fields",
    "location",
    "size",
    "chunked",
    "file",
)
MAX_TIMES = 1_000_000
MAX_SECONDS = 3600.0


class ScenarioError(ValueError):
    """A scenario document the emulator cannot take; the message names the key, the problem
    and what is allowed."""


def load_scenario(path: Path, catalog: Catalog, base: Scenario | None = None) -> Scenario:
    """A scenario file (YAML, or JSON which is YAML too) read and checked."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"cannot read scenario file {str(path)!r}: {exc}") from None
    return parse_scenario(parse_text(text, str(path)), catalog, base)


def parse_text(text: str, where: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise ScenarioError(f"{where}: not valid YAML or JSON{at}") from None


def parse_scenario(doc: Any, catalog: Catalog, base: Scenario | None = None) -> Scenario:
    """A whole scenario; keys it leaves out keep `base`'s duration(s) (rules start empty)."""
    base = base or Scenario()
    if doc is None:
        doc = {}
    _mapping(doc, "the scenario", TOP_KEYS)
    scenario = Scenario(duration=base.duration, durations=dict(base.durations))
    if "duration" in doc:
        scenario.duration = _seconds(doc["duration"], "duration")
    durations = doc.get("durations") or {}
    _mapping(durations, "durations", None)
    for key, value in durations.items():
        provider, op = _operation(catalog, str(key), f"durations[{key!r}]")
        if op is None:
            raise ScenarioError(
                f"durations[{key!r}]: give provider.operation, e.g. {_example(provider)}"
            )
        scenario.durations[f"{provider.name}.{op}"] = _seconds(value, f"durations[{key!r}]")
    words = doc.get("status_words") or {}
    _mapping(words, "status_words", None)
    for name, value in words.items():
        scenario.status_words[str(name)] = parse_status_words(catalog, str(name), value)
    rules = doc.get("rules") or []
    if not isinstance(rules, list):
        raise ScenarioError("rules: expected a list of rules")
    for index, rule in enumerate(rules):
        add_rule(scenario, parse_rule(rule, catalog, f"rules[{index}]"))
    return scenario


def add_rule(scenario: Scenario, rule: Fault | Outcome) -> None:
    if isinstance(rule, Fault):
        scenario.faults.append(rule)
    else:
        scenario.outcomes.append(rule)


def parse_status_words(catalog: Catalog, name: str, value: Any) -> StatusWords:
    where = f"status_words[{name!r}]"
    provider = _provider(catalog, name, where)
    task = provider.task
    if task is None:
        raise ScenarioError(f"{where}: {name} has no task status words (it answers at once)")
    if value == ROTATE:
        return "rotate"
    _mapping(value, where, None)
    chosen: dict[str, str] = {}
    for state, word in value.items():
        synonyms = [str(w) for w, s in task.states.items() if s == state]
        if not synonyms:
            allowed = ", ".join(sorted(set(task.states.values())))
            raise ScenarioError(f"{where}: {state!r} is not a state of {name}; allowed: {allowed}")
        if str(word) not in synonyms:
            raise ScenarioError(
                f"{where}.{state}: {word!r} is not {name}'s word for {state}; "
                f"allowed: {', '.join(synonyms)}"
            )
        chosen[str(state)] = str(word)
    return chosen


def parse_rule(doc: Any, catalog: Catalog, where: str = "rule") -> Fault | Outcome:
    """One rule: match keys plus `outcome: STATE` or `fault: KIND` and that kind's keys."""
    if not isinstance(doc, Mapping):
        raise ScenarioError(f"{where}: expected a mapping such as {{provider: mediaio, ...}}")
    has_outcome, has_fault = "outcome" in doc, "fault" in doc
    if has_outcome == has_fault:
        raise ScenarioError(f"{where}: give exactly one of outcome ({_list(TERMINAL)}) or fault")
    _mapping(doc, where, MATCH_KEYS + (OUTCOME_KEYS if has_outcome else FAULT_KEYS))
    provider: Provider | None = None
    operation: str | None = None
    if "provider" in doc:
        provider = _provider(catalog, doc["provider"], f"{where}.provider")
    if doc.get("operation") is not None:
        text = str(doc["operation"])
        if provider is not None and "." not in text:
            text = f"{provider.name}.{text}"
        elif "." not in text:
            raise ScenarioError(
                f"{where}.operation: {text!r} names no provider; allowed: provider.operation "
                "(e.g. mediaio.imagen_4), or a provider key beside it"
            )
        named, operation = _operation(catalog, text, f"{where}.operation")
        if provider is not None and named.name != provider.name:
            raise ScenarioError(
                f"{where}.operation: {text!r} is not an operation of {provider.name}"
            )
        provider = named
    times = _int(doc.get("times", 1), f"{where}.times", 1, MAX_TIMES)
    if has_outcome:
        return _outcome(doc, provider, operation, times, where)
    return _fault(doc, provider, operation, times, where)


def _outcome(
    doc: Mapping[str, Any], provider: Provider | None, op: str | None, times: int, where: str
) -> Outcome:
    if "phase" in doc:
        raise ScenarioError(f"{where}.phase: an outcome applies to tasks, not to a phase")
    if provider is None:
        raise ScenarioError(f"{where}: an outcome needs a provider or provider.operation")
    if provider.task is None:
        raise ScenarioError(f"{where}: {provider.name} has no tasks (it answers at once)")
    if op is not None and provider.operation(op).kind != "task":
        raise ScenarioError(f"{where}.operation: {provider.name}.{op} is not a task operation")
    state = doc["outcome"]
    states = sorted(set(provider.task.states.values()) & set(TERMINAL))
    if state not in states:
        raise ScenarioError(
            f"{where}.outcome: {state!r} is not an outcome {provider.name} reports; "
            f"allowed: {', '.join(states)}"
        )
    reason = doc.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise ScenarioError(f"{where}.reason: expected a string")
    return Outcome(
        state,
        provider.name,
        op,
        reason,
        times,
        (doc["result"],) if "result" in doc else None,
        _code(doc["code"], f"{where}.code") if doc.get("code") is not None else None,
    )


def _fault(
    doc: Mapping[str, Any], provider: Provider | None, op: str | None, times: int, where: str
) -> Fault:
    kind = doc["fault"]
    if kind not in FAULT_KINDS:
        raise ScenarioError(
            f"{where}.fault: {kind!r} is not a fault; allowed: {_list(FAULT_KINDS)}"
        )
    phase = doc.get("phase", "any")
    if phase not in PHASES:
        raise ScenarioError(f"{where}.phase: {phase!r} is not a phase; allowed: {_list(PHASES)}")
    fault = Fault(kind, provider.name if provider else None, phase, op, times)
    if kind == "vendor_code" and doc.get("code") is None:
        raise ScenarioError(f"{where}.code: a vendor_code fault needs the vendor's error code")
    if "status" in doc:
        fault.status = _int(doc["status"], f"{where}.status", 100, 599)
    if doc.get("code") is not None:
        fault.code = _code(doc["code"], f"{where}.code")
    if doc.get("retry_after") is not None:
        fault.retry_after = _seconds(doc["retry_after"], f"{where}.retry_after")
    if "delay" in doc:
        fault.delay = _seconds(doc["delay"], f"{where}.delay")
    if doc.get("message") is not None:
        fault.message = str(doc["message"])
    if "fields" in doc:
        fields = doc["fields"]
        if not isinstance(fields, list) or not all(isinstance(f, str) and f for f in fields):
            raise ScenarioError(f"{where}.fields: expected a list of dotted paths")
        fault.fields = tuple(fields)
    if doc.get("location") is not None:
        fault.location = str(doc["location"])
    if "size" in doc:
        fault.size = _int(doc["size"], f"{where}.size", 0, 1 << 40)
    if "chunked" in doc:
        if not isinstance(doc["chunked"], bool):
            raise ScenarioError(f"{where}.chunked: expected true or false")
        fault.chunked = doc["chunked"]
    if doc.get("file") is not None:
        fault.file = str(doc["file"])
    return fault


# -- writing ---------------------------------------------------------------------------------


def scenario_to_json(scenario: Scenario) -> dict[str, Any]:
    """The scenario in the document's own schema, counts as they stand now."""
    return {
        "duration": scenario.duration,
        "durations": dict(scenario.durations),
        "status_words": {
            k: v if isinstance(v, str) else dict(v) for k, v in scenario.status_words.items()
        },
        "rules": [
            *(rule_to_json(r) for r in scenario.outcomes),
            *(rule_to_json(r) for r in scenario.faults),
        ],
    }


def rule_to_json(rule: Fault | Outcome) -> dict[str, Any]:
    if isinstance(rule, Outcome):
        out: dict[str, Any] = {"outcome": rule.state, "provider": rule.provider}
        extra = {"operation": rule.operation, "reason": rule.reason, "code": rule.code}
        out.update({k: v for k, v in extra.items() if v is not None})
        if rule.result is not None:
            out["result"] = rule.result[0]
        out["times"] = rule.times
        return _jsonable(out)
    defaults = Fault(rule.kind)
    out = {"fault": rule.kind}
    for key in ("provider", "operation", "phase", *FAULT_KEYS[1:]):
        value = getattr(rule, key)
        if value != getattr(defaults, key):
            out[key] = list(value) if isinstance(value, tuple) else value
    out["times"] = rule.times
    return _jsonable(out)


def _jsonable(doc: dict[str, Any]) -> dict[str, Any]:
    # A result given from Python may hold anything: show what JSON can say of it.
    return cast(dict[str, Any], json.loads(json.dumps(doc, default=repr)))


# -- checks ----------------------------------------------------------------------------------


def _mapping(doc: Any, where: str, keys: tuple[str, ...] | None) -> None:
    if not isinstance(doc, Mapping):
        raise ScenarioError(f"{where}: expected a mapping")
    if keys is not None:
        unknown = sorted(str(k) for k in doc if k not in keys)
        if unknown:
            raise ScenarioError(f"{where}: unknown key {unknown[0]!r}; allowed: {_list(keys)}")


def _provider(catalog: Catalog, name: Any, where: str) -> Provider:
    names = [p.name for p in catalog.providers]
    if name not in names:
        raise ScenarioError(f"{where}: {name!r} is not a provider; allowed: {_list(names)}")
    return catalog.provider(str(name))


def _operation(catalog: Catalog, text: str, where: str) -> tuple[Provider, str | None]:
    name, _, op = text.partition(".")
    provider = _provider(catalog, name, where)
    ids = [o.id for o in provider.operations]
    if op not in ids:
        raise ScenarioError(
            f"{where}: {text!r} is not an operation; allowed: {name}.OPERATION with OPERATION "
            f"one of {_list(ids)}"
        )
    return provider, op


def _example(provider: Provider) -> str:
    return f"{provider.name}.{provider.operations[0].id}" if provider.operations else "p.op"


def _seconds(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ScenarioError(f"{where}: {value!r} is not a number of seconds; allowed: 0..3600")
    if not (math.isfinite(value) and 0 <= value <= MAX_SECONDS):
        raise ScenarioError(f"{where}: {value!r} seconds; allowed: 0..3600")
    return float(value)


def _int(value: Any, where: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ScenarioError(f"{where}: {value!r}; allowed: a whole number in {low}..{high}")
    return value


def _code(value: Any, where: str) -> int | str:
    if isinstance(value, bool) or not isinstance(value, int | str) or value in ("", 0, "0"):
        raise ScenarioError(f"{where}: {value!r}; allowed: a non-zero vendor code (number or text)")
    return value


def _list(items: Any) -> str:
    return ", ".join(str(i) for i in items)
