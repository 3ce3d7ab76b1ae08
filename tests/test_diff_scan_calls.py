"""`mediagen diff --scan` on an outside user's trial: a Media.io export that drops hailuo_02,
renames imagen_4's `ratio` to `aspect_ratio`, takes 3:2, 2:3 and 21:9 out of nano_banana's
`ratio` and adds a required `negative_prompt` to wan_2_6, scanned over a project that calls
through the typed entry point (`client.provider(MEDIAIO)`) and local aliases, and a batch file
with bad lines. Each expected hit is marked in the source by an `# expect:` comment."""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES

from mediagen.catalog import default_root
from mediagen.catalog.diff_params import renamed_param
from mediagen.cli import main

MEDIAIO_EXPORT = FIXTURES / "mediaio_export" / "c_api_doc_detail.json"

APP = """\
import mediagen
from mediagen import generated
from mediagen.generated import MEDIAIO, ProviderKey
from mediagen.generated import MEDIAIO as MIO
from myapp.keys import MEDIAIO as RE_EXPORTED, TOMOVIEE as OTHER

KEY = MEDIAIO
module_mediaio = mediagen.Client().provider(MEDIAIO)


async def typed(client: mediagen.AsyncClient, ratio: str) -> None:
    await client.provider(MEDIAIO).imagen_4(prompt="x", ratio="1:1")  # expect: param_removed
    await client.provider(MEDIAIO).hailuo_02(prompt="x")  # expect: operation_removed
    await client.provider(MEDIAIO).imagen_4(prompt="x")
    mediaio = client.provider(MEDIAIO)
    await mediaio.hailuo_02(prompt="x")  # expect: operation_removed
    attribute = client.mediaio
    await attribute.hailuo_02(prompt="x")  # expect: operation_removed
    await client.provider(MIO).hailuo_02()  # expect: operation_removed
    await client.provider(RE_EXPORTED).hailuo_02()  # expect: operation_removed
    await client.provider(OTHER).hailuo_02()
    await client.provider(KEY).hailuo_02()  # expect: operation_removed
    await client.provider(generated.MEDIAIO).hailuo_02()  # expect: operation_removed
    await client.provider(key=ProviderKey("mediaio")).hailuo_02()  # expect: operation_removed
    await client.provider(MEDIAIO).wan_2_6(image="i", prompt="p")  # expect: param_added_required
    await client.provider(MEDIAIO).wan_2_6(image="i", prompt="p", negative_prompt="n")

    def nested() -> None:
        mediaio.hailuo_02()  # expect: operation_removed

    again = mediaio
    again.hailuo_02()  # expect: operation_removed
    [mediaio.hailuo_02() for _ in range(2)]  # expect: operation_removed
    if walrus := client.provider(MEDIAIO):
        walrus.hailuo_02()  # expect: operation_removed

    await client.mediaio.nano_banana(images=[], prompt="p", ratio="16:9")
    await client.mediaio.nano_banana(images=[], prompt="p", ratio="21:9")  # expect: enum_values_removed
    await client.mediaio.nano_banana(images=[], prompt="p", ratio=ratio)  # expect: enum_values_removed
    await mediaio.nano_banana(images=[], prompt="p", ratio="2:3")  # expect: enum_values_removed


def blocking(client: mediagen.Client) -> None:
    client.provider(MEDIAIO).hailuo_02(prompt="x").wait()  # expect: operation_removed
    module_mediaio.hailuo_02()  # expect: operation_removed


def not_aliases(client: mediagen.Client, mediaio: object, other: object) -> None:
    mediaio.hailuo_02()  # a parameter, whatever it holds
    reassigned = client.mediaio
    reassigned = other
    reassigned.hailuo_02()
    for each in (client.mediaio,):
        each.hailuo_02()
    [each.hailuo_02() for each in (other,)]
    mediaio = client.mediaio
    [mediaio.hailuo_02() for mediaio in (other,)]
    client.provider(MEDIAIO.lower()).hailuo_02()
    client.provider(ratio).hailuo_02()  # an unknown name
"""

BATCH = [
    '{"provider": "mediaio", "operation": "nano_banana", "params": {"ratio": "1:1"}}',
    "{not json",
    '{"provider": "mediaio", "operation": "nano_banana", "params": {"ratio": "2:3"}}',
    "",
    '["provider", "mediaio"]',
    '{"provider": "mediaio", "operation": "hailuo_02", "params": []}',
    '{"provider": "mediaio", "operation": "hailuo_02", "params": {"prompt": "x"}}',
]


