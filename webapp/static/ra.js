// Reform Atlas map helpers, loaded after Leaflet into the streamlit-folium frame (window.RA).
// Python (webapp/maps/script.py) calls these as RA.<name>(parent, ...JSON arguments).
window.RA = window.RA || (function () {
  var RA = {};
  RA.report = function (kind, key, latlng) {
    // Tell streamlit-folium what was clicked, as "ra:<kind>:<key>". After every other click
    // handler (streamlit-folium's own one writes a tooltip text there, not always the right one),
    // with a new click count so that a second click on the same place is a change too.
    setTimeout(function () {
      var g = window.__GLOBAL_DATA__;
      if (!g || !window.map) { return; }
      g.last_object_clicked = {lat: latlng.lat, lng: latlng.lng};
      g.last_object_clicked_tooltip = 'ra:' + kind + ':' + key;
      g.last_object_clicked_count = (g.last_object_clicked_count || 0) + 1;
      var wanted = ['last_object_clicked', 'last_object_clicked_count', 'last_object_clicked_tooltip'];
      var direct = window.Streamlit && Array.isArray(g.returned_objects) && g.returned_objects.length === 3 &&
        wanted.every(function (k) { return g.returned_objects.indexOf(k) >= 0; });
      if (!direct) { window.map.fire('moveend'); return; }  // streamlit-folium sends its value on moveend
      // the value streamlit-folium would send (same keys, same order), now rather than 250 ms later
      var value = {};
      wanted.forEach(function (k) { value[k] = g[k]; });
      g.previous_data = value;
      window.Streamlit.setComponentValue(value);
    }, 0);
  };
  RA.esc = function (s) {
    return String(s == null ? '' : s).replace(/[&<>"]/g, function (c) {
      return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;'}[c];
    });
  };
  RA.hatch = function (colour) {
    var c = document.createElement('canvas'); c.width = c.height = 9;
    var x = c.getContext('2d'); x.strokeStyle = colour; x.lineWidth = 1.7; x.beginPath();
    x.moveTo(-1, 1); x.lineTo(1, -1); x.moveTo(0, 9); x.lineTo(9, 0); x.moveTo(8, 10); x.lineTo(10, 8);
    x.stroke();
    return x.createPattern(c, 'repeat');
  };
  RA.Box = L.Layer.extend({
    initialize: function (html, position, cls) { this._html = html; this._pos = position; this._cls = cls; },
    onAdd: function (map) {
      var html = this._html, cls = this._cls;
      this._c = L.control({position: this._pos});
      this._c.onAdd = function () {
        var d = L.DomUtil.create('div', 'ra-box ' + cls); d.innerHTML = html;
        L.DomEvent.disableClickPropagation(d); L.DomEvent.disableScrollPropagation(d); return d;
      };
      this._c.addTo(map);
    },
    onRemove: function (map) { if (this._c) { map.removeControl(this._c); } }
  });
  RA.OnMap = L.Layer.extend({  // layers shown on another map (the right map of the comparison)
    initialize: function (layers, target) { this._g = L.layerGroup(layers); this._t = target; },
    onAdd: function (map) { (window[this._t] || map).addLayer(this._g); },
    onRemove: function (map) { this._g.remove(); }
  });
  RA.add = function (parent, layer) { if (parent && parent.addLayer) { parent.addLayer(layer); } return layer; };
  RA.bytes = function (b64) {
    var bin = atob(b64), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
    return out;
  };
  RA.u16 = function (b64) {
    var b = RA.bytes(b64), out = new Uint16Array(b.length / 2);
    for (var i = 0; i < out.length; i++) { out[i] = b[2 * i] | (b[2 * i + 1] << 8); }
    return out;
  };
  RA.text = function (b64, alphabet) {
    var b = RA.bytes(b64), a = Array.from(alphabet), out = [];
    for (var i = 0; i < b.length; i++) {
      var x = b[i];
      out.push(x < 128 ? String.fromCharCode(x) : x < 255 ? a[x - 128] : a[127 + b[++i]]);
    }
    return out.join('').split('\n');
  };
  RA.settlements = function (parent, P) {
    var n = P.n, o = P.origin, la = RA.u16(P.la), lo = RA.u16(P.lo), r = RA.bytes(P.r), c = RA.bytes(P.c);
    var d = [RA.u16(P.d0), RA.u16(P.d1)], k = [RA.bytes(P.k0), RA.bytes(P.k1)], dd = RA.u16(P.dd);
    var names = RA.text(P.names, P.alphabet), E = P.epochs, C = P.centres, pal = P.palette;
    var g = L.featureGroup();
    g.raNames = names;
    var line = function (j, i) {
      return E[j] + ': ' + (d[j][i] === 65535 ? 'outside every region' : d[j][i] + ' km to ' + RA.esc(C[k[j][i]]));
    };
    var tip = function (i) {
      var html = '<b>' + RA.esc(names[i]) + '</b>\n<br>' + line(0, i) + '<br>' + line(1, i);
      if (dd[i] > 0 && c[i] !== 7 && c[i] !== P.muted) {
        html += '<br>change ' + (c[i] > P.muted ? '+' : '\u2212') + dd[i] + ' km';
      }
      return html;
    };
    for (var i = 0; i < n; i++) {
      var quiet = c[i] === P.muted;
      var m = L.circleMarker([o[0] + la[i] / o[2], o[1] + lo[i] / o[2]], {
        radius: r[i] / 10, weight: quiet ? 0.4 : 0.7, color: quiet ? '#6b6b6b' : '#2b2b2b', opacity: quiet ? 0.45 : 0.8,
        fillColor: pal[c[i]], fillOpacity: quiet ? 0.55 : 0.9, bubblingMouseEvents: false
      });
      m._raIndex = i;
      g.addLayer(m);
    }
    // one tooltip for the whole layer, built on hover: 10,000 tooltips would cost more than the markers;
    // it returns an element so that streamlit-folium can read its text when a settlement is clicked
    g.on('click', function (e) { RA.report('s', (e.layer || e.sourceTarget)._raIndex, e.latlng); });
    g.bindTooltip(function (layer) {
      var el = document.createElement('div'); el.innerHTML = tip(layer._raIndex); return el;
    }, {direction: 'top', offset: [0, -4]});
    return RA.add(parent, g);
  };
  RA.later = function (fn) {  // after the next paint, so that what is already on the map shows first
    var done = false, run = function () { if (!done) { done = true; fn(); } };
    requestAnimationFrame(function () { setTimeout(run, 0); });
    setTimeout(run, 250);  // hidden pages get no animation frames
  };
  RA.regions = function (parent, fc, changed, opt) {
    var report = function (e) {
      var p = (e.layer || e.sourceTarget).feature.properties;
      RA.report('r', p.code || (p.codes && p.codes[opt.side || 0]) || '', e.latlng);
    };
    var hatch = RA.hatch('rgba(84, 20, 120, 0.8)');
    var regions = L.geoJSON(fc, {
      style: function (f) {
        var p = f.properties;
        return {fillColor: p.fill, fillOpacity: opt.fillOpacity, color: p.isnew ? '#1d1d1d' : '#ffffff',
                weight: p.isnew ? 2.4 : 1.1, opacity: 1};
      },
      onEachFeature: function (f, l) {
        l.bindTooltip(f.properties.tip, {sticky: true, className: 'ra-tip'});
        l.on('mouseover', function () { this.setStyle({weight: 3, color: '#222'}); });
        l.on('mouseout', function () { regions.resetStyle(this); });
      }
    });
    regions.on('click', report);
    var layers = [regions];
    var hatched = null;
    if (changed && changed.features.length) {
      hatched = L.geoJSON(changed, {
        style: {fillColor: hatch, fillOpacity: 1, color: '#541478', weight: 2.6, dashArray: '8 5', opacity: 0.95},
        onEachFeature: function (f, l) { l.bindTooltip(f.properties.tip, {sticky: true, className: 'ra-tip'}); }
      });
      hatched.on('click', report);
      layers.push(hatched);
    }
    var order = function () {
      if (hatched) { hatched.bringToBack(); }
      regions.bringToBack();
      if (regions._map) { regions._map._raOrder = order; }
    };
    layers.forEach(function (l) { RA.add(parent, l); });
    if (parent instanceof L.Map) { order(); } else { parent.on('add', order); }
    return regions;
  };
  RA.centres = function (parent, list, minZoom) {
    var g = L.layerGroup(), markers = [];
    list.forEach(function (c) {
      var m = L.circleMarker([c.la, c.lo], {
        radius: c.isnew ? 6 : 4.5, color: '#111', weight: 1.6, fillColor: c.isnew ? '#ff8f00' : '#ffffff',
        fillOpacity: 1, interactive: false
      });
      m.bindTooltip(RA.esc(c.label), {permanent: true, direction: c.dir, offset: c.offset,
                                      className: 'ra-label' + (c.isnew ? ' ra-new' : '')});
      m._raKey = c.key;
      markers.push(m); g.addLayer(m);
    });
    var update = function () {  // at low zoom only the centres the reform touched keep a label
      var map = g._map; if (!map) { return; }
      var z = map.getZoom();
      markers.forEach(function (m) { if (m._raKey || z >= minZoom) { m.openTooltip(); } else { m.closeTooltip(); } });
    };
    g.on('add', function () { g._map.on('zoomend', update); update(); });
    g.on('remove', function () { if (g._map) { g._map.off('zoomend', update); } });
    RA.add(parent, g);
    if (parent instanceof L.Map) { update(); }
  };
  RA.moves = function (parent, list) {
    list.forEach(function (mv) {
      var l = L.polyline(mv.pts, {color: '#e65100', weight: 2.5, dashArray: '2 6', lineCap: 'round'});
      l.bindTooltip(RA.esc(mv.tip), {sticky: true, className: 'ra-tip'});
      RA.add(parent, l);
    });
  };
  RA.selection = function (parent, s) {
    var mk = function (line) {
      var ring = L.circleMarker(s.at, {radius: 10, color: '#000', weight: 2.5, fill: false, interactive: false});
      var layers = [ring];
      if (line) {
        var pl = L.polyline(line.pts, {color: line.colour, weight: 3.5, dashArray: line.dash, interactive: false});
        var end = L.circleMarker(line.pts[line.pts.length - 1], {radius: 3, color: line.colour, fillOpacity: 1,
                                                                 interactive: false});
        // the distance label sits on a point of the line (a polyline's own tooltip is placed by the map
        // it was first measured on, which is off for the right map of a pair)
        var mid = L.marker(line.pts[Math.floor(line.pts.length / 2)], {interactive: false, keyboard: false,
          icon: L.divIcon({className: 'ra-dist-icon', html: '<span class="ra-dist">' + RA.esc(line.label) + '</span>',
                           iconSize: null})});
        layers.push(pl, end, mid);
      }
      return layers;
    };
    if (s.dual) {
      mk(s.lines[0]).forEach(function (l) { RA.add(parent, l); });
      RA.add(parent, new RA.OnMap(mk(s.lines[1]), s.target));
    } else {
      RA.add(parent, mk(null)[0]);
      s.lines.forEach(function (line) { mk(line).slice(1).forEach(function (l) { RA.add(parent, l); }); });
    }
  };
  RA.box = function (parent, html, position, cls) { return RA.add(parent, new RA.Box(html, position, cls)); };
  RA.attribution = function (map, text) { map.attributionControl.addAttribution(RA.esc(text)); };
  RA.settlementsLater = function (map, P) {  // regions first; the 10,000 circles right after
    if (P) { RA._settlements = P; }  // the right map of a pair reuses the left one's data
    var data = RA._settlements;
    RA.later(function () {
      map._raSettlements = RA.settlements(null, data);
      RA.placeSettlements(map);
    });
  };
  RA.placeSettlements = function (map) {  // on the map or off it, as the settlements switch says
    var g = map._raSettlements, show = RA._showSettlements !== false;
    if (!g || show === map.hasLayer(g)) { return; }
    if (!show) { map.removeLayer(g); return; }
    map.addLayer(g);
    g.bringToBack();
    if (map._raOrder) { map._raOrder(); }  // ... above the regions and the hatching, below the rest
  };
  RA.showSettlements = function (parent, show) {  // run from a feature group: the map frame stays
    RA._showSettlements = show;
    [window.map_div, window.map_div2].forEach(function (m) { if (m) { RA.placeSettlements(m); } });
  };
  RA.behave = function (map, home, opt) {
    // The wheel scrolls the page until the map has focus (a click on it) or with Ctrl/Cmd held;
    // a "whole country" button and a minimum zoom keep the country in reach.
    var el = map.getContainer(), hint = null, timer = null;
    map.scrollWheelZoom.disable();
    map.setMinZoom(opt.minZoom);
    el.setAttribute('tabindex', '0');
    el.addEventListener('focus', function () { map.scrollWheelZoom.enable(); });
    el.addEventListener('blur', function () { map.scrollWheelZoom.disable(); });
    el.addEventListener('wheel', function (e) {
      if (map.scrollWheelZoom.enabled()) { return; }
      if (e.ctrlKey || e.metaKey) {
        e.preventDefault();
        var z = map.getZoom() + (e.deltaY < 0 ? 0.5 : -0.5);
        map.setZoomAround(map.mouseEventToContainerPoint(e), z);
        return;
      }
      if (!hint) { hint = L.DomUtil.create('div', 'ra-hint', el); hint.textContent = opt.hint; }
      hint.style.display = 'block';
      clearTimeout(timer);
      timer = setTimeout(function () { hint.style.display = 'none'; }, 1400);
    }, {passive: false});
    var Home = L.Control.extend({
      onAdd: function () {
        var b = L.DomUtil.create('a', 'ra-home leaflet-bar-part');
        b.href = '#'; b.title = opt.title; b.setAttribute('role', 'button'); b.setAttribute('aria-label', opt.title);
        b.innerHTML = '&#x2922;';
        var bar = L.DomUtil.create('div', 'leaflet-bar'); bar.appendChild(b);
        L.DomEvent.on(b, 'click', function (e) {
          L.DomEvent.stop(e);
          map.fitBounds(home, {paddingTopLeft: opt.padTopLeft, paddingBottomRight: opt.padBottomRight, animate: false});
        });
        L.DomEvent.disableClickPropagation(bar);
        return bar;
      }
    });
    new Home({position: 'topleft'}).addTo(map);
  };
  // ---- the map as a PNG (for articles): canvases, labels, title and legend composed on one canvas.
  // Written here because the Leaflet image plugins are not shipped with the app and must work offline;
  // online tiles are left out (their servers' images would taint the canvas).
  RA.paintText = function (ctx, el, origin) {
    var walker = document.createTreeWalker(el, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT), node;
    while ((node = walker.nextNode())) {
      if (node.nodeType === 1) {
        var st = getComputedStyle(node), r = node.getBoundingClientRect();
        if (st.display === 'none' || st.visibility === 'hidden' || !r.width) { continue; }
        var bg = st.backgroundColor;
        if (bg && bg !== 'rgba(0, 0, 0, 0)' && bg !== 'transparent') {
          ctx.fillStyle = bg; ctx.fillRect(r.left - origin.left, r.top - origin.top, r.width, r.height);
        }
        continue;
      }
      var text = node.textContent.trim(), parent = node.parentElement;
      if (!text || !parent || getComputedStyle(parent).visibility === 'hidden') { continue; }
      var range = document.createRange(); range.selectNodeContents(node);
      var lines = Array.from(range.getClientRects()).filter(function (b) { return b.width > 0; });
      var ps = getComputedStyle(parent), words = text.split(/\s+/);
      ctx.font = ps.fontWeight + ' ' + ps.fontSize + ' ' + ps.fontFamily;
      ctx.fillStyle = ps.color; ctx.textBaseline = 'middle';
      lines.forEach(function (box, k) {  // wrapped text: as many words on each line as fit its box
        var line = [];
        while (words.length && (k === lines.length - 1 || !line.length ||
               ctx.measureText(line.concat(words[0]).join(' ')).width <= box.width + 1)) {
          line.push(words.shift());
        }
        ctx.fillText(line.join(' '), box.left - origin.left, box.top - origin.top + box.height / 2);
      });
    }
  };
  RA.snapshot = function (map) {
    var el = map.getContainer(), origin = el.getBoundingClientRect(), scale = 2;
    var out = document.createElement('canvas');
    out.width = origin.width * scale; out.height = origin.height * scale;
    var ctx = out.getContext('2d');
    ctx.scale(scale, scale);
    ctx.fillStyle = getComputedStyle(el).backgroundColor || '#ffffff';
    ctx.fillRect(0, 0, origin.width, origin.height);
    el.querySelectorAll('.leaflet-overlay-pane canvas, .leaflet-overlay-pane svg').forEach(function (c) {
      if (c.tagName.toLowerCase() !== 'canvas') { return; }
      var r = c.getBoundingClientRect();
      ctx.drawImage(c, r.left - origin.left, r.top - origin.top, r.width, r.height);
    });
    el.querySelectorAll('.leaflet-tooltip-pane .leaflet-tooltip, .ra-box, .ra-dist').forEach(function (t) {
      if (t.classList.contains('ra-tip') || getComputedStyle(t).opacity === '0') { return; }
      var r = t.getBoundingClientRect(), bg = getComputedStyle(t).backgroundColor;
      if (bg && bg !== 'rgba(0, 0, 0, 0)') {
        ctx.fillStyle = bg; ctx.fillRect(r.left - origin.left, r.top - origin.top, r.width, r.height);
      }
      RA.paintText(ctx, t, origin);
    });
    ctx.fillStyle = 'rgba(255, 255, 255, 0.8)'; ctx.fillRect(origin.width - 250, origin.height - 16, 250, 16);
    ctx.fillStyle = '#333'; ctx.font = '11px sans-serif'; ctx.textBaseline = 'middle';
    ctx.fillText(RA._credit || '', origin.width - 246, origin.height - 8);
    return out;
  };
  RA.savePng = function (map, name) {
    RA.snapshot(map).toBlob(function (blob) {
      var a = document.createElement('a');
      a.href = URL.createObjectURL(blob); a.download = name;
      document.body.appendChild(a); a.click(); a.remove();
      setTimeout(function () { URL.revokeObjectURL(a.href); }, 10000);
    }, 'image/png');
  };
  RA.pngButton = function (map, opt) {
    RA._credit = opt.credit;
    var Png = L.Control.extend({
      onAdd: function () {
        var bar = L.DomUtil.create('div', 'leaflet-bar'), b = L.DomUtil.create('a', 'ra-home', bar);
        b.href = '#'; b.title = opt.title; b.setAttribute('role', 'button'); b.setAttribute('aria-label', opt.title);
        b.innerHTML = '&#x2913;';
        L.DomEvent.on(b, 'click', function (e) { L.DomEvent.stop(e); RA.savePng(map, opt.name); });
        L.DomEvent.disableClickPropagation(bar);
        return bar;
      }
    });
    new Png({position: 'topleft'}).addTo(map);
  };
  RA.sync = function (a, b) {
    var busy = false;
    var follow = function (src, dst) {
      src.on('move zoomend', function () {
        if (busy) { return; }
        busy = true; dst.setView(src.getCenter(), src.getZoom(), {animate: false}); busy = false;
      });
    };
    follow(a, b); follow(b, a);
    // labels opened before the pair had its layout were measured wrong (left, top and bottom labels
    // half a map away from their centre): once laid out, place them again, as the lab does (LAB.fit)
    setTimeout(function () {
      [a, b].forEach(function (m) { m.invalidateSize(false); m.fire('viewreset'); });
    }, 60);
  };
  return RA;
})();
