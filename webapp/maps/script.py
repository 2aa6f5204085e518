"""Calls from Python into the map helpers of ``webapp/static/*.js``, with JSON arguments.

The JavaScript lives in real ``.js`` files (:mod:`webapp.maps.assets` loads them);
Python only names a function and serialises its arguments with :func:`json.dumps`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from branca.element import Element, MacroElement
from folium.template import Template


def to_json(value) -> str:
    """Compact JSON safe to embed in a ``<script>`` (no ``</``, no JS line separators)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("</", "<\\/").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


@dataclass(frozen=True)
class Json:
    """JSON text made once by :func:`to_json` (cached by the app), passed on as it is."""

    text: str


def _argument(value) -> str:
    return value.text if isinstance(value, Json) else to_json(value)


class JsCall(MacroElement):
    """``function(parent, *args)``: a helper of ``static/*.js`` run with its parent map or group.

    Parameters
    ----------
    function
        Name of the helper, e.g. ``"RA.regions"``.
    *args
        Arguments, each a JSON-serialisable value or a :class:`Json` text.
    name
        Element name (folium uses it for the variable and for replacing elements).
    """

    # streamlit-folium renders each element through its ``script`` macro
    _template = Template(
        "{% macro script(this, kwargs) %}"
        "{{ this.function }}({{ this._parent.get_name() }}{{ this.arguments }});"
        "{% endmacro %}"
    )

    def __init__(self, function: str, *args, name: str = "ra_call"):
        super().__init__()
        self._name = name
        self.function = function
        self.arguments = "".join(f", {_argument(a)}" for a in args)

    def render(self, **kwargs) -> None:
        """Add the call to the figure's script as literal text (arguments can be megabytes).

        branca would compile the text as a Jinja template; this adds it as it is.
        """
        text = self._template.module.script(self, kwargs)
        self.get_root().script.add_child(_RawScript(text), name=self.get_name())


class _RawScript(Element):
    """Literal script text (branca's Element would compile the text as a Jinja template)."""

    _template = Template("{{ this.text }}")

    def __init__(self, text: str):
        super().__init__()
        self.text = text
