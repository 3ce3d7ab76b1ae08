"""A provider from another distribution works everywhere a built-in one does.

`mediagen-acme` (tests/plugins/acme) is installed with pip and found through its entry point;
nothing in mediagen's own catalog or generated package knows about it.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

import mediagen
from mediagen import registry as registry_module
from mediagen.cli import main
from mediagen.errors import AuthenticationError
from mediagen.plugin import CatalogTaskStrategy, Operation, PollSchedule, Provider, hookimpl
from mediagen.registry import Registry
from mediagen.testing import Emulator, EmulatorThread

from .acme_server import ACME_KEY, AcmeServer


class QuickPolls(CatalogTaskStrategy):
    def poll_schedule(self, op: Operation) -> PollSchedule:
        return PollSchedule(initial=0.01, maximum=0.05, jitter=0.0)


class QuickPollsPlugin:
    """Overrides one strategy of the contributed provider, as a plugin may for a built-in."""

    @hookimpl
    def mediagen_task_strategy(self, provider: Provider) -> QuickPolls | None:
        return QuickPolls(provider) if provider.name == "acme" else None


@pytest.fixture
def cli_against(acme: Path, acme_server: AcmeServer, monkeypatch: pytest.MonkeyPatch) -> AcmeServer:
    """The CLI's default registry (acme + quick polls) pointed at the local Acme server."""
    registry = Registry()
    registry.register(QuickPollsPlugin(), name="quick-polls")
    monkeypatch.setattr(registry_module, "_default", registry)
    monkeypatch.setenv("MEDIAGEN_ACME_BASE_URL", acme_server.url)
    monkeypatch.setenv("ACME_TOKEN", ACME_KEY)
    return acme_server


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_the_entry_point_contributes_acme_and_names_its_distribution(acme: Path) -> None:
    registry = Registry()
    contribution = registry.contribution("acme")
    assert (contribution.plugin, contribution.distribution) == ("acme", "mediagen-acme")
    assert contribution.generated == "acme_mediagen.generated"
    assert [p.name for p in registry.catalog.providers] == [
        "edrawmax",
        "mediaio",
        "tomoviee",
        "acme",
    ]
    info = next(p for p in registry.plugins() if p.name == "acme")
    assert (info.distribution, info.version, info.builtin) == ("mediagen-acme", "0.1.0", False)
    assert registry.model_for("acme.render").OPERATION == "acme.render"


