"""The project's limits on input files, and the settings that change them.

geo's readers take a :class:`geo.io.SizeLimit` from their caller; this module makes the
one for each kind of input Reform Atlas reads: its default size and the environment
variable ``REFORM_ATLAS_MAX_<KIND>_MB`` that overrides it (README, "Limits").
"""

from __future__ import annotations

import math
import os

from geo.errors import DataError
from geo.io import SizeLimit

#: Largest file accepted for each kind of input, in MiB. The real data is far below:
#: the largest geokz part is 1 MB, the HOT places 3.2 MB.
MAX_INPUT_MB: dict[str, float] = {
    "boundaries": 200.0,  # each part of a boundary layer (.shp, .dbf, GeoJSON, …)
    "settlements": 100.0,  # a settlements file (CSV, GeoJSON, GeoPackage)
    "table": 16.0,  # small tables: official figures CSV, workbooks
    "spec": 1.0,  # a reform spec or scenario (TOML)
}

#: What a file of each kind is, as the fixes in messages name it.
INPUT_WHAT: dict[str, str] = {
    "settlements": "points file (GeoJSON, GeoPackage or CSV)",
    "table": "CSV of official figures (code,population)",
    "spec": "reform spec (.toml)",
}


def input_limit(kind: str) -> SizeLimit:
    """Return the size limit of files of ``kind`` (a key of :data:`MAX_INPUT_MB`), with its setting.

    Raises
    ------
    DataError
        The environment variable is set to something other than a positive number.
    """
    env = f"REFORM_ATLAS_MAX_{kind.upper()}_MB"
    value = os.environ.get(env)
    try:
        mb = float(value) if value else MAX_INPUT_MB[kind]
    except ValueError:
        msg = f"{env}={value!r} is not a number of MB; unset it or give e.g. {MAX_INPUT_MB[kind]:g}"
        raise DataError(msg) from None
    if not (mb > 0 and math.isfinite(mb)):
        msg = f"{env}={value!r} must be a positive number of MB; unset it or give e.g. {MAX_INPUT_MB[kind]:g}"
        raise DataError(msg)
    return SizeLimit.megabytes(mb, label=f"{kind} files", hint=f"raise {env}")
