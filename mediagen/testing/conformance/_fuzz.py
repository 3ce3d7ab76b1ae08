"""Fuzzed vendor answers for the fuzz check: edits to the emulator's own success answers.

An example picks which success answers of a call to change (the first, the submit's or a
synchronous call's or query's; the second, a task's first poll, which finds it finished) and
up to three edits to each: a value anywhere in the body (the root included) replaced
by arbitrary JSON, or deleted. Starting from real answers reaches deeper than random bytes:
an answer whose task id is fine and whose status word is a list, a result with a number
where its URLs were, an envelope without its data. A string holding a JSON object or list (a
result the vendor encodes as JSON text) is edited inside, then encoded again.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

import attrs
from hypothesis import strategies as st

DELETE: Any = object()
JSON_TEXT: Any = type("JsonText", (), {"__repr__": lambda self: "(json)"})()
"""A path step into a string that holds JSON."""

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=16),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


@attrs.define
class Mutation:
    """Applied by the steering plugin to each success answer, counting them."""

    edits: dict[int, tuple[Any, ...]]
    """Answer number (0: the first success answer of the call) -> the values it gets (or
    DELETE), each at a node of the body that `rng` picks."""
    rng: random.Random = attrs.field(repr=False)
    """Hypothesis's own generator: uniform over the nodes, and replayed like any draw."""
    seen: int = 0
    done: list[str] = attrs.field(factory=list)
    """What was changed, for the failure message."""

    def __call__(self, body: Any) -> Any:
        number, self.seen = self.seen, self.seen + 1
        for value in self.edits.get(number, ()):
            path = self.rng.choice(list(_paths(body)))
            self.done.append(f"answer {number}: {_describe(path, value)}")
            body = _apply(body, path, value)
        return body


MUTATIONS = st.builds(
    Mutation,
    st.dictionaries(
        st.integers(0, 1),  # the submit's (or run's, or query's) answer, and the first poll's
        st.lists(JSON | st.just(DELETE), min_size=1, max_size=3).map(tuple),
        min_size=1,
        max_size=2,
    ),
    st.randoms(use_true_random=False),
)


def _describe(path: tuple[Any, ...], value: Any) -> str:
    where = ".".join(repr(p) if p is JSON_TEXT else str(p) for p in path) or "the whole body"
    return f"deleted {where}" if value is DELETE else f"{where} = {value!r:.60}"


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    inner = _decoded(node)
    if inner is not None:
        yield from _paths(inner, (*prefix, JSON_TEXT))
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


def _apply(node: Any, path: tuple[Any, ...], value: Any) -> Any:
    """The node with the value at path set (or deleted); the root deleted is an empty object."""
    if not path:
        return {} if value is DELETE else value
    step, rest = path[0], path[1:]
    if step is JSON_TEXT:
        return json.dumps(_apply(json.loads(node), rest, value))
    if rest:
        node[step] = _apply(node[step], rest, value)
    elif value is DELETE:
        del node[step]
    else:
        node[step] = value
    return node


def _decoded(node: Any) -> Any:
    """The object or list a string holds as JSON text, else None."""
    if not isinstance(node, str) or node[:1] not in ("{", "["):
        return None
    try:
        found = json.loads(node)
    except ValueError:
        return None
    return found if isinstance(found, dict | list) else None
