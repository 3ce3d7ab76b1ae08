"""Fuzzed vendor answers for the fuzz check: edits to the emulator's own success answers.

An example picks which success answers of a call to change (the submit's, the first poll's,
...) and up to three edits to each: a value anywhere in the body (the root included) replaced
by arbitrary JSON, or deleted. Starting from real answers reaches deeper than random bytes:
an answer whose task id is fine and whose status word is a list, a result with a number
where its URLs were, an envelope without its data.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs
from hypothesis import strategies as st

DELETE: Any = object()

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=16),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


@attrs.frozen
class Edit:
    at: int
    """Which node of the body (in walk order, modulo their number)."""
    value: Any

    def describe(self, path: tuple[Any, ...]) -> str:
        where = ".".join(str(p) for p in path) or "the whole body"
        return f"deleted {where}" if self.value is DELETE else f"{where} = {self.value!r:.60}"


@attrs.define
class Mutation:
    """Applied by the steering plugin to each success answer, counting them."""

    edits: dict[int, tuple[Edit, ...]]
    """Answer number (0: the first success answer of the call) -> its edits."""
    seen: int = 0
    done: list[str] = attrs.field(factory=list)
    """What was changed, for the failure message."""

    def __call__(self, body: Any) -> Any:
        number, self.seen = self.seen, self.seen + 1
        for edit in self.edits.get(number, ()):
            paths = list(_paths(body))
            path = paths[edit.at % len(paths)]
            self.done.append(f"answer {number}: {edit.describe(path)}")
            body = _apply(body, path, edit.value)
        return body


MUTATIONS = st.builds(
    Mutation,
    st.dictionaries(
        st.integers(0, 3),
        st.lists(
            st.builds(Edit, st.integers(0, 1000), JSON | st.just(DELETE)), min_size=1, max_size=3
        ).map(tuple),
        min_size=1,
        max_size=2,
    ),
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


def _apply(body: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return {} if value is DELETE else value
    parent = body
    for step in path[:-1]:
        parent = parent[step]
    if value is DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return body