def _expected(source: str) -> set[tuple[int, str]]:
    return {
        (number, match.group(1))
        for number, line in enumerate(source.splitlines(), 1)
        if (match := re.search(r"# expect: (\w+)", line))
    }


def _trial_export(path: Path) -> Path:
    entries = json.loads(MEDIAIO_EXPORT.read_text(encoding="utf-8"))
    entries = [e for e in entries if e["name"] != "Hailuo 02"]
    for entry in entries:
        body = json.loads(entry["api_body"])
        fields = body["category"][0]["list"]
        for field in fields:
            if entry["name"] == "Imagen 4" and field["name"] == "ratio":
                field["name"] = "aspect_ratio"
            if entry["name"] == "Nano Banana" and field["name"] == "ratio":
                field["keywords"] = [
                    k for k in field["keywords"] if k not in ("3:2", "2:3", "21:9")
                ]
        if entry["name"] == "Wan 2.6":
            fields.append(
                {"name": "negative_prompt", "type": "string", "describe": "x", "required": True}
            )
        entry["api_body"] = json.dumps(body)
    path.write_text(json.dumps(entries), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def trial(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, Any], str, Path]]:
    """(the JSON report, the text report, the project) of one trial run."""
    root = tmp_path_factory.mktemp("trial")
    project = root / "src"
    project.mkdir()
    (project / "app.py").write_text(APP, encoding="utf-8")
    (project / "jobs.jsonl").write_text("\n".join(BATCH) + "\n", encoding="utf-8")
    args = [
        "diff",
        str(MEDIAIO_EXPORT),
        str(_trial_export(root / "c_api_doc_detail.json")),
        "--catalog",
        str(default_root()),
        "--scan",
        str(project),
    ]
    reports = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MEDIAGEN_JOURNAL", str(root / "no-journal" / "tasks.sqlite3"))
        for extra in (["--format", "json"], []):
            with contextlib.redirect_stdout(io.StringIO()) as printed:
                assert main([*args, *extra]) == 0
            reports.append(printed.getvalue())
    yield json.loads(reports[0]), reports[1], project


def _hits(doc: dict[str, Any], name: str) -> dict[tuple[int, str], str]:
    return {
        (a["line"], a["change"]): a["message"]
        for a in doc["affected"]
        if Path(a["file"]).name == name
    }


def test_calls_through_the_typed_entry_point_and_aliases_are_found(
    trial: tuple[dict[str, Any], str, Path],
) -> None:
    """Every marked line and no other: `provider(MEDIAIO)` (imported, aliased, as an
    attribute of the generated module, as `ProviderKey`), endpoints assigned to a name in the
    function, an enclosing one or the module, async and blocking; a parameter, a reassigned
    name, a loop variable or a key that is not a literal or a known constant is no alias."""
    doc, _, _ = trial
    assert set(_hits(doc, "app.py")) == _expected(APP)


def test_a_narrowed_enum_lists_only_calls_passing_a_removed_value(
    trial: tuple[dict[str, Any], str, Path],
) -> None:
    doc, text, project = trial
    hits = _hits(doc, "app.py")
    lines = APP.splitlines()
    gone = "mediaio.nano_banana(ratio): values no longer allowed: '3:2', '2:3', '21:9'"
    allowed = next(n for n, line in enumerate(lines, 1) if 'ratio="16:9"' in line)
    assert (allowed, "enum_values_removed") not in hits  # 16:9 stays allowed
    literal = next(n for n, line in enumerate(lines, 1) if 'ratio="21:9"' in line)
    variable = literal + 1
    assert hits[(literal, "enum_values_removed")] == f"{gone} (passes '21:9')"
    assert hits[(variable, "enum_values_removed")] == (
        f"{gone} (may be affected: the value passed is not a literal)"
    )
    batch = _hits(doc, "jobs.jsonl")
    assert (1, "enum_values_removed") not in batch  # "1:1" stays allowed
    assert batch[(3, "enum_values_removed")] == f"{gone} (passes '2:3')"
    assert f"  {project / 'app.py'}:{variable}: {hits[(variable, 'enum_values_removed')]}" in (
        text.splitlines()
    )


