// Move-up hints: the recommended moves open now (pushed by the stream: in the snapshot, then
// a "moves" message whenever they change), each drawn from its unit to its waiting point, with
// accept and decline buttons that call POST moves/{id}/accept|decline with the dispatcher's key.
(() => {
  'use strict';
  const app = window.PatrolConsole;
  const {$} = app;
  const layer = L.layerGroup().addTo(app.map);
  const panel = {moves: [], drawn: null};

  function percent(share) { return `${(100 * share).toFixed(1)} %`; }
  function gainText(move) {
    const points = 100 * move.gain;
    return `${points >= 0 ? '+' : ''}${points.toFixed(2)} pts expected coverage` +
      (move.expected_before === null ? '' :
        ` (${percent(move.expected_before)} → ${percent(move.expected_after)})`);
  }
  function placeName(move) {
    return move.site_name || (move.site_kind === 'road_node' ? 'a hotspot road node' : 'a station');
  }

  function show(moves) {
    panel.moves = moves;
    $('moves-count').textContent = `(${moves.length})`;
    // Rebuilt only when it changes: a button must not be replaced under the dispatcher's click.
    const drawn = JSON.stringify(moves.map((m) => [m.id, m.status, m.gain, m.drive_seconds]));
    if (drawn !== panel.drawn) {
      panel.drawn = drawn;
      $('moves').replaceChildren(...moves.map(row));
    }
    draw();
  }
  function row(move) {
    const item = document.createElement('li');
    item.dataset.moveId = move.id;
    item.className = move.status;
    const title = document.createElement('div');
    title.textContent = `${move.callsign} → ${placeName(move)}`;
    const sub = document.createElement('div');
    sub.className = 'sub';
    sub.textContent = `from where it stands now · ${app.clock(move.drive_seconds)} drive · ` +
      gainText(move) + (move.reason === 'rebalance' ? ' · rebalance' : '');
    item.append(title, sub);
    if (move.status === 'proposed') {
      const actions = document.createElement('div');
      actions.className = 'actions';
      actions.append(button('Accept', 'accept', move), button('Decline', 'decline', move));
      item.append(actions);
    } else {
      sub.textContent += ' · accepted: relocating';
    }
    item.addEventListener('mouseenter', () => draw(move.id));
    item.addEventListener('mouseleave', () => draw());
    return item;
  }
  function button(text, verb, move) {
    const element = document.createElement('button');
    element.type = 'button';
    element.className = verb;
    element.textContent = text;
    element.addEventListener('click', () => decide(verb, move));
    return element;
  }
  async function decide(verb, move) {
    const done = await app.act(`Move #${move.id} (${move.callsign})`,
                               () => app.api('POST', `moves/${move.id}/${verb}`));
    if (done) {
      app.say(`Move #${move.id} ${done.status}: ${done.callsign} → ${placeName(done)}.`, 'info');
    }
  }

  // A dashed line from each move's unit (where the page shows it) to its waiting point.
  function draw(highlight) {
    layer.clearLayers();
    for (const move of panel.moves) {
      const unit = app.state.units.get(move.unit_id);
      const to = app.toMap(move.lon, move.lat);
      const strong = move.id === highlight;
      if (unit) {
        L.polyline([app.toMap(unit.lon, unit.lat), to], {
          color: '#6a1b9a', weight: strong ? 4 : 2, dashArray: '6 4', opacity: 0.9,
          interactive: false}).addTo(layer);
      }
      L.circleMarker(to, {radius: strong ? 7 : 5, color: '#6a1b9a', weight: 2, fillColor: '#fff',
                          fillOpacity: 1, interactive: false}).addTo(layer);
    }
  }

  app.on('snapshot', (snapshot) => show(snapshot.moves || []));
  app.on('moves', (message) => show(message.moves));
  app.on('units', () => { if (panel.moves.length) { draw(); } });
  app.on('signed-out', () => show([]));

  Object.assign(window.patrolConsole, {moveIds: () => panel.moves.map((m) => m.id)});
})();
