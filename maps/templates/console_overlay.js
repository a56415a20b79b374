// The live 1/3/5-minute coverage overlay: the circles of the units that may answer an alarm, as
// the server works them out (GET coverage/live/rings, WGS-84, shifted here like every point).
// Read again when the stream says units changed, at most once every REFRESH_MS, and once more
// when the server's hold on a changed unit set (config.overlayHeldS) has passed after the last
// change told; the server answers 304 while the fleet state the rings are of (fleet_state,
// their ETag) holds. A layer that can be switched off.
(() => {
  'use strict';
  const app = window.PatrolConsole;
  const REFRESH_MS = 3000;
  const HELD_MS = (app.config.overlayHeldS + 0.5) * 1000;
  const STYLES = {  // by ring (seconds): the 5-minute ring drawn first, the 1-minute on top
    60: {color: '#1b5e20', fillColor: '#43a047', fillOpacity: 0.30},
    180: {color: '#f57f17', fillColor: '#fdd835', fillOpacity: 0.18},
    300: {color: '#0d47a1', fillColor: '#64b5f6', fillOpacity: 0.12},
  };
  const NAME = '1/3/5-minute circles of the units free to answer';
  const layer = L.layerGroup().addTo(app.map);
  L.control.layers(null, {[NAME]: layer}, {collapsed: false, position: 'topright'})
    .addTo(app.map);
  const overlay = {tag: null, rings: null, timer: null, busy: false, wanted: false, last: 0,
                   draws: 0, trailing: null};

  function want() {
    overlay.wanted = true;
    if (overlay.timer !== null || overlay.busy) { return; }
    const wait = Math.max(0, overlay.last + REFRESH_MS - Date.now());
    overlay.timer = setTimeout(refresh, wait);
  }
  async function refresh() {
    overlay.timer = null;
    if (!app.state.key || !app.map.hasLayer(layer)) { return; }  // read again when shown
    overlay.wanted = false;
    overlay.busy = true;
    overlay.last = Date.now();
    const headers = overlay.tag ? {'If-None-Match': overlay.tag} : {};
    let rings = null;
    try {
      rings = await app.api('GET', 'coverage/live/rings', undefined, headers);
    } catch (error) {
      app.say(`Coverage overlay: ${error.message}`, 'error');
    }
    overlay.busy = false;
    if (rings && overlay.rings && Date.parse(rings.computed_at) < Date.parse(overlay.rings.computed_at)) {
      later();  // another worker's older rings, within its hold: not drawn over newer ones
    } else if (rings) {
      draw(rings);
    }
    if (overlay.wanted) { want(); }
  }
  function later() {  // once more when the server's hold on a change has passed
    clearTimeout(overlay.trailing);
    overlay.trailing = setTimeout(want, HELD_MS);
  }
  function draw(rings) {
    overlay.rings = rings;
    overlay.tag = rings.fleet_state;
    overlay.draws += 1;
    layer.clearLayers();
    for (const feature of [...rings.features].reverse()) {
      L.geoJSON(feature, {style: {...STYLES[feature.properties.seconds], weight: 1},
                          coordsToLatLng: ([lon, lat]) => L.latLng(app.toMap(lon, lat)),
                          interactive: false}).addTo(layer);
    }
  }

  // After a change told (or a reconnection, which tells none of those missed), ask again once
  // the server's hold has passed: a change it held back is drawn by then.
  app.on('snapshot', () => { overlay.tag = null; want(); later(); });
  app.on('units', () => { want(); later(); });
  app.on('signed-out', () => { layer.clearLayers(); overlay.tag = null; overlay.rings = null; });
  app.map.on('overlayadd', (event) => { if (event.layer === layer) { want(); } });

  Object.assign(window.patrolConsole, {
    overlay: () => overlay.rings && app.map.hasLayer(layer) ? {
      unitIds: overlay.rings.unit_ids, seconds: overlay.rings.features.map((f) => f.properties.seconds),
      drawn: layer.getLayers().length, draws: overlay.draws} : null,
  });
})();
