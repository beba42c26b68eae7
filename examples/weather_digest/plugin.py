"""A define_plugin plugin whose tasks live in plugin.json (handler names resolve camelCase to
snake_case: "fetchReadings" finds fetch_readings).

    cognia-nb run examples/weather_digest --for 20
"""

from __future__ import annotations

import random
from typing import Any

from cognia_nb import PluginContext, TaskContext, define_plugin

readings: list[float] = []


def activate(context: PluginContext) -> dict[str, Any]:
    scheduler = context.scheduler

    async def fetch_readings(task: TaskContext) -> dict[str, Any]:
        stations = ["north", "harbour", "airport", "hill"]
        temps = {}
        for i, station in enumerate(stations, 1):
            await task.sleep(0.2)
            temps[station] = round(random.uniform(4, 21), 1)
            task.report_progress(100 * i / len(stations), f"station {station}")
        readings.extend(temps.values())
        scheduler.emit("weather:fetched", {"count": len(readings)})  # fires "Announce"
        return {"success": True, "output": temps, "metrics": {"stations": len(temps)}}

    def morning_digest(task: TaskContext) -> dict[str, Any]:
        if not readings:
            return {"success": True, "output": "no readings yet"}
        return {"success": True, "output": {"min": min(readings), "max": max(readings)}}

    def announce(task: TaskContext) -> str:
        count = task.event.payload["count"] if task.event else len(readings)
        task.log("info", f"{count} readings so far")
        return f"{count} readings so far"

    unregister = [
        scheduler.register_handler("fetch_readings", fetch_readings),
        scheduler.register_handler("morning_digest", morning_digest),
        scheduler.register_handler("announce", announce),
    ]

    def on_unload() -> None:
        for fn in unregister:
            fn()

    return {
        "on_unload": on_unload,
        "on_scheduled_task_error": lambda task_id, execution_id, error: context.logger.warning(
            "task %s failed: %s", task_id, error
        ),
    }


plugin = define_plugin(activate)
