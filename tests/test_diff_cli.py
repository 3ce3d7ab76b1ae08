"""`mediagen diff`, run through the CLI's main(): every input form of OLD and NEW, the three
formats, --fail-on, --scan over a sample project and batch file, and the journal warning."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES

from mediagen.catalog import default_root, load_catalog
from mediagen.catalog.snapshot import render_snapshot
from mediagen.cli import main
from mediagen.journal import Journal

OLD = FIXTURES / "diff" / "old"
NEW = FIXTURES / "diff" / "new"
PROJECT = FIXTURES / "diff" / "project"
MEDIAIO_EXPORT = FIXTURES / "mediaio_export" / "c_api_doc_detail.json"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["diff", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def report(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    code, out, err = run(capsys, *args, "--format", "json")
    assert code == 0, err
    doc: dict[str, Any] = json.loads(out)
    return doc


def kinds(doc: dict[str, Any]) -> set[tuple[Any, ...]]:
    return {(c["provider"], c["operation"], c["param"], c["change"]) for c in doc["changes"]}


@pytest.fixture(autouse=True)
def _no_user_journal(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MEDIAGEN_JOURNAL", str(tmp_path / "no-journal" / "tasks.sqlite3"))


def test_json_document(capsys: pytest.CaptureFixture[str]) -> None:
    doc = report(capsys, str(OLD), str(NEW))
    assert set(doc) == {"changes", "summary", "version_bump"}
    assert doc["summary"] == {"breaking": 11, "warning": 10, "compatible": 10}
    assert doc["version_bump"] == "major"
    first = doc["changes"][0]
    assert set(first) == {"provider", "operation", "param", "change", "severity", "message"}
    removed = next(c for c in doc["changes"] if c["change"] == "operation_removed")
    assert removed == {
        "provider": "acme",
        "operation": "sketch",
        "param": None,
        "change": "operation_removed",
        "severity": "breaking",
        "message": "operation removed: client.acme.sketch() no longer exists",
    }


def test_text_reads_like_a_changelog(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, str(OLD), str(NEW))
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == (
        "31 change(s): 11 breaking, 10 warning, 10 compatible; implies a major version bump"
    )
    headings = [line for line in lines if line.endswith(":") and not line.startswith(" ")]
    assert headings == [
        "Breaking changes:",
        "Changes in behaviour (warnings):",
        "Compatible changes:",
    ]
    assert "  - acme.sketch: operation removed: client.acme.sketch() no longer exists" in lines
    assert "  - acme.draw(style): new allowed values: 'c'" in lines


def test_markdown(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, str(OLD), str(NEW), "--format", "markdown")
    assert code == 0
    assert out.startswith("# Catalog changes\n")
    assert "## Breaking changes" in out and "## Compatible changes" in out
    assert "- `acme.draw(ratio)`: values no longer allowed: '4:3'" in out
    assert "client.acme.sketch() no longer exists" in out


def test_provider_folders_compare_that_provider_only(capsys: pytest.CaptureFixture[str]) -> None:
    doc = report(capsys, str(OLD / "acme"), str(NEW / "acme"))
    assert {c["provider"] for c in doc["changes"]} == {"acme"}
    folders = report(capsys, str(OLD), str(NEW))
    assert kinds(doc) == {k for k in kinds(folders) if k[0] == "acme"}


def test_an_operations_file_is_read_with_the_working_providers_facts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    doc = report(capsys, str(OLD / "acme" / "operations.yaml"), "--catalog", str(NEW))
    assert {c["provider"] for c in doc["changes"]} == {"acme"}
    assert all(c["operation"] is not None for c in doc["changes"])  # same provider facts
    assert ("acme", "sketch", None, "operation_removed") in kinds(doc)


def test_an_ambiguous_operations_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    shutil.copyfile(OLD / "acme" / "operations.yaml", tmp_path / "operations.yaml")
    code, _, err = run(capsys, str(tmp_path / "operations.yaml"), "--catalog", str(NEW))
    assert code == 2
    assert "'operations.yaml' could belong to acme, gamma; pass the provider's folder" in err


def test_a_new_vendor_export(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """The issue's case: a Media.io export that drops one operation and widens one enum."""
    entries = json.loads(MEDIAIO_EXPORT.read_text(encoding="utf-8"))
    entries = [e for e in entries if e["name"] != "Hailuo 02"]
    banana = next(e for e in entries if e["name"] == "Nano Banana")
    banana["api_body"] = banana["api_body"].replace('"21:9"]', '"21:9", "5:4"]')
    export = tmp_path / MEDIAIO_EXPORT.name
    export.write_text(json.dumps(entries), encoding="utf-8")

    doc = report(capsys, str(MEDIAIO_EXPORT), str(export), "--catalog", str(default_root()))
    assert kinds(doc) == {
        ("mediaio", "hailuo_02", None, "operation_removed"),
        ("mediaio", "nano_banana", "ratio", "enum_values_added"),
    }
    assert doc["summary"] == {"breaking": 1, "warning": 0, "compatible": 1}


