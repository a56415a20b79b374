"""Who sends a request: API keys checked against the database, with the answers kept in memory.

A flood of unknown keys must not take what alarms need. Each lookup is the SHA-256 of the key
(a random key cannot be guessed from its hash's timing), answers are kept (a known key for
:data:`KNOWN_FOR_S` seconds, an unknown one for :data:`UNKNOWN_FOR_S`), and lookups run on a
pool of their own, :data:`LOOKUP_CONNECTIONS` connections on the event loop: no thread of the
thread pool and no connection of the alarms' or the service's pools ever waits on one.
"""

from __future__ import annotations

import time
from collections import OrderedDict

from pydantic import BaseModel

from zones import api_keys
from zones.audit import Actor
from zones.database import LoopPool

#: Seconds a known key is trusted before it is looked up again (a revoked key works this long;
#: an expiring key is trusted no longer than until it expires).
KNOWN_FOR_S = 30.0
#: Seconds an unknown key is refused without a lookup.
UNKNOWN_FOR_S = 30.0
#: Unknown keys remembered at most (the oldest are forgotten first).
UNKNOWN_KEPT = 100_000
#: Connections of the lookup pool: at most this many lookups at once.
LOOKUP_CONNECTIONS = 2


class Caller(BaseModel):
    """Who sent the request: the key's id, role and name, and for a unit key its unit."""

    key_id: int
    role: str
    name: str | None = None
    unit_id: int | None = None

    @property
    def label(self) -> str:
        return f"key {self.key_id} ({self.role}{', ' + self.name if self.name else ''})"

    @property
    def actor(self) -> Actor:
        """Who the audit names for this caller's changes."""
        return Actor(self.label, self.key_id)


class KeyRing:
    """The callers of API keys, looked up on ``pool`` (a small pool of its own) and kept."""

    def __init__(self, pool: LoopPool):
        self._pool = pool
        self._known: dict[str, tuple[float, Caller]] = {}
        self._unknown: OrderedDict[str, float] = OrderedDict()

    async def caller(self, key: str, *, fresh: bool = False) -> Caller | None:
        """The caller of a valid key, else None; ``fresh``: looked up in the database now,
        whatever is kept (a long-lived stream checks that its key was not revoked since)."""
        digest = api_keys.hash_key(key)
        now = time.monotonic()
        known = self._known.get(digest)
        if known is not None and known[0] > now and not fresh:
            return known[1]
        refused_until = self._unknown.get(digest)
        if refused_until is not None and refused_until > now and not fresh:
            return None
        async with self._pool.connection() as conn:
            found = await api_keys.find_key(conn, digest)
        now = time.monotonic()
        if found is None:
            self._known.pop(digest, None)
            self._refuse(digest, now + UNKNOWN_FOR_S)
            return None
        key_id, role, name, unit_id, expires = found
        caller = Caller(key_id=key_id, role=role, name=name, unit_id=unit_id)
        valid_s = KNOWN_FOR_S if expires is None else min(KNOWN_FOR_S, expires - time.time())
        self._known[digest] = (now + valid_s, caller)
        return caller

    def _refuse(self, digest: str, until: float) -> None:
        self._unknown[digest] = until
        self._unknown.move_to_end(digest)
        while len(self._unknown) > UNKNOWN_KEPT:
            self._unknown.popitem(last=False)
