// A unit's track replay (轨迹回放) on the console's map: a unit marker's popup asks how many
// minutes back, GET units/{id}/track returns the stored fixes and the matched road path with the
// time of every vertex, and the shared TrackPlayer (track_player.js) drives a marker along it.
(() => {
  'use strict';
  const app = window.PatrolConsole;
  const COLOURS = {path: '#6baed6', driven: '#d7301f', fix: '#525252', jump: '#e7298a'};
  const DEFAULT_MINUTES = 15;
  const MAX_MINUTES = 24 * 60;  // the API replays at most a day at once
  const layer = L.layerGroup().addTo(app.map);
  const replay = {player: null, unitId: null, paths: []};

  app.on('unit-marker', (id, marker) => marker.bindPopup(() => popup(id)));
  app.on('signed-out', close);

  function popup(id) {
    const box = document.createElement('div');
    box.className = 'unit-popup';
    const title = document.createElement('div');
    title.append(app.unitLabel(app.state.units.get(id)));
    const form = document.createElement('form');
    form.innerHTML = `Replay the last <input type="number" class="minutes" min="1" ` +
      `max="${MAX_MINUTES}" value="${DEFAULT_MINUTES}" required> minutes ` +
      '<button type="submit" class="replay">Replay</button>';
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      app.map.closePopup();
      show(id, Number(form.querySelector('input').value));
    });
    box.append(title, form);
    return box;
  }

  async function show(id, minutes) {
    const unit = app.state.units.get(id);
    const callsign = unit ? unit.callsign : `unit ${id}`;
    const end = app.serverNow() * 1000 + 1000;  // "to" is excluded: a fix of this second too
    const range = new URLSearchParams({from: new Date(end - minutes * 60000).toISOString(),
                                       to: new Date(end).toISOString()});
    const track = await app.act(`Replaying ${callsign}`,
                                () => app.api('GET', `units/${id}/track?${range}`));
    if (!track) { return; }
    close();
    const pieces = TrackPlayer.timeline(track.features, app.toMap);
    if (!pieces[0] || !pieces[0].length) {
      app.say(`${callsign}: no GPS fixes in the last ${minutes} minutes.`, 'info');
      return;
    }
    replay.unitId = id;
    replay.paths = draw(track.features);
    replay.player = TrackPlayer.mount(app.map, pieces, {
      title: `${callsign}: the last ${minutes} minutes`, driven: COLOURS.driven, onClose: close});
    const bounds = L.latLngBounds([].concat(...pieces).map((v) => [v[0], v[1]]));
    app.map.fitBounds(bounds, {padding: [40, 40], maxZoom: 17});
  }
  function draw(features) {
    const paths = [];
    for (const feature of features) {
      const props = feature.properties;
      if (props.kind === 'path') {
        const line = feature.geometry.coordinates.map(([lon, lat]) => app.toMap(lon, lat));
        L.polyline(line, {color: COLOURS.path, weight: 4, opacity: 0.8, interactive: false})
          .addTo(layer);
        paths.push(line);
      } else if (props.kind === 'fix') {
        const [lon, lat] = feature.geometry.coordinates;
        L.circleMarker(app.toMap(lon, lat), {
          radius: props.jump ? 4 : 2.5, color: props.jump ? COLOURS.jump : COLOURS.fix,
          weight: 1, fillOpacity: 0.9, interactive: false}).addTo(layer);
      }
    }
    return paths;
  }
  function close() {
    if (replay.player) { replay.player.remove(); }
    layer.clearLayers();
    Object.assign(replay, {player: null, unitId: null, paths: []});
  }

  Object.assign(window.patrolConsole, {
    replay: () => replay.player ? {unitId: replay.unitId, paths: replay.paths,
                                   car: [replay.player.car.getLatLng().lat,
                                         replay.player.car.getLatLng().lng],
                                   time: replay.player.time()} : null,
    seekReplay: (step) => replay.player && replay.player.seek(step),
    replayUnit: (id, minutes) => show(id, minutes),
  });
})();
