"""The running `mediagen emulate` process, driven purely over HTTP (urllib, no mediagen API):
every failure kind set through the admin API, one through `--scenario FILE`, bad scenarios
refused with a clear error."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import NO_CA_BUNDLE

from mediagen.cli import main

MEDIAIO_KEY = "emulator-mediaio-api_key"
TOMOVIEE = {
    "X-App-Key": "emulator-tomoviee-app_key",
    "Authorization": "Basic "
    + base64.b64encode(b"emulator-tomoviee-app_key:emulator-tomoviee-app_secret").decode(),
}
MEDIAIO = {"X-API-KEY": MEDIAIO_KEY}


class Answer:
    def __init__(self, status: int, headers: Any, body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    url: str, method: str = "GET", body: Any = None, headers: dict[str, str] | None = None
) -> Answer:
    data = None if body is None else body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if data is not None and not isinstance(body, bytes):
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return Answer(response.status, response.headers, response.read())
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, exc.headers, exc.read())


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEDIAGEN_", "MEDIAIO_"))}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(NO_CA_BUNDLE)  # it serves plain HTTP on loopback
    return env


def start(*args: str) -> tuple[subprocess.Popen[str], str]:
    """`mediagen emulate --port 0 ARGS` and the URL it prints."""
    command = [sys.executable, "-m", "mediagen", "emulate", "--port", "0", *args]
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
        cwd=tempfile.gettempdir(),  # not the checkout: its mediagen/ folder lacks the catalog
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    found = re.search(r"on (http://\S+);", line)
    if not found:
        proc.kill()
        raise AssertionError(f"no URL in {line!r}: {proc.communicate()[1]}")
    return proc, found.group(1)


def stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    proc.communicate(timeout=20)


SCENARIO = (
    "duration: 0\n"
    "rules:\n"
    "  - {provider: edrawmax, fault: vendor_code, code: 3001, times: 2}\n"
    "  - {operation: tomoviee.text_to_sound_effect, outcome: failed, reason: too loud}\n"
)


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One `mediagen emulate --scenario FILE`; each test starts from that file's scenario."""
    scenario = tmp_path_factory.mktemp("scenario") / "scenario.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    proc, base = start("--duration", "5", "--scenario", str(scenario))
    try:
        yield base
    finally:
        stop(proc)


@pytest.fixture(autouse=True)
def fresh(url: str) -> None:
    assert call(f"{url}/__mediagen__/reset", "POST").status == 200


def rule(url: str, doc: dict[str, Any]) -> dict[str, Any]:
    answer = call(f"{url}/__mediagen__/rules", "POST", doc)
    assert answer.status == 201, answer.body
    return dict(answer.json())


def submit_imagen(url: str) -> Answer:
    return call(
        f"{url}/mediaio/generation/imagen/t2i-imagen-4", "POST", {"data": {"prompt": "x"}}, MEDIAIO
    )


def poll_mediaio(url: str, task_id: str) -> dict[str, Any]:
    answer = call(f"{url}/mediaio/generation/result/{task_id}", "POST", {}, MEDIAIO)
    return dict(answer.json())


def submit_music(url: str) -> Answer:
    body = {"prompt": "calm", "duration": 10, "qty": 1}
    return call(
        f"{url}/tomoviee/v1/open/capacity/application/tm_text2music", "POST", body, TOMOVIEE
    )


@pytest.mark.parametrize(("state", "word"), [("failed", "failed"), ("timed_out", "timeout")])
def test_mediaio_outcomes(url: str, state: str, word: str) -> None:
    rule(url, {"operation": "mediaio.imagen_4", "outcome": state, "reason": "nsfw"})
    task_id = submit_imagen(url).json()["data"]["task_id"]
    data = poll_mediaio(url, task_id)["data"]
    assert (data["status"], data["reason"]) == (word, "nsfw")
    # The rule was used once: the next task succeeds.
    task_id = submit_imagen(url).json()["data"]["task_id"]
    assert poll_mediaio(url, task_id)["data"]["status"] == "completed"


def test_tomoviee_cancelled_with_a_code_and_data(url: str) -> None:
    rule(url, {"provider": "tomoviee", "outcome": "cancelled", "reason": "user", "code": 1})
    task_id = submit_music(url).json()["data"]["task_id"]
    body = call(f"{url}/tomoviee/v1/open/pub/task", "POST", {"task_id": task_id}, TOMOVIEE).json()
    assert body["code"] == 1 and body["msg"] == "user"
    assert (body["data"]["status"], body["data"]["task_id"]) == (5, task_id)


def test_vendor_code_with_the_vendors_message(url: str) -> None:
    rule(url, {"provider": "mediaio", "phase": "submit", "fault": "vendor_code", "code": 490505})
    body = submit_imagen(url).json()
    assert (body["code"], body["msg"]) == (490505, "insufficient credits")


def test_429_with_retry_after(url: str) -> None:
    rule(url, {"provider": "tomoviee", "fault": "status", "status": 429, "retry_after": 3})
    answer = submit_music(url)
    assert answer.status == 429 and answer.headers["Retry-After"] == "3"
    assert answer.json() == {"code": 429, "msg": "Too Many Requests", "data": {}}
    assert submit_music(url).status == 200


@pytest.mark.parametrize("kind", ["malformed", "truncated"])
def test_bad_bodies(url: str, kind: str) -> None:
    rule(url, {"provider": "mediaio", "phase": "submit", "fault": kind})
    answer = submit_imagen(url)
    assert answer.status == 200
    with pytest.raises(ValueError):
        json.loads(answer.body)


