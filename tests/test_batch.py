"""Batches: per-provider concurrency, isolated failures, input order, 429 backoff, all journaled."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

import mediagen
from mediagen.batch import BatchInputError, BatchItem, parse_jsonl
from mediagen.journal import Journal
from mediagen.testing import Emulator, Fault


def items() -> list[BatchItem]:
    return [
        *(BatchItem("mediaio", "imagen_4", {"prompt": f"cat {i}"}) for i in range(5)),
        BatchItem("tomoviee", "text_to_music", {"prompt": "jazz", "duration": 10, "qty": 1}),
        BatchItem("edrawmax", "mindmap", {"prompt": "ml"}),
        BatchItem("mediaio", "credits", {}),
        BatchItem("tomoviee", "text_to_speech", {"text": "hi"}),
    ]


def test_batch_runs_everything_in_order_with_a_per_provider_limit(tmp_path: Path) -> None:
    active: dict[str, set[int]] = defaultdict(set)
    peak: dict[str, int] = defaultdict(int)
    batch = items()

    def update(index: int, state: str) -> None:
        provider = batch[index].provider
        if state in ("submitting", "queued", "running"):
            active[provider].add(index)
        else:
            active[provider].discard(index)
        peak[provider] = max(peak[provider], len(active[provider]))

    async def go() -> list[mediagen.batch.Outcome]:
        async with (
            Emulator(duration=0.2) as emu,
            mediagen.AsyncClient(
                **{**emu.client_options(), "journal": tmp_path / "j.sqlite3"}
            ) as client,
        ):
            emu.set_outcome("tomoviee.text_to_music", "failed", reason="out of tune")
            emu.inject(
                Fault(
                    "status",
                    provider="mediaio",
                    phase="submit",
                    status=429,
                    retry_after=0.05,
                    times=2,
                )
            )
            outcomes = await client.batch(
                batch, concurrency=2, output=tmp_path / "out", on_update=update
            )
            assert len(emu.requests_for("mediaio", "submit")) == 5 + 2  # two 429s, retried
            assert len([t for t in emu.tasks.values() if t.operation.provider == "mediaio"]) == 5
            return outcomes

    outcomes = asyncio.run(go())
    assert [o.index for o in outcomes] == list(range(len(batch)))
    assert [(o.provider, o.operation) for o in outcomes] == [
        (i.provider, i.operation) for i in batch
    ]
    assert [o.state for o in outcomes] == ["succeeded"] * 5 + [
        "failed",
        "succeeded",
        "succeeded",
        "succeeded",
    ]
    assert "out of tune" in str(outcomes[5].error)
    assert outcomes[7].data == {"credits": 1000}
    assert all(o.paths for o in outcomes if o.ok and o.operation != "credits")
    assert max(peak.values()) <= 2 and peak["mediaio"] == 2

    entries = Journal(tmp_path / "j.sqlite3").entries()
    assert len(entries) == len(batch) and len({e.batch for e in entries}) == 1
    assert [e.item for e in entries] == list(range(len(batch)))
    assert [e.state for e in entries].count("failed") == 1
    assert all(e.state == "succeeded" for i, e in enumerate(entries) if i != 5)


def test_invalid_lines_are_all_reported_and_nothing_is_sent() -> None:
    lines = [
        json.dumps({"provider": "mediaio", "operation": "imagen_4", "params": {"prompt": "ok"}}),
        "not json",
        json.dumps(
            {
                "provider": "mediaio",
                "operation": "imagen_4",
                "params": {"ratio": "7:7", "prompt": "x"},
            }
        ),
        json.dumps({"provider": "nope", "operation": "x"}),
        "",
        json.dumps(["a list"]),
    ]
    with pytest.raises(BatchInputError) as info:
        parse_jsonl(lines, "jobs.jsonl")
    problems = info.value.problems
    assert [p.split(":")[0] for p in problems] == ["line 2", "line 3", "line 4", "line 6"]
    assert "ratio='7:7'" in problems[1] and "no provider 'nope'" in problems[2]
    assert str(info.value).startswith("jobs.jsonl: 4 invalid item(s), nothing was sent")


def test_batch_cli_validates_every_line_before_sending(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"provider": "mediaio", "operation": "imagen_4", "params": {}}\n', encoding="utf-8"
    )
    out = subprocess.run(
        [sys.executable, "-m", "mediagen", "batch", str(bad)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert "line 1: mediaio.imagen_4: missing required parameter(s) prompt" in out.stderr
    assert not (tmp_path / "mediagen-output").exists()
