"""Parsing and validating cron expressions into a :class:`CronSpec`.

The grammar is Vixie cron's five fields plus ``L`` (day-of-month) and ``D#k`` (day-of-week),
as ``cron/SEMANTICS.md`` describes it. Everything else is refused with a message that names the
field, the token and what that field accepts: a pasted Quartz expression (seconds, ``?``, ``W``)
would otherwise silently mean something else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ..._errors import TaskValidationError

__all__ = ["ALIASES", "CronSpec", "parse_cron"]

MAX_LENGTH = 256

ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

_MONTHS = {
    m: i
    for i, m in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), 1
    )
}
_DAYS = {d: i for i, d in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))}

# name, low, high, step limit (the span), names, accepted syntax for messages
_FIELDS = (
    ("minute", 0, 59, 60, None, "0-59, '*', ranges 'a-b', steps '/n' and comma lists"),
    ("hour", 0, 23, 24, None, "0-23, '*', ranges 'a-b', steps '/n' and comma lists"),
    (
        "day-of-month",
        1,
        31,
        31,
        None,
        "1-31, 'L' (last day), '*', ranges 'a-b', steps '/n' and comma lists",
    ),
    ("month", 1, 12, 12, _MONTHS, "1-12 or JAN-DEC, '*', ranges 'a-b', steps '/n' and comma lists"),
    (
        "day-of-week",
        0,
        7,
        7,
        _DAYS,
        "0-7 (0 and 7 are Sunday) or SUN-SAT, 'D#k' (k-th weekday, k=1-5), '*', ranges 'a-b', "
        "steps '/n' and comma lists",
    ),
)

_ALLOWED_CHARS = re.compile(r"[A-Za-z0-9*/,#@ \t-]*\Z")
_NUMBER = re.compile(r"[0-9]{1,2}\Z")
_NAME = re.compile(r"[A-Za-z]{3}\Z")
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # Feb: leap years count


@dataclass(frozen=True, slots=True)
class CronSpec:
    """A compiled cron expression: the allowed values of each field and how days combine."""

    expression: str  # as given (stripped)
    canonical: str  # after alias expansion
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    dom: frozenset[int]
    dom_last: bool
    months: frozenset[int]
    dow: frozenset[int]  # 0-6, Sunday = 0
    dow_nth: frozenset[tuple[int, int]]  # (weekday, k)
    dom_star: bool  # day-of-month as written starts with '*'
    dow_star: bool
    wildcard: bool  # minute or hour starts with '*': cronie's "wildcard job"

    def day_matches(self, day: int, weekday: int, last_day: int) -> bool:
        """Whether a calendar day matches (Vixie: OR unless either day field starts with '*')."""
        dom_ok = day in self.dom or (self.dom_last and day == last_day)
        dow_ok = weekday in self.dow or (
            bool(self.dow_nth) and (weekday, (day - 1) // 7 + 1) in self.dow_nth
        )
        if self.dom_star or self.dow_star:
            return dom_ok and dow_ok
        return dom_ok or dow_ok


def _fail(expr: str, message: str) -> TaskValidationError:
    shown = repr(expr) if len(expr) <= 60 else repr(expr[:40]) + "..."
    return TaskValidationError(
        f"cron expression {shown}: {message}", field="trigger.expression", value=expr
    )


def _value(expr: str, token: str, index: int, *, allow_names: bool = True) -> int:
    name, low, high, _, names, accepts = _FIELDS[index]
    if _NUMBER.match(token):
        number = int(token)
    elif names is not None and allow_names and _NAME.match(token) and token.upper() in names:
        number = names[token.upper()]
    else:
        what = "name" if token.isalpha() else "value"
        raise _fail(expr, f"{name} field: {what} {token!r} is not valid; {name} accepts {accepts}")
    if not low <= number <= high:
        raise _fail(
            expr, f"{name} field: {number} is out of range {low}-{high}; {name} accepts {accepts}"
        )
    return number


def _item(expr: str, item: str, index: int) -> set[int]:
    name, low, high, span, _, _accepts = _FIELDS[index]
    base, slash, step_text = item.partition("/")
    step = 1
    if slash:
        if not _NUMBER.match(step_text) or not 1 <= int(step_text) <= span:
            raise _fail(
                expr,
                f"{name} field: step {step_text!r} in {item!r} must be a number from 1 to {span}",
            )
        step = int(step_text)
    if base == "*":
        first, last = low, high
    elif "-" in base:
        left, _, right = base.partition("-")
        if not left or not right or "-" in right:
            raise _fail(expr, f"{name} field: range {item!r} is incomplete; write it as 'a-b'")
        first, last = _value(expr, left, index), _value(expr, right, index)
        if index == 4 and last == 0 and first > 0:
            last = 7  # FRI-SUN means 5-7
        if first > last:
            raise _fail(
                expr,
                f"{name} field: range {base!r} is reversed ({first} > {last}); "
                "write the smaller value first",
            )
    else:
        first = _value(expr, base, index)
        last = high if slash else first
    return set(range(first, last + 1, step))


def _has_l_or_w(item: str) -> bool:
    """Whether an (upper-cased) item uses the ``L``/``W`` syntax, not a name such as ``JUL``.

    Each end of a range and the base of a step is looked at on its own, so ``3-JUL``,
    ``1-jul/2`` and ``1-WED`` are names while ``5L``, ``LW``, ``15W`` and ``L-5`` are not.
    """
    return any(
        ("L" in part or "W" in part) and not _NAME.match(part) for part in re.split(r"[-/]", item)
    )


def _field(expr: str, text: str, index: int) -> tuple[set[int], bool, set[tuple[int, int]]]:
    """Values of one field, plus ``L`` (day-of-month) or ``#`` pairs (day-of-week)."""
    name, *_, accepts = _FIELDS[index]
    values: set[int] = set()
    last = False
    nth: set[tuple[int, int]] = set()
    for item in text.split(","):
        if not item:
            raise _fail(expr, f"{name} field {text!r} has an empty list item")
        upper = item.upper()
        if index == 2 and upper == "L":
            last = True
        elif index == 4 and "#" in item:
            day_text, _, k_text = item.partition("#")
            day = _value(expr, day_text, index) % 7
            if not _NUMBER.match(k_text) or not 1 <= int(k_text) <= 5:
                raise _fail(
                    expr,
                    f"day-of-week field: {item!r}: the week index after '#' must be "
                    "1-5 (the k-th weekday of the month)",
                )
            nth.add((day, int(k_text)))
        elif _has_l_or_w(upper):
            kind = "'L' (last day)" if "L" in upper else "'W' (nearest weekday)"
            where = (
                "only allowed as a whole item in day-of-month" if "L" in upper else "not supported"
            )
            raise _fail(
                expr, f"{name} field: {item!r}: {kind} is {where}; {name} accepts {accepts}"
            )
        else:
            values |= _item(expr, item, index)
    return values, last, nth


