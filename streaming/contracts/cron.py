"""Cron expressions as Dagster's schedules take them, checked without importing Dagster (the
settings are read where Dagster is not installed)."""

from __future__ import annotations

_CRON_FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day", 1, 31),
    ("month", 1, 12),
    ("weekday", 0, 7),
)
_DAY, _MONTH, _WEEKDAY = 2, 3, 4
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_CRON_MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")


def _number(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() else None


def _cron_value(text: str, position: int) -> int | None:
    name, number = text.lower(), _number(text)
    if number is not None:
        return number
    if position == _MONTH and name in _MONTHS:
        return _MONTHS.index(name) + 1
    if position == _WEEKDAY and name in _WEEKDAYS:
        return _WEEKDAYS.index(name)
    return None


def _cron_item_is_valid(item: str, position: int) -> bool:
    """One comma-separated item of a cron field as Dagster's croniter reads it: ``*``, ``n``
    or ``n-m``, each with an optional ``/step``; ``?`` in the day fields, ``L`` (the last day),
    and in the weekday field ``n#k`` (the k-th weekday n) or ``Ln`` (the last weekday n)."""
    _, low, high = _CRON_FIELDS[position]
    base, slash, step = item.partition("/")
    if slash and (_number(step) or 0) < 1:
        return False
    if base == "*":
        return True
    if base in ("?", "L", "l") and position in (_DAY, _WEEKDAY):
        return not slash and (base == "?" or position == _DAY)
    if _is_nth_weekday(item) and position == _WEEKDAY:
        rest = base.removeprefix("L").removeprefix("l")
        weekday, hash_sign, nth = rest.partition("#")
        last_of_month = rest != base
        form_is_valid = (
            not hash_sign and _number(weekday) is not None
            if last_of_month
            else nth in ("1", "2", "3", "4", "5")
        )
        return not slash and form_is_valid and _cron_item_is_valid(weekday, position)
    bounds = base.split("-")
    if len(bounds) == 1:
        value = _cron_value(base, position)
        return value is not None and low <= value <= high
    ends = [_cron_value(bound, position) for bound in bounds]
    return len(ends) == 2 and all(  # croniter takes 0 and (days) L as ends of a range
        (end is not None and 0 <= end <= high) or (bound in ("L", "l") and position == _DAY)
        for end, bound in zip(ends, bounds, strict=True)
    )


def _is_nth_weekday(item: str) -> bool:
    return "#" in item or item[:1] in ("L", "l")


def valid_cron(text: str) -> str:
    """Five cron fields (minute hour day month weekday) or a macro such as ``@daily``, as
    Dagster's schedules take them."""
    if text.lower() in _CRON_MACROS:
        return text
    fields = text.split()
    if len(fields) != len(_CRON_FIELDS):
        raise ValueError("expected a cron of 5 fields: minute hour day month weekday")
    for position, field in enumerate(fields):
        if not all(_cron_item_is_valid(item, position) for item in field.split(",")):
            name, low, high = _CRON_FIELDS[position]
            raise ValueError(f"the {name} field {field!r} is not a cron field of {low}-{high}")
    if fields[_MONTH].lower() in ("2", "feb") and fields[_DAY] in ("30", "31"):
        raise ValueError("February has no 30th or 31st day")
    return text
