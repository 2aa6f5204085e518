"""Uploaded settlements files: checked before GDAL sees them, read into a temporary folder.

Every failure becomes one :class:`~geo.errors.DataError` line naming the upload (never
the temporary copy or any other server path).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from geo.errors import DataError
from webapp.common import one_line

MAX_UPLOAD_MB = 50
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1024 * 1024
UPLOAD_SUFFIXES = (".geojson", ".json", ".gpkg", ".csv")


def check_upload(name: str, data: bytes) -> None:
    """Reject uploads that cannot be settlements before GDAL sees them (one-line DataError)."""
    if len(data) > MAX_UPLOAD_BYTES:
        msg = (
            f"{name}: {len(data) / 1024 / 1024:.1f} MB is over the {MAX_UPLOAD_MB} MB upload limit; "
            "upload a smaller file or ask the operator to add it as a data directory"
        )
        raise DataError(msg)
    if not data:
        raise DataError(f"{name}: the file is empty; upload a GeoJSON, GeoPackage or CSV of points")
    suffix = Path(name).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        msg = f"{name}: unsupported file type '{suffix}'; upload {', '.join(UPLOAD_SUFFIXES)}"
        raise DataError(msg)
    if suffix in (".geojson", ".json"):
        _check_geojson(name, data)


def _check_geojson(name: str, data: bytes) -> None:
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as err:
        msg = f"{name}: not UTF-8 text (byte {err.start}); save the GeoJSON as UTF-8"
        raise DataError(msg) from None
    except (json.JSONDecodeError, RecursionError) as err:
        where = f" ({err.msg} at line {err.lineno}, column {err.colno})" if isinstance(err, json.JSONDecodeError) else ""
        raise DataError(f"{name}: not valid JSON{where}; export it again") from None
    kind = doc.get("type") if isinstance(doc, dict) else type(doc).__name__
    if kind not in ("FeatureCollection", "Feature"):
        msg = f"{name}: not GeoJSON (top-level type {kind!r}); give a FeatureCollection of points"
        raise DataError(msg)


def load_upload(sources, name: str, data: bytes):
    """Settlements from an uploaded file, validated; errors name the upload, not a temp path.

    The file is read as the command line reads ``--settlements`` (the same checks,
    population bounds included: :func:`inputs.population.check_population_bound`).
    """
    from analysis.pipeline import load_settlements

    name = Path(name).name or "upload"
    check_upload(name, data)
    with tempfile.TemporaryDirectory(prefix="reform-atlas-upload-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        try:
            source = load_settlements(sources, settlements_file=path)
        except Exception as err:  # any failure of a visitor's file is one line about that file
            raise DataError(one_line(err, [(str(path), name), (tmp, "")])) from None
    source.description = f"uploaded settlements file {name} ({len(source.frame):,} places)"
    return source
