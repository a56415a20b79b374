"""The API's connections give up on a lock or a statement that takes too long, and say so."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from api import create_app
from settings import Settings


@pytest.mark.parametrize("limits, said", [
    ({"lock_timeout_s": 0.3, "statement_timeout_s": 30}, "lock timeout"),
    ({"lock_timeout_s": 30, "statement_timeout_s": 0.3}, "statement timeout"),
])
def test_a_request_held_up_by_a_lock_is_told_it_timed_out(city, wuhan_central, limits, said):
    """A unit row held by another transaction: changing its status waits at most the limit,
    then answers 503 naming the timeout (not "database unavailable"); the row is unchanged."""
    unit_id = city.unit_ids[0]
    settings = Settings(**{"DATABASE_URL": city.url, **limits})
    with TestClient(create_app(settings, graph=wuhan_central.graph)) as client:
        with city.engine.begin() as holder:
            holder.execute(sa.text("SELECT 1 FROM units WHERE id = :u FOR UPDATE"),
                           {"u": unit_id})
            reply = client.put(f"/units/{unit_id}/status", json={"status": "off_duty"},
                               headers=city.headers("dispatcher"))
        assert reply.status_code == 503, reply.text
        assert said in reply.json()["detail"] and "unavailable" not in reply.text
        assert client.get(f"/units/{unit_id}",
                          headers=city.headers("dispatcher")).json()["status"] == "available"
