"""The shipped catalog: 39 operations with the public ids, and the vendor facts encoded."""

from __future__ import annotations

from mediagen.catalog import NO_DEFAULT, Catalog

MEDIAIO_IDS = [
    "credits",
    "task_result",
    "nano_banana",
    "seedream_4_0",
    "nano_banana_pro",
    "wan_2_6",
    "wan_2_2",
    "hailuo_02",
    "kling_2_1",
    "vidu_q3",
    "kling_2_5_turbo",
    "google_veo_3_1",
    "kling_3_0",
    "hailuo_2_3",
    "vidu_q2",
    "wan_2_5",
    "kling_2_6",
    "motion_control_kling_2_6",
    "imagen_4",
    "soul_character",
    "wan_2_6_text_to_video",
    "vidu_q3_text_to_video",
    "wan_2_5_text_to_video",
    "google_veo_3_1_fast",
]
TOMOVIEE_IDS = [
    "text_to_video",
    "image_to_video",
    "first_last_frame_to_video",
    "video_continuation",
    "image_to_image",
    "image_redrawing",
    "image_recognition",
    "text_to_music",
    "text_to_sound_effect",
    "text_to_speech",
    "video_soundtrack",
]
EDRAWMAX_IDS = ["flowchart", "infographic", "gantt", "mindmap"]


def ids(catalog: Catalog, provider: str) -> list[str]:
    return [op.id for op in catalog.provider(provider).operations]


def test_every_operation_is_there_with_its_public_id(catalog: Catalog) -> None:
    assert ids(catalog, "mediaio") == MEDIAIO_IDS
    assert ids(catalog, "tomoviee") == TOMOVIEE_IDS
    assert ids(catalog, "edrawmax") == EDRAWMAX_IDS
    assert len(catalog.operations()) == 39


def test_kinds(catalog: Catalog) -> None:
    kinds = {op.qualified_id: op.kind for op in catalog.operations()}
    assert kinds["mediaio.credits"] == kinds["mediaio.task_result"] == "query"
    assert {kinds[f"edrawmax.{i}"] for i in EDRAWMAX_IDS} == {"sync"}
    assert {kinds[f"tomoviee.{i}"] for i in TOMOVIEE_IDS} == {"task"}
    assert {kinds[f"mediaio.{i}"] for i in MEDIAIO_IDS[2:]} == {"task"}


def test_mediaio_prose_is_lifted_into_the_schema(catalog: Catalog) -> None:
    banana = catalog.provider("mediaio").operation("nano_banana")
    images, prompt, ratio = banana.params
    assert (images.type, images.items, images.required, images.max_items) == (
        "array",
        "string",
        True,
        9,
    )
    assert images.limits["formats"] == ["PNG", "JPEG", "JPG"]
    assert images.limits["file_size_mb"] == {"min": 0.0, "max": 20.0}
    assert images.limits["image_resolution"] == {"min": "300x300", "max": "1280x1280"}
    assert images.limits["aspect_ratio"] == {"min": "1:2", "max": "2:1"}
    assert prompt.max_length == 1200 and prompt.required
    assert ratio.enum == ("9:16", "16:9", "1:1", "4:3", "3:4", "3:2", "2:3", "21:9")
    assert ratio.default == "16:9" and not ratio.required


def test_mediaio_task_result_takes_task_id_in_the_path(catalog: Catalog) -> None:
    op = catalog.provider("mediaio").operation("task_result")
    assert op.path == "/generation/result/{task_id}"
    (task_id,) = op.params
    assert task_id.location == "path" and task_id.required
    assert op.vendor_codes["40003"] == "Task not found"


def test_mediaio_entry_status_is_kept(catalog: Catalog) -> None:
    statuses = {op.id: op.vendor_status for op in catalog.provider("mediaio").operations}
    assert statuses.pop("wan_2_5_text_to_video") == 2
    assert set(statuses.values()) == {1}


def test_mediaio_conditional_option_is_kept_as_a_note(catalog: Catalog) -> None:
    op = catalog.provider("mediaio").operation("hailuo_2_3")
    assert op.param("resolution").enum == ("768P", "1080P")
    assert any("when duration is 6s" in n for n in op.notes)


def test_mediaio_motion_control_limits(catalog: Catalog) -> None:
    video = catalog.provider("mediaio").operation("motion_control_kling_2_6").param("video")
    assert video.limits["frame_rate_fps"] == {"min": 24, "max": 60}
    assert video.limits["duration_s"] == {"min": 3, "max": 30}
    assert video.limits["formats"] == ["MP4", "MOV"]


