#!/usr/bin/env bash
# Set up, then run the main job on the embedded default: start the local PostGIS database (or
# use DATABASE_URL), load Wuhan (stations, hotspots, grid cells, patrol zones), create a
# simulated fleet of 500 patrol cars (marked simulated), write response circles around the
# Beihu Street police station and the coverage map of Wuhan, and serve the dispatch API on http://127.0.0.1:8000 while the
# simulator moves the cars along the roads. Ctrl-C stops the service.
# The first run compiles the Wuhan road graph (about 30 s).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
P=.venv/bin/patrol
PORT=${PORT:-8000}
mkdir -p out
$P db up
$P load wuhan 2>/dev/null
$P fleet create --count 500
STATION=114.26897,30.60743   # 北湖街派出所, WGS-84
$P circles --at "$STATION" --minutes 1,3,5 -o out/circles_beihu.geojson
$P circles --at "$STATION" --minutes 1,3,5 --arrive -o out/arrive_beihu.geojson
$P map coverage -o out/coverage_wuhan.html

DISPATCHER=$($P keys create --role dispatcher --name demo 2>/dev/null)
PLANNER=$($P keys create --role planner --name demo 2>/dev/null)
ADMIN=$($P keys create --role admin --name demo 2>/dev/null)

$P serve --port "$PORT" --workers 2 &
SERVER=$!
trap 'kill $SIM $SERVER 2>/dev/null || true' EXIT INT TERM
for _ in $(seq 120); do
    curl -sf "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break
    sleep 1
done
PATROL_API_KEY="$DISPATCHER" $P fleet simulate --api "http://127.0.0.1:$PORT" &
SIM=$!
cat <<INFO

The dispatch API is live at http://127.0.0.1:$PORT (docs: http://127.0.0.1:$PORT/docs).
500 simulated patrol cars report their positions every 5 s.
API keys (send as the X-API-Key header):
  dispatcher: $DISPATCHER
  planner:    $PLANNER
  admin:      $ADMIN
Try an incident at Jianghan Road, in GCJ-02 as a phone app would send it:
  curl -s -X POST http://127.0.0.1:$PORT/incidents -H "X-API-Key: $DISPATCHER" \\
       -H 'Content-Type: application/json' \\
       -d '{"lon": 114.2861, "lat": 30.5803, "crs": "gcj02", "category": "theft", "priority": 1}'
Coverage map of Wuhan for planners: out/coverage_wuhan.html (open it in a browser).
Response circles: out/circles_beihu.geojson and out/arrive_beihu.geojson. Ctrl-C stops.
INFO
wait $SERVER
