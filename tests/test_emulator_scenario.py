"""The scenario model behind the Python API, the scenario file and the admin API: the Python
calls keep working on it, a document means the same as the calls, bad documents are named."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

import mediagen
from mediagen.errors import GenerationFailedError, ServerError
from mediagen.testing import Emulator, Fault
from mediagen.testing.scenario import Outcome, Scenario
from mediagen.testing.scenario_file import ScenarioError, parse_scenario, scenario_to_json


def test_python_calls_and_a_document_build_the_same_scenario() -> None:
    by_calls = Emulator(duration=0.5, durations={"mediaio.imagen_4": 2.0})
    by_calls.set_outcome("mediaio.imagen_4", "failed", reason="nsfw", times=2)
    by_calls.inject(Fault("status", provider="tomoviee", phase="poll", status=503))
    by_calls.set_status_words("mediaio", "rotate")
    doc = {
        "durations": {"mediaio.imagen_4": 2},
        "status_words": {"mediaio": "rotate"},
        "rules": [
            {"operation": "mediaio.imagen_4", "outcome": "failed", "reason": "nsfw", "times": 2},
            {"provider": "tomoviee", "phase": "poll", "fault": "status", "status": 503},
        ],
    }
    by_document = Emulator(duration=0.5, scenario=doc)
    assert scenario_to_json(by_calls.scenario) == scenario_to_json(by_document.scenario)
    assert by_document.duration == 0.5 and by_document.durations == {"mediaio.imagen_4": 2.0}


def test_the_legacy_attributes_are_views_of_the_scenario() -> None:
    emu = Emulator(duration=0.1)
    fault = Fault("reset", provider="mediaio")
    emu.faults.append(fault)
    emu.durations["tomoviee.text_to_music"] = 3.0
    emu.duration = 0.3
    assert emu.scenario.faults == [fault]
    assert emu.scenario.duration_for("tomoviee.text_to_music") == 3.0
    assert emu.scenario.duration_for("mediaio.imagen_4") == 0.3
    emu.clear_scenario()
    assert (emu.faults, emu.durations, emu.duration) == ([], {}, 0.1)


def test_a_provider_wide_outcome_and_a_file(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("rules:\n  - {provider: tomoviee, outcome: failed, reason: busy}\n")

    async def go() -> None:
        async with Emulator(duration=0.05, scenario=path) as emu:
            assert emu.scenario.outcomes == [Outcome("failed", "tomoviee", reason="busy")]
            async with mediagen.AsyncClient(**emu.client_options()) as client:
                handle = await client.tomoviee.text_to_sound_effect(prompt="x", duration=5)
                with pytest.raises(GenerationFailedError, match="busy"):
                    await handle.wait(timeout=30)
                handle = await client.tomoviee.text_to_music(prompt="x", duration=5, qty=1)
                assert (await handle.wait(timeout=30)).artifacts

    asyncio.run(go())


def test_rules_added_at_run_time_apply_and_reset_forgets_everything() -> None:
    async def go() -> None:
        async with Emulator(duration=0.05) as emu:
            emu.add_rule(
                {"provider": "mediaio", "phase": "query", "fault": "status", "status": 502}
            )
            async with mediagen.AsyncClient(
                **{**emu.client_options(), "retry": mediagen.RetryPolicy(attempts=1)}
            ) as client:
                with pytest.raises(ServerError) as info:
                    await client.mediaio.credits()
                assert info.value.vendor_message == "Bad Gateway"
            assert emu.requests and emu.faults[0].times == 0
            emu.reset()
            assert (emu.requests, emu.faults, emu.tasks) == ([], [], {})

    asyncio.run(go())


@pytest.mark.parametrize(
    ("doc", "words"),
    [
        ([], "the scenario: expected a mapping"),
        ({"speed": 2}, "the scenario: unknown key 'speed'; allowed: duration, durations,"),
        ({"duration": -1}, "duration: -1 seconds; allowed: 0..3600"),
        ({"duration": "2s"}, "duration: '2s' is not a number of seconds"),
        ({"durations": {"mediaio": 1}}, "durations['mediaio']: 'mediaio' is not an operation"),
        ({"status_words": {"edrawmax": "rotate"}}, "edrawmax has no task status words"),
        ({"status_words": {"mediaio": {"done": "x"}}}, "'done' is not a state of mediaio"),
        ({"rules": {"fault": "reset"}}, "rules: expected a list of rules"),
        ({"rules": [{"provider": "mediaio"}]}, "rules[0]: give exactly one of outcome"),
        (
            {"rules": [{"fault": "reset", "outcome": "failed"}]},
            "rules[0]: give exactly one of outcome",
        ),
        ({"rules": [{"outcome": "failed"}]}, "rules[0]: an outcome needs a provider"),
        (
            {"rules": [{"operation": "imagen_4", "outcome": "failed"}]},
            "rules[0].operation: 'imagen_4' names no provider; allowed: provider.operation",
        ),
        (
            {"rules": [{"provider": "edrawmax", "outcome": "failed"}]},
            "rules[0]: edrawmax has no tasks",
        ),
        (
            {"rules": [{"operation": "mediaio.credits", "outcome": "failed"}]},
            "mediaio.credits is not a task operation",
        ),
        (
            {"rules": [{"fault": "reset", "phase": "later"}]},
            "rules[0].phase: 'later' is not a phase; allowed: submit, poll, query, run, download",
        ),
        (
            {"rules": [{"fault": "vendor_code"}]},
            "rules[0].code: a vendor_code fault needs the vendor's error code",
        ),
        (
            {
                "rules": [
                    {"provider": "mediaio", "operation": "tomoviee.text_to_music", "fault": "reset"}
                ]
            },
            "'tomoviee.text_to_music' is not an operation of mediaio",
        ),
        (
            {"rules": [{"provider": "tomoviee", "outcome": "failed", "code": 0}]},
            "rules[0].code: 0; allowed: a non-zero vendor code",
        ),
        (
            {"rules": [{"provider": "tomoviee", "outcome": "failed", "reason": 5}]},
            "rules[0].reason: expected a string",
        ),
    ],
)
def test_bad_documents_name_the_key_and_what_is_allowed(doc: Any, words: str) -> None:
    emu = Emulator()
    with pytest.raises(ScenarioError) as info:
        emu.set_scenario(doc)
    assert words in str(info.value)
    assert emu.scenario == Scenario(duration=0.2)


def test_a_document_round_trips() -> None:
    catalog = Emulator().registry.catalog
    doc = {
        "duration": 1.5,
        "durations": {"tomoviee.text_to_video": 4.0},
        "status_words": {"mediaio": {"queued": "pending"}},
        "rules": [
            {"outcome": "timed_out", "provider": "mediaio", "operation": "imagen_4", "times": 1},
            {"fault": "echo", "provider": "mediaio", "fields": ["data.reason"], "times": 3},
        ],
    }
    assert scenario_to_json(parse_scenario(doc, catalog)) == doc
