#!/usr/bin/env bash
# Set up, then run the main job on the real Wuhan data: start the embedded PostGIS database (or
# use DATABASE_URL), load Wuhan's stations, hotspots, grid and patrol zones, and compute 1/3/5-minute
# response circles around the Beihu Street police station (北湖街派出所, Jianghan district).
# The first run compiles the Wuhan road graph (about 30 s).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p out
.venv/bin/patrol db up
.venv/bin/patrol load wuhan 2>/dev/null
STATION=114.26897,30.60743   # WGS-84
.venv/bin/patrol circles --at "$STATION" --minutes 1,3,5 -o out/circles_beihu.geojson
.venv/bin/patrol circles --at "$STATION" --minutes 1,3,5 --arrive -o out/arrive_beihu.geojson
echo "police stations fastest to reach the point (demo data: Amap POIs, GCJ-02):"
.venv/bin/patrol nearest --at "$STATION" --from data/poi/police.geojson --from-crs gcj02 -k 3 \
    2>/dev/null | .venv/bin/python -m json.tool --no-ensure-ascii
echo "response circles written to out/circles_beihu.geojson and out/arrive_beihu.geojson"
