"""The API and the command line draw the same circles for the same settings."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from api import create_app
from cli import main
from settings import Settings

BEIHU = (114.26897, 30.60743)  # 北湖街派出所 (Beihu Street police station), WGS-84


def test_api_and_cli_circles_are_one_computation(city, wuhan_central, wuhan_central_compiled,
                                                 monkeypatch, capsys):
    monkeypatch.setenv("PATROL_CIRCLE_BUFFER_M", "120")
    monkeypatch.setenv("PATROL_CIRCLE_CELL_M", "20")
    settings = Settings(**{"DATABASE_URL": city.url})
    params = {"lon": BEIHU[0], "lat": BEIHU[1], "minutes": "1,3", "direction": "arrive"}
    with TestClient(create_app(settings, graph=wuhan_central.graph)) as client:
        reply = client.get("/circles", params=params, headers=city.headers("planner"))
    assert reply.status_code == 200, reply.text
    from_api = reply.json()

    code = main(["circles", "--graph", str(wuhan_central_compiled), "--at",
                 f"{BEIHU[0]},{BEIHU[1]}", "--minutes", "1,3", "--arrive"])
    assert code == 0
    from_cli = json.loads(capsys.readouterr().out)
    assert from_api == from_cli

    monkeypatch.delenv("PATROL_CIRCLE_BUFFER_M")
    monkeypatch.delenv("PATROL_CIRCLE_CELL_M")
    main(["circles", "--graph", str(wuhan_central_compiled), "--at", f"{BEIHU[0]},{BEIHU[1]}",
          "--minutes", "1,3", "--arrive"])
    default = json.loads(capsys.readouterr().out)
    wide = [f["properties"]["area_m2"] for f in from_api["features"]]
    narrow = [f["properties"]["area_m2"] for f in default["features"]]
    assert all(w > n for w, n in zip(wide, narrow)), "the settings must change the circles"
