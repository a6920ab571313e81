"""Savepoint schedules: intervals and 5-field cron expressions in UTC, as tables of schedule, start and next time."""

from __future__ import annotations

import datetime

import pytest

from flink_manager.reconcile.schedules import ScheduleError, next_due, validate

UTC = datetime.UTC


def at(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("schedule", "after", "due"),
    [
        pytest.param("30m", "2026-01-05 10:00:10", "2026-01-05 10:30:10", id="interval"),
        pytest.param("0 */6 * * *", "2026-01-05 10:00:00", "2026-01-05 12:00:00", id="every-six-hours"),
        pytest.param("5 * * * *", "2026-01-05 10:05:00", "2026-01-05 11:05:00", id="strictly-after"),
        pytest.param("5 * * * *", "2026-01-05 10:04:59", "2026-01-05 10:05:00", id="later-the-same-minute"),
        pytest.param(
            "*/15 9-17 1,15 1-12/3 1-5",
            "2026-01-03 18:00:00",
            "2026-01-05 09:00:00",
            id="either-day-field-when-both-are-restricted",
        ),
        pytest.param(
            "0 0 */10 * 1",
            "2026-01-02 00:00:00",
            "2026-01-05 00:00:00",
            id="a-stepped-day-is-a-restriction-so-either-day-field-matches",
        ),
        pytest.param(
            "0 0 1 5-5/2 *", "2026-06-01 00:00:00", "2027-05-01 00:00:00", id="a-range-of-one-month-with-a-step"
        ),
        pytest.param("0 0 1 * *", "2026-01-31 12:00:00", "2026-02-01 00:00:00", id="first-of-the-month"),
        pytest.param("0 0 * * 7", "2026-01-05 00:00:00", "2026-01-11 00:00:00", id="seven-is-sunday"),
        pytest.param("0 0 29 2 *", "2026-03-01 00:00:00", "2028-02-29 00:00:00", id="leap-day"),
        pytest.param("0 12 * * *", "2026-01-05 13:00:00+02:00", "2026-01-05 12:00:00", id="in-utc"),
    ],
)
def test_next_due(schedule: str, after: str, due: str) -> None:
    start = datetime.datetime.fromisoformat(after)
    start = start if start.tzinfo else start.replace(tzinfo=UTC)
    assert next_due(schedule, start) == at(due)


def test_a_date_that_never_comes_is_none_but_valid() -> None:
    validate("0 0 30 2 *")
    assert next_due("0 0 30 2 *", at("2026-01-01 00:00:00")) is None


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("0 5-1 * * *", "'0 5-1 * * *': '5-1' is out of range 0-23"),
        ("60 * * * *", "'60 * * * *': '60' is out of range 0-59"),
        ("*/0 * * * *", "'*/0 * * * *': '*/0' is out of range 0-59"),
        ("0 0 * * 8", "'0 0 * * 8': '8' is out of range 0-7"),
        ("0 0 * JAN *", "'0 0 * JAN *': 'JAN' is not a cron field"),
        ("0 0 0 * * *", "'0 0 0 * * *' is neither a duration (30m) nor a 5-field cron expression"),
        ("0s", "a savepoint interval must be longer than 0"),
    ],
)
def test_invalid_schedules_say_which_field(schedule: str, message: str) -> None:
    with pytest.raises(ScheduleError) as raised:
        validate(schedule)
    assert str(raised.value) == message