_UNSUPPORTED = {
    "?": "'?' (Quartz 'no specific value') is not supported; use '*'",
    "H": "'H' (Jenkins hash) is not supported",
    "R": "'R' (random) is not supported",
    "~": "'~' (cronie random range) is not supported: the schedule must be deterministic",
}


def _check_characters(expr: str) -> None:
    if len(expr) > MAX_LENGTH:
        raise _fail(expr, f"is {len(expr)} characters long; the limit is {MAX_LENGTH}")
    for ch in expr:
        if not (ch == "\t" or " " <= ch <= "~"):
            raise _fail(
                expr,
                f"character {ch!r} (U+{ord(ch):04X}) is not allowed; cron "
                "expressions are ASCII fields separated by spaces or tabs, on one line",
            )
    for token, message in _UNSUPPORTED.items():
        if token in expr and not (token in "HR" and re.search(r"[A-Za-z]{3}", expr)):
            raise _fail(expr, message)
    if not _ALLOWED_CHARS.match(expr):
        bad = next(c for c in expr if not _ALLOWED_CHARS.match(c))
        raise _fail(expr, f"character {bad!r} is not part of cron syntax")


def _never_fires(spec: CronSpec) -> bool:
    """True when no calendar day can ever match (``0 0 31 2 *``).

    Every (month, day, weekday) combination occurs within the 400-year Gregorian cycle, so
    trying each possible combination once decides it.
    """
    for month in spec.months:
        longest = _DAYS_IN_MONTH[month - 1]
        for day in range(1, longest + 1):
            lasts = (28, 29) if month == 2 else (longest,)
            for weekday in range(7):
                for last_day in lasts:
                    if day <= last_day and spec.day_matches(day, weekday, last_day):
                        return False
    return True


@lru_cache(maxsize=4096)
def parse_cron(expression: str) -> CronSpec:
    """Validate and compile a cron expression.

    Raises:
        TaskValidationError: with ``field="trigger.expression"``, naming the token and what the
            field accepts.
    """
    expr = expression
    _check_characters(expr)
    text = expr.strip(" \t")
    if not text:
        raise _fail(
            expr,
            "is empty; write five fields 'minute hour day-of-month month "
            "day-of-week' or an alias such as '@daily'",
        )
    if text.startswith("@"):
        canonical = ALIASES.get(text.lower())
        if canonical is None:
            raise _fail(
                expr,
                f"{text!r} is not a time schedule alias; use one of " + ", ".join(sorted(ALIASES)),
            )
    else:
        canonical = text
    fields = re.split(r"[ \t]+", canonical)
    if len(fields) != 5:
        extra = (
            (
                " (6 or 7 fields are Quartz/seconds or year syntax, which would silently shift "
                "every field; cron here has minute precision)"
            )
            if len(fields) in (6, 7)
            else ""
        )
        raise _fail(
            expr,
            f"has {len(fields)} fields, expected 5: minute hour day-of-month month "
            f"day-of-week{extra}",
        )
    if any("@" in f for f in fields):
        raise _fail(expr, "'@' aliases must stand alone")
    minute, _, _ = _field(expr, fields[0], 0)
    hour, _, _ = _field(expr, fields[1], 1)
    dom, dom_last, _ = _field(expr, fields[2], 2)
    month, _, _ = _field(expr, fields[3], 3)
    dow, _, dow_nth = _field(expr, fields[4], 4)
    spec = CronSpec(
        expression=text,
        canonical=canonical,
        minutes=tuple(sorted(minute)),
        hours=tuple(sorted(hour)),
        dom=frozenset(dom),
        dom_last=dom_last,
        months=frozenset(month),
        dow=frozenset(d % 7 for d in dow),
        dow_nth=frozenset(dow_nth),
        dom_star=fields[2].startswith("*"),
        dow_star=fields[4].startswith("*"),
        wildcard=fields[0].startswith("*") or fields[1].startswith("*"),
    )
    if _never_fires(spec):
        raise _fail(
            expr,
            "can never fire: no month in the month field has the days in the day-of-month field",
        )
    return spec
