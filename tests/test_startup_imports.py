"""Fast start-up: commands that send no request load no aiohttp and parse no YAML, and the
runtime builds its catalog from what `mediagen generate` compiled (`_catalog_ir.py`).

The import checks run each command in a fresh interpreter (through `main()`, as the console
script does) and look at `sys.modules` afterwards; `generate --check` runs as
`python -X importtime -m mediagen` (helpers.shipped_generate_check), whose import lines say the
same.
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO, CatalogDir, outside_the_checkout
from helpers import NO_CA_BUNDLE, shipped_generate_check

from mediagen.catalog import load_catalog, load_provider
from mediagen.catalog.compiled import COMPILED_MODULE, compiled_provider, provider_from
from mediagen.codegen.generate import check, write
from mediagen.entry_points import read_entry_points
from mediagen.journal import Journal
from mediagen.plugin import ProviderPlugin
from mediagen.registry import Registry
from mediagen.results import Artifact, Result

pytestmark = pytest.mark.usefixtures("loopback_children")  # children skip the CA bundle

ACME = REPO / "tests" / "plugins" / "acme" / "acme_mediagen"

# Runs `mediagen ARGS...` in this interpreter, then prints which heavy modules it loaded.
PROBE = """
import contextlib, io, json, sys
from mediagen.cli import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    try:
        status = main(sys.argv[1:])
    except SystemExit as exc:  # --help
        status = exc.code
