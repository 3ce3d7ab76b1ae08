"""The suite's own scheduling: the tests conftest.py runs first still exist under their names
(renamed or moved, they would silently go back to their place in the collection)."""

from __future__ import annotations

import ast

import pytest
from conftest import LONG_CHAINS, REPO


def test_the_long_chains_run_first_name_existing_tests() -> None:
    for nodeid in LONG_CHAINS:
        path, name = nodeid.split("::")
        tree = ast.parse((REPO / path).read_text(encoding="utf-8"))
        defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
        assert name in defined, f"{nodeid}: no such test"


def test_the_long_chains_lead_the_collection(request: pytest.FixtureRequest) -> None:
    """In a whole run they come first, in their own order; in a partial run, those collected."""
    collected = [item.nodeid for item in request.session.items]
    leading = [nodeid for nodeid in LONG_CHAINS if nodeid in collected]
    assert collected[: len(leading)] == leading
