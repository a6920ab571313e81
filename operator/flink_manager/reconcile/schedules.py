"""Durations (`30m`, `7d`) and savepoint schedules (an interval, or a 5-field cron expression in UTC).

Cron expressions are read and iterated by cronsim, with the rules of Kubernetes' CronJobs: when both day fields are
restricted, either may match. Only the start time is an input: no clock is read.
"""

from __future__ import annotations

import datetime
import re

from cronsim import CronSim, CronSimError

_DURATION = re.compile(r"^([0-9]+)(s|m|h|d)$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# The schema admits any number of digits; past a century a duration means "never" in practice, and anything much
# longer overflows datetime arithmetic (which ends in year 9999).
_LONGEST_SECONDS = 100 * 365 * 86400
# minute, hour, day of month, month, day of week (0 or 7 = Sunday)
_CRON_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_CRON_FIELD = re.compile(r"^[0-9*,/-]+$")
_RANGE_WITH_STEP = re.compile(r"([0-9]+)-([0-9]+)/[0-9]+")
# A date further away than this counts as never (29 February can be eight years away, around 2100).
_CRON_SEARCH_LIMIT = datetime.timedelta(days=4 * 366)
_ANY_TIME = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)  # validity does not depend on the start


class ScheduleError(ValueError):
    """A schedule or duration that cannot be parsed."""


def parse_duration(text: str | None) -> datetime.timedelta | None:
    """`90s`, `30m`, `12h`, `7d` → a timedelta (at most a century); None for None."""
    if text is None:
        return None
    match = _DURATION.match(text.strip())
    if not match:
        raise ScheduleError(f"{text!r} is not a duration like 30s, 15m, 12h or 7d")
    return seconds(int(match.group(1)) * _UNIT_SECONDS[match.group(2)])


def seconds(count: int) -> datetime.timedelta:
    """A number of seconds from a spec as a timedelta, at most a century (see _LONGEST_SECONDS)."""
    return datetime.timedelta(seconds=min(count, _LONGEST_SECONDS))


def validate(schedule: str) -> None:
    """Raise ScheduleError when the schedule is neither a duration nor a valid cron expression."""
    if _DURATION.match(schedule.strip()):
        if parse_duration(schedule) == datetime.timedelta(0):
            raise ScheduleError("a savepoint interval must be longer than 0")
        return
    _cron(schedule, _ANY_TIME)


def next_due(schedule: str, after: datetime.datetime) -> datetime.datetime | None:
    """The first time strictly after `after` at which the schedule is due (None if it never is)."""
    schedule = schedule.strip()
    if _DURATION.match(schedule):
        interval = parse_duration(schedule)
        assert interval is not None
        return after + interval if interval > datetime.timedelta(0) else None
    start = after.astimezone(datetime.UTC)
    cron = _cron(schedule, start)
    if cron is None:
        return None
    moment = next(cron)
    return moment if moment - start <= _CRON_SEARCH_LIMIT else None


def next_periodic_savepoint(
    schedule: str, started_at: datetime.datetime | None, last_periodic: datetime.datetime | None
) -> datetime.datetime | None:
    """When the next periodic savepoint of an attempt is due: the schedule's first time after its newest periodic
    savepoint, or after the attempt started (None before it started, or when the schedule never fires)."""
    if started_at is None:
        return None
    return next_due(schedule, max(filter(None, (last_periodic, started_at))))


def _cron(expression: str, start: datetime.datetime) -> CronSim | None:
    """The times of a 5-field cron expression after `start` (UTC); None when every field is valid but together they
    name no date (30 February); ScheduleError naming the field that is wrong."""
    parts = expression.split()
    if len(parts) != 5:
        raise ScheduleError(f"{expression!r} is neither a duration (30m) nor a 5-field cron expression")
    for part in parts:
        # Numbers, *, ranges, lists and steps: what the CRD's pattern admits (cronsim also reads names, L, W, #).
        if not _CRON_FIELD.match(part):
            raise ScheduleError(f"{expression!r}: {part!r} is not a cron field")
    try:
        return CronSim(_for_cronsim(parts), start)
    except CronSimError:
        pass
    for index, (part, (low, high)) in enumerate(zip(parts, _CRON_RANGES, strict=True)):
        alone = ["*"] * 5
        alone[index] = part
        try:
            CronSim(" ".join(alone), start)
        except CronSimError:
            raise ScheduleError(f"{expression!r}: {part!r} is out of range {low}-{high}") from None
    return None


def _for_cronsim(parts: list[str]) -> str:
    """The expression, written so that cronsim reads it as Kubernetes' CronJobs (robfig/cron) do.

    - Both day fields restricted means either may match, and `*/2` is a restriction: cronsim (as Debian cron) would
      require both days to match whenever a day field starts with `*`, so a leading `*` there is written out as the
      whole range.
    - `5-5/2` is the one value 5; cronsim reads a range of one value with a step as `5/2` (5, 7, 9, ...).
    """
    fields = [_RANGE_WITH_STEP.sub(lambda m: m[1] if int(m[1]) == int(m[2]) else m[0], part) for part in parts]
    for index, whole in ((2, "1-31"), (4, "0-7")):
        if fields[index] != "*" and fields[index].startswith("*"):
            fields[index] = whole + fields[index][1:]
    return " ".join(fields)
