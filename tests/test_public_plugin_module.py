"""One public module for plugin authors, and a stable surface for generated code.

Plugins (the built-ins and the acme test distribution) import from mediagen only through
`mediagen.plugin`; generated packages import only `mediagen.runtime`, `mediagen.params` and
`mediagen.results`. Both are checked by reading the source, so drift fails here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import mediagen.plugin

REPO = Path(__file__).resolve().parent.parent
PLUGIN_SOURCES = sorted((REPO / "plugins").glob("*.py")) + sorted(
    (REPO / "tests" / "plugins" / "acme" / "acme_mediagen").glob("*.py")
)
GENERATED_SOURCES = sorted((REPO / "generated").rglob("*.py")) + sorted(
    (REPO / "tests" / "plugins" / "acme" / "acme_mediagen" / "generated").rglob("*.py")
)
STABLE_FOR_GENERATED = {"mediagen.runtime", "mediagen.params", "mediagen.results"}
COMPILED_CATALOG = {"mediagen.catalog.ir", "mediagen.catalog.paths"}
"""What `_catalog_ir.py` (the compiled catalog) builds: it is read only by the mediagen version
that wrote it, so it needs no stable surface."""


def mediagen_imports(path: Path) -> set[str]:
    """Every mediagen module a file imports (`from mediagen import x` counts as mediagen.x)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "mediagen")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "mediagen":
                found.update(f"mediagen.{a.name}" for a in node.names)
            elif node.module.startswith("mediagen."):
                found.add(node.module)
    return found


@pytest.mark.parametrize("path", PLUGIN_SOURCES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_plugins_import_only_the_public_plugin_module(path: Path) -> None:
    assert mediagen_imports(path) <= {"mediagen.plugin"}


@pytest.mark.parametrize("path", GENERATED_SOURCES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_generated_code_depends_only_on_the_stable_surface(path: Path) -> None:
    allowed = STABLE_FOR_GENERATED | (COMPILED_CATALOG if path.name == "_catalog_ir.py" else set())
    assert mediagen_imports(path) <= allowed


def test_the_scan_sees_plugins_and_generated_code() -> None:
    assert len(PLUGIN_SOURCES) >= 5 and len(GENERATED_SOURCES) >= 14
    assert mediagen_imports(REPO / "plugins" / "mediaio.py") == {"mediagen.plugin"}


def test_everything_in_all_exists_and_is_public_api() -> None:
    for name in mediagen.plugin.__all__:
        assert hasattr(mediagen.plugin, name), name
    for needed in (
        "hookimpl",
        "ProviderPlugin",
        "Register",
        "AuthStrategy",
        "TaskStrategy",
        "ResultParser",
        "ErrorClassifier",
        "EmulatorProfile",
        "CatalogAuth",
        "CatalogTaskStrategy",
        "CatalogErrorClassifier",
        "CatalogEmulatorProfile",
        "HttpRequest",
        "HttpResponse",
        "TaskStatus",
        "Call",
        "Artifact",
        "Result",
        "Provider",
        "Operation",
        "MalformedResponseError",
        # Beyond the strategies: the base error, a refused value, the task block and paths.
        "MediagenError",
        "ParamError",
        "FieldPath",
        "TaskProtocol",
    ):
        assert needed in mediagen.plugin.__all__, needed
    assert sorted(mediagen.plugin.__all__) == mediagen.plugin.__all__
