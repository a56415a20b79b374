"""Arrival deadlines and the 红、黄、蓝 (red, yellow, blue) warnings of open incidents."""

from __future__ import annotations

from datetime import datetime

#: Seconds from receipt to arrival on scene, by priority (1 most urgent).
DEFAULT_ARRIVAL_DEADLINE_S = {1: 300, 2: 300, 3: 600, 4: 900, 5: 1800}
#: Share of the deadline elapsed at which each warning starts.
BLUE_AT, YELLOW_AT, RED_AT = 0.5, 0.8, 1.0


def warning(priority: int, received_at: datetime, now: datetime, status: str,
            deadlines: dict[int, int] | None = None) -> str | None:
    """"blue" (due soon), "yellow" (due), "red" (overdue) or None (on time, or already arrived)."""
    if status in ("arrived", "closed"):
        return None
    deadline = (deadlines or DEFAULT_ARRIVAL_DEADLINE_S)[priority]
    share = (now - received_at).total_seconds() / deadline
    if share >= RED_AT:
        return "red"
    if share >= YELLOW_AT:
        return "yellow"
    if share >= BLUE_AT:
        return "blue"
    return None


def deadline_seconds(priority: int, deadlines: dict[int, int] | None = None) -> int:
    return (deadlines or DEFAULT_ARRIVAL_DEADLINE_S)[priority]