def test_a_generate_snapshot(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    snapshot = tmp_path / "catalog-snapshot.json"
    snapshot.write_text(render_snapshot(load_catalog(OLD)), encoding="utf-8")
    assert kinds(report(capsys, str(snapshot), str(NEW))) == kinds(
        report(capsys, str(OLD), str(NEW))
    )


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_git_revision_against_the_working_catalog(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "checkout"
    shutil.copytree(OLD, repo / "catalog")
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "old catalog")
    shutil.rmtree(repo / "catalog")
    shutil.copytree(NEW, repo / "catalog")
    monkeypatch.chdir(repo / "catalog" / "acme")  # found from the working directory upward

    doc = report(capsys, "git:HEAD")  # NEW defaults to the working catalog
    assert kinds(doc) == kinds(report(capsys, str(OLD), str(NEW)))

    code, out, err = run(capsys, "git:no-such-rev")
    assert (code, out) == (2, "")
    assert err == (
        "mediagen: error: git:no-such-rev: unknown revision "
        "(expected a commit, branch or tag of this checkout)\n"
    )


def test_in_a_plugin_root_new_is_the_catalog_its_tool_table_names(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plugin = tmp_path / "acme-plugin"
    shutil.copytree(NEW, plugin / "acme_mediagen" / "catalog")
    (plugin / "pyproject.toml").write_text(
        '[tool.mediagen]\ncatalog = "acme_mediagen/catalog"\noutput = "acme_mediagen/generated"\n'
    )
    monkeypatch.chdir(plugin)
    assert kinds(report(capsys, str(OLD))) == kinds(report(capsys, str(OLD), str(NEW)))


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_git_revision_outside_a_checkout(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    catalog = tmp_path / "catalog"
    shutil.copytree(NEW, catalog)
    code, _, err = run(capsys, "git:HEAD", "--catalog", str(catalog))
    assert code == 2
    assert "is not in a git checkout" in err and err.count("\n") == 1


def test_bad_input_is_a_one_line_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(capsys, str(tmp_path / "missing"), str(NEW))
    assert (code, out) == (2, "")
    assert err.startswith("mediagen: error: ") and "no such file or folder" in err
    assert err.count("\n") == 1
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    code, _, err = run(capsys, str(tmp_path / "notes.txt"), "--catalog", str(NEW))
    assert code == 2 and "no provider in" in err and "notes.txt" in err


def _edited(tmp_path: Path, old: str, new: str) -> Path:
    """A copy of NEW's acme with one edit to its provider file."""
    folder = tmp_path / "edited" / "acme"
    shutil.copytree(NEW / "acme", folder)
    text = (folder / "provider.yaml").read_text(encoding="utf-8")
    assert old in text
    (folder / "provider.yaml").write_text(text.replace(old, new), encoding="utf-8")
    return folder


def test_fail_on(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert run(capsys, str(OLD), str(NEW))[0] == 0  # without --fail-on: always 0
    assert run(capsys, str(OLD), str(NEW), "--fail-on", "breaking")[0] == 1
    assert run(capsys, str(OLD), str(NEW), "--fail-on", "warning")[0] == 1

    warning_only = _edited(tmp_path, "X-Api-Key", "X-Other-Key")
    assert run(capsys, str(NEW / "acme"), str(warning_only), "--fail-on", "breaking")[0] == 0
    assert run(capsys, str(NEW / "acme"), str(warning_only), "--fail-on", "warning")[0] == 1

    compatible = _edited(tmp_path / "c", "states: {", "states: {new: queued, ")
    code, out, _ = run(capsys, str(NEW / "acme"), str(compatible), "--fail-on", "warning")
    assert code == 0 and "1 compatible" in out


def test_scan_lists_affected_call_sites_and_batch_lines(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    project = tmp_path / "project"
    shutil.copytree(PROJECT, project)
    (project / "broken.py").write_text("def oops(:\n", encoding="utf-8")
    doc = report(capsys, str(OLD), str(NEW), "--scan", str(project))
    found = {(Path(a["file"]).name, a["line"], a["change"]) for a in doc["affected"]}
    assert found == {
        ("app.py", 7, "operation_removed"),
        ("app.py", 8, "enum_values_removed"),
        ("app.py", 10, "param_became_required"),
        ("app.py", 10, "param_added_required"),
        ("app.py", 12, "provider_removed"),
        ("app.py", 13, "operation_id_changed"),
        ("batch.jsonl", 1, "operation_removed"),
        ("batch.jsonl", 2, "param_removed"),
    }
    assert [Path(s.split(":")[0]).name for s in doc["skipped"]] == ["broken.py"]

    code, out, _ = run(capsys, str(OLD), str(NEW), "--scan", str(project / "app.py"))
    assert code == 0
    assert (
        f"  {project / 'app.py'}:8: acme.draw(ratio): values no longer allowed: '4:3' "
        "(passes '4:3')"
    ) in out.splitlines()


def test_scan_needs_existing_paths(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(capsys, str(OLD), str(NEW), "--scan", str(tmp_path / "nope"))
    assert (code, out) == (2, "")
    assert "--scan" in err and "no such file or folder" in err


def test_warns_about_unfinished_tasks_of_removed_operations(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    journal = Journal(tmp_path / "tasks.sqlite3")
    entry = journal.record_intent("acme", "sketch", {"prompt": "x"}, state="pending")
    journal.record_submitted(entry, "task-1")
    done = journal.record_intent("acme", "erase", {}, state="pending")
    journal.record_submitted(done, "task-2")
    journal.close()

    code, out, err = run(capsys, str(OLD), str(NEW), "--journal", str(tmp_path / "tasks.sqlite3"))
    assert code == 0 and out
    assert err.splitlines() == [
        f"warning: the journal {tmp_path / 'tasks.sqlite3'} holds 1 unfinished task(s) of "
        "acme.sketch, which this change removes; `mediagen resume` still finishes them by task id"
    ]
