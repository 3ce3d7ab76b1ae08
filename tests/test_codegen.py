"""Codegen: golden records, determinism, the check mode, and generated code that runs."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import (
    GOLDEN_CATALOG,
    GOLDEN_OUTPUT,
    RENDER_ONCE,
    REPO,
    import_generated,
    outside_the_checkout,
)

import mediagen
from mediagen.codegen.generate import HEADER_MARK, check, header, render_catalog, write
from mediagen.errors import ParamError

UPDATE = os.environ.get("MEDIAGEN_UPDATE_GOLDEN") == "1"


def test_golden_record() -> None:
    """The fixture provider's output, byte for byte. Refresh with MEDIAGEN_UPDATE_GOLDEN=1."""
    files = render_catalog(GOLDEN_CATALOG)
    if UPDATE:
        shutil.rmtree(GOLDEN_OUTPUT, ignore_errors=True)
        for rel, text in files.items():
            (GOLDEN_OUTPUT / rel).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN_OUTPUT / rel).write_text(text, encoding="utf-8")
    recorded = {
        p.relative_to(GOLDEN_OUTPUT).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(GOLDEN_OUTPUT.rglob("*"))
        if p.suffix in (".py", ".json") and "__pycache__" not in p.parts
    }
    assert list(recorded) == list(files)
    for rel, text in files.items():
        assert text == recorded[rel], f"{rel} differs from its golden record"


def test_golden_output_runs(tmp_path: Path) -> None:
    write(GOLDEN_CATALOG, tmp_path / "out")
    acme = import_generated(tmp_path / "out", "acme", "golden_pkg")
    m = acme.models.PaintParams(
        prompt="sun", control_intensity=0.5, from_="abc", self_="me", layers=["a.png"]
    )
    assert m.to_dict() == {
        "prompt": "sun",
        "control-intensity": 0.5,
        "from": "abc",
        "self": "me",
        "size": 5,
        "style": "9:16",
        "layers": ["a.png"],
    }
    back = acme.models.PaintParams.from_dict({"prompt": "sun", "control-intensity": 1, "from": "x"})
    assert (back.control_intensity, back.from_) == (1, "x")
    with pytest.raises(
        ParamError,
        match=re.escape("acme.paint: size=10 is not accepted; allowed: > 0.0 and < 10.0"),
    ):
        acme.models.PaintParams(prompt="sun", control_intensity=0, size=10)
    with pytest.raises(ParamError, match="from_='ABC'"):
        acme.models.PaintParams(prompt="sun", control_intensity=0, from_="ABC")
    with pytest.raises(ParamError, match="at least 1 items"):
        acme.models.PaintParams(prompt="sun", control_intensity=0, layers=[])
    # A required string given as nothing: the emptiness rule speaks before minLength 1.
    with pytest.raises(ParamError, match="the required parameter prompt is empty"):
        acme.models.PaintParams(prompt="", control_intensity=0)
    with pytest.raises(
        ParamError, match=r"seed=True is a boolean, not an integer; allowed: .*1, 2"
    ):
        acme.models.PaintParams(prompt="sun", control_intensity=0, seed=True)


def test_output_is_identical_across_hash_seeds() -> None:
    """Two fresh processes with fixed string-hash seeds render the shipped catalog exactly as
    this run does (RENDER_ONCE: rendered under a worker's random seed, or under the seed that
    PYTHONHASHSEED fixes for the whole run, which is then neither of the two): three seeds, for
    one process fewer to start (each imports the code generator and renders, ~2 s of CPU)."""

    def digest(files: dict[str, str]) -> str:
        return hashlib.sha256(repr(sorted(files.items())).encode()).hexdigest()

    script = (
        "import hashlib,sys; from pathlib import Path;"
        "from mediagen.codegen.generate import render_catalog;"
        f"f=render_catalog(Path({str(REPO / 'catalog')!r}));"
        "print(hashlib.sha256(repr(sorted(f.items())).encode()).hexdigest())"
    )
    seeds = [s for s in ("0", "1", "4242") if s != os.environ.get("PYTHONHASHSEED")][:2]
    # Both processes at once, while this one renders: the test's wall time is one render's.
    children = [
        subprocess.Popen(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": seed},
            stdout=subprocess.PIPE,
            text=True,
            cwd=outside_the_checkout(),
        )
        for seed in seeds
    ]
    digests = {digest(RENDER_ONCE(REPO / "catalog"))}
    for child in children:
        out, _ = child.communicate(timeout=300)
        assert child.returncode == 0
        digests.add(out.strip())
    assert len(digests) == 1


def test_committed_generated_package_is_current() -> None:
    drift = check(REPO / "catalog", REPO / "generated")
    assert drift.clean, drift.lines()


def test_check_names_stale_missing_and_extra_files(tmp_path: Path) -> None:
    out = tmp_path / "generated"
    write(REPO / "catalog", out)
    assert check(REPO / "catalog", out).clean
    (out / "mediaio" / "models.py").write_text("# edited by hand\n", encoding="utf-8")
    (out / "edrawmax" / "endpoints.py").unlink()
    (out / "leftover.py").write_text(header("0" * 64) + '"""old"""\n', encoding="utf-8")
    (out / "helpers.py").write_text('"""Written by hand."""\n', encoding="utf-8")
    drift = check(REPO / "catalog", out)
    assert drift.stale == ("mediaio/models.py",)
    assert drift.missing == ("edrawmax/endpoints.py",)
    assert drift.extra == ("leftover.py",)
    write(REPO / "catalog", out)
    assert check(REPO / "catalog", out).clean
    assert not (out / "leftover.py").exists()
    # Only files with codegen's header are ever deleted: a hand-written module stays.
    assert (out / "helpers.py").read_text(encoding="utf-8") == '"""Written by hand."""\n'


def test_generated_files_record_the_version_and_the_catalog_digest(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog"
    shutil.copytree(GOLDEN_CATALOG, catalog)
    before = render_catalog(catalog)
    first = before["acme/models.py"].splitlines()[0]
    assert first.startswith(f"{HEADER_MARK} {mediagen.__version__} from catalog files with sha256 ")
    ops = catalog / "acme" / "operations.yaml"
    ops.write_text(ops.read_text(encoding="utf-8") + "\n# a comment changes the digest\n")
    after = render_catalog(catalog)
    assert after["acme/models.py"].splitlines()[0] != first
    assert after["acme/models.py"].splitlines()[1:] == before["acme/models.py"].splitlines()[1:]


def test_import_mediagen_loads_no_provider() -> None:
    code = (
        "import sys, mediagen, mediagen.generated as g;"
        "print(sorted(m for m in sys.modules if m.startswith('mediagen.generated.')));"
        "g.load('edrawmax');"
        "print(sorted(m for m in sys.modules if m.startswith('mediagen.generated.')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=outside_the_checkout(),
    )
    before, after = out.stdout.splitlines()
    assert before == "[]"
    assert "mediagen.generated.edrawmax" in after and "mediaio" not in after
