// The dispatch console: live units and incidents (pushed by the server), and the dispatcher's
// actions, each an ordinary call of the HTTP API with the dispatcher's key. The panels of
// console_*.js use what this puts in window.PatrolConsole, and hear the stream's messages
// through on(event, handler).
(() => {
  'use strict';
  const app = window.PatrolConsole;
  const {config, toMap} = app;
  const KEY_SLOT = 'patrol.console.key';
  const RETRY_MS = 2000;
  const SHOWN_CANDIDATES = 6;  // the fastest units offered for one incident
  const STATUS_COLOURS = {available: '#2e7d32', dispatched: '#c62828', busy: '#ef6c00',
                          relocating: '#6a1b9a', off_duty: '#757575'};
  const $ = (id) => document.getElementById(id);

  const state = {key: null, stream: null, rules: null, clockOffsetMs: 0, painted: false,
                 units: new Map(), incidents: new Map(), selected: null, candidates: []};
  const unitMarkers = new Map();
  const incidentMarkers = new Map();
  const queueRows = new Map();
  const shown = {recordMoves: false, moveLog: []};
  const handlers = new Map();  // event name -> the panels' handlers
  function on(event, handler) {
    handlers.set(event, [...(handlers.get(event) || []), handler]);
  }
  function emit(event, ...args) {
    for (const handler of handlers.get(event) || []) { handler(...args); }
  }

  // ---- the map ------------------------------------------------------------------------------
  const map = L.map('map', {preferCanvas: true, zoomControl: true}).setView(
    [config.centre[1], config.centre[0]], 13);
  if (config.tiles) {
    L.tileLayer(config.tiles, {attribution: config.attribution || '', maxZoom: 19}).addTo(map);
  }
  const draft = L.layerGroup().addTo(map);  // the clicked point, a route, lines to candidates

  // ---- messages ---------------------------------------------------------------------------
  function say(text, kind) {
    const box = $('message');
    box.textContent = text || '';
    box.className = text ? kind : '';
  }
  class ApiError extends Error {
    constructor(status, detail) { super(detail); this.status = status; }
  }
  async function problemDetail(response) {
    const text = await response.text();
    try {
      const problem = JSON.parse(text);
      return problem.detail || problem.title || `HTTP ${response.status}`;
    } catch (e) {
      return `HTTP ${response.status}`;
    }
  }
  // One call of the API with the dispatcher's key; an error answer becomes an ApiError whose
  // message is the problem's detail (RFC 9457).
  async function api(method, path, body, extraHeaders) {
    const headers = {'X-API-Key': state.key, 'Accept': 'application/json', ...extraHeaders};
    if (body !== undefined) { headers['Content-Type'] = 'application/json'; }
    let response;
    try {
      response = await fetch(path, {method, headers, cache: 'no-store',
                                    body: body === undefined ? undefined : JSON.stringify(body)});
    } catch (e) {
      throw new ApiError(0, 'the service cannot be reached');
    }
    if (response.status === 304) { return null; }  // unchanged since the ETag sent
    if (!response.ok) { throw new ApiError(response.status, await problemDetail(response)); }
    return response.status === 204 ? null : response.json();
  }
  async function act(what, call) {
    try {
      const result = await call();
      return result;
    } catch (error) {
      say(`${what}: ${error.message}`, 'error');
      return null;
    }
  }

  // ---- sign-in and the live stream ----------------------------------------------------------
  function setLink(text) {
    const link = $('link');
    link.textContent = text;
    link.className = 'link ' + text.replace(/\W.*/, '');
  }
  function signOut(reason) {
    if (state.stream) { state.stream.abort(); state.stream = null; }
    state.key = null;
    sessionStorage.removeItem(KEY_SLOT);
    $('signin-error').textContent = reason || '';
    $('signin').hidden = false;
    setLink('offline');
    emit('signed-out');
  }
  function signIn(key) {
    state.key = key;
    $('signin-error').textContent = '';
    openStream();
  }
  // The push channel: Server-Sent Events read with fetch(), which, unlike EventSource, can send
  // the key in a header (so it never appears in a URL or an access log).
  async function openStream() {
    const controller = new AbortController();
    if (state.stream) { state.stream.abort(); }
    state.stream = controller;
    let response;
    try {
      response = await fetch('console/events', {
        headers: {'X-API-Key': state.key, 'Accept': 'text/event-stream'},
        cache: 'no-store', signal: controller.signal});
    } catch (e) {
      return retry(controller);
    }
    if (response.status === 401 || response.status === 403) {
      signOut(`Sign-in failed: ${await problemDetail(response)}`);
      return;
    }
    if (!response.ok) { return retry(controller); }
    sessionStorage.setItem(KEY_SLOT, state.key);
    $('signin').hidden = true;
    setLink('live');
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for (;;) {
        const {value, done} = await reader.read();
        if (done) { break; }
        buffer += decoder.decode(value, {stream: true});
        let end;
        while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '');
          receive(block);
        }
      }
    } catch (e) {
      if (controller.signal.aborted) { return; }
    }
    retry(controller);
  }
  function retry(controller) {
    if (controller.signal.aborted || state.stream !== controller) { return; }
    setLink('reconnecting');
    setTimeout(() => { if (state.stream === controller && state.key) { openStream(); } },
               RETRY_MS);
  }
  function receive(block) {
    let event = 'message';
    const data = [];
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith('event:')) { event = line.slice(6).trim(); }
      else if (line.startsWith('data:')) { data.push(line.slice(5).replace(/^ /, '')); }
    }
    if (!data.length) { return; }  // a comment (keep-alive)
    const message = JSON.parse(data.join('\n'));
    if (event === 'snapshot') { applySnapshot(message); }
    else if (event === 'units') { applyUnits(message.changed, message.gone); }
    else if (event === 'incidents') { applyIncidents(message.changed, message.gone); }
    emit(event, message);
  }

  // ---- live state -----------------------------------------------------------------------------
  const serverNow = () => (Date.now() + state.clockOffsetMs) / 1000;

  function applySnapshot(snapshot) {
    state.rules = snapshot;
    state.clockOffsetMs = snapshot.now * 1000 - Date.now();
    for (const id of [...state.units.keys()]) { removeUnit(id); }
    for (const id of [...state.incidents.keys()]) { removeIncident(id); }
    applyUnits(snapshot.units, []);
    applyIncidents(snapshot.incidents, []);
    if (!state.painted) {
      state.painted = true;
      const points = snapshot.units.map((u) => toMap(u[3], u[4]));
      if (points.length) { map.fitBounds(points, {padding: [20, 20]}); }
      performance.mark('console-painted');
      document.body.dataset.painted = 'true';
    }
  }

  function isStale(unit) {
    return unit.fix_at === null || serverNow() - unit.fix_at > state.rules.stale_after_s;
  }
  function unitStyle(unit) {
    const stale = isStale(unit);
    const colour = STATUS_COLOURS[unit.status] || '#000';
    return {radius: 6, color: stale ? '#333' : '#fff', weight: stale ? 1 : 1.5,
            dashArray: stale ? '2 2' : null, fillColor: colour, fillOpacity: stale ? 0.35 : 0.95};
  }
  function applyUnits(rows, gone) {
    const now = Date.now();
    for (const [id, callsign, status, lon, lat, fixAt] of rows) {
      const unit = {id, callsign, status, lon, lat, fix_at: fixAt};
      const known = state.units.get(id);
      state.units.set(id, unit);
      let marker = unitMarkers.get(id);
      if (!marker) {
        marker = L.circleMarker(toMap(lon, lat), {...unitStyle(unit), bubblingMouseEvents: false})
          .addTo(map);
        marker.bindTooltip(() => unitLabel(state.units.get(id)));
        unitMarkers.set(id, marker);
        emit('unit-marker', id, marker);
      } else {
        if (known.lon !== lon || known.lat !== lat) {
          marker.setLatLng(toMap(lon, lat));
          if (shown.recordMoves) { shown.moveLog.push([id, lon, lat, now]); }
        }
        marker.setStyle(unitStyle(unit));
      }
    }
    for (const id of gone) { removeUnit(id); }
  }
  function unitLabel(unit) {
    const text = `${unit.callsign} · ${unit.status.replace('_', ' ')}` +
      (isStale(unit) ? (unit.fix_at === null ? ' · no fix (at its station)' : ' · stale fix') : '');
    const span = document.createElement('span');
    span.textContent = text;
    return span;
  }
  function removeUnit(id) {
    const marker = unitMarkers.get(id);
    if (marker) { marker.remove(); }
    unitMarkers.delete(id);
    state.units.delete(id);
  }

  function deadlineOf(incident) {
    return incident.received_at + state.rules.deadlines_s[String(incident.priority)];
  }
  function warningOf(incident) {
    if (incident.status === 'arrived' || incident.status === 'closed') { return null; }
    const allowed = state.rules.deadlines_s[String(incident.priority)];
    const share = (serverNow() - incident.received_at) / allowed;
    const w = state.rules.warnings;
    return share >= w.red ? 'red' : share >= w.yellow ? 'yellow' : share >= w.blue ? 'blue' : null;
  }
  function applyIncidents(rows, gone) {
    for (const incident of rows) {
      state.incidents.set(incident.id, incident);
      let marker = incidentMarkers.get(incident.id);
      if (!marker) {
        marker = L.marker(toMap(incident.lon, incident.lat), {icon: incidentIcon(incident)})
          .addTo(map).on('click', () => select(incident.id));
        marker.bindTooltip(() => incidentLabel(state.incidents.get(incident.id)));
        incidentMarkers.set(incident.id, marker);
      }
      queueRow(incident);
    }
    for (const id of gone) { removeIncident(id); }
    orderQueue();
    if (state.selected !== null) { showSelected(); }
  }
  function incidentIcon(incident) {
    const warning = warningOf(incident);
    const chosen = state.selected === incident.id ? ' chosen' : '';
    return L.divIcon({className: `incident-icon${warning ? ' warn-' + warning : ''}${chosen}`,
                      html: '<span>!</span>', iconSize: [22, 22]});
  }
  function incidentLabel(incident) {
    const span = document.createElement('span');
    span.textContent = `#${incident.id} P${incident.priority} ${incident.category} · ` +
      incident.status + (incident.unit_callsign ? ` · ${incident.unit_callsign}` : '');
    return span;
  }
  function removeIncident(id) {
    const marker = incidentMarkers.get(id);
    if (marker) { marker.remove(); }
    incidentMarkers.delete(id);
    const row = queueRows.get(id);
    if (row) { row.remove(); }
    queueRows.delete(id);
    state.incidents.delete(id);
    if (state.selected === id) { state.selected = null; $('selected').hidden = true; draft.clearLayers(); }
  }

  // ---- the queue, sorted by deadline, with running timers ------------------------------------
  function queueRow(incident) {
    let row = queueRows.get(incident.id);
    if (!row) {
      row = document.createElement('li');
      row.dataset.incidentId = incident.id;
      row.addEventListener('click', () => select(incident.id));
      queueRows.set(incident.id, row);
    }
    row.replaceChildren();
    const timer = document.createElement('span');
    timer.className = 'timer';
    const title = document.createElement('div');
    title.append(timer, `#${incident.id} P${incident.priority} ${incident.category}`);
    const sub = document.createElement('div');
    sub.className = 'sub';
    sub.textContent = incident.status +
      (incident.unit_callsign ? ` · ${incident.unit_callsign}` : ' · no unit') +
      (incident.eta_seconds !== null ? ` · ETA ${clock(incident.eta_seconds)}` : '');
    row.append(title, sub);
    tickRow(incident, row);
  }
  function orderQueue() {
    const list = $('queue');
    const ordered = [...state.incidents.values()].sort((a, b) => deadlineOf(a) - deadlineOf(b));
    list.replaceChildren(...ordered.map((incident) => queueRows.get(incident.id)));
    $('queue-count').textContent = `(${ordered.length})`;
  }
  function clock(seconds) {
    const s = Math.max(0, Math.round(seconds));
    return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
  }
  function tickRow(incident, row) {
    const left = deadlineOf(incident) - serverNow();
    const warning = warningOf(incident);
    row.querySelector('.timer').textContent = incident.status === 'arrived'
      ? `on scene · ${clock(serverNow() - incident.received_at)}`
      : left >= 0 ? `${clock(left)} left` : `overdue ${clock(-left)}`;
    row.className = (warning ? `warn-${warning}` : '') +
      (state.selected === incident.id ? ' chosen' : '');
    row.dataset.warning = warning || '';
  }
  function tick() {
    if (!state.rules) { return; }
    for (const incident of state.incidents.values()) {
      tickRow(incident, queueRows.get(incident.id));
      const marker = incidentMarkers.get(incident.id);
      const icon = incidentIcon(incident);
      if (icon.options.className !== marker.options.icon.options.className) { marker.setIcon(icon); }
    }
    for (const unit of state.units.values()) { unitMarkers.get(unit.id).setStyle(unitStyle(unit)); }
  }
  setInterval(tick, 1000);

  // ---- the selected incident: ranked units, dispatch or override in one click ----------------
  async function select(id, candidates) {
    const previous = state.selected;
    state.selected = id;
    if (candidates === undefined) {
      const detail = await act('Reading the incident', () => api('GET', `incidents/${id}`));
      const ranked = detail ? detail.decisions.filter((d) => d.candidates && d.candidates.length) : [];
      candidates = ranked.length ? ranked[ranked.length - 1].candidates : [];
    }
    if (state.selected !== id) { return; }
    state.candidates = candidates.slice(0, SHOWN_CANDIDATES);
    state.drawn = null;
    showSelected();
    if (previous !== id) {
      const incident = state.incidents.get(id);
      if (incident) { map.panTo(toMap(incident.lon, incident.lat)); }
    }
    tick();
  }
  function showSelected() {
    const incident = state.incidents.get(state.selected);
    if (!incident) { return; }
    $('selected').hidden = false;
    $('selected-title').textContent = `Incident #${incident.id}: P${incident.priority} ${incident.category}`;
    $('selected-info').textContent = `${incident.status}` +
      (incident.unit_callsign ? ` · unit ${incident.unit_callsign}` : ' · no unit') +
      (incident.description ? ` · ${incident.description}` : '');
    $('selected-arrive').disabled = incident.status !== 'dispatched';
    // Rebuilt only when it changes: a button must not be replaced under the dispatcher's click.
    const drawn = [incident.id, incident.unit_id, incident.status,
                   ...state.candidates.map((c) => c.unit_id)].join(' ');
    if (drawn === state.drawn) { return; }
    state.drawn = drawn;
    const body = $('candidates').tBodies[0];
    body.replaceChildren(...state.candidates.map((c) => candidateRow(incident, c)));
    draft.clearLayers();
    for (const c of state.candidates) {
      const unit = state.units.get(c.unit_id);
      if (unit) {
        L.polyline([toMap(unit.lon, unit.lat), toMap(incident.lon, incident.lat)],
                   {color: '#263238', weight: 1, dashArray: '4 4', interactive: false}).addTo(draft);
      }
    }
  }
  function candidateRow(incident, candidate) {
    const row = document.createElement('tr');
    row.dataset.unitId = candidate.unit_id;
    const unit = state.units.get(candidate.unit_id);
    const assigned = incident.unit_id === candidate.unit_id;
    if (assigned) { row.className = 'assigned'; }
    const cells = [candidate.callsign + (unit ? ` (${unit.status.replace('_', ' ')})` : ''),
                   clock(candidate.eta_seconds), candidate.ring === 'beyond' ? '>5' : candidate.ring];
    for (const text of cells) {
      const cell = document.createElement('td');
      cell.textContent = text;
      row.append(cell);
    }
    const cell = document.createElement('td');
    if (!assigned) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'dispatch';
      button.textContent = incident.unit_id === null ? 'Dispatch' : 'Send instead';
      button.addEventListener('click', () => dispatch(incident.id, candidate));
      cell.append(button);
    }
    row.append(cell);
    return row;
  }
  async function dispatch(incidentId, candidate) {
    const done = await act(`Dispatching ${candidate.callsign}`, () =>
      api('POST', `incidents/${incidentId}/assign`, {unit_id: candidate.unit_id}));
    if (done) { say(`${candidate.callsign} sent to incident #${incidentId}.`, 'info'); }
  }
  async function setStatus(action) {
    const id = state.selected;
    const done = await act(`Incident #${id}`, () => api('POST', `incidents/${id}/${action}`));
    if (done) { say(`Incident #${id}: ${done.status}.`, 'info'); }
  }

  // ---- a new incident from a click on the map -----------------------------------------------
  // The point is in the map's coordinates (config.coords), and is sent to the API as such.
  map.on('click', (event) => {
    const {lat, lng} = event.latlng;
    draft.clearLayers();
    state.drawn = null;
    L.circleMarker(event.latlng, {radius: 8, color: '#000', dashArray: '3 3', fill: false})
      .addTo(draft);
    $('new-where').value = `${lng.toFixed(6)}, ${lat.toFixed(6)}`;
    $('new-incident').hidden = false;
  });
  $('new-typed').addEventListener('click', () => {
    $('new-where').value = '';
    $('new-incident').hidden = false;
    $('new-where').focus();
  });
  $('new-cancel').addEventListener('click', () => {
    $('new-incident').hidden = true;
    draft.clearLayers();
    state.drawn = null;
  });
  $('incident-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const [lon, lat] = $('new-where').value.split(',').map(Number);
    const body = {lon, lat, crs: config.coords,
                  category: $('new-category').value, priority: Number($('new-priority').value)};
    const description = $('new-description').value.trim();
    if (description) { body.description = description; }
    const incident = await act('Creating the incident', () => api('POST', 'incidents', body));
    if (!incident) { return; }
    $('new-incident').hidden = true;
    say(`Incident #${incident.id} created: ${incident.decision ? incident.decision.reason : 'stored'}`,
        'info');
    if (!state.incidents.has(incident.id)) {  // before the push brings it
      applyIncidents([{id: incident.id, category: incident.category, priority: incident.priority,
        description: incident.description, status: incident.status, lon: incident.lon,
        lat: incident.lat, received_at: Date.parse(incident.received_at) / 1000,
        dispatched_at: null, arrived_at: null, unit_id: incident.unit_id,
        unit_callsign: incident.unit_callsign, eta_seconds: incident.eta_seconds}], []);
    }
    await select(incident.id, incident.candidates);
    if (incident.route) {
      L.polyline(incident.route.geometry.coordinates.map(([lon, lat]) => toMap(lon, lat)),
                 {color: '#c62828', weight: 4, opacity: 0.7, interactive: false}).addTo(draft);
    }
  });

  $('selected-arrive').addEventListener('click', () => setStatus('arrive'));
  $('selected-close').addEventListener('click', () => setStatus('close'));
  $('signout').addEventListener('click', () => signOut(''));
  $('signin-form').addEventListener('submit', (event) => {
    event.preventDefault();
    signIn($('signin-key').value.trim());
  });

  // For tests and the benchmark: what the page shows, read-only (the panels add theirs).
  window.patrolConsole = Object.assign(shown, {
    unitLatLng: (id) => { const m = unitMarkers.get(id); return m ? [m.getLatLng().lat, m.getLatLng().lng] : null; },
    unitCount: () => unitMarkers.size,
    incidentIds: () => [...state.incidents.keys()],
  });

  // Signs in with the key this tab kept, once every panel listens.
  function start() {
    const kept = sessionStorage.getItem(KEY_SLOT);
    if (kept) { signIn(kept); }
  }
  Object.assign(app, {$, map, state, on, say, api, act, clock, serverNow, unitLabel, start});
})();