heavy = {"aiohttp", "yaml"} | set(json.loads(%r))
print(json.dumps({"status": status, "loaded": sorted(heavy & set(sys.modules))}))
"""
# What a command that sends no request has no use for: the client's event loop, TLS and
# sockets; the journal's cattrs (its own results are read by hand), SQLite (except `tasks`);
# the parsers, modules and loggers of the other commands; OpenSSL (hashlib, secrets).
NEVER = (
    *("asyncio", "ssl", "socket", "cattrs", "logging", "secrets", "hashlib"),
    "mediagen.cli.run_commands",
)
NOT_FOR_THE_CATALOG = ("sqlite3", "mediagen.journal", "mediagen.cli.journal_commands")
NOT_FOR_TASKS = ("pluggy", "mediagen.registry", "mediagen.catalog.ir")
NO_HELP_SHOWN = ("shutil",)  # argparse's formatters ask for the terminal width to print help
NOT_FOR_HELP = ("attrs", "pluggy", "mediagen.catalog.ir", "mediagen.cli.catalog_commands")
BUILTIN_PLUGIN_MODULES = tuple(
    f"mediagen.plugins.{name}" for name in ("mediaio", "tomoviee", "edrawmax")
)
# `list` and `describe` build no strategy: neither the built-in plugin modules (their classes
# subclass the catalog-driven strategies) nor attrs (the IR's records are plain classes) load.
NOT_FOR_LISTING = (
    *("attrs", "mediagen.plugin", "mediagen.strategies", "mediagen.protocol"),
    *BUILTIN_PLUGIN_MODULES,
)


def loaded_by(*commands: list[str], watch: tuple[str, ...] = ()) -> list[dict[str, object]]:
    """Each command run in its own interpreter (all at once): exit status and which of aiohttp,
    yaml and the `watch` modules it loaded."""
    env = {**os.environ, **NO_CA_BUNDLE, "MEDIAGEN_PLUGINS": ""}  # module fixtures come first
    probe = PROBE % json.dumps(watch)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", probe, *argv],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=outside_the_checkout(),  # the installed package, not the checkout's folders
        )
        for argv in commands
    ]
    results = []
    for proc in procs:
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0, out
        results.append(json.loads(out.splitlines()[-1]))
    return results


def journal_with_a_result(folder: Path) -> Path:
    """A journal file holding one finished task with a result, for `tasks` to read."""
    path = folder / "tasks.sqlite3"
    journal = Journal(path)
    entry = journal.record_intent("mediaio", "imagen_4", {"prompt": "a cat"})
    journal.record_submitted(entry, "t-1")
    image = Artifact(url="https://example.com/a.png", kind="image")
    journal.record_result(entry, Result("mediaio", "imagen_4", (image,), {}, task_id="t-1"))
    journal.close()
    return path


JOURNAL = "<journal>"
"""Stands for the journal file (`journal_with_a_result`) in the commands below."""

# What each command that sends no request must not load, beyond aiohttp and yaml.
CATALOG_COMMAND = NEVER + NOT_FOR_THE_CATALOG + NO_HELP_SHOWN
UNWANTED = {
    ("--help",): NEVER + NOT_FOR_THE_CATALOG + NOT_FOR_TASKS + NOT_FOR_HELP,
    ("list",): CATALOG_COMMAND + NOT_FOR_LISTING,
    ("list", "mediaio", "--json"): (),
    ("describe", "mediaio", "imagen_4"): CATALOG_COMMAND + NOT_FOR_LISTING,
    ("plugins",): CATALOG_COMMAND,
    ("tasks", "--journal", JOURNAL): NEVER + NOT_FOR_TASKS + NO_HELP_SHOWN,
}


@pytest.fixture(scope="module")
def probed(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, ...], dict[str, object]]:
    """Each command of UNWANTED run once in its own interpreter (`loaded_by`, watching every
    module named there), for both tests below: the processes are the same for both."""
    journal_file = str(journal_with_a_result(tmp_path_factory.mktemp("probed")))
    watch = tuple(sorted({name for names in UNWANTED.values() for name in names}))
    argvs = [[journal_file if a == JOURNAL else a for a in argv] for argv in UNWANTED]
    return dict(zip(UNWANTED, loaded_by(*argvs, watch=watch), strict=True))


def test_commands_that_send_nothing_load_neither_aiohttp_nor_yaml(
    probed: dict[tuple[str, ...], dict[str, object]],
) -> None:
    for argv, result in probed.items():
        loaded = result["loaded"]
        assert isinstance(loaded, list), argv
        heavy = [name for name in loaded if name in ("aiohttp", "yaml")]
        assert (result["status"], heavy) == (0, []), argv


def test_commands_that_send_nothing_load_only_what_they_use(
    probed: dict[tuple[str, ...], dict[str, object]],
) -> None:
    """Each listing command loads neither the client's machinery nor another command's: `list`,
    `describe` and `plugins` no journal, `tasks` no plugins or catalog, `--help` not even attrs.
    The journal holds a finished task with a result (read without cattrs)."""
    for argv, unwanted in UNWANTED.items():
        result = probed[argv]
        loaded = result["loaded"]
        assert result["status"] == 0 and isinstance(loaded, list), argv
        assert sorted(set(unwanted) & set(loaded)) == [], argv


# Builds a client and one provider's strategies (what its first call needs), then prints which
# plugin modules and which of mediagen.batch / mediagen.recovery it loaded.
ONE_PROVIDER = """
import json, sys, mediagen
from mediagen.registry import default_registry
client = mediagen.AsyncClient(journal=False)
default_registry().strategies("mediaio")
loaded = [m for m in sys.modules if m.startswith("mediagen.plugins.") or m in WATCH]
print(json.dumps(sorted(loaded)))
""".replace("WATCH", repr({"mediagen.batch", "mediagen.recovery"}))


def test_one_providers_strategies_load_its_plugin_module_alone() -> None:
    """A client whose calls go to one provider imports that provider's built-in plugin module
    only, and no batch machinery (`client.batch` and `resume` load it)."""
    out = subprocess.run(
        [sys.executable, "-c", ONE_PROVIDER],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "MEDIAGEN_PLUGINS": ""},
        cwd=outside_the_checkout(),
    ).stdout
    assert json.loads(out.splitlines()[-1]) == ["mediagen.plugins.mediaio"]


def test_built_in_strategies_are_the_plugin_modules_own() -> None:
    """The registry's stand-in for a built-in plugin module contributes its provider with the
    strategies the module's `plugin` builds (its factory, else the catalog-driven default)."""
    import importlib

    from mediagen.registry import _catalog_default

    registry = Registry(entry_points=False)
    for module_name in BUILTIN_PLUGIN_MODULES:
        plugin = importlib.import_module(module_name).plugin
        strategies = registry.strategies(plugin.name)
        assert strategies.provider is registry.catalog.provider(plugin.name)
        for key in ("auth", "task", "results", "errors", "emulator"):
            factory = getattr(plugin, key) or _catalog_default(key)
            built = factory(strategies.provider)
            assert type(getattr(strategies, key)) is type(built), (plugin.name, key)
            assert strategies.sources[key] == plugin.name
        assert strategies.replaces == {}