def test_tomoviee_contradictions_resolved_by_dedicated_packages(catalog: Catalog) -> None:
    t = catalog.provider("tomoviee")
    img2img = t.operation("image_to_image")
    required = [p.name for p in img2img.params if p.required]
    assert required == [
        "prompt",
        "reference_image",
        "control_type",
        "width",
        "height",
        "batch_size",
        "control_intensity",
    ]
    assert img2img.param("control_type").enum == ("0", "1", "2", "3")
    assert (img2img.param("width").minimum, img2img.param("width").maximum) == (512, 2048)
    assert (
        img2img.param("control_intensity").minimum,
        img2img.param("control_intensity").maximum,
    ) == (0, 1)
    assert not img2img.param("init_image").required

    redraw = t.operation("image_redrawing")
    assert [p.name for p in redraw.params if p.required] == ["prompt", "init_image"]
    assert not redraw.param("mask_url").required

    music = t.operation("text_to_music")
    duration = music.param("duration")
    assert duration.required and (duration.minimum, duration.maximum) == (0, 95)
    assert duration.default is NO_DEFAULT
    assert music.param("qty").required

    sfx = t.operation("text_to_sound_effect")
    assert sfx.param("duration").required and (
        sfx.param("duration").minimum,
        sfx.param("duration").maximum,
    ) == (5, 180)
    assert not sfx.param("qty").required

    mask = t.operation("image_recognition")
    assert mask.param("image").required
    assert not mask.param("prompt").required and not mask.param("control_type").required
    assert mask.output == "mask"

    speech = t.operation("text_to_speech")
    assert speech.param("text").max_length == 5000
    assert speech.param("voice_id").default == "zh-CN-YunxiNeural"


def test_tomoviee_common_params_on_every_operation(catalog: Catalog) -> None:
    for op in catalog.provider("tomoviee").operations:
        assert {"callback", "params"} <= {p.name for p in op.params}, op.id
        assert not op.param("callback").required


def test_tomoviee_camera_moves(catalog: Catalog) -> None:
    for op_id in (
        "text_to_video",
        "image_to_video",
        "first_last_frame_to_video",
        "video_continuation",
    ):
        cam = catalog.provider("tomoviee").operation(op_id).param("camera_move_index")
        assert (cam.type, cam.minimum, cam.maximum) == ("integer", 1, 46)
        assert len(cam.value_labels) == 46


def test_edrawmax_params(catalog: Catalog) -> None:
    for op in catalog.provider("edrawmax").operations:
        prompt, lang, platform = op.params
        assert prompt.required and prompt.name == "prompt"
        assert lang.enum == ("en", "cn", "jp", "kr", "es", "fr", "de", "it", "tw", "pt", "ru", "id")
        assert lang.default == "cn"
        assert platform.enum == ("web", "win", "mac", "ios", "android", "linux")
        assert not platform.has_default


def test_provider_facts(catalog: Catalog) -> None:
    mediaio = catalog.provider("mediaio")
    assert mediaio.base_url == "https://openapi.media.io"
    assert mediaio.credential_hosts == ("openapi.media.io",)
    assert [c.env for c in mediaio.auth.credentials] == [("MEDIAIO_API_KEY", "API_KEY")]
    assert mediaio.task is not None and mediaio.task.poll.task_id_in == "path"
    for vendor, state in {
        "waiting": "queued",
        "pending": "queued",
        "processing": "running",
        "completed": "succeeded",
        "succeeded": "succeeded",
        "failed": "failed",
        "timeout": "timed_out",
    }.items():
        assert mediaio.task.state_of(vendor) == state
    assert {c.code: c.category for c in mediaio.vendor_codes} == {
        374004: "auth",
        40001: "auth",
        40002: "auth",
        40003: "not_found",
        490505: "credits",
    }

    tomoviee = catalog.provider("tomoviee")
    assert tomoviee.task is not None
    assert [tomoviee.task.state_of(n) for n in (1, 2, 3, 4, 5, 6)] == [
        "queued",
        "running",
        "succeeded",
        "failed",
        "cancelled",
        "timed_out",
    ]
    assert tomoviee.task.result_encoding == "json_string"
    assert (
        tomoviee.task.poll.path == "/v1/open/pub/task" and tomoviee.task.poll.task_id_in == "body"
    )
    assert {c.name: c.env for c in tomoviee.auth.credentials} == {
        "app_key": ("TOMOVIEE_APP_KEY",),
        "app_secret": ("TOMOVIEE_APP_SECRET",),
    }

    edraw = catalog.provider("edrawmax")
    assert edraw.task is None and edraw.auth.kind == "none"
    assert edraw.download_hosts == (
        ".aliyuncs.com",
        ".wondershare.com",
        ".edrawsoft.com",
        ".edrawmax.com",
    )
    retry = {c.code for c in edraw.vendor_codes if c.retryable}
    assert {3001, 212200, 212201} <= retry
    assert {c.code: c.category for c in edraw.vendor_codes}[2406] == "content_rejected"


def test_request_body_shapes(catalog: Catalog) -> None:
    mediaio = catalog.provider("mediaio")
    assert mediaio.request_body(mediaio.operation("imagen_4"), {"prompt": "x"}) == {
        "data": {"prompt": "x"}
    }
    assert mediaio.request_body(mediaio.operation("credits"), {}) == {}
    assert mediaio.request_body(mediaio.operation("task_result"), {"task_id": "t1"}) == {}
    tomoviee = catalog.provider("tomoviee")
    assert tomoviee.request_body(tomoviee.operation("text_to_video"), {"prompt": "x"}) == {
        "prompt": "x"
    }
