// Scenario lab layers (window.LAB), loaded after Leaflet and ra.js into the streamlit-folium frame.
window.LAB = window.LAB || (function () {
  var LAB = {};
  LAB.scenario = function (parent, S) {
    var pieces = L.geoJSON(S.pieces, {
      style: function (f) {
        return {fillColor: f.properties.fill, fillOpacity: S.opacity, color: '#ffffff', weight: 0.6, opacity: 0.85};
      },
      onEachFeature: function (f, l) {
        l.bindTooltip(f.properties.tip, {sticky: true, className: 'ra-tip'});
        l.on('mouseover', function () { this.setStyle({weight: 2.4, color: '#111111', opacity: 1}); });
        l.on('mouseout', function () { pieces.resetStyle(this); });
      }
    });
    pieces.on('click', function (e) { RA.report('u', (e.layer || e.sourceTarget).feature.properties.unit, e.latlng); });
    RA.add(parent, pieces);
    if (S.moved.features.length) {
      RA.add(parent, L.geoJSON(S.moved, {interactive: false, style: {
        fillColor: RA.hatch('rgba(84, 20, 120, 0.8)'), fillOpacity: 1, color: '#541478', weight: 2.2,
        dashArray: '6 4', opacity: 0.95}}));
    }
    RA.add(parent, L.geoJSON(S.outlines, {interactive: false, style: {
      fill: false, color: '#262626', weight: 1.6, opacity: 0.9}}));
    if (S.selected) {
      RA.add(parent, L.geoJSON(S.selected, {interactive: false, style: {
        fill: false, color: '#ff6f00', weight: 3.6, opacity: 1}}));
    }
    if (S.shifts.length) { RA.moves(parent, S.shifts); }
    LAB.names(parent, S.names);
    RA.centres(parent, S.centres, S.minZoom);
    RA.box(parent, S.title, 'topright', 'ra-title');
  };
  LAB.enacted = function (parent, E) {
    RA.regions(parent, E.regions, E.moved, {fillOpacity: E.opacity});
    RA.add(parent, L.geoJSON(E.regions, {interactive: false, style: {
      fill: false, color: '#262626', weight: 1.6, opacity: 0.9}}));
    LAB.names(parent, E.names);
    RA.centres(parent, E.centres, E.minZoom);
    RA.box(parent, E.title, 'topright', 'ra-title');
  };
  LAB.names = function (parent, list) {  // region names, so that colours alone need not say which is which
    list.forEach(function (n) {  // divIcon markers: placed right on both maps of the pair (tooltips are not)
      RA.add(parent, L.marker([n.la, n.lo], {interactive: false, keyboard: false, icon: L.divIcon({
        className: 'ra-name-icon', iconSize: null, html: '<span class="ra-region-name">' + RA.esc(n.label) + '</span>'})}));
    });
  };
  LAB.fit = function (D) {  // once per page: the maps get their size only after the first layout
    if (window.LAB_FITTED || !window.map_div) { return; }
    window.LAB_FITTED = true;
    setTimeout(function () {
      [window.map_div, window[D.target]].forEach(function (m) { if (m) { m.invalidateSize(false); } });
      window.map_div.fitBounds(D.bounds, {padding: [6, 6], animate: false});
      // labels opened before the maps had their size: place them again
      [window.map_div, window[D.target]].forEach(function (m) { if (m) { m.fire('viewreset'); } });
    }, 60);
  };
  LAB.draw = function (parent, D) {
    LAB.fit(D);
    LAB.scenario(parent, D.scenario);
    if (D.enacted) {
      var holder = L.layerGroup();
      LAB.enacted(holder, D.enacted);
      RA.add(parent, new RA.OnMap([holder], D.target));
    }
  };
  return LAB;
})();
