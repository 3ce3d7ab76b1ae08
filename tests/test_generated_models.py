"""The committed generated models: validation on construction, and the exact wire dict."""

from __future__ import annotations

import re

import pytest

from mediagen import ParamError
from mediagen.errors import MissingParams, UnknownParams
from mediagen.generated.edrawmax import models as edrawmax
from mediagen.generated.mediaio import models as mediaio
from mediagen.generated.tomoviee import models as tomoviee


def test_bad_enum_value_names_operation_field_and_allowed_values() -> None:
    with pytest.raises(ParamError) as info:
        mediaio.Imagen4Params(prompt="a cat", ratio="7:7")  # type: ignore[arg-type]
    err = info.value
    assert (err.operation, err.field, err.value) == ("mediaio.imagen_4", "ratio", "7:7")
    assert str(err) == (
        "mediaio.imagen_4: ratio='7:7' is not accepted; allowed: '9:16', '16:9', '1:1', '4:3', '3:4'"
    )


def test_too_long_prompt() -> None:
    with pytest.raises(ParamError) as info:
        mediaio.Imagen4Params(prompt="x" * 1201)
    assert info.value.field == "prompt"
    assert "prompt is 1201 characters long" in str(info.value)
    assert "allowed: at most 1200 characters" in str(info.value)


def test_too_many_images() -> None:
    with pytest.raises(ParamError) as info:
        mediaio.NanoBananaParams(images=[f"https://x.test/{i}.png" for i in range(10)], prompt="p")
    assert info.value.field == "images"
    assert "images has 10 items; allowed: at most 9 items" in str(info.value)


def test_out_of_range_number() -> None:
    with pytest.raises(ParamError) as info:
        tomoviee.TextToVideoParams(prompt="p", camera_move_index=47)
    assert str(info.value) == (
        "tomoviee.text_to_video: camera_move_index=47 is not accepted; allowed: >= 1 and <= 46"
    )
    with pytest.raises(ParamError, match=re.escape("control_intensity=1.5")):
        tomoviee.ImageToImageParams(
            prompt="p",
            reference_image="https://x.test/u.png",
            control_type="1",
            width=512,
            height=512,
            batch_size=1,
            control_intensity=1.5,
        )


def test_types_are_exact() -> None:
    with pytest.raises(ParamError, match="camera_move_index must be an integer, got bool True"):
        tomoviee.TextToVideoParams(prompt="p", camera_move_index=True)
    with pytest.raises(ParamError, match="must be a string"):
        mediaio.Imagen4Params(prompt=42)  # type: ignore[arg-type]
    with pytest.raises(ParamError, match=r"images\[1\]=3 is not a string"):
        mediaio.NanoBananaParams(images=["a", 3], prompt="p")  # type: ignore[list-item]
    with pytest.raises(ParamError, match=r"duration=5\.0 is a finite number, not an integer"):
        tomoviee.TextToVideoParams(prompt="p", duration=5.0)  # type: ignore[arg-type]
    # Integers are numbers.
    assert (
        tomoviee.ImageToImageParams(
            prompt="p",
            reference_image="https://x.test/u.png",
            control_type="0",
            width=512,
            height=2048,
            batch_size=4,
            control_intensity=1,
        ).control_intensity
        == 1
    )


def test_missing_required_param() -> None:
    with pytest.raises(TypeError, match="prompt"):
        mediaio.Imagen4Params()  # type: ignore[call-arg]
    with pytest.raises(MissingParams) as info:
        mediaio.Imagen4Params.from_dict({"ratio": "1:1"})
    assert str(info.value).startswith("mediaio.imagen_4: missing the required parameter prompt")


def test_unknown_param_from_dict() -> None:
    with pytest.raises(UnknownParams) as info:
        edrawmax.FlowchartParams.from_dict({"prompt": "p", "language": "en"})
    assert "unknown parameter language" in str(info.value)
    assert "allowed: prompt, lang, platform" in str(info.value)


def test_wire_dict_omits_unset_optionals_and_keeps_defaults() -> None:
    params = tomoviee.TextToVideoParams(prompt="a bird")
    assert params.to_dict() == {
        "prompt": "a bird",
        "resolution": "720p",
        "duration": 5,
        "aspect_ratio": "16:9",
    }
    explicit_none = tomoviee.TextToVideoParams(
        prompt="a bird", resolution=None, duration=None, aspect_ratio=None
    )
    assert explicit_none.to_dict() == {"prompt": "a bird"}
    assert "callback" not in params.to_dict()


def test_round_trip() -> None:
    wire = {"prompt": "p", "duration": 30, "qty": 2, "disable_translate": True}
    assert tomoviee.TextToMusicParams.from_dict(wire).to_dict() == wire


def test_models_know_their_operation() -> None:
    assert mediaio.TaskResultParams.OPERATION == "mediaio.task_result"
    assert edrawmax.MindmapParams.OPERATION == "edrawmax.mindmap"
