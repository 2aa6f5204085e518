"""Folium maps and their display data for the app (presentation only).

* :mod:`.assets` — Leaflet and the app's own ``static/`` JavaScript and CSS, served offline;
* :mod:`.script` — :class:`~.script.JsCall`, a call of a ``static/*.js`` function with JSON arguments;
* :mod:`.geometry` — display geometry (a clean, simplified coverage of the build pieces);
* :mod:`.colours` — region metrics, colour scales and legends;
* :mod:`.settlements` — the packed settlement layer and its legend;
* :mod:`.features` — regions, changed territory, centres and centre moves as GeoJSON/labels;
* :mod:`.selection` — one settlement's situation, its lines to the centres and the view on it;
* :mod:`.figures` — the single map, the side-by-side pair and the first-load preview.
"""
