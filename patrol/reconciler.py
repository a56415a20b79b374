"""The reconciler: decides the incidents that were stored but never decided.

An alarm stores its incident before it decides (so that a 201 or a 503 means it is kept). If
anything fails in between, or the worker dies, the incident stays open and undecided. Every API
worker runs this loop: every ``interval_s`` seconds it decides, as their alarm would have, the
open incidents stored more than ``after_s`` seconds ago without a decision, audited with mode
``reconcile``; and it gives units that became available to the alarms decided while none was
(``patrol.retry``). Workers may look at the same incident at once: the database records only
the first decision of an incident (``zones.alarm_store``) and claims a unit once, so none is
decided twice and no unit is given twice.
"""

from __future__ import annotations

import asyncio
import logging
import os

import psycopg

from patrol import alarms, retry, service
from zones.database import LoopPool

log = logging.getLogger(__name__)


async def reconcile_forever(pool: LoopPool, config: service.DispatchConfig, *, after_s: float,
                            interval_s: float) -> None:
    """Decide undecided incidents every ``interval_s`` seconds until cancelled; a database
    that cannot be reached is tried again at the next round."""
    who = f"reconciler (process {os.getpid()})"
    while True:
        await asyncio.sleep(interval_s)
        try:
            decided = await alarms.decide_undecided(pool, config, older_than_s=after_s,
                                                     requested_by=who)
        except psycopg.OperationalError:
            continue
        except Exception:  # a bug must not stop the loop: the next round tries again
            log.exception("reconciling undecided incidents failed")
            continue
        if decided:
            log.warning("decided %d incident(s) stored without a decision: %s", len(decided),
                        ", ".join(map(str, decided)))
        try:
            retried = await retry.dispatch_waiting(pool, config)
        except psycopg.OperationalError:
            continue
        except Exception:
            log.exception("dispatching incidents waiting for a unit failed")
            continue
        if retried:
            log.info("units given to incidents waiting for one: %s",
                     ", ".join(f"{unit} to {incident}" for incident, unit in retried))
