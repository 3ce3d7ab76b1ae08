"""The Media.io importer's pure pieces, sentence by sentence."""

from __future__ import annotations

import pytest

from mediagen.catalog.importers.mediaio_export import lift_constraints
from mediagen.catalog.schema_params import operation_id, python_name


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Imagen 4", "imagen_4"),
        ("Seedream 4.0", "seedream_4_0"),
        ("Wan 2.6 (Text To Video)", "wan_2_6_text_to_video"),
        ("Task Result", "task_result"),
        ("Credits", "credits"),
        ("soul_character", "soul_character"),
        ("  Kling 2.5 Turbo!! ", "kling_2_5_turbo"),
    ],
)
def test_operation_ids(name: str, expected: str) -> None:
    assert operation_id(name) == expected


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        ("prompt", "prompt"),
        ("control-intensity", "control_intensity"),
        ("from", "from_"),
        ("self", "self_"),
        ("9:16", "p_9_16"),
        ("models", "models_"),
    ],
)
def test_python_names(wire: str, expected: str) -> None:
    assert python_name(wire) == expected


def test_max_length() -> None:
    assert lift_constraints("The prompt. Maximum string length: 1200.")["max_length"] == 1200


def test_max_files() -> None:
    assert lift_constraints("Images. Maximum 9 file(s).")["max_files"] == 9


def test_default_and_options() -> None:
    found = lift_constraints("Target aspect ratio. Options: 9:16, 16:9, 1:1. Default is 9:16.")
    assert found["options"] == ["9:16", "16:9", "1:1"]
    assert found["default"] == "9:16"
    assert "options_note" not in found


def test_conditional_option_becomes_a_note() -> None:
    found = lift_constraints(
        "Output resolution. Options: 768P, 1080P (when duration is 6s). Default is 768P."
    )
    assert found["options"] == ["768P", "1080P"]
    assert found["options_note"] == "Options: 768P, 1080P (when duration is 6s)"


def test_file_limits() -> None:
    found = lift_constraints(
        "The URL of the input image. Supported formats include PNG, JPEG, JPG, WEBP, and BMP. "
        "File size must be between 0.0 MB and 10.0 MB. Image resolution must be between 300x300 "
        "and 2000x2000. Aspect ratio must be between 0.4:1 and 2.5:1."
    )
    assert found["limits"] == {
        "formats": ["PNG", "JPEG", "JPG", "WEBP", "BMP"],
        "file_size_mb": {"min": 0.0, "max": 10.0},
        "image_resolution": {"min": "300x300", "max": "2000x2000"},
        "aspect_ratio": {"min": "0.4:1", "max": "2.5:1"},
    }


def test_video_limits() -> None:
    found = lift_constraints(
        "Frame rate must be between 24 and 60 FPS. Duration must be between 3 and 30 seconds."
    )
    assert found["limits"] == {
        "frame_rate_fps": {"min": 24, "max": 60},
        "duration_s": {"min": 3, "max": 30},
    }


def test_plain_prose_lifts_nothing() -> None:
    assert lift_constraints("The task ID to query, located in the URL path parameter") == {}
