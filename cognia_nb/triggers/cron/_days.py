"""The day cache: which days of a (year, month) a cron expression matches, computed once.

A month's matching days depend only on the weekday it starts on and its length (28 shapes), so
a rare schedule that walks decades computes each shape once; one cache per expression is shared
by its schedules in every zone.
"""

from __future__ import annotations

from calendar import monthrange
from functools import lru_cache

from ._grammar import CronSpec

__all__ = ["DayCache", "day_cache"]


class DayCache:
    """Matching days of a (year, month), computed once per month and kept (bounded)."""

    __slots__ = ("_cache", "_shapes", "_spec", "months")

    def __init__(self, spec: CronSpec) -> None:
        self._spec = spec
        self.months = tuple(sorted(spec.months))
        self._cache: dict[tuple[int, int], tuple[int, ...]] = {}
        self._shapes: dict[tuple[int, int], tuple[int, ...]] = {}

    def days(self, year: int, month: int) -> tuple[int, ...]:
        key = (year, month)
        found = self._cache.get(key)
        if found is None:
            first_weekday, last = monthrange(year, month)
            found = self._shape((first_weekday + 1) % 7, last)
            if len(self._cache) > 4096:
                self._cache.clear()
            self._cache[key] = found
        return found

    def _shape(self, sunday_based: int, last: int) -> tuple[int, ...]:
        """The matching days of any month that starts on that weekday and has ``last`` days
        (28 shapes in all, so a rare schedule walking decades computes each once)."""
        found = self._shapes.get((sunday_based, last))
        if found is None:
            matches = self._spec.day_matches
            found = tuple(
                d for d in range(1, last + 1) if matches(d, (sunday_based + d - 1) % 7, last)
            )
            self._shapes[sunday_based, last] = found
        return found


@lru_cache(maxsize=1024)
def day_cache(spec: CronSpec) -> DayCache:
    """One day cache per expression, shared by its schedules in every zone."""
    return DayCache(spec)
