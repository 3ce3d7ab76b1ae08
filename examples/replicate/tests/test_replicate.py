"""What this plugin adds to the catalog, checked against the mediagen emulator: Replicate's wire
shape (official-model paths, `{"input": ...}`, bearer token, prediction objects), `output` as a
list or one URL, failure and deadline statuses, cancelling, and the wait a 429 names."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from mediagen_replicate.generated import REPLICATE
from mediagen_replicate.plugin import wait_in

import mediagen
from mediagen.errors import GenerationFailedError, NotFoundError, RateLimitError
from mediagen.testing import Emulator, EmulatorThread, Fault


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    # The video model takes long enough to be cancelled while it runs.
    with EmulatorThread(durations={"replicate.minimax_video_01": 60.0}) as emulator:
        yield emulator


def client_for(emulator: Emulator, **options: object) -> mediagen.Client:
    return mediagen.Client(**emulator.client_options(), **options)  # type: ignore[arg-type]


def test_a_prediction_is_created_on_the_models_path_with_its_input_and_a_bearer_token(
    emulator: Emulator,
) -> None:
    with client_for(emulator) as client:
        result = client.provider(REPLICATE).flux_schnell(prompt="a red kite", num_outputs=2).wait()

    (submit,) = emulator.requests_for("replicate", "submit")
    assert submit.method == "POST"
    assert submit.path == "/replicate/v1/models/black-forest-labs/flux-schnell/predictions"
    assert list(submit.body) == ["input"]
    assert submit.body["input"]["prompt"] == "a red kite"
    assert submit.body["input"]["num_outputs"] == 2
    assert submit.headers["Authorization"] == "Bearer emulator-replicate-api_token"
    polls = emulator.requests_for("replicate", "poll")
    assert polls and all(p.method == "GET" for p in polls)
    assert {p.path for p in polls} == {f"/replicate/v1/predictions/{result.task_id}"}
    assert result.raw["model"] == "black-forest-labs/flux-schnell"


def test_output_is_a_list_for_flux_schnell_and_one_url_for_single_output_models(
    emulator: Emulator,
) -> None:
    with client_for(emulator) as client:
        models = client.provider(REPLICATE)
        images = models.flux_schnell(prompt="a kite", num_outputs=3).wait()
        one_image = models.flux_schnell(prompt="a kite").wait()
        speech = models.minimax_speech_02_turbo(text="Hello", emotion="calm").wait()

    assert [a.kind for a in images.artifacts] == ["image"] * 3
    assert images.raw["output"] == [a.url for a in images.artifacts]
    assert isinstance(one_image.raw["output"], list) and len(one_image.artifacts) == 1
    assert [a.kind for a in speech.artifacts] == ["audio"]
    assert speech.raw["output"] == speech.artifacts[0].url


def test_a_failed_prediction_raises_with_its_error_text_and_an_aborted_one_as_timed_out(
    emulator: Emulator,
) -> None:
    emulator.set_outcome("replicate.flux_1_1_pro", "failed", reason="NSFW content detected")
    emulator.set_outcome("replicate.flux_1_1_pro", "timed_out")
    with client_for(emulator) as client:
        with pytest.raises(GenerationFailedError, match="NSFW content detected"):
            client.provider(REPLICATE).flux_1_1_pro(prompt="a kite").wait()
        with pytest.raises(GenerationFailedError) as aborted:
            client.provider(REPLICATE).flux_1_1_pro(prompt="a kite").wait()

    # The emulator answers the timed_out outcome with Replicate's only word for it, "aborted".
    assert aborted.value.state == "timed_out"


def test_cancel_prediction_cancels_a_running_prediction(emulator: Emulator) -> None:
    with client_for(emulator) as client:
        models = client.provider(REPLICATE)
        task = models.minimax_video_01(prompt="a paper boat")
        answer = models.cancel_prediction(task_id=task.task_id)
        assert answer["id"] == task.task_id and answer["status"] == "canceled"
        with pytest.raises(GenerationFailedError, match="cancelled"):
            task.wait()
        with pytest.raises(NotFoundError):
            models.cancel_prediction(task_id="no-such-prediction")


def test_a_throttled_answer_says_how_long_to_wait(emulator: Emulator) -> None:
    emulator.inject(
        Fault(
            "status",
            provider="replicate",
            phase="submit",
            status=429,
            message="Request was throttled. Expected available in 1 second.",
        )
    )
    retry = mediagen.RetryPolicy(attempts=1)
    with client_for(emulator, retry=retry) as client, pytest.raises(RateLimitError) as caught:
        client.provider(REPLICATE).flux_schnell(prompt="a kite")

    assert caught.value.retry_after == 1.0
    assert "Expected available in 1 second" in str(caught.value)


@pytest.mark.parametrize(
    ("detail", "seconds"),
    [
        ("Request was throttled. Expected available in 1 second.", 1.0),
        ("Request was throttled. Your rate limit resets in ~30s.", 30.0),
        ("Request was throttled.", None),
        (None, None),
    ],
)
def test_wait_in_reads_the_documented_throttle_texts(detail: str | None, seconds: float) -> None:
    assert wait_in(detail) == seconds
