// Scenario lab layers (window.LAB), loaded after Leaflet and ra.js into the streamlit-folium frame.
//
// The geometry comes once per frame (LAB.base, in the map's own script: the frame is kept while the
// data source stays); each edit sends only what changed (LAB.draw, in the map's feature group, which
// streamlit-folium swaps): the region of every piece, the fills, the outlines of the regions that differ
// from the enacted reform, labels and centres. The pieces and the enacted regions are drawn once and
// restyled per edit, so an edit costs a restyle of the two canvases, not a new map.
window.LAB = window.LAB || (function () {
  var LAB = {};
  var feature = function (geometry, properties) { return {type: 'Feature', properties: properties, geometry: geometry}; };
  var collection = function (features) { return {type: 'FeatureCollection', features: features}; };
  LAB.base = function (map, G) { LAB.G = G; LAB.layers = null; LAB.D = null; };
  LAB.pieceStyle = function (i) {
    var D = LAB.D, code = D.region[i];
    return {fillColor: D.fills[code], fillOpacity: LAB.G.opacity, color: '#ffffff', weight: 0.6, opacity: 0.85};
  };
  LAB.regionStyle = function (code) {
    return {fillColor: LAB.D.enactedFills[code], fillOpacity: LAB.G.opacity, color: '#ffffff', weight: 1.1, opacity: 1};
  };
  LAB.pieceTip = function (i) {
    var G = LAB.G, D = LAB.D, code = D.region[i], enacted = G.enacted[i], names = G.names;
    var lines = [G.heads[i], 'Scenario: <b>' + RA.esc(names[code]) + '</b> (' + RA.esc(code) + ')'];
    if (enacted !== code) {
      lines.push('<i>moved; enacted ' + G.after + ': ' + RA.esc(names[enacted]) + ' (' + RA.esc(enacted) + ')</i>');
    } else if (G.canMove) {
      lines.push(G.beforeEpoch + ': ' + RA.esc(G.before[i]));
    }
    lines.push(G.pop[i]);
    if (D.metric) { lines.push('Region: ' + RA.esc(D.metric[code])); }
    if (G.canMove) { lines.push("<span style='color:#666'>click to select this district</span>"); }
    return lines.join('<br>');
  };
  LAB.regionTip = function (code) {
    var G = LAB.G, D = LAB.D;
    var tip = '<b>' + RA.esc(G.names[code]) + '</b> · ' + RA.esc(code) + '<br>Enacted centre: ' + RA.esc(G.centreNames[code]);
    return D.enactedMetric ? tip + '<br>' + RA.esc(D.enactedMetric[code]) : tip;
  };
  LAB.build = function (D) {  // once per frame: the pieces (scenario map) and the enacted regions (other map)
    var G = LAB.G, right = window[D.target];
    var pieces = L.geoJSON(collection(G.pieces.map(function (g, i) { return feature(g, {i: i}); })), {
      style: function (f) { return LAB.pieceStyle(f.properties.i); },
      onEachFeature: function (f, l) {
        l.bindTooltip(function () { return LAB.pieceTip(f.properties.i); }, {sticky: true, className: 'ra-tip'});
        l.on('mouseover', function () { this.setStyle({weight: 2.4, color: '#111111', opacity: 1}); });
        l.on('mouseout', function () { this.setStyle(LAB.pieceStyle(f.properties.i)); });
      }
    });
    pieces.on('click', function (e) { RA.report('u', G.units[(e.layer || e.sourceTarget).feature.properties.i], e.latlng); });
    window.map_div.addLayer(pieces);
    var regions = null;
    if (right) {
      regions = L.geoJSON(collection(G.codes.map(function (c) { return feature(G.outlines[c], {code: c}); })), {
        style: function (f) { return LAB.regionStyle(f.properties.code); },
        onEachFeature: function (f, l) {
          l.bindTooltip(function () { return LAB.regionTip(f.properties.code); }, {sticky: true, className: 'ra-tip'});
          l.on('mouseover', function () { this.setStyle({weight: 3, color: '#222'}); });
          l.on('mouseout', function () { this.setStyle(LAB.regionStyle(f.properties.code)); });
        }
      });
      regions.on('click', function (e) { RA.report('r', (e.layer || e.sourceTarget).feature.properties.code, e.latlng); });
      right.addLayer(regions);
    }
    LAB.layers = {pieces: pieces, regions: regions};
  };
  LAB.restyle = function () {
    LAB.layers.pieces.eachLayer(function (l) { l.setStyle(LAB.pieceStyle(l.feature.properties.i)); });
    if (LAB.layers.regions) {
      LAB.layers.regions.eachLayer(function (l) { l.setStyle(LAB.regionStyle(l.feature.properties.code)); });
    }
  };
  LAB.pieces = function (indices, tips) {
    return collection(indices.map(function (i) { return feature(LAB.G.pieces[i], tips ? {tip: tips[i]} : {}); }));
  };
  LAB.hatched = function (indices, tips) {
    return L.geoJSON(LAB.pieces(indices, tips), {interactive: !!tips, style: {
      fillColor: RA.hatch('rgba(84, 20, 120, 0.8)'), fillOpacity: 1, color: '#541478', weight: 2.2,
      dashArray: '6 4', opacity: 0.95},
      onEachFeature: tips ? function (f, l) { l.bindTooltip(f.properties.tip, {sticky: true, className: 'ra-tip'}); } : null});
  };
  LAB.outlines = function (geometries) {
    return L.geoJSON(collection(geometries.map(function (g) { return feature(g, {}); })), {interactive: false, style: {
      fill: false, color: '#262626', weight: 1.6, opacity: 0.9}});
  };
  LAB.scenario = function (parent, D) {  // what changes per edit on the scenario map
    var G = LAB.G;
    if (D.moved.length) { RA.add(parent, LAB.hatched(D.moved, null)); }
    RA.add(parent, LAB.outlines(G.codes.map(function (c) { return D.outlines[c] || G.outlines[c]; })));
    if (D.selected.length) {
      RA.add(parent, L.geoJSON(LAB.pieces(D.selected), {interactive: false, style: {
        fill: false, color: '#ff6f00', weight: 3.6, opacity: 1}}));
    }
    if (D.shifts.length) { RA.moves(parent, D.shifts); }
    LAB.names(parent, D.names);
    RA.centres(parent, D.centres, G.minZoom);
    RA.box(parent, D.title, 'topright', 'ra-title');
  };
  LAB.enacted = function (parent, D) {  // ... and on the enacted map
    var G = LAB.G;
    if (D.moved.length) { RA.add(parent, LAB.hatched(D.moved, D.movedTips)); }
    RA.add(parent, LAB.outlines(G.codes.map(function (c) { return G.outlines[c]; })));
    LAB.names(parent, G.enactedNames);
    RA.centres(parent, D.enactedCentres, G.minZoom);
    RA.box(parent, G.enactedTitle, 'topright', 'ra-title');
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
    LAB.D = D;
    if (!LAB.layers) { LAB.build(D); } else { LAB.restyle(); }
    LAB.scenario(parent, D);
    var holder = L.layerGroup();
    LAB.enacted(holder, D);
    RA.add(parent, new RA.OnMap([holder], D.target));
  };
  return LAB;
})();
