"""The seed's class-based plugin: a daily report, plus quick tasks you can watch.

cognia-nb run examples/daily_report --for 20
"""

from __future__ import annotations

import asyncio
import random

from cognia_nb import Plugin, TaskContext, scheduled


class DailyReportPlugin(Plugin):
    @scheduled(cron="0 9 * * *", description="Daily report generation")
    async def daily_report(self, context: TaskContext) -> dict[str, object]:
        self.logger.info("Generating daily report...")
        context.report_progress(50, "Processing data")
        return {"success": True, "output": {"report_id": "123"}}

    @scheduled(interval=4, description="Collect a sample of metrics (every 4 s)", tags=["demo"])
    async def collect_metrics(self, context: TaskContext) -> dict[str, object]:
        rows = 0
        for step in range(1, 5):
            await context.sleep(0.25)  # cancellable, unlike asyncio.sleep
            rows += random.randint(10, 50)
            context.report_progress(step * 25, f"batch {step}/4")
        context.log("info", "metrics collected", rows=rows)
        return {"success": True, "output": {"rows": rows}, "metrics": {"rows": rows}}

    @scheduled(interval=7, description="A flaky call, retried", retry_attempts=2, retry_delay=1)
    def flaky_sync(self, context: TaskContext) -> str:
        # A plain (sync) method runs in a worker thread: blocking here never stalls the others.
        if context.attempt_number == 1 and random.random() < 0.5:
            raise ConnectionError("upstream hiccup")
        return f"answered on attempt {context.attempt_number}"

    async def on_unload(self) -> None:  # pragma: no cover - hooks may be sync or async
        await asyncio.sleep(0)
