"""API keys: only a key's SHA-256 hash is stored; the key itself is shown once."""

from __future__ import annotations

import hashlib
import secrets

import psycopg
import sqlalchemy as sa

_CREATE = sa.text("INSERT INTO api_keys (key_hash, role, name) VALUES (:h, :r, :n)")
_FIND = "SELECT id, role, name FROM api_keys WHERE key_hash = %(h)s AND revoked_at IS NULL"


def hash_key(raw: str) -> str:
    """The stored form of a key: its SHA-256, in hex."""
    return hashlib.sha256(raw.encode()).hexdigest()


def create_api_key(conn: sa.Connection, role: str, *, name: str | None = None) -> str:
    """Make a new key for ``role``; only its hash is stored, the key is returned once."""
    raw = secrets.token_urlsafe(32)
    conn.execute(_CREATE, {"h": hash_key(raw), "r": role, "n": name})
    return raw


async def find_key(conn: psycopg.AsyncConnection,
                   key_hash: str) -> tuple[int, str, str | None] | None:
    """(key id, role, name) of the valid, unrevoked key whose hash is ``key_hash``, else None."""
    cursor = await conn.execute(_FIND, {"h": key_hash})
    return await cursor.fetchone()
