"""Polling decisions as small pure functions (mediagen.polling), the duration model over a real
journal file, and the plugin schedule contract around them."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest

from mediagen.catalog.ir import Operation, Provider
from mediagen.defaults import (
    ETA_CAP,
    ETA_FLOOR,
    ETA_MARGIN,
    HISTORY_EARLY_QUANTILE,
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
    earliest_finish,
    next_delay,
    progress_eta,
    quantile,
    shortest_interval,
    spread,
)
from mediagen.protocol import CatalogTaskStrategy
from mediagen.registry import Registry
from mediagen.results import Result

SCHEDULE = PollSchedule(initial=1.0, maximum=5.0, factor=2.0, jitter=0.1, first=8.0)


def rng() -> random.Random:
    return random.Random(7)


# -- the model's arithmetic --------------------------------------------------------------------


def test_quantile_interpolates_between_neighbours() -> None:
    assert quantile([3.0, 1.0, 2.0], 0.0) == 1.0
    assert quantile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert quantile([3.0, 1.0, 2.0], 1.0) == 3.0
    assert quantile([10.0, 20.0], 0.25) == pytest.approx(12.5)
    with pytest.raises(ValueError):
        quantile([], 0.5)


def test_the_earliest_finish_comes_from_history_once_there_is_enough() -> None:
    assert earliest_finish(SCHEDULE, []) == 8.0  # no history: the schedule's own guess
    assert earliest_finish(SCHEDULE, [20.0] * (HISTORY_MIN - 1)) == 8.0
    durations = [10.0 + i for i in range(31)]  # 10..40 s
    early = earliest_finish(SCHEDULE, durations)
    assert early == pytest.approx(quantile(durations, HISTORY_EARLY_QUANTILE))
    assert 10.0 < early <= 15.0  # not at 8 s, when none was done; at most one interval late
    no_guess = PollSchedule(initial=1.0, maximum=5.0)
    assert earliest_finish(no_guess, []) is None


def test_the_earliest_finish_is_one_interval_after_the_fastest_tasks_at_most() -> None:
    # Two thirds of the tasks take 1 s, the rest a minute: waiting for the 10% quantile is
    # fine, but a wide spread must not make the fast ones wait longer than one interval.
    fast_and_slow = [1.0] * 3 + [60.0] * 27
    assert earliest_finish(SCHEDULE, fast_and_slow) == pytest.approx(
        1.0 + shortest_interval(SCHEDULE)
    )
    assert shortest_interval(SCHEDULE) == pytest.approx(SCHEDULE.maximum * 0.9)


def test_a_schedule_that_does_not_learn_ignores_history_and_progress() -> None:
    strict = PollSchedule(initial=2.0, maximum=8.0, factor=2.0, jitter=0.0, learn=False, first=30)
    assert earliest_finish(strict, [5.0] * 50) is None
    for polls, expected in [(0, 2.0), (1, 4.0), (5, 8.0)]:
        delay = next_delay(strict, polls=polls, elapsed=40.0, progress=50.0, earliest=30.0)
        assert delay == expected


def test_spread_only_shortens() -> None:
    r = rng()
    waits = [spread(5.0, 0.2, r) for _ in range(500)]
    assert all(4.0 <= w <= 5.0 for w in waits)
    assert max(waits) - min(waits) > 0.5  # spread out, not in lockstep
    assert spread(5.0, 0.0) == 5.0


# -- which source decides ---------------------------------------------------------------------


def test_a_vendor_hint_wins_over_progress_and_history() -> None:
    delay = next_delay(SCHEDULE, polls=3, elapsed=20.0, progress=50.0, hint=2.0, earliest=8.0)
    assert delay == 2.0
    assert next_delay(SCHEDULE, polls=0, elapsed=0.0, hint=60.0) == SCHEDULE.maximum
    assert next_delay(SCHEDULE, polls=0, elapsed=0.0, hint=0.0) == POLL_HINT_MIN


def test_progress_sets_the_next_poll_at_the_estimated_finish() -> None:
    # 40% after 8 s: done 12 s later at that pace, plus the margin.
    delay = next_delay(SCHEDULE, polls=1, elapsed=8.0, progress=40.0, earliest=8.0)
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


def test_no_poll_before_the_task_can_plausibly_be_done() -> None:
    r = rng()
    for elapsed in (0.0, 3.0, 7.5):
        delay = next_delay(SCHEDULE, polls=0, elapsed=elapsed, earliest=8.0, rng=r)
        left = 8.0 - elapsed
        assert left * (1 - SCHEDULE.jitter) <= delay <= left


def test_once_due_a_task_is_polled_every_maximum_at_most() -> None:
    r = rng()
    waits = [next_delay(SCHEDULE, polls=p, elapsed=9.0, earliest=8.0, rng=r) for p in range(200)]
    assert all(SCHEDULE.maximum * (1 - SCHEDULE.jitter) <= w <= SCHEDULE.maximum for w in waits)


def test_a_queued_task_past_its_earliest_finish_backs_off_from_initial() -> None:
    # The vendor reports progress but the task has not started: no estimate to wait for.
    steady = PollSchedule(initial=1.0, maximum=5.0, factor=2.0, jitter=0.0, first=8.0)
    assert next_delay(steady, polls=1, elapsed=9.0, progress=0.0, earliest=8.0) == 2.0


def test_unknown_age_or_no_guess_keeps_the_schedules_own_backoff() -> None:
    steady = PollSchedule(initial=1.0, maximum=5.0, factor=2.0, jitter=0.0, first=8.0)
    # Resumed or known only by id: the time since the submit is unknown.
    assert next_delay(steady, polls=0, elapsed=None, progress=50.0, earliest=8.0) == 1.0
    # A plugin's schedule with no `first` and no history: initial, then backing off.
    plain = PollSchedule(initial=30.0, maximum=120.0, factor=2.0, jitter=0.0)
    assert next_delay(plain, polls=0, elapsed=0.0, earliest=None) == 30.0
    assert next_delay(plain, polls=1, elapsed=30.0, earliest=None) == 60.0


def test_every_output_kind_has_a_first_guess_within_its_schedule() -> None:
    for kind, schedule in POLLING.items():
        assert schedule.learn and schedule.first is not None, kind
        assert 0 < schedule.first <= 4 * schedule.maximum, kind


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
        assert engine.earliest_finish("tomoviee", "text_to_video", schedule) is None
        delays = [next_delay(schedule, polls=p, elapsed=5.0, progress=90.0) for p in range(3)]
        assert delays == [3.0, 9.0, 9.0]
        # The built-in strategy of another provider still learns from the same journal.
        builtin = engine.schedule("mediaio", "imagen_4")
        earliest = engine.earliest_finish("mediaio", "imagen_4", builtin)
        assert builtin.learn and earliest == POLLING["image"].first
    finally:
        journal.close()
