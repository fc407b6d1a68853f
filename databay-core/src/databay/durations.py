"""Durations written for people: ``90``, ``"5s"``, ``"2m"``, ``"1h30m"``, ``"250ms"``."""

from __future__ import annotations

import re
from datetime import timedelta

__all__ = ["parse_duration"]

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")


def parse_duration(value: object) -> timedelta:
    """A positive duration from seconds (int/float) or a string of number+unit parts (ms, s, m, h, d).

    :raises ValueError: not a duration, or not positive.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"{value!r} is not a duration: use seconds or a string such as '5s', '2m', '1h30m'")
    if isinstance(value, str):
        text = value.strip().replace(" ", "")
        parts = _PART.findall(text)
        if not text or "".join(number + unit for number, unit in parts) != text:
            raise ValueError(f"{value!r} is not a duration: use a number with a unit (ms, s, m, h, d), e.g. '5s', '1h30m'")
        seconds = sum(float(number) * _UNITS[unit] for number, unit in parts)
    else:
        seconds = float(value)
    if seconds <= 0:
        raise ValueError(f"{value!r} is not a positive duration")
    return timedelta(seconds=seconds)
