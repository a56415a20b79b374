// The dispatch console's coordinates: WGS-84 from the server, shifted to GCJ-02 on the page when
// the tiles are drawn in GCJ-02 (config.coords), as routing/coords.py shifts them. Loaded first:
// it makes the namespace the console's other scripts share (window.PatrolConsole).
(() => {
  'use strict';
  const config = JSON.parse(document.getElementById('console-config').textContent);
  function gcj02Offset(lon, lat) {
    const a = 6378245.0, ee = 0.00669342162296594323, pi = Math.PI;
    const x = lon - 105.0, y = lat - 35.0;
    let dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x))
      + (20.0 * Math.sin(6.0 * x * pi) + 20.0 * Math.sin(2.0 * x * pi)) * 2.0 / 3.0
      + (20.0 * Math.sin(y * pi) + 40.0 * Math.sin(y / 3.0 * pi)) * 2.0 / 3.0
      + (160.0 * Math.sin(y / 12.0 * pi) + 320.0 * Math.sin(y * pi / 30.0)) * 2.0 / 3.0;
    let dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x))
      + (20.0 * Math.sin(6.0 * x * pi) + 20.0 * Math.sin(2.0 * x * pi)) * 2.0 / 3.0
      + (20.0 * Math.sin(x * pi) + 40.0 * Math.sin(x / 3.0 * pi)) * 2.0 / 3.0
      + (150.0 * Math.sin(x / 12.0 * pi) + 300.0 * Math.sin(x / 30.0 * pi)) * 2.0 / 3.0;
    const radLat = lat / 180.0 * pi;
    const magic = 1 - ee * Math.sin(radLat) ** 2;
    const sqrtMagic = Math.sqrt(magic);
    dlat = (dlat * 180.0) / ((a * (1 - ee)) / (magic * sqrtMagic) * pi);
    dlon = (dlon * 180.0) / (a / sqrtMagic * Math.cos(radLat) * pi);
    return [dlon, dlat];
  }
  function outsideChina(lon, lat) {
    return lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271;
  }
  // WGS-84 lon/lat -> the map's [lat, lon].
  function toMap(lon, lat) {
    if (config.coords !== 'gcj02' || outsideChina(lon, lat)) { return [lat, lon]; }
    const [dlon, dlat] = gcj02Offset(lon, lat);
    return [lat + dlat, lon + dlon];
  }

  window.PatrolConsole = {config, toMap};
})();
