"""`mediagen run / wait / demo / plugins / emulate`: each command at least once as its own
process, the way a person runs it; other cases through its main() in this process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_zygote import Zygote
from helpers import mediagen_main, mediagen_process

from mediagen import __version__
from mediagen.testing import EMULATOR_CREDENTIALS, Emulator, EmulatorThread, Fault
from mediagen.testing.artifacts import sniff

pytestmark = pytest.mark.usefixtures("loopback_children")  # children skip the CA bundle


def test_run_json_against_the_in_process_emulator(tmp_path: Path) -> None:
    out = mediagen_process(
        "run", "mediaio", "imagen_4", "prompt=a cat", "--emulate", "--json", cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr
    (line,) = out.stdout.splitlines()
    doc = json.loads(line)
    assert set(doc) == {"provider", "operation", "task_id", "state", "artifacts", "raw", "error"}
    assert doc["error"] is None
    assert (doc["provider"], doc["operation"], doc["state"]) == ("mediaio", "imagen_4", "succeeded")
    (artifact,) = doc["artifacts"]
    path = Path(artifact["path"])
    assert path.parent == tmp_path / "mediagen-output"
    assert artifact["kind"] == "image" and sniff(path.read_bytes()) == "png"
    assert doc["raw"]["status"] == "completed"


def test_run_sync_and_query_operations(tmp_path: Path) -> None:
    out = mediagen_main(
        "run",
        "edrawmax",
        "flowchart",
        "prompt=login",
        "lang=en",
        "--emulate",
        "--json",
        "--output",
        "diagrams",
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["task_id"] is None and doc["state"] == "succeeded"
    # Every file written is listed: the two images and the Mermaid source.
    assert sorted(Path(a["path"]).suffix for a in doc["artifacts"]) == [".mmd", ".png", ".svg"]
    assert sorted(p.suffix for p in (tmp_path / "diagrams").iterdir()) == [".mmd", ".png", ".svg"]
    assert [a["kind"] for a in doc["artifacts"] if a["url"] is None] == ["source"]
    assert (tmp_path / "diagrams").is_dir()
    credits = mediagen_main("run", "mediaio", "credits", "--emulate", "--json", cwd=tmp_path)
    assert json.loads(credits.stdout)["raw"] == {"credits": 1000}


def test_run_with_array_params_and_a_human_summary(tmp_path: Path) -> None:
    out = mediagen_main(
        "run",
        "mediaio",
        "nano_banana",
        "prompt=merge",
        "images=https://x.test/a.png",
        "images=https://x.test/b.png",
        "--emulate",
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert "mediaio.nano_banana succeeded (task " in out.stdout
    assert "mediagen-output/nano_banana-" in out.stdout


def test_validation_error_is_one_line_and_nothing_is_sent(tmp_path: Path) -> None:
    out = mediagen_process(
        "run",
        "mediaio",
        "imagen_4",
        "prompt=a cat",
        "ratio=7:7",
        "--emulate",
        "--json",
        cwd=tmp_path,
    )
    assert out.returncode == 2
    doc = json.loads(out.stdout)  # --json prints its one object, errors before the network too
    assert (doc["state"], doc["error"]["type"], doc["error"]["operation"]) == (
        "rejected",
        "ParamError",
        "imagen_4",
    )
    assert out.stderr.strip() == (
        "mediagen: error: mediaio.imagen_4: ratio='7:7' is not accepted; allowed: '9:16', '16:9', '1:1', '4:3', '3:4'"
    )
    too_many = mediagen_main(
        "run",
        "mediaio",
        "nano_banana",
        "prompt=p",
        f"images={json.dumps(['u'] * 10)}",
        cwd=tmp_path,
    )
    assert (
        too_many.returncode == 2
        and "images has 10 items; allowed: at most 9 items" in too_many.stderr
    )
    unknown = mediagen_main("run", "tomoviee", "text_to_video", "promt=x", cwd=tmp_path)
    assert unknown.returncode == 2 and "unknown parameter promt" in unknown.stderr


def test_missing_credentials_name_the_variable(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("API_KEY", "MEDIAIO_API_KEY")}
    out = mediagen_main("run", "mediaio", "imagen_4", "prompt=x", cwd=tmp_path, base_env=env)
    assert out.returncode == 2
    assert "set MEDIAIO_API_KEY or API_KEY for mediaio" in out.stderr


@pytest.fixture
def emulator_env() -> Iterator[tuple[Emulator, dict[str, str]]]:
    with EmulatorThread(duration=0.5) as emu:
        env = {f"MEDIAGEN_{p.upper()}_BASE_URL": url for p, url in emu.base_urls.items()}
        env["MEDIAIO_API_KEY"] = EMULATOR_CREDENTIALS["mediaio"]["api_key"]
        env["TOMOVIEE_APP_KEY"] = EMULATOR_CREDENTIALS["tomoviee"]["app_key"]
        env["TOMOVIEE_APP_SECRET"] = EMULATOR_CREDENTIALS["tomoviee"]["app_secret"]
        yield emu, env


def test_no_wait_then_wait_in_another_process(
    emulator_env: tuple[Emulator, dict[str, str]], tmp_path: Path
) -> None:
    emu, env = emulator_env
    submitted = mediagen_main(
        "run",
        "tomoviee",
        "text_to_video",
        "prompt=a boat",
        "--no-wait",
        "--json",
        cwd=tmp_path,
        env=env,
    )
    assert submitted.returncode == 0, submitted.stderr
    doc = json.loads(submitted.stdout)
    assert doc["state"] == "queued" and doc["artifacts"] == []
    task_id = doc["task_id"]
    waited = mediagen_process(
        "wait", "tomoviee", "text_to_video", task_id, "--json", cwd=tmp_path, env=env
    )
    assert waited.returncode == 0, waited.stderr
    done = json.loads(waited.stdout)
    assert (done["task_id"], done["state"]) == (task_id, "succeeded")
    assert sniff(Path(done["artifacts"][0]["path"]).read_bytes()) == "mp4"
    assert len(emu.requests_for("tomoviee", "submit")) == 1


def test_wait_reports_a_failed_task(
    emulator_env: tuple[Emulator, dict[str, str]], tmp_path: Path
) -> None:
    emu, env = emulator_env
    emu.set_outcome("tomoviee.image_recognition", "failed", reason="no subject found")
    out = mediagen_main(
        "run",
        "tomoviee",
        "image_recognition",
        "image=https://x.test/a.png",
        "--json",
        cwd=tmp_path,
        env=env,
    )
    assert out.returncode == 1
    assert json.loads(out.stdout)["state"] == "failed"
    assert "no subject found" in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_demo(tmp_path: Path) -> None:
    # In this process: `demo`'s own process is test_cli_polish's, in a terminal.
    out = mediagen_main("demo", "--output", "demo-out", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    files = sorted(p.suffix for p in (tmp_path / "demo-out").iterdir())
    assert files == [".mmd", ".mp4", ".png", ".png", ".svg"]
    for label in ("mediaio.imagen_4", "tomoviee.text_to_video", "edrawmax.flowchart"):
        assert label in out.stdout


def test_plugins_command(tmp_path: Path) -> None:
    out = mediagen_process("plugins", "--json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert [p["name"] for p in doc["plugins"]][:3] == ["mediaio", "tomoviee", "edrawmax"]
    assert doc["plugins"][0] == {
        "name": "mediaio",
        "distribution": "mediagen",
        "version": __version__,
        "builtin": True,
        "providers": ["mediaio"],
        "overrides": [],
        "problems": [],
    }
    row = next(
        r for r in doc["strategies"] if r["provider"] == "mediaio" and r["strategy"] == "results"
    )
    assert row == {
        "provider": "mediaio",
        "strategy": "results",
        "plugin": "mediaio",
        "class": "mediagen.protocol.CatalogResults",
    }


def test_emulate_serves_until_stopped(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "mediagen", "emulate", "--port", "0"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("mediagen emulator on http://127.0.0.1:")
        url = first.split()[3].rstrip(";")
        deadline = time.monotonic() + 10
        body = None
        while body is None and time.monotonic() < deadline:
            req = urllib.request.Request(
                f"{url}/edrawmax/skills/generate-mindmap",
                data=b'{"prompt": "x"}',
                headers={"Content-Type": "application/json"},
                method="POST",
            )
            with urllib.request.urlopen(req, timeout=5) as resp:
                body = json.loads(resp.read())
        assert body is not None and body["code"] == 0 and body["data"]["png_url"].startswith(url)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.parametrize("flags", [[], ["--no-poll-hints"]], ids=["hints", "no-hints"])
def test_emulate_can_leave_polling_to_the_client(
    tmp_path: Path, flags: list[str], cli_zygote: Zygote
) -> None:
    """With --no-poll-hints the emulator sends no Retry-After, so a plugin's own poll schedule
    is what a client follows (the library's Emulator(poll_hint=None)). The server is forked
    from the CLI zygote (test_emulate_serves_until_stopped starts `emulate` on its own)."""
    from mediagen.testing import EMULATOR_CREDENTIALS

    read_end, write_end = os.pipe()
    with open(write_end, "wb") as out, open(os.devnull, "wb") as err:
        proc = cli_zygote.start(
            *("emulate", "--port", "0", *flags),
            cwd=tmp_path,
            env=os.environ,
            stdout=out,
            stderr=err,
        )
    lines = open(read_end, encoding="utf-8")  # noqa: SIM115 (open while the server runs)
    try:
        url = lines.readline().split()[3].rstrip(";")
        req = urllib.request.Request(
            f"{url}/mediaio/generation/imagen/t2i-imagen-4",
            data=b'{"data": {"prompt": "x"}}',
            headers={
                "Content-Type": "application/json",
                "X-API-KEY": EMULATOR_CREDENTIALS["mediaio"]["api_key"],
            },
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=5) as resp:
            assert json.loads(resp.read())["code"] == 0
            assert (resp.headers.get("Retry-After") is None) == bool(flags)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        lines.close()


def test_json_keeps_its_promise_when_a_submit_fails(
    emulator_env: tuple[Emulator, dict[str, str]], tmp_path: Path
) -> None:
    emu, env = emulator_env
    emu.inject(Fault("status", provider="mediaio", phase="submit", status=502))
    out = mediagen_main("run", "mediaio", "imagen_4", "prompt=x", "--json", cwd=tmp_path, env=env)
    assert out.returncode == 1
    doc = json.loads(out.stdout)
    # A lost submit answer is "unknown", as in `tasks` and batch, and the error says why.
    assert (doc["state"], doc["task_id"], doc["artifacts"]) == ("unknown", None, [])
    assert doc["error"]["type"] == "SubmitOutcomeUnknownError"
    assert "may have created the task" in out.stderr


def test_operational_errors_are_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    out = mediagen_main(
        "run",
        "edrawmax",
        "flowchart",
        "prompt=x",
        "--emulate",
        "--output",
        str(blocker),
        cwd=tmp_path,
    )
    assert out.returncode == 2  # refused before anything is sent
    assert (
        out.stderr.count("\n") == 1
        and "mediagen: error:" in out.stderr
        and "Traceback" not in out.stderr
    )
    bad_log = mediagen_main("list", cwd=tmp_path, env={"MEDIAGEN_LOG": "verbose"})
    assert bad_log.returncode == 2 and "allowed: debug, info, warning, error" in bad_log.stderr
