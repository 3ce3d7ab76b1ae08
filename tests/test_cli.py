"""The CLI as a person runs it: each command at least once as its own process, the other cases
through its main() in this process (the same code, without a second of interpreter start-up)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from conftest import REPO
from helpers import mediagen_main, mediagen_process, shipped_generate_check

from mediagen.catalog import default_catalog


def test_list_json(tmp_path: Path) -> None:
    out = mediagen_process("list", "--json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    # Which operations exist is the catalog's business (a new vendor export changes it): every
    # one is listed once, with its params in catalog order.
    catalog = default_catalog()
    assert [(r["provider"], r["operation"]) for r in rows] == [
        (op.provider, op.id) for op in catalog.operations()
    ]
    assert {r["provider"] for r in rows} == {"mediaio", "tomoviee", "edrawmax"}
    for row in rows:
        op = catalog.provider(row["provider"]).operation(row["operation"])
        assert row["params"] == [
            {"name": p.name, "type": p.type_label, "required": p.required} for p in op.params
        ]
    flowchart = next(r for r in rows if r["operation"] == "flowchart")  # our own YAML
    assert flowchart == {
        "provider": "edrawmax",
        "operation": "flowchart",
        "name": "Flowchart",
        "kind": "sync",
        "output": "diagram",
        "params": [
            {"name": "prompt", "type": "string", "required": True},
            {"name": "lang", "type": "string", "required": False},
            {"name": "platform", "type": "string", "required": False},
        ],
    }
    array = next(p for r in rows for p in r["params"] if p["type"].startswith("array"))
    assert array["type"] in ("array<string>", "array<integer>", "array<number>")


def test_list_one_provider_as_a_table(tmp_path: Path) -> None:
    out = mediagen_main("list", "edrawmax", cwd=tmp_path)
    assert out.returncode == 0
    lines = out.stdout.splitlines()
    assert lines[0].split()[:3] == ["OPERATION", "KIND", "OUTPUT"]  # a header row
    assert len(lines) == 5 and lines[1].startswith("edrawmax.flowchart")


def test_list_unknown_provider_is_a_one_line_error(tmp_path: Path) -> None:
    out = mediagen_main("list", "nope", cwd=tmp_path)
    assert out.returncode == 2
    assert out.stdout == ""
    assert (
        out.stderr.strip()
        == "mediagen: error: no provider 'nope'; known: edrawmax, mediaio, tomoviee"
    )


def test_describe(tmp_path: Path) -> None:
    out = mediagen_process("describe", "mediaio", "nano_banana", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "mediaio.nano_banana: Nano Banana (Media.io)" in out.stdout
    assert "max items: 9" in out.stdout
    assert "default: 16:9" in out.stdout
    assert "formats: PNG, JPEG, JPG" in out.stdout
    as_json = json.loads(
        mediagen_main("describe", "tomoviee", "text_to_music", "--json", cwd=tmp_path).stdout
    )
    duration = next(p for p in as_json["params"] if p["name"] == "duration")
    assert (duration["minimum"], duration["maximum"], duration["required"]) == (0, 95, True)


def test_describe_shows_where_calls_go_when_the_base_url_is_overridden(tmp_path: Path) -> None:
    vendor = "POST https://openapi.media.io/generation/imagen/t2i-imagen-4"
    plain = mediagen_main("describe", "mediaio", "imagen_4", cwd=tmp_path)
    assert vendor in plain.stdout and "MEDIAGEN_MEDIAIO_BASE_URL" not in plain.stdout
    local = "http://127.0.0.1:9/mediaio"
    env = {"MEDIAGEN_MEDIAIO_BASE_URL": local}
    moved = mediagen_main("describe", "mediaio.imagen_4", cwd=tmp_path, env=env)
    assert moved.returncode == 0, moved.stderr
    assert f"POST {local}/generation/imagen/t2i-imagen-4" in moved.stdout
    assert "base URL from MEDIAGEN_MEDIAIO_BASE_URL (the vendor's: https://openapi.media.io)" in (
        moved.stdout
    )
    # An override a call would refuse is shown as such; describing still works.
    env = {"MEDIAGEN_MEDIAIO_BASE_URL": "http://localhost.example/x"}
    refused = mediagen_main("describe", "mediaio", "imagen_4", cwd=tmp_path, env=env)
    assert refused.returncode == 0, refused.stderr
    assert vendor in refused.stdout
    assert "note: MEDIAGEN_MEDIAIO_BASE_URL is set but not usable" in refused.stdout


def test_describe_unknown_operation(tmp_path: Path) -> None:
    out = mediagen_main("describe", "mediaio", "imagen_5", cwd=tmp_path)
    assert out.returncode == 2
    assert "no mediaio operation 'imagen_5'; did you mean imagen_4?" in out.stderr


def make_checkout(tmp_path: Path) -> Path:
    checkout = tmp_path / "checkout"
    shutil.copytree(
        REPO / "catalog", checkout / "catalog", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copytree(
        REPO / "generated", checkout / "generated", ignore=shutil.ignore_patterns("__pycache__")
    )
    return checkout


def test_generate_check_passes_on_the_committed_tree() -> None:
    # `python -m mediagen generate --check` in a copy of the tree, from its catalog/ folder
    # (found from a subfolder too): one process per run, which test_startup_imports also reads.
    out = shipped_generate_check()
    assert out.returncode == 0, out.stderr
    assert "up to date" in out.stdout


def test_generate_check_names_every_stale_file_then_generate_fixes_it(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path)
    ops = checkout / "catalog" / "edrawmax" / "operations.yaml"
    ops.write_text(
        ops.read_text(encoding="utf-8").replace(
            "enum: [web, win, mac, ios, android, linux]",
            "enum: [web, win, mac, ios, android, linux, tv]",
        ),
        encoding="utf-8",
    )
    (checkout / "generated" / "tomoviee" / "endpoints.py").write_text(
        "# hand edit\n", encoding="utf-8"
    )
    out = mediagen_main("generate", "--check", cwd=checkout)
    assert out.returncode == 1
    assert "stale:   edrawmax/endpoints.py" in out.stderr
    assert "stale:   edrawmax/models.py" in out.stderr
    assert "stale:   tomoviee/endpoints.py" in out.stderr
    assert "mediaio" not in out.stderr

    fixed = mediagen_main("generate", cwd=checkout)  # a process: the tutorial's test
    assert fixed.returncode == 0, fixed.stderr
    assert "updated: edrawmax/models.py" in fixed.stdout
    assert "'tv'" in (checkout / "generated" / "edrawmax" / "models.py").read_text(encoding="utf-8")
    assert mediagen_main("generate", "--check", cwd=checkout).returncode == 0


def test_generate_with_a_broken_catalog_is_a_one_line_error(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path)
    ops = checkout / "catalog" / "edrawmax" / "operations.yaml"
    ops.write_text(
        ops.read_text(encoding="utf-8").replace("default: cn", "default: xx", 1), encoding="utf-8"
    )
    out = mediagen_main("generate", "--check", cwd=checkout)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1
    assert (
        "operations.yaml" in lines[0] and "default 'xx' is not among the allowed values" in lines[0]
    )


def test_generate_outside_a_checkout(tmp_path: Path) -> None:
    out = mediagen_main("generate", "--check", cwd=tmp_path)
    assert out.returncode == 2
    assert "no mediagen catalog here" in out.stderr
    assert "projects in this folder" not in out.stderr


def test_generate_beside_a_plugin_names_the_plugin_s_folder(tmp_path: Path) -> None:
    """Run from where `new-plugin` made the plugin (its parent), `generate` says which folder
    below is a project, rather than only that there is none here."""
    plugin = tmp_path / "mediagen-zeta"
    plugin.mkdir()
    (plugin / "pyproject.toml").write_text(
        '[tool.mediagen]\ncatalog = "mediagen_zeta/catalog"\noutput = "mediagen_zeta/generated"\n',
        encoding="utf-8",
    )
    (tmp_path / "notes").mkdir()
    out = mediagen_main("generate", cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.strip().endswith("; projects in this folder: mediagen-zeta/ (cd into one)")
