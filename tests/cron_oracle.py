"""An independent, brute-force reading of cron/SEMANTICS.md's DST rules, for property tests.

It walks the UTC timeline minute by minute and asks, at each instant, "which wall times did
the local clock just reach?", which is the definition of the rules, with none of the engine's
segment arithmetic. Slow (one step per minute) and therefore only used on short windows.
"""

from __future__ import annotations

from calendar import monthrange
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from cognia_nb.triggers.cron._grammar import CronSpec

MINUTE = timedelta(minutes=1)


def wall_matches(spec: CronSpec, wall: datetime) -> bool:
    if wall.minute not in spec.minutes or wall.hour not in spec.hours:
        return False
    if wall.month not in spec.months:
        return False
    weekday = (wall.weekday() + 1) % 7
    return spec.day_matches(wall.day, weekday, monthrange(wall.year, wall.month)[1])


def fire_times(spec: CronSpec, zone: ZoneInfo, after: datetime, until: datetime) -> list[datetime]:
    """All fire instants in (after, until], by the rules, brute force."""
    fires: list[datetime] = []
    t = after.astimezone(UTC).replace(second=0, microsecond=0) - timedelta(days=1)
    # running maximum of the clock reading, as a naive wall time
    high = t.astimezone(zone).replace(tzinfo=None)
    while True:
        t += MINUTE
        if t > until:
            break
        wall = t.astimezone(zone).replace(tzinfo=None)
        if spec.wildcard:
            fired = wall_matches(spec, wall)
        else:
            fired = False
            if wall > high:
                jump = wall - high
                w = wall if jump <= MINUTE or jump >= timedelta(hours=3) else high + MINUTE
                while w <= wall:
                    if wall_matches(spec, w):
                        fired = True
                        break
                    w += MINUTE
                high = wall
        if fired and t > after:
            fires.append(t.astimezone(zone))
    return fires
