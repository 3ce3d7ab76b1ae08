"""How deeply a decoded JSON value nests, measured without recursion.

Python's json module accepts values nested hundreds of levels deep, but much of what handles
them afterwards recurses (cattrs, json.dumps, URL scans) and can fail with RecursionError far
from where the value came in. Callers refuse such values where they arrive.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def nested_deeper_than(value: Any, limit: int) -> bool:
    """Whether `value` holds objects/lists more than `limit` levels deep (`[]` is one level).

    Iterative, so it is safe on any input the JSON decoder produced; each container is
    visited once.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False
