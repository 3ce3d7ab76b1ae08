"""Polling decisions as small pure functions (mediagen.polling), the duration model over a real
journal file, and the plugin schedule contract around them."""

from __future__ import annotations

import math
import random
import sqlite3
from pathlib import Path

import attrs
import pytest

from mediagen.catalog.ir import Operation, Provider
from mediagen.defaults import (
    ETA_CAP,
    ETA_FLOOR,
    ETA_MARGIN,
    HISTORY_EARLY_QUANTILE,
    HISTORY_FASTEST_QUANTILE,
    HISTORY_MIN,
    POLL_HINT_MIN,
    POLLING,
    PollSchedule,
)
from mediagen.engine import Engine
from mediagen.hookspecs import hookimpl
from mediagen.journal import Journal
from mediagen.polling import (
    DurationModel,
    first_poll_at,
    next_delay,
    next_on_grid,
    poll_step,
    progress_eta,
    quantile,
    stagger,
)
from mediagen.protocol import CatalogTaskStrategy
from mediagen.registry import Registry
from mediagen.results import Result

SCHEDULE = PollSchedule(initial=1.0, maximum=5.0, factor=2.0, jitter=0.1, first=8.0)
STEADY = attrs.evolve(SCHEDULE, jitter=0.0)


def rng() -> random.Random:
    return random.Random(7)


def poll_times(
    schedule: PollSchedule, first: float | None, done_at: float, late: float = 0.0
) -> list[float]:
    """When a task done `done_at` seconds after its submit is polled, the engine's way: sleep
    `next_delay`, poll, until a poll finds it done. Each wake-up comes `late` seconds late."""
    times: list[float] = []
    now = 0.0
    while not times or times[-1] < done_at:
        now += next_delay(schedule, polls=len(times), elapsed=now, first=first) + late
        times.append(now)
    return times


def polls_and_lag_p95(
    schedule: PollSchedule, history: list[float], tasks: list[float], seed: int = 1
) -> tuple[float, float]:
    """Polls per task and the 95th percentile of lags (done -> noticed) over `tasks`."""
    r = random.Random(seed)
    first = first_poll_at(schedule, history)
    assert first is not None
    runs = [poll_times(schedule, stagger(first, schedule, r), done) for done in tasks]
    lags = [times[-1] - done for times, done in zip(runs, tasks, strict=True)]
    return sum(map(len, runs)) / len(tasks), quantile(lags, 0.95)


def fixed_loop(interval: float, tasks: list[float]) -> tuple[float, float]:
    """The vendor docs' loop: a poll every `interval` from the submit."""
    polls = [math.ceil(done / interval) for done in tasks]
    lags = [n * interval - done for n, done in zip(polls, tasks, strict=True)]
    return sum(polls) / len(tasks), quantile(lags, 0.95)


def uniform(low: float, high: float, count: int, seed: int) -> list[float]:
    r = random.Random(seed)
    return [r.uniform(low, high) for _ in range(count)]


# -- the model's arithmetic --------------------------------------------------------------------


def test_quantile_interpolates_between_neighbours() -> None:
    assert quantile([3.0, 1.0, 2.0], 0.0) == 1.0
    assert quantile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert quantile([3.0, 1.0, 2.0], 1.0) == 3.0
    assert quantile([10.0, 20.0], 0.25) == pytest.approx(12.5)
    with pytest.raises(ValueError):
        quantile([], 0.5)


def test_the_step_is_maximum_less_its_jitter_share() -> None:
    assert poll_step(SCHEDULE) == pytest.approx(4.5)
    assert poll_step(STEADY) == 5.0
    assert poll_step(attrs.evolve(SCHEDULE, jitter=3.0)) == 2.5  # never below half


def test_the_first_poll_comes_from_history_once_there_is_enough() -> None:
    assert first_poll_at(SCHEDULE, []) == 8.0  # no history: the schedule's own guess
    assert first_poll_at(SCHEDULE, [20.0] * (HISTORY_MIN - 1)) == 8.0
    durations = [10.0 + i for i in range(31)]  # 10..40 s
    first = first_poll_at(SCHEDULE, durations)
    fastest = quantile(durations, HISTORY_FASTEST_QUANTILE)
    assert first == pytest.approx(
        min(fastest + poll_step(SCHEDULE), quantile(durations, HISTORY_EARLY_QUANTILE))
    )
    assert 10.0 < first <= fastest + poll_step(SCHEDULE)  # not at 8 s, when none was done
    assert first_poll_at(PollSchedule(initial=1.0, maximum=5.0), []) is None


