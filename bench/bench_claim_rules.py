"""Benchmark: what the busy-unit rule (migration 0010: a unit dispatched, en route or on scene
has an active assignment, constraint triggers checked at commit) costs the alarm's claim.

Run: .venv/bin/python bench/bench_claim_rules.py

On a throwaway cluster (migrated, 50 available units): the alarm path's decision statement
(``zones.alarm_store``: claim + assignment + unit + incident + decision in one statement) is
run for fresh incidents, each followed by a release, in alternating rounds with the two
triggers enabled and disabled (same database, same connection). Prints the median client-side
time of the decision statement per round (milliseconds, commit included) and the ratio of the
medians, on over off.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from zones.alarm_store import _DISPATCH  # noqa: E402
from zones.cluster import temporary_cluster  # noqa: E402
from zones.migrate import upgrade  # noqa: E402

ROUNDS = 8
CLAIMS_PER_ROUND = 300
UNITS = list(range(1, 51))
_RELEASE = ("WITH r AS (UPDATE assignments SET released_at = now() WHERE incident_id = %s "
            "AND released_at IS NULL RETURNING unit_id) "
            "UPDATE units SET status = 'available' WHERE id IN (SELECT unit_id FROM r)")


def claim_times(conn: psycopg.Connection, triggers: str) -> list[float]:
    """Seconds of each decision statement for fresh incidents, triggers ENABLE or DISABLE."""
    conn.execute(f"ALTER TABLE units {triggers} TRIGGER units_busy_assigned")
    conn.execute(f"ALTER TABLE assignments {triggers} TRIGGER assignments_busy_assigned")
    incidents = conn.execute(
        "INSERT INTO incidents (category, priority, geom) SELECT 'theft', 1, "
        "ST_SetSRID(ST_MakePoint(114.3, 30.6), 4326) FROM generate_series(1, %s) RETURNING id",
        (CLAIMS_PER_ROUND,)).fetchall()
    spent = []
    for (incident_id,) in incidents:
        start = time.perf_counter()
        conn.execute(_DISPATCH, {
            "incident_id": incident_id, "ids": UNITS, "etas": [60.0] * len(UNITS),
            "reasons": ["bench"] * len(UNITS), "reason_if_none": "none",
            "requested_by": "bench", "mode": "auto", "candidates": "[]"})
        spent.append(time.perf_counter() - start)
        conn.execute(_RELEASE, (incident_id,))
    return spent


def main() -> None:
    with temporary_cluster("patrol-bench-claim-") as cluster:
        url = cluster.up()
        upgrade(url)
        with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute("INSERT INTO units (id, callsign, kind) SELECT g, 'B' || g, "
                         "'patrol_car' FROM generate_series(1, %s) g", (len(UNITS),))
            medians = {"ENABLE": [], "DISABLE": []}
            for _ in range(ROUNDS):
                for triggers in medians:
                    medians[triggers].append(statistics.median(claim_times(conn, triggers))
                                             * 1000)
    for triggers, values in medians.items():
        print(f"triggers {triggers.lower()}d: median ms per round",
              [round(v, 3) for v in values])
    ratio = statistics.median(medians["ENABLE"]) / statistics.median(medians["DISABLE"])
    print(f"ratio of medians, enabled / disabled: {ratio:.3f}")


if __name__ == "__main__":
    main()