def test_catalog_records_behave_as_attrs_frozen_classes() -> None:
    """The IR's record classes (`mediagen.catalog.frozen`) against the attrs class they
    replace: same repr, equality, hashing, defaults, errors; attrs' functions work on them."""
    import attrs

    from mediagen.catalog.frozen import Record, field

    class Shape(Record):
        name: str
        sides: int = 4
        tags: dict[str, str] = field(factory=dict)

    @attrs.frozen
    class AttrsShape:
        name: str
        sides: int = 4
        tags: dict[str, str] = attrs.field(factory=dict)

    ours, theirs = Shape("box", tags={"a": "b"}), AttrsShape("box", tags={"a": "b"})
    assert repr(ours) == repr(theirs).replace("AttrsShape", "Shape")
    assert ours == Shape(name="box", sides=4, tags={"a": "b"}) and ours != Shape("box", 3)
    assert Shape("box").tags == {} and Shape("box").tags is not Shape("box").tags
    assert hash(Shape("x", tags=None)) == hash(Shape("x", 4, None))  # type: ignore[arg-type]
    assert attrs.has(Shape) and [f.name for f in attrs.fields(Shape)] == ["name", "sides", "tags"]
    assert attrs.evolve(ours, sides=3) == Shape("box", 3, {"a": "b"})
    assert attrs.asdict(ours) == attrs.asdict(theirs)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        ours.sides = 5  # type: ignore[misc]
    for args, kwargs in (((), {}), (("a", 1, {}, 2), {}), (("a",), {"name": "b"}), ((), {"x": 1})):
        with pytest.raises(TypeError):
            Shape(*args, **kwargs)
        with pytest.raises(TypeError):
            AttrsShape(*args, **kwargs)


def test_generate_check_reads_without_aiohttp() -> None:
    # `python -X importtime -m mediagen generate --check` on the committed tree, once per run
    # (test_cli reads the same process), rendering the catalog itself, not from the run's cache.
    result = shipped_generate_check()
    assert result.returncode == 0, result.stderr
    assert "aiohttp" not in result.imported
    assert "yaml" in result.imported  # it read the catalog files: that is what it checks


def test_the_compiled_catalog_is_the_loaded_one() -> None:
    """What the runtime reads equals what the loader builds from the catalog files, for the
    built-in providers and for the acme plugin's generated package."""
    from mediagen.generated import _catalog_ir

    assert {p.name: p for p in load_catalog(REPO / "catalog").providers} == _catalog_ir.PROVIDERS
    namespace: dict[str, object] = {}
    code = (ACME / "generated" / f"{COMPILED_MODULE}.py").read_text(encoding="utf-8")
    exec(compile(code, "acme _catalog_ir.py", "exec"), namespace)
    assert namespace["PROVIDERS"] == {
        "acme": load_provider(ACME / "catalog" / "acme" / "provider.yaml")
    }


def test_the_built_in_providers_come_compiled() -> None:
    from mediagen.generated import _catalog_ir

    registry = Registry(entry_points=False)
    for provider in registry.catalog.providers:
        assert provider is _catalog_ir.PROVIDERS[provider.name]