def test_a_bad_batch_line_is_skipped_by_its_line_number_and_the_rest_is_scanned(
    trial: tuple[dict[str, Any], str, Path],
) -> None:
    doc, text, project = trial
    assert set(_hits(doc, "jobs.jsonl")) == {
        (3, "enum_values_removed"),
        (7, "operation_removed"),
    }
    jobs = project / "jobs.jsonl"
    item = '(expected {"provider": ..., "operation": ..., "params": {...}})'
    assert doc["skipped"] == [
        f"{jobs}:2: not JSON (Expecting property name enclosed in double quotes at column 2)",
        f"{jobs}:5: not a batch item {item}",
        f"{jobs}:6: not a batch item {item}",
    ]
    assert f"  skipped {jobs}:2: not JSON (" in text


def test_a_parameter_renamed_in_place_is_hinted(
    trial: tuple[dict[str, Any], str, Path],
) -> None:
    doc, text, _ = trial
    removed = next(c for c in doc["changes"] if c["change"] == "param_removed")
    assert removed == {
        "provider": "mediaio",
        "operation": "imagen_4",
        "param": "ratio",
        "change": "param_removed",
        "severity": "breaking",
        "message": "parameter removed: calls passing it fail (possibly renamed to 'aspect_ratio')",
    }
    assert "  - mediaio.imagen_4(aspect_ratio): new optional parameter" in text.splitlines()


def _param(kind: str, enum: list[str] | None = None) -> dict[str, Any]:
    return {"type": kind, "items": None, "enum": enum}


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            {"ratio": _param("string", ["1:1"])},
            {"size": _param("string", ["1:1"])},
            ("ratio", "size"),
        ),
        ({"ratio": _param("string", ["1:1"])}, {"size": _param("string", ["1:2"])}, None),
        ({"ratio": _param("string")}, {"size": _param("integer")}, None),
        ({"ratio": _param("string")}, {"a": _param("string"), "b": _param("string")}, None),
        ({"a": _param("string"), "b": _param("string")}, {"c": _param("string")}, None),
        ({"same": _param("string")}, {"same": _param("string"), "b": _param("string")}, None),
    ],
)
def test_a_rename_is_one_removed_and_one_added_of_the_same_type_and_enum(
    old: dict[str, Any], new: dict[str, Any], expected: tuple[str, str] | None
) -> None:
    assert renamed_param(old, new) == expected