def test_the_suite_does_not_load_installed_plugins(acme_installed: Path, tmp_path: Path) -> None:
    """acme is installed in this environment, yet tests that do not opt in never see it."""
    assert importlib.metadata.distribution("mediagen-acme").version == "0.1.0"
    assert "acme" not in Registry().plugin_names()
    listed = subprocess.run(
        [sys.executable, "-m", "mediagen", "list"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listed.returncode == 0 and listed.stderr == ""
    assert "acme." not in listed.stdout and "mediaio.imagen_4" in listed.stdout


def test_the_allow_list_applies_to_contributed_providers(
    acme: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MEDIAGEN_PLUGINS", "")
    assert "acme" not in {p.name for p in Registry().catalog.providers}
    code, _, err = run_cli(capsys, "list", "acme")
    assert code == 2 and "no provider 'acme'" in err


def test_client_provider_and_attribute_access_on_both_clients(acme: Path) -> None:
    from acme_mediagen.generated import ACME  # installed by the fixture

    async def go() -> None:
        async with (
            Emulator(registry=Registry()) as emu,
            mediagen.AsyncClient(**emu.client_options()) as client,
        ):
            endpoints = client.provider(ACME)
            assert endpoints is client.provider("acme") is client.acme
            assert type(endpoints).__name__ == "AsyncAcme"
            task = await endpoints.render(prompt="a red kite", count=2, style="poster")
            result = await task.wait()
            assert result.provider == "acme" and result.artifacts
            assert {a.kind for a in result.artifacts} == {"image"}

    asyncio.run(go())
    with (
        EmulatorThread(registry=Registry()) as emu,
        mediagen.Client(**emu.client_options()) as client,
    ):
        assert type(client.acme).__name__ == "Acme"
        result = client.provider(ACME).narrate(text="hello").wait()
        assert [a.kind for a in result.artifacts] == ["audio"]
        with pytest.raises(AttributeError, match="'nosuchprovider'"):
            _ = client.nosuchprovider


def test_emulator_client_options_never_reach_a_real_acme_host(
    acme: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACME_TOKEN", "a-real-looking-key")
    with EmulatorThread(registry=Registry()) as emu:
        options = emu.client_options()
        assert set(options["base_urls"]) == {"edrawmax", "mediaio", "tomoviee", "acme"}
        assert all(url.startswith(emu.url) for url in options["base_urls"].values())
        fake = options["credentials"]["acme"]["token"]
        assert fake.startswith("emulator-") and fake != "a-real-looking-key"
        with mediagen.Client(**options) as client:
            client.acme.render(prompt="x").wait()
        (submit,) = emu.requests_for("acme", "submit")
        assert submit.headers["Authorization"] == f"Bearer {fake}"


def test_list_and_describe(acme: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "list", "--json")
    assert code == 0
    assert {"acme.render", "acme.narrate"} <= {
        f"{r['provider']}.{r['operation']}" for r in json.loads(out)
    }
    code, out, _ = run_cli(capsys, "describe", "acme", "render")
    assert code == 0
    assert "acme.render: Render (Acme Media)" in out
    assert "allowed: photo, sketch, poster" in out


def test_run_against_a_real_local_server(
    cli_against: AcmeServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out_dir = tmp_path / "out"
    code, out, err = run_cli(
        capsys,
        "run",
        "acme",
        "render",
        "prompt=a kite",
        "count=3",
        "--json",
        "--output",
        str(out_dir),
    )
    assert code == 0, err
    doc = json.loads(out)
    assert (doc["provider"], doc["state"]) == ("acme", "succeeded")
    assert len(doc["artifacts"]) == 3
    assert all(Path(a["path"]).read_bytes().startswith(b"\x89PNG") for a in doc["artifacts"])
    method, path, headers, body = cli_against.requests[0]
    assert (method, path, body) == (
        "POST",
        "/v1/render",
        {"prompt": "a kite", "count": 3},  # as written: the vendor applies its defaults
    )
    assert headers["Authorization"] == f"Bearer {ACME_KEY}"
    assert {(m, p) for m, p, _, _ in cli_against.requests[1:]} == {
        ("GET", f"/v1/jobs/{doc['task_id']}")
    }


def test_a_bad_key_is_an_authentication_error(
    cli_against: AcmeServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACME_TOKEN", "wrong")
    code, _, err = run_cli(capsys, "run", "acme", "narrate", "text=hi")
    assert code == 1
    assert "unauthorized" in err and "wrong" not in err
    with (
        mediagen.Client(registry=registry_module.default_registry()) as client,
        pytest.raises(AuthenticationError),
    ):
        client.acme.narrate(text="hi")


def test_an_unknown_job_is_not_found(
    cli_against: AcmeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(capsys, "wait", "acme", "render", "job-404", "--json")
    assert code == 1
    doc = json.loads(out)
    assert doc["error"]["type"] == "NotFoundError" and "no job job-404" in doc["error"]["message"]
    assert "no job job-404" in err


def test_run_emulate(acme: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run_cli(
        capsys,
        "run",
        "acme",
        "narrate",
        "text=hi",
        "--emulate",
        "--json",
        "--output",
        str(tmp_path),
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["state"] == "succeeded" and doc["raw"]["status"] == "done"
    assert doc["artifacts"][0]["kind"] == "audio"


def test_wait_tasks_and_resume(
    cli_against: AcmeServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = run_cli(capsys, "run", "acme", "render", "prompt=one", "--no-wait")
    assert code == 0, err
    first = out.strip()
    code, out, err = run_cli(capsys, "run", "acme", "render", "prompt=two", "--no-wait")
    second = out.strip()

    code, out, err = run_cli(
        capsys, "wait", "acme", "render", first, "--json", "--output", str(tmp_path)
    )
    assert code == 0, err
    assert json.loads(out)["task_id"] == first

    code, out, _ = run_cli(capsys, "tasks", "--json")
    entries = {e["task_id"]: e for e in json.loads(out)}
    assert entries[first]["provider"] == "acme" and entries[first]["state"] == "succeeded"
    assert entries[second]["state"] == "queued"

    code, out, err = run_cli(capsys, "resume", "--json", "--output", str(tmp_path))
    assert code == 0, err
    (resumed,) = [json.loads(line) for line in out.splitlines()]
    assert (resumed["task_id"], resumed["state"]) == (second, "succeeded")


def test_batch(cli_against: AcmeServer, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    lines = [
        {"provider": "acme", "operation": "render", "params": {"prompt": "a", "count": 1}},
        {"provider": "acme", "operation": "narrate", "params": {"text": "b"}},
        {"provider": "edrawmax", "operation": "flowchart", "params": {"prompt": 3}},
    ]
    batch = tmp_path / "batch.jsonl"
    batch.write_text("\n".join(json.dumps(line) for line in lines[:2]), encoding="utf-8")
    code, out, err = run_cli(capsys, "batch", str(batch), "--json", "--output", str(tmp_path))
    assert code == 0, err
    outcomes = [json.loads(line) for line in out.splitlines()]
    assert [(o["operation"], o["state"]) for o in outcomes] == [
        ("render", "succeeded"),
        ("narrate", "succeeded"),
    ]
    batch.write_text(
        json.dumps({"provider": "acme", "operation": "render", "params": {"count": 9}}),
        encoding="utf-8",
    )
    code, _, err = run_cli(capsys, "batch", str(batch))
    assert code == 2 and "acme.render" in err


def test_plugins_command_names_the_distribution_providers_and_overrides(
    cli_against: AcmeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(capsys, "plugins", "--json")
    assert code == 0
    plugins = {p["name"]: p for p in json.loads(out)["plugins"]}
    assert plugins["acme"] == {
        "name": "acme",
        "distribution": "mediagen-acme",
        "version": "0.1.0",
        "builtin": False,
        "providers": ["acme"],
        "overrides": [],
        "problems": [],
    }
    assert plugins["quick-polls"]["overrides"] == [
        {"provider": "acme", "strategy": "task", "replaces": "acme"}
    ]
    code, out, _ = run_cli(capsys, "plugins")
    assert "acme (mediagen-acme 0.1.0)" in out
    assert "overrides acme.task (replacing acme's)" in out


def test_emulate_serves_acme(acme: Path, tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "mediagen", "emulate", "--port", "0"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "MEDIAGEN_PLUGINS": "acme"},
    )
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        while not lines or lines[-1] not in ("", "Ctrl-C to stop.\n"):  # "": it exited
            lines.append(proc.stdout.readline())
        exports = dict(
            part.split("=", 1)
            for line in lines
            if line.strip().startswith("export ")
            for part in line.split()[1:]
        )
        url, token = exports["MEDIAGEN_ACME_BASE_URL"], exports["ACME_TOKEN"]
        request = urllib.request.Request(
            f"{url}/v1/render",
            data=b'{"prompt": "a kite"}',
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert set(json.loads(response.read())) == {"id"}  # no envelope
    finally:
        proc.terminate()
        proc.wait(timeout=10)