def _generated(catalog_dir: CatalogDir, tmp_path: Path, name: str) -> str:
    """The catalog's generated package, importable as `name`."""
    write(catalog_dir.root, tmp_path / name)
    sys.path.insert(0, str(tmp_path))
    return name


@pytest.fixture
def clean_imports() -> Iterator[None]:
    """sys.path and the generated packages a test added, taken away after it."""
    before = set(sys.modules)
    path = list(sys.path)
    yield None
    sys.path[:] = path
    for name in set(sys.modules) - before:
        if name.startswith("startup_pkg_"):
            del sys.modules[name]


def test_a_contributed_provider_comes_compiled(
    catalog_dir: CatalogDir, tmp_path: Path, clean_imports: None
) -> None:
    package = _generated(catalog_dir, tmp_path, "startup_pkg_fresh")
    registry = Registry(entry_points=False)
    registry.register(ProviderPlugin("acme", catalog=catalog_dir.folder, generated=package))
    compiled = sys.modules[f"{package}.{COMPILED_MODULE}"]
    assert registry.catalog.provider("acme") is compiled.PROVIDERS["acme"]


def test_a_package_generated_before_the_compiled_catalog_loads_from_the_catalog(
    catalog_dir: CatalogDir, tmp_path: Path, clean_imports: None, caplog: pytest.LogCaptureFixture
) -> None:
    package = _generated(catalog_dir, tmp_path, "startup_pkg_old")
    (tmp_path / package / f"{COMPILED_MODULE}.py").unlink()
    caplog.set_level(logging.DEBUG, logger="mediagen.catalog.compiled")
    registry = Registry(entry_points=False)
    registry.register(ProviderPlugin("acme", catalog=catalog_dir.folder, generated=package))
    assert registry.catalog.provider("acme").operation("draw").kind == "task"
    assert compiled_provider(catalog_dir.folder, package) is None  # asked again: no new note
    notes = [r.getMessage() for r in caplog.records]
    assert notes == [
        f"{package}.{COMPILED_MODULE} not found (generated by an older mediagen); "
        "reading the catalog files instead (run `mediagen generate`)"
    ]


def test_an_edited_catalog_wins_over_its_stale_compilation(
    catalog_dir: CatalogDir, tmp_path: Path, clean_imports: None, caplog: pytest.LogCaptureFixture
) -> None:
    package = _generated(catalog_dir, tmp_path, "startup_pkg_stale")
    catalog_dir.replace("operations.yaml", "name: Draw", "name: Sketch")
    caplog.set_level(logging.DEBUG, logger="mediagen.catalog.compiled")
    provider = provider_from(catalog_dir.folder, package)
    assert provider.operation("draw").name == "Sketch"
    assert any("is stale" in r.getMessage() for r in caplog.records)
    assert f"{COMPILED_MODULE}.py" in check(catalog_dir.root, tmp_path / package).stale