def test_the_first_poll_is_one_step_after_the_fastest_tasks() -> None:
    # A tenth of the tasks take 1 s, the rest a minute: a wide spread must not make the fast
    # ones wait longer than one step.
    fast_and_slow = [1.0] * 3 + [60.0] * 27
    assert first_poll_at(SCHEDULE, fast_and_slow) == pytest.approx(1.0 + poll_step(SCHEDULE))


def test_a_schedule_that_does_not_learn_ignores_history_and_progress() -> None:
    strict = PollSchedule(initial=2.0, maximum=8.0, factor=2.0, jitter=0.0, learn=False, first=30)
    assert first_poll_at(strict, [5.0] * 50) is None
    for polls, expected in [(0, 2.0), (1, 4.0), (5, 8.0)]:
        delay = next_delay(strict, polls=polls, elapsed=40.0, progress=50.0, first=30.0)
        assert delay == expected


def test_stagger_only_moves_the_first_poll_earlier_by_a_jitter_share_of_a_step() -> None:
    r = rng()
    firsts = [stagger(10.0, SCHEDULE, r) for _ in range(500)]
    share = SCHEDULE.jitter * poll_step(SCHEDULE)
    assert all(10.0 - share <= f <= 10.0 for f in firsts)
    assert max(firsts) - min(firsts) > share / 2  # spread out, not in lockstep
    assert stagger(10.0, STEADY) == 10.0
    assert stagger(0.1, SCHEDULE, r) >= 0.0


# -- which source decides ---------------------------------------------------------------------


def test_a_vendor_hint_wins_over_progress_and_history() -> None:
    delay = next_delay(SCHEDULE, polls=3, elapsed=20.0, progress=50.0, hint=2.0, first=8.0)
    assert delay == 2.0
    assert next_delay(SCHEDULE, polls=0, elapsed=0.0, hint=60.0) == SCHEDULE.maximum
    assert next_delay(SCHEDULE, polls=0, elapsed=0.0, hint=0.0) == POLL_HINT_MIN


def test_progress_sets_the_next_poll_at_the_estimated_finish() -> None:
    # 40% after 8 s: done 12 s later at that pace, plus the margin.
    delay = next_delay(SCHEDULE, polls=1, elapsed=8.0, progress=40.0, first=8.0)
    expected = min(12.0 * (1 + ETA_MARGIN), SCHEDULE.maximum * ETA_CAP)
    assert delay == pytest.approx(expected)
    wide = PollSchedule(initial=1.0, maximum=30.0, jitter=0.1)
    assert progress_eta(wide, 40.0, 8.0) == pytest.approx(12.0 * (1 + ETA_MARGIN))


def test_a_progress_estimate_is_bounded_both_ways() -> None:
    # Stuck at 99%: not a tight loop. Barely started: checked again on the way.
    assert progress_eta(SCHEDULE, 99.9, 100.0) == SCHEDULE.initial * ETA_FLOOR
    assert progress_eta(SCHEDULE, 1.0, 10.0) == SCHEDULE.maximum * ETA_CAP
    for useless in (None, 0.0, 100.0, 130.0):
        assert progress_eta(SCHEDULE, useless, 10.0) is None
    assert progress_eta(SCHEDULE, 50.0, 0.0) is None


def test_no_poll_before_the_first_poll_time() -> None:
    for elapsed in (0.0, 3.0, 7.5):
        assert next_delay(SCHEDULE, polls=0, elapsed=elapsed, first=8.0) == 8.0 - elapsed


def test_after_the_first_poll_polls_come_a_step_apart_counted_from_it() -> None:
    step = poll_step(SCHEDULE)
    assert next_delay(SCHEDULE, polls=1, elapsed=8.0, first=8.0) == pytest.approx(step)
    assert next_delay(SCHEDULE, polls=1, elapsed=9.0, first=8.0) == pytest.approx(step - 1)
    assert next_on_grid(SCHEDULE, 8.0, 8.0 + 3 * step + 0.5) == pytest.approx(step - 0.5)


def test_a_staggered_first_poll_is_not_followed_by_another_at_once() -> None:
    # The first poll came early (staggered) or its answer late: the next one is the grid's next,
    # nearly a step on, not a second poll at the unstaggered time a moment later.
    staggered = stagger(15.0, SCHEDULE, rng())
    assert staggered < 15.0
    delay = next_delay(SCHEDULE, polls=1, elapsed=staggered + 0.05, first=staggered)
    assert delay == pytest.approx(poll_step(SCHEDULE) - 0.05)


