"""Durations (`30m`, `7d`) and savepoint schedules (an interval, or a 5-field cron expression in UTC)."""

from __future__ import annotations

import datetime
import re

_DURATION = re.compile(r"^([0-9]+)(s|m|h|d)$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# The schema admits any number of digits; past a century a duration means "never" in practice, and anything much
# longer overflows datetime arithmetic (which ends in year 9999).
_LONGEST_SECONDS = 100 * 365 * 86400
# minute, hour, day of month, month, day of week (0 or 7 = Sunday)
_CRON_FIELDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_CRON_SEARCH_LIMIT = datetime.timedelta(days=4 * 366)


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
    _parse_cron(schedule)


def next_due(schedule: str, after: datetime.datetime) -> datetime.datetime | None:
    """The first time strictly after `after` at which the schedule is due (None if it never is)."""
    schedule = schedule.strip()
    if _DURATION.match(schedule):
        interval = parse_duration(schedule)
        assert interval is not None
        return after + interval if interval > datetime.timedelta(0) else None
    minutes, hours, days, months, weekdays, dom_any, dow_any = _parse_cron(schedule)
    moment = after.astimezone(datetime.timezone.utc).replace(second=0, microsecond=0) + datetime.timedelta(minutes=1)
    limit = moment + _CRON_SEARCH_LIMIT
    while moment < limit:
        if moment.month not in months:
            moment = _first_of_next_month(moment)
            continue
        weekday = (moment.weekday() + 1) % 7  # Python: Monday=0; cron: Sunday=0
        day_ok = moment.day in days
        weekday_ok = weekday in weekdays
        # Standard cron: when both day fields are restricted, either may match.
        matches_day = (day_ok and weekday_ok) if (dom_any or dow_any) else (day_ok or weekday_ok)
        if not matches_day:
            moment = (moment + datetime.timedelta(days=1)).replace(hour=0, minute=0)
            continue
        if moment.hour not in hours:
            moment = (moment + datetime.timedelta(hours=1)).replace(minute=0)
            continue
        if moment.minute not in minutes:
            moment += datetime.timedelta(minutes=1)
            continue
        return moment
    return None


def next_periodic_savepoint(schedule: str, started_at: datetime.datetime | None,
                            last_periodic: datetime.datetime | None) -> datetime.datetime | None:
    """When the next periodic savepoint of an attempt is due: the schedule's first time after its newest periodic
    savepoint, or after the attempt started (None before it started, or when the schedule never fires)."""
    if started_at is None:
        return None
    return next_due(schedule, max(filter(None, (last_periodic, started_at))))


def _first_of_next_month(moment: datetime.datetime) -> datetime.datetime:
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return moment.replace(year=year, month=month, day=1, hour=0, minute=0)


def _parse_cron(expression: str) -> tuple[set[int], set[int], set[int], set[int], set[int], bool, bool]:
    parts = expression.split()
    if len(parts) != 5:
        raise ScheduleError(f"{expression!r} is neither a duration (30m) nor a 5-field cron expression")
    sets = [_parse_cron_field(part, low, high, expression) for part, (low, high) in zip(parts, _CRON_FIELDS)]
    weekdays = {0 if d == 7 else d for d in sets[4]}
    return sets[0], sets[1], sets[2], sets[3], weekdays, parts[2] == "*", parts[4] == "*"


def _parse_cron_field(field: str, low: int, high: int, expression: str) -> set[int]:
    values: set[int] = set()
    for item in field.split(","):
        base, _, step_text = item.partition("/")
        try:
            step = int(step_text) if step_text else 1
            if base == "*":
                start, end = low, high
            elif "-" in base:
                start_text, end_text = base.split("-", 1)
                start, end = int(start_text), int(end_text)
            else:
                start = int(base)
                end = high if step_text else start
        except ValueError:
            raise ScheduleError(f"{expression!r}: {item!r} is not a cron field") from None
        if step < 1 or not (low <= start <= high) or not (low <= end <= high) or start > end:
            raise ScheduleError(f"{expression!r}: {item!r} is out of range {low}-{high}")
        values.update(range(start, end + 1, step))
    return values
