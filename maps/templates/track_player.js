// A unit's track replayed on a Leaflet map (轨迹回放): a control with a play button and a time
// slider (0 to 1000 over the track's time) that puts a marker where the unit was at that time,
// interpolated along the matched path, and draws the road driven so far. Shared by the replay
// page of `patrol track show` and the dispatch console; plain JavaScript, no library but Leaflet.
window.TrackPlayer = (() => {
  'use strict';

  // What the slider moves along, from a replay's GeoJSON features (GET units/{id}/track): per
  // matched piece its vertices [lat, lon, ms since 1970]; without a matched path, the good
  // fixes as one piece. toMap(lon, lat) -> [lat, lon] places a WGS-84 point on the map.
  function timeline(features, toMap) {
    const place = (lon, lat, time) => [...toMap(lon, lat), Date.parse(time)];
    const paths = features.filter((f) => f.properties.kind === 'path');
    if (paths.length) {
      return paths.map((p) => p.geometry.coordinates.map(
        ([lon, lat], i) => place(lon, lat, p.properties.times[i])));
    }
    return [features.filter((f) => f.properties.kind === 'fix' && !f.properties.jump)
      .map((f) => place(...f.geometry.coordinates, f.properties.time))];
  }

  // The vertices of a piece up to time t, and the point at t.
  function upTo(piece, t) {
    const out = [];
    for (let i = 0; i < piece.length; i++) {
      const v = piece[i];
      if (v[2] <= t) { out.push([v[0], v[1]]); continue; }
      if (i > 0) {
        const u = piece[i - 1], f = (t - u[2]) / (v[2] - u[2]);
        out.push([u[0] + f * (v[0] - u[0]), u[1] + f * (v[1] - u[1])]);
      }
      break;
    }
    return out;
  }

  // Put the player on the map: options title, driven (colour), step (where the slider starts),
  // onClose (a close button that calls it). Returns {seek(step), remove(), time(), car,
  // driven}; null when there is nothing to replay.
  function mount(map, pieces, options) {
    const all = [].concat(...pieces);
    if (!all.length) { return null; }
    const t0 = all[0][2], t1 = all[all.length - 1][2];
    const driven = L.polyline([], {color: options.driven, weight: 5}).addTo(map);
    const car = L.circleMarker([all[0][0], all[0][1]], {
      radius: 8, color: '#000', weight: 2, fillColor: '#ffd92f', fillOpacity: 1}).addTo(map);
    let input, label, button, timer = null, shownTime = t0;
    const box = L.control({position: 'bottomleft'});
    box.onAdd = () => {
      const div = L.DomUtil.create('div', 'track-slider');
      div.innerHTML = '<div><b></b></div><button type="button" class="play">&#9654;</button> ' +
        '<span class="time"></span><input type="range" min="0" max="1000" value="0">';
      div.querySelector('b').textContent = options.title;
      if (options.onClose) {
        const close = L.DomUtil.create('button', 'close', div.firstChild);
        close.type = 'button';
        close.textContent = '×';
        close.title = 'close the replay';
        close.addEventListener('click', options.onClose);
      }
      input = div.querySelector('input');
      label = div.querySelector('.time');
      button = div.querySelector('button.play');
      input.addEventListener('input', () => seek(+input.value));
      button.addEventListener('click', play);
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      return div;
    };
    box.addTo(map);

    function seek(step) {
      input.value = step;
      const t = t0 + (t1 - t0) * step / 1000, lines = [];
      let last = null;
      for (const piece of pieces) {
        const part = upTo(piece, t);
        if (part.length) { lines.push(part); last = part[part.length - 1]; }
      }
      driven.setLatLngs(lines);
      if (last) { car.setLatLng(last); }
      shownTime = t;
      label.textContent = new Date(t).toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
    }
    function play() {
      if (timer) { clearInterval(timer); timer = null; button.innerHTML = '&#9654;'; return; }
      if (+input.value >= 1000) { input.value = 0; }
      button.innerHTML = '&#10074;&#10074;';
      timer = setInterval(() => {
        seek(Math.min(1000, +input.value + 2));
        if (+input.value >= 1000) { play(); }
      }, 40);
    }
    function remove() {
      if (timer) { clearInterval(timer); }
      box.remove();
      driven.remove();
      car.remove();
    }
    seek(Math.min(1000, options.step || 0));
    return {seek, remove, time: () => shownTime, car, driven};
  }

  return {timeline, mount};
})();