def test_generate_check_names_an_edited_compiled_catalog(tmp_path: Path) -> None:
    out = tmp_path / "generated"
    write(REPO / "catalog", out)
    compiled = out / f"{COMPILED_MODULE}.py"
    compiled.write_text(compiled.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    assert check(REPO / "catalog", out).stale == (f"{COMPILED_MODULE}.py",)


def _dist_info(site: Path, folder: str, name: str, entry_points: str | None) -> None:
    (site / folder).mkdir(parents=True)
    (site / folder / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    if entry_points is not None:
        (site / folder / "entry_points.txt").write_text(entry_points)


def test_entry_points_are_read_as_importlib_metadata_reads_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    _dist_info(first, "other-1.0.dist-info", "other", "[console_scripts]\nx = y:z\n")
    _dist_info(first, "bare-1.0.dist-info", "bare", None)
    monkeypatch.setattr(sys, "path", [str(first), str(tmp_path / "missing")])
    assert read_entry_points("mediagen") == []
    _dist_info(
        first, "Acme_Plugin-1.0.dist-info", "Acme-Plugin", "# c\n[mediagen]\nacme = json:dumps\n"
    )
    _dist_info(second, "acme_plugin-2.0.dist-info", "acme-plugin", "[mediagen]\nold = json:loads\n")
    monkeypatch.setattr(sys, "path", [str(first), str(second)])
    found = read_entry_points("mediagen")
    assert found is not None
    expected = importlib.metadata.entry_points(group="mediagen")
    assert (
        [(e.name, e.value, e.dist.name, e.dist.version) for e in found]
        == [(e.name, e.value, e.dist.name, e.dist.version) for e in expected if e.dist is not None]
        == [("acme", "json:dumps", "Acme-Plugin", "1.0")]
    )  # the first of a name hides the second
    assert found[0].load() is json.dumps


def test_entry_points_importlib_metadata_reads_better_are_left_to_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    (site / "Legacy-0.1.egg-info").mkdir(parents=True)
    (site / "Legacy-0.1.egg-info" / "entry_points.txt").write_text("[mediagen]\nacme = a:p\n")
    monkeypatch.setattr(sys, "path", [str(site)])
    assert read_entry_points("mediagen") is None
    with zipfile.ZipFile(tmp_path / "bundle.zip", "w") as bundle:
        bundle.writestr("x.py", "")
    monkeypatch.setattr(sys, "path", [str(tmp_path / "bundle.zip")])
    assert read_entry_points("mediagen") is None


def test_a_journaled_result_reads_back_by_hand_as_cattrs_reads_it() -> None:
    """`mediagen tasks` reads results without cattrs: what `_dump_result` writes for
    mediagen's own classes comes back equal to cattrs' reading (journal_id, which equality
    leaves out, too); any other shape is left to cattrs."""
    import cattrs

    from mediagen import journal

    results = [
        Result("mediaio", "imagen_4", (Artifact("https://a.test/1.png", "image"),), {"r": [1]}),
        Result(
            "edrawmax",
            "flowchart",
            (Artifact("https://a.test/f.svg", "diagram", "graph TD", "mermaid"),),
            None,
            task_id="t-9",
            skipped_urls=("http://a.test/x",),
            warnings=("no files",),
            journal_id=7,
        ),
        Result("tomoviee", "text_to_video", (), "raw text"),
    ]
    for result in results:
        data = json.loads(journal._dump_result(result))
        by_hand = journal._plain_result(data)
        assert by_hand == cattrs.Converter().structure(data, Result) == result
        assert by_hand is not None and by_hand.journal_id == result.journal_id
    plain = json.loads(journal._dump_result(results[1]))
    odd_artifact = {**plain["artifacts"][0], "kind": "hologram"}
    for odd in (
        {**plain, "extra": 1},
        {**plain, "provider": 5},
        {**plain, "journal_id": True},
        {**plain, "warnings": ["ok", 1]},
        {**plain, "artifacts": [odd_artifact]},
        [plain],
    ):
        assert journal._plain_result(odd) is None, odd


def test_tasks_lists_a_result_that_only_cattrs_reads(tmp_path: Path) -> None:
    """A stored result the hand-made reader leaves alone (keys left out, as a hand edit or
    another writer may leave it) still reads through cattrs, defaults filled in, as before."""
    path = tmp_path / "tasks.sqlite3"
    journal = Journal(path)
    entry = journal.record_intent("mediaio", "imagen_4", {"prompt": "a cat"})
    journal.record_submitted(entry, "t-1")
    stored = {"provider": "mediaio", "operation": "imagen_4", "artifacts": [], "raw": {}}
    with journal._tx() as db:
        db.execute("UPDATE tasks SET result = ? WHERE id = ?", (json.dumps(stored), entry))
    assert journal.get(entry).result == Result("mediaio", "imagen_4", (), {})
    journal.close()
