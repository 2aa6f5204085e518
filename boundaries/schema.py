"""The schema of Reform Atlas tables: column names per epoch and shared thresholds.

Every table the project writes names its columns through these helpers, so a
column is spelled in one place. A reform has two epochs (``before``, ``after``,
e.g. 2018 and 2024, from the reform spec); columns that belong to one epoch carry
its year::

    region_col(2024)          -> "region_2024"
    centre_col(2024)          -> "centre_2024"
    dist_col(2024)            -> "dist_2024_km"
    nearest_centre_col(2024)  -> "nearest_centre_2024"

The module lives in ``boundaries/`` because that is the lowest room that knows
epochs (the builder labels pieces ``region_<epoch>``); ``analysis/``, ``cli/``,
the report and the app import it from there. It imports nothing of the project.
"""

from __future__ import annotations

# ------------------------------------------------------------------ thresholds
#: A trip counts as shorter or longer when it changes by more than this (km).
CHANGE_KM = 0.5

#: Points farther than this from every piece stay unassigned (km, geodesic): about
#: the largest digitising difference between the geokz layers.
MAX_NEAREST_KM = 1.0

#: Distances (km) of the ``share_pop_beyond_<d>km`` columns of the region metrics.
THRESHOLDS_KM = (100.0, 200.0, 300.0)

#: An actual centre is the settlement within this distance (km) of its coordinates.
CENTRE_MATCH_KM = 5.0

#: ``population_basis`` values that are counts, not imputed medians.
COUNTED_BASES = (
    "known",
    "secondary gazetteer figure",
    # after official control (analysis.official): a BNS count, or a gazetteer figure
    # scaled to the BNS unit total
    "BNS settlement count",
    "BNS unit total, allocated by gazetteer figure",
)

# ------------------------------------------------------------- epoch-free names
DELTA_KM = "delta_km"
CHANGED_REGION = "changed_region"
FARTHER_THAN_OTHER = "farther_than_other_centre"
POPULATION = "population"
POPULATION_EST = "population_est"
POPULATION_LOW = "population_low"
POPULATION_HIGH = "population_high"
POPULATION_BASIS = "population_basis"
PIECE_INDEX = "piece_index"
ASSIGNMENT = "assignment"
ASSIGN_KM = "assign_km"
AREA_KM2 = "area_km2"
PW_MEAN_KM = "pop_weighted_mean_km"

#: Values of the ``assignment`` column (see :mod:`analysis.assign`).
ASSIGNMENTS = ("inside", "nearest", "unassigned")

#: Columns of a built regions table (:func:`boundaries.build.build_regions`), in order.
REGION_COLUMNS = (
    "code",
    "name_en",
    "name_kk",
    "name_ru",
    "centre_name_en",
    "centre_name_kk",
    "centre_name_ru",
    "centre_lon",
    "centre_lat",
    AREA_KM2,
)


# ------------------------------------------------------------- per-epoch names
def region_col(epoch: int | str) -> str:
    """Region code of each row in ``epoch`` (``region_2024``)."""
    return f"region_{epoch}"


def centre_col(epoch: int | str) -> str:
    """Name of the regional centre in ``epoch`` (``centre_2024``)."""
    return f"centre_{epoch}"


def centre_lon_col(epoch: int | str) -> str:
    """Longitude of the regional centre in ``epoch`` (``centre_2024_lon``)."""
    return f"centre_{epoch}_lon"


def centre_lat_col(epoch: int | str) -> str:
    """Latitude of the regional centre in ``epoch`` (``centre_2024_lat``)."""
    return f"centre_{epoch}_lat"


def dist_col(epoch: int | str) -> str:
    """Geodesic distance (km) to the own regional centre in ``epoch`` (``dist_2024_km``)."""
    return f"dist_{epoch}_km"


def change_cols(before: int | str, after: int | str) -> tuple[str, ...]:
    """List the columns of a place's region, centre and distance in both epochs, then ``delta_km``."""
    return (
        region_col(before),
        region_col(after),
        centre_col(before),
        centre_col(after),
        dist_col(before),
        dist_col(after),
        DELTA_KM,
    )


def nearest_centre_col(epoch: int | str) -> str:
    """Name of the nearest regional centre of ``epoch`` (``nearest_centre_2024``)."""
    return f"nearest_centre_{epoch}"


def nearest_centre_km_col(epoch: int | str) -> str:
    """Distance (km) to the nearest regional centre of ``epoch`` (``nearest_centre_2024_km``)."""
    return f"nearest_centre_{epoch}_km"


def pw_mean_col(epoch: int | str) -> str:
    """Population-weighted mean distance (km) in ``epoch`` (``pop_weighted_mean_2024_km``)."""
    return f"pop_weighted_mean_{epoch}_km"


def share_of_area_col(epoch: int | str) -> str:
    """Share of the ``epoch`` region's area in a crosswalk row (``share_of_2024_area``)."""
    return f"share_of_{epoch}_area"


def share_beyond_col(km: float) -> str:
    """Share of population farther than ``km`` from its centre (``share_pop_beyond_100km``)."""
    return f"share_pop_beyond_{float(km):g}km"


def regions_file(epoch: int | str) -> str:
    """File name of one epoch's regions (``regions_2024.geojson``)."""
    return f"regions_{epoch}.geojson"