def test_late_wake_ups_do_not_push_the_later_polls_back() -> None:
    # Each wake-up 0.4 s late (a busy loop, a slow answer): the polls stay on the grid, so a
    # task done just after a poll still waits one step and a bit, not one step per poll late.
    times = poll_times(SCHEDULE, 10.0, done_at=40.0, late=0.4)
    grid = [10.0 + k * poll_step(SCHEDULE) for k in range(len(times))]
    assert all(g <= t <= g + 0.4 + 1e-9 for g, t in zip(grid, times, strict=True))
    assert times[-1] - 40.0 <= poll_step(SCHEDULE) + 0.4


def test_a_queued_task_past_its_first_poll_backs_off_from_initial() -> None:
    # The vendor reports progress but the task has not started: no estimate to wait for.
    steady = PollSchedule(initial=1.0, maximum=5.0, factor=2.0, jitter=0.0, first=8.0)
    assert next_delay(steady, polls=1, elapsed=9.0, progress=0.0, first=8.0) == 2.0


def test_unknown_age_or_no_guess_keeps_the_schedules_own_backoff() -> None:
    steady = PollSchedule(initial=1.0, maximum=5.0, factor=2.0, jitter=0.0, first=8.0)
    # Resumed or known only by id: the time since the submit is unknown.
    assert next_delay(steady, polls=0, elapsed=None, progress=50.0, first=8.0) == 1.0
    # A plugin's schedule with no `first` and no history: initial, then backing off.
    plain = PollSchedule(initial=30.0, maximum=120.0, factor=2.0, jitter=0.0)
    assert next_delay(plain, polls=0, elapsed=0.0, first=None) == 30.0
    assert next_delay(plain, polls=1, elapsed=30.0, first=None) == 60.0


def test_every_output_kind_has_a_first_guess_within_its_schedule() -> None:
    for kind, schedule in POLLING.items():
        assert schedule.learn and schedule.first is not None, kind
        assert 0 < schedule.first <= 4 * schedule.maximum, kind


# -- the schedule against the vendor docs' fixed 5 s loop (issue 11's targets) -----------------
# Simulated on the decision functions alone: tasks lasting U[10, 40] s, as in bench/polling.py.

TASKS = uniform(10.0, 40.0, 2000, seed=11)


def test_with_no_history_an_image_task_polls_less_than_the_5_s_loop_and_waits_no_longer() -> None:
    polls, lag = polls_and_lag_p95(POLLING["image"], [], TASKS)
    loop_polls, loop_lag = fixed_loop(5.0, TASKS)
    assert polls <= 0.8 * loop_polls
    assert lag <= 0.95 * loop_lag


def test_with_50_finished_tasks_in_history_polls_drop_under_three_quarters() -> None:
    loop_polls, loop_lag = fixed_loop(5.0, TASKS)
    for seed in (5, 11):
        history = [done + 0.5 for done in uniform(10.0, 40.0, 50, seed)]  # seen within 1 s
        polls, lag = polls_and_lag_p95(POLLING["image"], history, TASKS)
        assert polls <= 0.72 * loop_polls, seed
        assert lag <= 0.95 * loop_lag, seed


def test_a_history_made_by_these_polls_does_not_push_the_first_poll_later_and_later() -> None:
    # A duration ends at the poll that saw the task done, so a history made by this schedule
    # starts at its own first poll. Were the first poll not capped by the early quantile, each
    # generation's would come a step after the last one's.
    schedule = POLLING["image"]
    history = [done + 0.5 for done in uniform(10.0, 40.0, 50, seed=5)]
    firsts: list[float] = []
    for _ in range(6):
        first = first_poll_at(schedule, history)
        assert first is not None
        firsts.append(first)
        history = [poll_times(schedule, first, done)[-1] for done in TASKS[:100]]
    assert max(firsts) <= firsts[0] + poll_step(schedule) + 1e-9
    assert firsts[-1] == pytest.approx(firsts[-2])  # settled


# -- durations: the journal, read once, and this process ----------------------------------------


def done(provider: str = "mediaio", operation: str = "imagen_4") -> Result:
    return Result(provider=provider, operation=operation, artifacts=(), raw={})


def finished(
    journal: Journal,
    seconds: float,
    *,
    provider: str = "mediaio",
    operation: str = "imagen_4",
    origin: str | None = None,
) -> int:
    """A task submitted through the journal that succeeded `seconds` after its submit."""
    entry = journal.record_intent(provider, operation, {"prompt": "x"}, origin=origin)
    journal.record_submitted(entry, f"t{entry}")
    journal.record_result(entry, done(provider, operation))
    shift_success(journal.path, entry, seconds)
    return entry


