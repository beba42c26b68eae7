"""Hypothesis properties of the triggers.

* fire times are strictly increasing, strictly after ``after``, aware, in the trigger's zone;
* around real DST transitions they equal a brute-force, minute-by-minute reading of the rules;
* in UTC they equal croniter's (with the Vixie ``*`` day rule), an independent implementation;
* ``parse_trigger(t.to_dict())`` round-trips; garbage never raises anything but
  ``TaskValidationError``.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cognia_nb import TaskValidationError
from cognia_nb.triggers import (
    CronTrigger,
    EventTrigger,
    IntervalTrigger,
    OnceTrigger,
    parse_trigger,
)
from cognia_nb.triggers.cron._grammar import parse_cron

from .cron_oracle import fire_times

ZONES = [
    "UTC",
    "America/New_York",
    "Europe/Berlin",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Pacific/Chatham",
    "America/St_Johns",
    "Asia/Kolkata",
    "Europe/Dublin",
    "Asia/Kathmandu",
    "Pacific/Apia",
]
LIMITS = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]


@st.composite
def field(draw: st.DrawFn, index: int, proper_ranges: bool = False) -> str:
    lo, hi = LIMITS[index]
    if proper_ranges and index == 4:
        hi = 6  # croniter reads 'N/S' and ranges ending at 7 differently
    kind = draw(st.sampled_from(["*", "n", "range", "step", "list", "nstep"]))
    if kind == "*":
        return "*"
    if kind == "n":
        return str(draw(st.integers(lo, hi)))
    if kind == "range":
        a = draw(st.integers(lo, hi))
        if proper_ranges and a == hi:
            return str(a)
        b = draw(st.integers(a + 1 if proper_ranges else a, hi))
        return f"{a}-{b}"
    if kind == "step":
        span = min(hi - lo + 1, 7 if index == 4 else 60)
        return f"*/{draw(st.integers(1, span))}"
    if kind == "nstep" and not (proper_ranges and index == 4):
        a = draw(st.integers(lo, hi))
        return f"{a}/{draw(st.integers(1, max(1, hi - lo)))}"
    items = draw(st.lists(st.integers(lo, hi), min_size=1, max_size=4, unique=True))
    return ",".join(map(str, items))


@st.composite
def expressions(draw: st.DrawFn, proper_ranges: bool = False) -> str:
    # croniter reads a one-value range such as '0-0' in day-of-week as "any day".
    expr = " ".join(draw(field(i, proper_ranges)) for i in range(5))
    try:
        parse_cron(expr)
    except TaskValidationError:
        assume(False)
    return expr


instants = st.datetimes(
    min_value=datetime(1995, 1, 1), max_value=datetime(2045, 1, 1), timezones=st.just(UTC)
)


@settings(max_examples=300, deadline=None)
@given(expr=expressions(), tz=st.sampled_from(ZONES), after=instants)
def test_cron_increasing_aware_in_zone(expr: str, tz: str, after: datetime) -> None:
    trigger = CronTrigger(expr, tz)
    zone = ZoneInfo(tz)
    t = after
    for _ in range(5):
        nxt = trigger.next_fire_time(t)
        assert nxt is not None
        assert nxt.tzinfo is not None and str(nxt.tzinfo) == tz
        assert nxt.timestamp() > t.timestamp()
        assert nxt.utcoffset() == datetime.fromtimestamp(nxt.timestamp(), zone).utcoffset()
        t = nxt


def _transitions(tz: str) -> list[datetime]:
    zone = ZoneInfo(tz)
    found = []
    t = datetime(2010, 1, 1, tzinfo=UTC)
    while t.year < 2030:
        nxt = t + timedelta(hours=1)
        if t.astimezone(zone).utcoffset() != nxt.astimezone(zone).utcoffset():
            found.append(nxt)
        t = nxt
    return found


_DST_ZONES = [
    "America/New_York",
    "Europe/Berlin",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Pacific/Chatham",
    "America/St_Johns",
    "Pacific/Apia",
]
_TRANSITIONS = {tz: _transitions(tz) for tz in _DST_ZONES}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    expr=expressions(),
    tz=st.sampled_from(_DST_ZONES),
    index=st.integers(0, 1000),
    offset_minutes=st.integers(-26 * 60, 2 * 60),
)
def test_cron_equals_brute_force_rules_around_transitions(
    expr: str, tz: str, index: int, offset_minutes: int
) -> None:
    transitions = _TRANSITIONS[tz]
    around = transitions[index % len(transitions)]
    after = around + timedelta(minutes=offset_minutes)
    until = around + timedelta(hours=30)
    spec = parse_cron(expr)
    expected = fire_times(spec, ZoneInfo(tz), after, until)
    trigger = CronTrigger(expr, tz)
    got = []
    t: datetime | None = after
    while True:
        assert t is not None
        t = trigger.next_fire_time(t)
        if t is None or t > until:
            break
        got.append(t)
    assert [g.isoformat() for g in got] == [e.isoformat() for e in expected]


@settings(max_examples=300, deadline=None)
@given(expr=expressions(proper_ranges=True), after=instants)
def test_cron_in_utc_agrees_with_croniter(expr: str, after: datetime) -> None:
    trigger = CronTrigger(expr, "UTC")
    it = croniter(expr, after, implement_cron_bug=True)
    t = after
    for _ in range(4):
        nxt = trigger.next_fire_time(t)
        assert nxt is not None
        assert nxt == it.get_next(datetime)
        t = nxt


def triggers() -> st.SearchStrategy[object]:
    return st.one_of(
        st.builds(CronTrigger, expressions(), st.sampled_from(ZONES)),
        st.builds(
            IntervalTrigger,
            st.one_of(st.integers(1, 31_622_400), st.floats(0.001, 31_622_400)),
            st.one_of(st.none(), instants),
        ),
        st.builds(
            OnceTrigger, st.datetimes(min_value=datetime(2030, 1, 1), timezones=st.just(UTC))
        ),
        st.builds(
            EventTrigger,
            st.from_regex(r"[A-Za-z0-9_.:-]{1,128}", fullmatch=True),
            st.one_of(st.none(), st.from_regex(r"[a-z:]{1,20}", fullmatch=True)),
        ),
    )


@settings(max_examples=200, deadline=None)
@given(trigger=triggers())
def test_to_dict_round_trips(trigger: object) -> None:
    data = trigger.to_dict()  # type: ignore[attr-defined]
    again = parse_trigger(data, now=datetime(2026, 1, 1, tzinfo=UTC))
    assert again == trigger
    assert again.to_dict() == data


@settings(max_examples=200, deadline=None)
@given(
    seconds=st.floats(0.001, 1e6),
    anchor=instants,
    after=instants,
)
def test_interval_is_anchor_plus_k_periods(
    seconds: float, anchor: datetime, after: datetime
) -> None:
    trigger = IntervalTrigger(seconds, anchor)
    nxt = trigger.next_fire_time(after)
    assert nxt is not None and nxt > after
    k = (nxt - anchor) / timedelta(seconds=seconds)
    assert abs(k - round(k)) < 1e-3
    period = timedelta(seconds=seconds)
    one_us = timedelta(microseconds=1)  # the period is kept in whole microseconds
    assert nxt - period <= max(after, anchor - period) + one_us


@settings(max_examples=500, deadline=None)
@given(text=st.text(max_size=80))
def test_garbage_expressions_only_raise_validation_errors(text: str) -> None:
    try:
        CronTrigger(text, "UTC")
    except TaskValidationError as exc:
        assert exc.field == "trigger.expression"


@settings(max_examples=300, deadline=None)
@given(
    value=st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20)),
        lambda children: (
            st.dictionaries(
                st.sampled_from(
                    [
                        "type",
                        "expression",
                        "timezone",
                        "seconds",
                        "runAt",
                        "eventType",
                        "eventSource",
                        "startAt",
                        "x",
                    ]
                ),
                children,
                max_size=4,
            )
            | st.lists(children, max_size=3)
        ),
        max_leaves=8,
    )
)
def test_garbage_triggers_only_raise_validation_errors(value: object) -> None:
    with contextlib.suppress(TaskValidationError):
        parse_trigger(value)
