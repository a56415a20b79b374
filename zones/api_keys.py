"""API keys: only a key's SHA-256 hash is stored; the key itself is shown once. A key may expire,
and a ``unit`` key (an in-car terminal's) is bound to one unit."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

import psycopg
import sqlalchemy as sa

_CREATE = sa.text("INSERT INTO api_keys (key_hash, role, name, unit_id, expires_at) "
                  "VALUES (:h, :r, :n, :u, :e)")
_FIND = ("SELECT id, role, name, unit_id, extract(epoch FROM expires_at)::float8 FROM api_keys "
         "WHERE key_hash = %(h)s AND revoked_at IS NULL "
         "AND (expires_at IS NULL OR expires_at > now())")
_LIST = sa.text("SELECT id, role, name, unit_id, created_at, expires_at, revoked_at "
                "FROM api_keys ORDER BY id")
_REVOKE = sa.text("UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = :i "
                  "RETURNING revoked_at")


def hash_key(raw: str) -> str:
    """The stored form of a key: its SHA-256, in hex."""
    return hashlib.sha256(raw.encode()).hexdigest()


def create_api_key(conn: sa.Connection, role: str, *, name: str | None = None,
                   unit_id: int | None = None, expires_at: datetime | None = None) -> str:
    """Make a new key for ``role`` (a ``unit`` key, and only it, needs the ``unit_id`` it
    reports for: the database checks both), valid until ``expires_at`` if given; only its hash
    is stored, the key is returned once."""
    raw = secrets.token_urlsafe(32)
    conn.execute(_CREATE, {"h": hash_key(raw), "r": role, "n": name, "u": unit_id,
                           "e": expires_at})
    return raw


def list_api_keys(conn: sa.Connection) -> list[dict]:
    """Every key (never its hash): id, role, name, unit_id, created_at, expires_at, revoked_at."""
    return [dict(row._mapping) for row in conn.execute(_LIST)]


def revoke_api_key(conn: sa.Connection, key_id: int) -> datetime | None:
    """Revoke key ``key_id`` (at once in the database; an API process that has the key in
    memory trusts it for at most ``api.callers.KNOWN_FOR_S`` more); when it was revoked, None
    for no such key."""
    return conn.execute(_REVOKE, {"i": key_id}).scalar()


async def find_key(conn: psycopg.AsyncConnection,
                   key_hash: str) -> tuple[int, str, str | None, int | None, float | None] | None:
    """(key id, role, name, unit id, expiry as a Unix time or None) of the valid, unrevoked,
    unexpired key whose hash is ``key_hash``, else None."""
    cursor = await conn.execute(_FIND, {"h": key_hash})
    return await cursor.fetchone()
