"""Batches: per-provider concurrency, isolated failures, input order, 429 backoff, all journaled."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from helpers import default_sigint, mediagen_main

import mediagen
from mediagen.batch import BatchInputError, BatchItem, decode_lines, parse_jsonl
from mediagen.journal import Journal
from mediagen.testing import Emulator, Fault

pytestmark = pytest.mark.usefixtures("loopback_children")  # children skip the CA bundle


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
    # main() in this process: `batch` runs as its own process below (an interrupted batch).
    out = mediagen_main("batch", str(bad), cwd=tmp_path)
    assert out.returncode == 2
    assert "line 1: mediaio.imagen_4: missing the required parameter prompt" in out.stderr
    assert not (tmp_path / "mediagen-output").exists()


def test_batch_json_lists_every_invalid_line(tmp_path: Path) -> None:
    """The one-line message names the first five invalid lines and how many more; `--json`'s
    error carries every one in `problems`, so a file is fixed in one go."""
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        "".join(
            json.dumps({"provider": "mediaio", "operation": "imagen_4", "params": {"n": n}}) + "\n"
            for n in range(7)
        ),
        encoding="utf-8",
    )
    text = mediagen_main("batch", str(bad), cwd=tmp_path)
    assert text.returncode == 2
    assert text.stderr.rstrip().endswith("; and 2 more")
    out = mediagen_main("batch", str(bad), "--json", cwd=tmp_path)
    assert out.returncode == 2
    error = json.loads(out.stdout)["error"]
    assert error["type"] == "BatchInputError"
    assert [p.split(":")[0] for p in error["problems"]] == [f"line {n}" for n in range(1, 8)]
    assert not (tmp_path / "mediagen-output").exists()


# -- input that cannot run: one line naming the file and line, exit 2, nothing sent ------------

IMAGEN = '{"provider": "mediaio", "operation": "imagen_4", "params": {"prompt": "ok"}}\n'


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ((IMAGEN + "\xff\xfe binary\n").encode("latin-1"), "line 2: not UTF-8 text"),
        (IMAGEN.encode() + b"[" * 100_000, "line 2: nested too deeply"),
        *(
            (
                f'{{"provider": "mediaio", "operation": "credits", "params": {p}}}'.encode(),
                f"line 1: params must be a JSON object (or left out), not {p}",
            )
            for p in ("[]", "0", '""', "false", "null")
        ),
    ],
    ids=["binary", "deep", "list", "zero", "empty-string", "false", "null"],
)
def test_a_batch_file_that_cannot_run_is_a_one_line_error(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    content: bytes,
    expected: str,
) -> None:
    from mediagen.cli import main

    monkeypatch.chdir(tmp_path)
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_bytes(content)
    journal = tmp_path / "j.sqlite3"
    assert main(["batch", str(jobs), "--journal", str(journal)]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"mediagen: error: {jobs}: ") and expected in line
    assert not journal.exists()  # nothing journaled, so nothing sent


LINE = b'{"provider": "mediaio", "operation": "imagen_4", "params": {"prompt": "x"}}\n'


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("/dev/zero", "line 1 is longer than 1048576 bytes, the limit per line"),
        ("long-line", "line 3 is longer than 1048576 bytes, the limit per line"),
        ("big-file", "larger than 4096 bytes, the limit per batch file; split it"),
    ],
)
def test_a_batch_file_over_its_size_limits_is_refused_before_anything(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    source: str,
    expected: str,
) -> None:
    """`mediagen batch /dev/zero` used to read without end (3.4 GB in 6 s): the file and each
    line are capped (mediagen.defaults), read in chunks, and nothing is sent."""
    from mediagen.cli import main
    from mediagen.defaults import MAX_BATCH_LINE_BYTES

    monkeypatch.chdir(tmp_path)
    if source == "/dev/zero" and not Path(source).exists():
        pytest.skip("no /dev/zero here")
    path = Path(source) if source.startswith("/") else tmp_path / f"{source}.jsonl"
    if source == "long-line":
        path.write_bytes(LINE * 2 + b" " * MAX_BATCH_LINE_BYTES + LINE)
    elif source == "big-file":
        monkeypatch.setattr("mediagen.batch.MAX_BATCH_FILE_BYTES", 4096)  # a big file, cheaply
        path.write_bytes(LINE * (4096 // len(LINE) + 1))
    journal = tmp_path / "j.sqlite3"
    assert main(["batch", str(path), "--journal", str(journal)]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line == f"mediagen: error: {path}: {expected}; nothing was sent"
    assert not journal.exists()  # nothing journaled, so nothing sent


# -- a re-run of the same batch adopts its earlier items: nothing is paid for twice ------------


def test_a_cancelled_batch_rerun_with_its_key_submits_each_item_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    batch = [BatchItem("mediaio", "imagen_4", {"prompt": f"cat {i}"}) for i in range(4)]
    batch.append(BatchItem("mediaio", "imagen_4", {"prompt": "cat 0"}))  # identical: two items

    async def go() -> None:
        async with (
            Emulator(duration=0.2) as emu,
            mediagen.AsyncClient(
                **{**emu.client_options(), "journal": tmp_path / "j.sqlite3"}
            ) as client,
        ):
            run = asyncio.current_task()

            def cancel_after_the_second_submit(index: int, state: str) -> None:
                if index == 1 and state == "queued":  # one at a time: nothing else in flight
                    run.cancel()  # type: ignore[union-attr]

            with caplog.at_level("WARNING", "mediagen"), pytest.raises(asyncio.CancelledError):
                await client.batch(
                    batch, key="jobs", concurrency=1, on_update=cancel_after_the_second_submit
                )
            assert "3 of 5 item(s) were never sent" in caplog.text
            run.uncancel()  # type: ignore[union-attr]
            assert len(emu.requests_for("mediaio", "submit")) == 2
            outcomes = await client.batch(batch, key="jobs", output=tmp_path / "out")
            assert [o.state for o in outcomes] == ["succeeded"] * 5
            assert len(emu.requests_for("mediaio", "submit")) == 5  # each item once in total
            assert len({o.task_id for o in outcomes}) == 5
            again = await client.batch(batch, key="jobs", output=tmp_path / "out")
            assert [o.state for o in again] == ["succeeded"] * 5
            assert [o.task_id for o in again] == [o.task_id for o in outcomes]
            assert len(emu.requests_for("mediaio", "submit")) == 5  # a finished batch: free
            assert len(list((tmp_path / "out").iterdir())) == 5  # no file fetched twice
            other = await client.batch(batch[:1], key="other-file")
            assert other[0].ok and len(emu.requests_for("mediaio", "submit")) == 6

    asyncio.run(go())
    assert len(Journal(tmp_path / "j.sqlite3").entries()) == 6


def test_a_rerun_never_resubmits_an_item_whose_submit_answer_was_lost(tmp_path: Path) -> None:
    batch = [BatchItem("mediaio", "imagen_4", {"prompt": "x"})]

    async def go() -> None:
        async with (
            Emulator(duration=0.05) as emu,
            mediagen.AsyncClient(
                **{**emu.client_options(), "journal": tmp_path / "j.sqlite3"}
            ) as client,
        ):
            emu.inject(Fault("reset_after", provider="mediaio", phase="submit"))
            (first,) = await client.batch(batch, key="jobs")
            assert first.state == "unknown"
            (second,) = await client.batch(batch, key="jobs")
            assert second.state == "unknown" and "not sent again" in str(second.error)
            assert len(emu.requests_for("mediaio", "submit")) == 1

    asyncio.run(go())


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT")
def test_an_interrupted_batch_file_run_again_submits_each_item_once(tmp_path: Path) -> None:
    import contextlib
    import os
    import signal
    import sqlite3
    import time

    from mediagen.testing import EMULATOR_CREDENTIALS, EmulatorThread

    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(
        "".join(
            json.dumps({"provider": "mediaio", "operation": "imagen_4", "params": {"prompt": p}})
            + "\n"
            for p in ("a", "b", "c")
        ),
        encoding="utf-8",
    )
    journal = tmp_path / "j.sqlite3"
    with EmulatorThread(duration=0.5) as emu:
        env = {
            **os.environ,
            "MEDIAGEN_JOURNAL": str(journal),
            "MEDIAIO_API_KEY": EMULATOR_CREDENTIALS["mediaio"]["api_key"],
            "MEDIAGEN_MEDIAIO_BASE_URL": emu.base_urls["mediaio"],
        }
        command = [sys.executable, "-m", "mediagen", "batch", str(jobs), "--concurrency", "1"]
        proc = subprocess.Popen(
            command,
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            preexec_fn=default_sigint,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the first item waits at the vendor, no submit flies
            if len(emu.requests_for("mediaio", "submit")) == 1 and journal.exists():
                with contextlib.closing(sqlite3.connect(journal, timeout=5)) as db:
                    states = sorted(s for (s,) in db.execute("SELECT state FROM tasks"))
                if states in (["planned", "planned", "queued"], ["planned", "planned", "running"]):
                    break
            time.sleep(0.01)
        else:
            proc.kill()
            pytest.fail("the batch never reached the interrupt point")
        os.kill(proc.pid, signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
        assert proc.returncode == 130, stderr
        assert b"2 planned" in stderr and b"again" in stderr

        rerun = subprocess.run(
            [*command[:-2], "--concurrency", "3", "--json"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert rerun.returncode == 0, rerun.stderr
        assert [json.loads(x)["state"] for x in rerun.stdout.splitlines()] == ["succeeded"] * 3
        assert len(emu.requests_for("mediaio", "submit")) == 3  # each item submitted once
        # (A finished batch run again costs nothing: the library test above proves it.)


def test_json_lines_end_at_newlines_only() -> None:
    """JSON allows a raw U+2028 (or U+0085, U+001C...) inside a string: it is not a line end."""
    prompts = ["a\u2028b", "c\x85d", "e\x1cf"]
    data = "".join(
        json.dumps(
            {"provider": "mediaio", "operation": "imagen_4", "params": {"prompt": p}},
            ensure_ascii=False,
        )
        + "\r\n"
        for p in prompts
    ).encode()
    lines = decode_lines(data, "b.jsonl")
    assert len(lines) == 3
    assert [item.params["prompt"] for item in parse_jsonl(lines, "b.jsonl")] == prompts
    with pytest.raises(BatchInputError, match="line 4: not JSON"):  # numbered by \n alone
        parse_jsonl(decode_lines(data + b"{oops\n", "b.jsonl"), "b.jsonl")