def shift_success(path: Path, entry: int, seconds: float) -> None:
    db = sqlite3.connect(path)
    with db:
        (queued,) = db.execute(
            "SELECT at FROM events WHERE task = ? AND state = 'queued'", (entry,)
        ).fetchone()
        db.execute(
            "UPDATE events SET at = ? WHERE task = ? AND state = 'succeeded'",
            (queued + seconds, entry),
        )
    db.close()


def test_the_journal_gives_the_durations_of_succeeded_tasks_submitted_through_it(
    tmp_path: Path,
) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    try:
        for seconds in (12.0, 15.0, 30.0):
            finished(journal, seconds)
        finished(journal, 5.0, operation="imagen_3")  # another operation
        finished(journal, 6.0, origin="http://127.0.0.1:9")  # another host
        recent = journal.finished_durations("mediaio", "imagen_4", limit=2)
        assert recent == pytest.approx([30.0, 15.0])  # newest first
        failed = journal.record_intent("mediaio", "imagen_4", {})
        journal.record_submitted(failed, "tf")
        journal.record_failure(failed, "failed", "no")
        adopted = journal.adopt("mediaio", "imagen_4", "known-by-id")
        journal.record_result(adopted, done())  # its clock started at the adoption
        durations = journal.finished_durations("mediaio", "imagen_4")
        assert durations == pytest.approx([30.0, 15.0, 12.0])
        elsewhere = journal.finished_durations("mediaio", "imagen_4", origin="http://127.0.0.1:9")
        assert elsewhere == pytest.approx([6.0])
    finally:
        journal.close()


def test_the_model_reads_the_journal_once_then_learns_from_this_process(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    try:
        for seconds in (10.0, 20.0):
            finished(journal, seconds)
        model = DurationModel(journal, window=3)
        assert list(model.durations("mediaio", "imagen_4", None)) == pytest.approx(
            [20.0, 10.0][::-1]
        )
        finished(journal, 99.0)  # written after the read: this process records it itself
        model.record("mediaio", "imagen_4", None, 30.0)
        model.record("mediaio", "imagen_4", None, 40.0)
        model.record("mediaio", "imagen_4", None, -1.0)  # a clock step: ignored
        assert list(model.durations("mediaio", "imagen_4", None)) == [20.0, 30.0, 40.0]
        # Not read yet: a finish here is left to the journal, which holds it (no double count).
        model.record("mediaio", "imagen_3", None, 5.0)
        assert list(model.durations("mediaio", "imagen_3", None)) == []
    finally:
        journal.close()


def test_without_a_journal_the_model_learns_from_this_process_alone() -> None:
    model = DurationModel(None)
    assert list(model.durations("tomoviee", "text_to_video", None)) == []
    model.record("tomoviee", "text_to_video", None, 12.5)
    model.record("tomoviee", "text_to_video", "http://[::1]:8", 99.0)
    assert list(model.durations("tomoviee", "text_to_video", None)) == [12.5]


def test_an_unreadable_journal_means_no_history(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    journal.close()  # every read now fails
    model = DurationModel(journal)
    assert list(model.durations("mediaio", "imagen_4", None)) == []


# -- the plugin contract ----------------------------------------------------------------------


class StrictPolling(CatalogTaskStrategy):
    def poll_schedule(self, op: Operation) -> PollSchedule:
        return PollSchedule(initial=3.0, maximum=9.0, factor=3.0, jitter=0.0, learn=False)


class Strict:
    @hookimpl
    def mediagen_task_strategy(self, provider: Provider) -> StrictPolling | None:
        return StrictPolling(provider) if provider.name == "tomoviee" else None


def test_a_plugins_schedule_is_used_and_a_strict_one_is_followed_exactly(tmp_path: Path) -> None:
    registry = Registry(entry_points=False)
    registry.register(Strict(), name="strict")
    journal = Journal(tmp_path / "j.sqlite3")
    try:
        for _ in range(HISTORY_MIN):
            finished(journal, 1.0, provider="tomoviee", operation="text_to_video")
        engine = Engine(registry=registry, journal=journal)
        schedule = engine.schedule("tomoviee", "text_to_video")
        assert (schedule.initial, schedule.learn) == (3.0, False)
        assert engine.first_poll_at("tomoviee", "text_to_video", schedule) is None
        delays = [next_delay(schedule, polls=p, elapsed=5.0, progress=90.0) for p in range(3)]
        assert delays == [3.0, 9.0, 9.0]
        # The built-in strategy of another provider still learns from the same journal.
        builtin = engine.schedule("mediaio", "imagen_4")
        first = engine.first_poll_at("mediaio", "imagen_4", builtin)
        assert builtin.learn and first is not None
        image = POLLING["image"]
        assert image.first is not None
        assert image.first - image.jitter * poll_step(image) <= first <= image.first
    finally:
        journal.close()
