"""Download the public data files Reform Atlas works with and verify their checksums.

``reform-atlas data fetch --dest DIR`` calls :func:`fetch_data`. Every file listed in
``inputs/checksums.txt`` is downloaded into ``DIR`` with the layout of the shared data
folder (``DIR/geokz/...``, ``DIR/hotosm/...``), checked against its pinned SHA-256 and only
then moved into place, so an interrupted or corrupted download never leaves a file behind.
Verification, the temporary file and the move are pooch's (:func:`pooch.retrieve` with the
pinned hash), inside a private folder beside the file (``.<name>.tmp-<pid>-<random>``,
removed on any exit and, when a killed run left one, by the next run); the transfer is
:class:`inputs.download.BoundedDownloader`, which gives each file a total deadline and a
size cap from its expected size (``inputs/sizes.txt``).

Files come from their public origins (:data:`PUBLIC_ORIGINS`) or, when a base URL is given
(argument or the ``REFORM_ATLAS_MIRROR`` environment variable), from a mirror laid out like
the data folder: ``{base_url}/geokz/kaz_admbnda_adm1_2018.shp`` and so on.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sys
import urllib.parse
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pooch

from geo.errors import DataError, FetchError
from geo.outdir import remove_stale_temps, temp_sibling
from inputs.download import (
    CHUNK_SIZE,
    BoundedDownloader,
    Limits,
    ProgressBar,
    disk_error,
    one_line,
    write_stream,
)

__all__ = [
    "CHECKSUMS_FILE",
    "MIRROR_ENV_VAR",
    "PUBLIC_ORIGINS",
    "SIZES_FILE",
    "Origin",
    "fetch_data",
    "load_checksums",
    "load_sizes",
    "origin_for",
    "resolve_base_url",
    "sha256_file",
]

logger = logging.getLogger(__name__)

#: Pinned SHA-256 of every data file, in ``sha256sum`` format, relative to the data folder.
CHECKSUMS_FILE = Path(__file__).with_name("checksums.txt")
#: Expected size in bytes of every data file (same paths), for the size cap of downloads.
SIZES_FILE = Path(__file__).with_name("sizes.txt")
#: Each file's deadline: this many seconds plus its size at MIN_RATE_BYTES_S.
DEADLINE_BASE_S = 60.0
MIN_RATE_BYTES_S = 64 * 1024
#: Size cap of a file whose size is not listed.
MAX_UNKNOWN_BYTES = 512 * 2**20

#: Environment variable holding the default mirror base URL.
MIRROR_ENV_VAR = "REFORM_ATLAS_MIRROR"

#: URL schemes accepted for a mirror.
MIRROR_SCHEMES = ("http", "https", "file")



@dataclass(frozen=True)
class Origin:
    """Public address of one data file.

    Attributes
    ----------
    url : str
        Address to download.
    member : str or None
        When the address is a zip archive, the name of the archive member to extract
        (matched on its base name); ``None`` when the address is the file itself.
    """

    url: str
    member: str | None = None


GEOKZ_COMMIT = "41c1a00454ec9e01bda031b5074920bd82de02ce"
GEOKZ_RAW = f"https://raw.githubusercontent.com/arodionoff/geokz/{GEOKZ_COMMIT}/inst"
GEOKZ_LAYERS = (
    "kaz_admbnda_adm0_2018",
    "kaz_admbnda_adm1_2018",
    "kaz_admbnda_adm1_2024",
    "kaz_admbnda_adm2_2018",
    "kaz_admbnda_adm2_2024",
    "kaz_admbnda_cnt1_2022",
)
SHAPEFILE_PARTS = ("cpg", "dbf", "prj", "shp", "shx")

# HOT exports on HDX (dataset ``hotosm_kaz_populated_places``) link to zips in the
# raw-data-api S3 bucket. The export is regenerated from live OpenStreetMap data, so a newer
# export will not match the pinned checksum; a mirror of the pinned files is then needed.
HOT_S3 = "https://s3.dualstack.us-east-1.amazonaws.com/production-raw-data-api/ISO3/KAZ"
HOT_PLACES = "hotosm_kaz_populated_places_points_geojson"
# Official population (BNS), pinned to the commits named in the shared data's SOURCES.md.
_GH_RAW = "https://raw.githubusercontent.com/open-data-kazakhstan"
BNS_CITY_RAW = f"{_GH_RAW}/city-population/46e8393c47645ef114b6417a39b45502f62c17bf"
BNS_REGIONS_RAW = (
    f"{_GH_RAW}/population-projections-by-regions/2568e4140d8527c5e501619440ae4eb2e769275a"
)

#: Public origin of every file in ``checksums.txt``, keyed by its path in the data folder.
PUBLIC_ORIGINS: dict[str, Origin] = {
    **{
        f"geokz/{layer}.{part}": Origin(f"{GEOKZ_RAW}/shape/{layer}.{part}")
        for layer in GEOKZ_LAYERS
        for part in SHAPEFILE_PARTS
    },
    "geokz/kaz_zones.csv": Origin(f"{GEOKZ_RAW}/extdata/kaz_zones.csv"),
    f"hotosm/{HOT_PLACES}.geojson": Origin(
        f"{HOT_S3}/populated_places/points/{HOT_PLACES}.zip", member=f"{HOT_PLACES}.geojson"
    ),
    # Bureau of National Statistics figures as republished by open-data-kazakhstan (PDDL 1.0)
    "bns/bns_population_2023-01-01.xlsx": Origin(f"{BNS_CITY_RAW}/archive/source.xlsx"),
    "bns/bns_population_by_region_2000-2023.xlsx": Origin(f"{BNS_REGIONS_RAW}/archive/source.xlsx"),
}


def load_checksums(path: str | os.PathLike[str] = CHECKSUMS_FILE) -> dict[str, str]:
    """Read a ``sha256sum``-style checksum file.

    Parameters
    ----------
    path : str or os.PathLike
        Checksum file; defaults to the one shipped with the project.

    Returns
    -------
    dict of str to str
        Lower-case hex digest keyed by the file's relative POSIX path, in file order.

    Raises
    ------
    DataError
        If a line is not ``<64 hex digits> <relative path>``.
    """
    checksums: dict[str, str] = {}
    text = Path(path).read_text(encoding="utf-8")
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        digest, _, name = line.partition(" ")
        relpath = name.strip().lstrip("*")
        if not _is_sha256(digest) or not _is_safe_relpath(relpath):
            msg = f"{path}:{number}: malformed checksum line {line!r}; reinstall reform-atlas"
            raise DataError(msg)
        checksums[relpath] = digest.lower()
    return checksums


def _is_sha256(digest: str) -> bool:
    return len(digest) == 64 and all(c in "0123456789abcdefABCDEF" for c in digest)


def _is_safe_relpath(relpath: str) -> bool:
    pure = PurePosixPath(relpath)
    return bool(relpath) and not pure.is_absolute() and ".." not in pure.parts


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Return the SHA-256 hex digest of a file, read in chunks.

    Parameters
    ----------
    path : str or os.PathLike
        File to hash.

    Returns
    -------
    str
        Lower-case hex digest.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK_SIZE), b""):
            digest.update(chunk)
    return digest.hexdigest()


def resolve_base_url(base_url: str | None) -> str | None:
    """Return the mirror base URL to use, if any.

    Parameters
    ----------
    base_url : str or None
        Explicit mirror; when ``None`` the ``REFORM_ATLAS_MIRROR`` environment variable is
        used, and when that is unset or empty the public origins are used.

    Returns
    -------
    str or None
        Base URL without trailing slash, or ``None`` for the public origins.

    Raises
    ------
    FetchError
        If the address is not an ``http``, ``https`` or ``file`` URL.
    """
    if base_url is None:
        base_url = os.environ.get(MIRROR_ENV_VAR) or None
    if not base_url:
        return None
    if urllib.parse.urlsplit(base_url).scheme.lower() not in MIRROR_SCHEMES:
        msg = (
            f"invalid mirror address {base_url!r} (from --base-url or {MIRROR_ENV_VAR}); "
            f"pass an http://, https:// or file:// address"
        )
        raise FetchError(msg)
    return base_url.rstrip("/")


def origin_for(relpath: str, base_url: str | None) -> Origin:
    """Return where to download one data file from.

    Parameters
    ----------
    relpath : str
        Path of the file in the data folder, e.g. ``geokz/kaz_zones.csv``.
    base_url : str or None
        Mirror base URL (already resolved), or ``None`` for the public origins.

    Returns
    -------
    Origin
        The mirror address ``{base_url}/{relpath}``, or the entry of :data:`PUBLIC_ORIGINS`.

    Raises
    ------
    FetchError
        If there is no public origin for the file.
    """
    if base_url is not None:
        return Origin(f"{base_url}/{urllib.parse.quote(relpath)}")
    try:
        return PUBLIC_ORIGINS[relpath]
    except KeyError:
        msg = f"no public origin known for {relpath}; pass --base-url to a mirror that has it"
        raise FetchError(msg) from None


def load_sizes(path: str | os.PathLike[str] = SIZES_FILE) -> dict[str, int]:
    """Read the expected size in bytes of every data file (``<bytes>  <relative path>``)."""
    sizes: dict[str, int] = {}
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        size, _, name = line.partition(" ")
        if not size.isdigit() or not _is_safe_relpath(name.strip()):
            msg = f"{path}:{number}: malformed size line {line!r}; reinstall reform-atlas"
            raise DataError(msg)
        sizes[name.strip()] = int(size)
    return sizes


def deadline_for(size: int | None) -> float:
    """Seconds one file may take in total: a minute plus its size at 64 KiB/s."""
    return DEADLINE_BASE_S + (size if size is not None else MAX_UNKNOWN_BYTES) / MIN_RATE_BYTES_S


def fetch_data(
    dest: str | os.PathLike[str],
    *,
    base_url: str | None = None,
    progress: bool = True,
    timeout: float = 30.0,
    deadline: float | None = None,
) -> list[Path]:
    """Download and verify every data file into ``dest``.

    Files already present with the pinned checksum are left alone (reported as up to date);
    others are downloaded to a temporary file beside their final path, verified, then
    moved into place. The first failure stops the run; on any failure or interruption
    (Ctrl-C, SIGTERM through the command line) the temporary file is removed.

    Parameters
    ----------
    dest : str or os.PathLike
        Data directory to fill, created if needed; receives ``geokz/`` and ``hotosm/``.
    base_url : str, optional
        Mirror laid out like the data folder (``http://``, ``https://`` or ``file://``);
        each file is fetched from ``{base_url}/{relative path}``. Defaults to the
        ``REFORM_ATLAS_MIRROR`` environment variable, then to the public origins.
    progress : bool, default True
        Show tqdm progress bars and status lines on standard error.
    timeout : float, default 30.0
        Longest wait in seconds for a connection or for any one read.
    deadline : float, optional
        Total seconds each file may take; default :func:`deadline_for` its expected
        size. A file is also abandoned as soon as the server sends more than its
        expected size.

    Returns
    -------
    list of pathlib.Path
        Final path of every data file, in checksum-file order.

    Raises
    ------
    FetchError
        If a download fails, takes too long, is too large, a checksum does not match or
        a file cannot be written; the one-line message names the file, the problem and
        the fix.
    """
    root = Path(dest)
    mirror = resolve_base_url(base_url)
    checksums, sizes = load_checksums(), load_sizes()
    paths: list[Path] = []
    with ProgressBar(
        total=len(checksums), unit="file", desc="data files", file=sys.stderr, disable=not progress
    ) as bar:
        for relpath in checksums:  # private folders of killed runs, beside any file
            target = root.joinpath(*PurePosixPath(relpath).parts)
            remove_stale_temps(target.parent, target.name)
        for relpath, expected in checksums.items():
            target = root.joinpath(*PurePosixPath(relpath).parts)
            size = sizes.get(relpath)
            limits = Limits(
                max_bytes=size if size is not None else MAX_UNKNOWN_BYTES,
                deadline_s=deadline if deadline is not None else deadline_for(size),
                timeout_s=timeout,
            )
            status = _fetch_one(
                relpath, expected, target, origin_for(relpath, mirror), limits, progress=progress
            )
            logger.info("%s: %s", relpath, status)
            if progress:
                bar.write(f"{relpath}: {status}", file=sys.stderr)
            bar.update()
            paths.append(target)
    return paths


def _fetch_one(
    relpath: str, expected: str, target: Path, origin: Origin, limits: Limits, *, progress: bool
) -> str:
    """Make ``target`` hold the verified file and return a short status for the user.

    Everything is downloaded into a private folder beside ``target``
    (:func:`geo.outdir.temp_sibling`: ``.<name>.tmp-<pid>-<random>``), removed on any
    exit, Ctrl-C and SIGTERM included; one left by a killed run is removed by the next.
    """
    existed = target.is_file()
    if existed and sha256_file(target) == expected:
        return "up to date"
    _make_dir(target.parent)
    with _staging(target) as stage:
        staged = stage / target.name
        if origin.member is None:
            _retrieve(relpath, expected, staged, origin.url, limits, progress=progress)
        else:
            _retrieve_member(relpath, expected, staged, origin, limits, progress=progress)
        _replace(staged, target)
    return "replaced (checksum differed)" if existed else "downloaded"


@contextlib.contextmanager
def _staging(target: Path) -> Iterator[Path]:
    """:func:`geo.outdir.temp_sibling` of ``target``, its creation failing as a one-line FetchError."""
    stack = contextlib.ExitStack()
    try:
        folder = stack.enter_context(temp_sibling(target))
    except OSError as exc:
        raise disk_error(target.parent, exc) from exc
    with stack:
        yield folder


def _retrieve(
    relpath: str, expected: str, target: Path, url: str, limits: Limits, *, progress: bool
) -> None:
    """Download ``url`` to ``target`` through pooch, verifying the pinned SHA-256."""
    download = BoundedDownloader(relpath, limits, progress=progress)
    pooch_logger = pooch.get_logger()
    level = pooch_logger.level
    pooch_logger.setLevel(logging.WARNING)  # pooch announces every download on stderr
    try:
        pooch.retrieve(
            url,
            known_hash=f"sha256:{expected}",
            fname=target.name,
            path=target.parent,
            downloader=download,
            progressbar=False,
        )
    except ValueError as exc:  # pooch: the hash does not match
        if download.digest is None:
            raise
        raise _mismatch(relpath, url, expected, download.digest) from exc
    except FetchError:
        raise
    except OSError as exc:  # pooch's temporary file or its move
        raise disk_error(target, exc) from exc
    finally:
        pooch_logger.setLevel(level)


def _mismatch(relpath: str, url: str, expected: str, got: str) -> FetchError:
    msg = (
        f"checksum mismatch for {relpath} downloaded from {url}: expected "
        f"sha256 {expected}, got {got}; retry, or if the origin has published a new "
        f"version pass --base-url to a mirror holding the pinned files"
    )
    return FetchError(msg)


def _retrieve_member(
    relpath: str, expected: str, target: Path, origin: Origin, limits: Limits, *, progress: bool
) -> None:
    """Download the zip at ``origin.url`` and extract ``origin.member`` into ``target``.

    Own code, not ``pooch.Unzip``: the pin is the member's checksum (the HOT archive is
    regenerated with new timestamps), and Unzip can only verify the archive. The archive
    is kept beside ``target`` (in the caller's private folder).
    """
    archive = target.with_name(target.name + ".zip")
    # the archive may hold a README besides the member: allow a little more than the member
    zip_limits = Limits(limits.max_bytes + (1 << 20), limits.deadline_s, limits.timeout_s)
    BoundedDownloader(relpath, zip_limits, progress=progress)(origin.url, archive)
    got = _extract_member(relpath, origin, archive, target, max_bytes=limits.max_bytes)
    if got != expected:
        raise _mismatch(relpath, origin.url, expected, got)


def _extract_member(relpath: str, origin: Origin, archive: Path, tmp: Path, *, max_bytes: int) -> str:
    """Copy the wanted member of ``archive`` into ``tmp`` (at most ``max_bytes``); return its SHA-256."""
    try:
        with zipfile.ZipFile(archive) as zf:
            info = _find_member(zf, origin.member or PurePosixPath(relpath).name)
            if info is None:
                names = ", ".join(zf.namelist()[:10]) or "nothing"
                msg = (
                    f"cannot find {origin.member} in {origin.url} (it holds {names}) for "
                    f"{relpath}; pass --base-url to a mirror holding the pinned files"
                )
                raise FetchError(msg)
            with zf.open(info) as src:
                digest, size = write_stream(src.read, tmp, None, max_bytes=max_bytes)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, zlib.error) as exc:
        msg = (
            f"cannot unpack {origin.url} for {relpath}: {one_line(exc)}; retry, or pass "
            f"--base-url to a mirror holding the pinned files"
        )
        raise FetchError(msg) from exc
    if size > max_bytes:
        msg = (
            f"{origin.member} in {origin.url} is larger than the expected {max_bytes:,} bytes of "
            f"{relpath}; pass --base-url to a mirror holding the pinned files"
        )
        raise FetchError(msg)
    return digest


def _find_member(zf: zipfile.ZipFile, member: str) -> zipfile.ZipInfo | None:
    """Return the member named ``member`` (any folder), else the only one with its suffix."""
    files = [info for info in zf.infolist() if not info.is_dir()]
    for info in files:
        if PurePosixPath(info.filename).name == member:
            return info
    suffix = PurePosixPath(member).suffix
    same_kind = [info for info in files if info.filename.endswith(suffix)]
    return same_kind[0] if len(same_kind) == 1 else None


def _make_dir(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise disk_error(path, exc) from exc


def _replace(tmp: Path, target: Path) -> None:
    try:
        os.replace(tmp, target)
    except OSError as exc:
        raise disk_error(target, exc) from exc