def test_a_new_enum_lists_only_calls_passing_a_value_outside_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`enum_added` (a list of values where anything went) is read like removed values."""
    monkeypatch.setenv("MEDIAGEN_JOURNAL", str(tmp_path / "no-journal" / "tasks.sqlite3"))
    old = FIXTURES / "diff" / "old" / "acme"
    new = tmp_path / "new" / "acme"
    shutil.copytree(old, new)
    operations = (new / "operations.yaml").read_text(encoding="utf-8")
    negative = "negative: {type: string, description: Required before and optional after.}"
    assert negative in operations
    (new / "operations.yaml").write_text(
        operations.replace(negative, "negative: {type: string, enum: [blur, noise]}"),
        encoding="utf-8",
    )
    app = tmp_path / "app.py"
    source = textwrap.dedent(
        """\
        def draw(client, negative):
            client.acme.draw(prompt="a", negative="blur")
            client.acme.draw(prompt="a", negative="text")  # expect: enum_added
            client.acme.draw(prompt="a", negative=negative)  # expect: enum_added
        """
    )
    app.write_text(source, encoding="utf-8")

    assert main(["diff", str(old), str(new), "--format", "json", "--scan", str(app)]) == 0
    doc = json.loads(capsys.readouterr().out)
    hits = _hits(doc, "app.py")
    assert set(hits) == _expected(source)
    limited = "acme.draw(negative): now limited to 'blur', 'noise'"
    assert hits[(3, "enum_added")] == f"{limited} (passes 'text')"
    assert (
        hits[(4, "enum_added")] == f"{limited} (may be affected: the value passed is not a literal)"
    )


def test_a_changed_type_or_tightened_bound_lists_only_calls_whose_literal_no_longer_fits(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """acme.draw's `steps` maximum goes from 50 to 30 and `seed` from integer to string: a
    literal the new parameter takes is not listed, one it refuses is (naming it), a variable
    may be affected; a documented limit (`images` formats) cannot be judged from a literal and
    lists every call passing the parameter, as before. Batch lines are judged alike."""
    monkeypatch.setenv("MEDIAGEN_JOURNAL", str(tmp_path / "no-journal" / "tasks.sqlite3"))
    old, new = FIXTURES / "diff" / "old" / "acme", FIXTURES / "diff" / "new" / "acme"
    app = tmp_path / "app.py"
    source = textwrap.dedent(
        """\
        def draw(client, steps, seed):
            call = client.acme
            call.draw(prompt="a", quality="q", size="s", steps=30)
            call.draw(prompt="a", quality="q", size="s", steps=40)  # expect: limit_tightened
            call.draw(prompt="a", quality="q", size="s", steps=steps)  # expect: limit_tightened
            call.draw(prompt="a", quality="q", size="s", steps="40")  # expect: limit_tightened
            call.draw(prompt="a", quality="q", size="s", seed="7")
            call.draw(prompt="a", quality="q", size="s", seed=7)  # expect: type_changed
            call.draw(prompt="a", quality="q", size="s", seed=seed)  # expect: type_changed
            call.draw(prompt="a", quality="q", size="s", images=["a.png"])  # expect: limit_tightened
        """
    )
    app.write_text(source, encoding="utf-8")
    batch = tmp_path / "items.jsonl"
    batch.write_text(
        "\n".join(
            json.dumps({"provider": "acme", "operation": "draw", "params": params})
            for params in (
                {"prompt": "a", "quality": "q", "size": "s", "steps": 12, "seed": "x"},
                {"prompt": "a", "quality": "q", "size": "s", "steps": 31, "seed": True},
            )
        ),
        encoding="utf-8",
    )

    assert main(["diff", str(old), str(new), "--format", "json", "--scan", str(tmp_path)]) == 0
    doc = json.loads(capsys.readouterr().out)
    hits = _hits(doc, "app.py")
    assert set(hits) == _expected(source)
    steps = "acme.draw(steps): maximum changed from 50 to 30 (tightened)"
    seed = "acme.draw(seed): type changed from integer to string"
    assert hits[(4, "limit_tightened")] == f"{steps} (passes 40)"
    assert (
        hits[(5, "limit_tightened")]
        == f"{steps} (may be affected: the value passed is not a literal)"
    )
    assert hits[(6, "limit_tightened")] == steps  # a string: nothing the maximum measures
    assert hits[(8, "type_changed")] == f"{seed} (passes 7)"
    assert (
        hits[(9, "type_changed")] == f"{seed} (may be affected: the value passed is not a literal)"
    )
    assert hits[(10, "limit_tightened")].startswith("acme.draw(images): formats")
    assert _hits(doc, "items.jsonl") == {
        (2, "limit_tightened"): f"{steps} (passes 31)",
        (2, "type_changed"): f"{seed} (passes True)",
    }


def test_keywords_spread_with_stars_may_be_affected_and_a_file_is_read_once(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """acme.draw makes `quality` and `size` required: a call naming both is not listed for
    them even when it also spreads `**opts`; one spreading `**opts` without them may be
    affected, as may any parameter the mapping could hold. A file given both by name and by
    its folder is read once."""
    monkeypatch.setenv("MEDIAGEN_JOURNAL", str(tmp_path / "no-journal" / "tasks.sqlite3"))
    old, new = FIXTURES / "diff" / "old" / "acme", FIXTURES / "diff" / "new" / "acme"
    app = tmp_path / "src" / "app.py"
    app.parent.mkdir()
    app.write_text(
        textwrap.dedent(
            """\
            def draw(client, opts):
                client.acme.draw(prompt="a", quality="q", size="s", **opts)
                client.acme.draw(prompt="a", **opts)
                client.acme.draw(prompt="a")
            """
        ),
        encoding="utf-8",
    )
    scan = ["--scan", str(app), str(app.parent)]
    assert main(["diff", str(old), str(new), "--format", "json", *scan]) == 0
    affected = json.loads(capsys.readouterr().out)["affected"]
    by_line: dict[int, list[tuple[str, str]]] = {}
    for a in affected:
        by_line.setdefault(a["line"], []).append((a["change"], a["message"]))
    spread = "(may be affected: keywords passed with ** are not read)"
    required = {"param_added_required", "param_became_required"}
    assert not [c for c, _ in by_line[2] if c in required]
    assert (
        "type_changed",
        f"acme.draw(seed): type changed from integer to string {spread}",
    ) in by_line[2]
    assert all(m.endswith(spread) for c, m in by_line[2] + by_line[3])
    assert sorted(c for c, _ in by_line[3] if c in required) == sorted(required)
    assert sorted(c for c, _ in by_line[4]) == sorted(required)  # named nothing, spread nothing
    assert not any(m.endswith(spread) for _, m in by_line[4])
    assert len(affected) == len({(a["line"], a["message"]) for a in affected})  # read once
