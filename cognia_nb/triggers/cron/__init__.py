"""Cron: the grammar and its refusals (``_grammar``), the matcher and its day cache
(``_matcher``), and :class:`CronTrigger` (``_trigger``) built on them and the zone timeline."""

from __future__ import annotations

from ._grammar import CronSpec, parse_cron
from ._trigger import CronTrigger

__all__ = ["CronSpec", "CronTrigger", "parse_cron"]