def test_slow_answer_is_used_up(url: str) -> None:
    rule(url, {"provider": "mediaio", "phase": "submit", "fault": "slow", "delay": 0.2})
    assert submit_imagen(url).json()["code"] == 0
    rules = call(f"{url}/__mediagen__/scenario").json()["rules"]
    assert rules[-1] == {
        "fault": "slow",
        "provider": "mediaio",
        "phase": "submit",
        "delay": 0.2,
        "times": 0,
    }


def test_scenario_put_get_delete_and_status_words(url: str) -> None:
    doc = "status_words: {mediaio: {queued: pending, succeeded: succeeded}}\nduration: 0\n"
    put = call(f"{url}/__mediagen__/scenario", "PUT", doc.encode())
    assert put.status == 200 and put.json()["status_words"]["mediaio"]["succeeded"] == "succeeded"
    task_id = submit_imagen(url).json()["data"]["task_id"]
    assert poll_mediaio(url, task_id)["data"]["status"] == "succeeded"
    assert call(f"{url}/__mediagen__/scenario", "DELETE").json()["status_words"] == {}
    assert call(f"{url}/__mediagen__/scenario").json()["duration"] == 0
    task_id = submit_imagen(url).json()["data"]["task_id"]
    assert poll_mediaio(url, task_id)["data"]["status"] == "completed"


@pytest.mark.parametrize(
    ("doc", "words"),
    [
        ({"provider": "mediaio", "fault": "slowly"}, "'slowly' is not a fault; allowed: status,"),
        (
            {"provider": "mediaio", "outcome": "cancelled"},
            "'cancelled' is not an outcome mediaio reports; allowed: failed, succeeded, timed_out",
        ),
        ({"operation": "mediaio.nope", "outcome": "failed"}, "'mediaio.nope' is not an operation"),
        (
            {"provider": "nosuch", "fault": "reset"},
            "'nosuch' is not a provider; allowed: edrawmax,",
        ),
        ({"fault": "reset", "times": 0}, "rule.times: 0; allowed: a whole number in 1..1000000"),
        ({"fault": "reset", "tims": 2}, "unknown key 'tims'; allowed: provider, operation"),
    ],
)
def test_bad_rules_are_refused_with_what_is_allowed(
    url: str, doc: dict[str, Any], words: str
) -> None:
    answer = call(f"{url}/__mediagen__/rules", "POST", doc)
    assert answer.status == 400
    assert words in answer.json()["error"]
    assert len(call(f"{url}/__mediagen__/scenario").json()["rules"]) == 2  # the file's


def test_bad_admin_calls(url: str) -> None:
    answer = call(f"{url}/__mediagen__/scenario", "PUT", b"rules: [", {"Content-Type": "text/yaml"})
    assert answer.status == 400 and "not valid YAML or JSON" in answer.json()["error"]
    answer = call(f"{url}/__mediagen__/nothing")
    assert answer.status == 404 and "/__mediagen__/scenario" in answer.json()["error"]
    answer = call(f"{url}/__mediagen__/rules")
    assert answer.status == 405 and "allowed: POST" in answer.json()["error"]


def test_request_log_redacts_secrets(url: str) -> None:
    submit_music(url)
    log = call(f"{url}/__mediagen__/requests?provider=tomoviee").json()
    assert [r["operation"] for r in log] == ["text_to_music"]
    assert log[0]["headers"]["Authorization"] == "***"
    assert log[0]["body"] == {"prompt": "calm", "duration": 10, "qty": 1}
    text = json.dumps(call(f"{url}/__mediagen__/requests").json())
    assert "emulator-tomoviee-app_secret" not in text and TOMOVIEE["Authorization"][6:] not in text


def test_scenario_file(url: str) -> None:
    flowchart = f"{url}/edrawmax/skills/generate-flowchart"
    for _ in range(2):
        body = call(flowchart, "POST", {"prompt": "a"}).json()
        assert (body["code"], body["msg"]) == (3001, "concurrency limit")
    assert call(flowchart, "POST", {"prompt": "a"}).json()["code"] == 0
    body = {"prompt": "rain", "duration": 5}
    sfx = "/tomoviee/v1/open/capacity/application/tm_text2sfx"
    task_id = call(f"{url}{sfx}", "POST", body, TOMOVIEE).json()["data"]["task_id"]
    poll = call(f"{url}/tomoviee/v1/open/pub/task", "POST", {"task_id": task_id}, TOMOVIEE)
    assert (poll.json()["data"]["status"], poll.json()["data"]["reason"]) == (4, "too loud")
    # Reset goes back to the file's scenario, its counts whole again.
    call(f"{url}/__mediagen__/reset", "POST")
    assert call(flowchart, "POST", {"prompt": "a"}).json()["code"] == 3001


def test_a_bad_scenario_file_stops_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = tmp_path / "scenario.json"
    scenario.write_text('{"rules": [{"provider": "mediaio", "fault": "status", "status": 99}]}')
    # main() in this process: it refuses before listening, so nothing is left running.
    assert main(["emulate", "--port", "0", "--scenario", str(scenario)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.strip() == (
        f"mediagen: error: --scenario {scenario}: rules[0].status: 99; "
        "allowed: a whole number in 100..599"
    )
    assert main(["emulate", "--port", "0", "--scenario", str(tmp_path / "none.yaml")]) == 2
    assert "cannot read scenario file" in capsys.readouterr().err
