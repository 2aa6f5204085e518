"""Download the public data files Reform Atlas works with and verify their checksums.

``reform-atlas data fetch --dest DIR`` calls :func:`fetch_data`. Every file listed in
``inputs/checksums.txt`` is downloaded into ``DIR`` with the layout of the shared data
folder (``DIR/geokz/...``, ``DIR/hotosm/...``), checked against its pinned SHA-256 and only
then moved into place, so an interrupted or corrupted download never leaves a file behind.

Files come from their public origins (:data:`PUBLIC_ORIGINS`) or, when a base URL is given
(argument or the ``REFORM_ATLAS_MIRROR`` environment variable), from a mirror laid out like
the data folder: ``{base_url}/geokz/kaz_admbnda_adm1_2018.shp`` and so on.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import secrets
import sys
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from tqdm import tqdm

from geo.errors import DataError, FetchError

__all__ = [
    "CHECKSUMS_FILE",
    "MIRROR_ENV_VAR",
    "PUBLIC_ORIGINS",
    "Origin",
    "fetch_data",
    "load_checksums",
    "origin_for",
    "resolve_base_url",
    "sha256_file",
]

logger = logging.getLogger(__name__)

#: Pinned SHA-256 of every data file, in ``sha256sum`` format, relative to the data folder.
CHECKSUMS_FILE = Path(__file__).with_name("checksums.txt")

#: Environment variable holding the default mirror base URL.
MIRROR_ENV_VAR = "REFORM_ATLAS_MIRROR"

#: The hint appended to every network error.
NETWORK_FIX = "check your network connection or pass --base-url to a mirror"

#: URL schemes accepted for a mirror.
MIRROR_SCHEMES = ("http", "https", "file")

_CHUNK_SIZE = 1 << 16
_USER_AGENT = "reform-atlas/0.1 (data fetch; Python urllib)"


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
        for chunk in iter(lambda: fh.read(_CHUNK_SIZE), b""):
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


def fetch_data(
    dest: str | os.PathLike[str],
    *,
    base_url: str | None = None,
    progress: bool = True,
    timeout: float = 30.0,
) -> list[Path]:
    """Download and verify every data file into ``dest``.

    Files already present with the pinned checksum are left alone (reported as up to date);
    others are downloaded to a temporary file beside their final path, verified, then
    moved into place with :func:`os.replace`. The first failure stops the run.

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
        Socket timeout in seconds for each connection and read.

    Returns
    -------
    list of pathlib.Path
        Final path of every data file, in checksum-file order.

    Raises
    ------
    FetchError
        If a download fails, a checksum does not match or a file cannot be written; the
        one-line message names the file, the problem and the fix.
    """
    root = Path(dest)
    mirror = resolve_base_url(base_url)
    checksums = load_checksums()
    paths: list[Path] = []
    with tqdm(
        total=len(checksums),
        unit="file",
        desc="data files",
        file=sys.stderr,
        disable=not progress,
    ) as bar:
        for relpath, expected in checksums.items():
            target = root.joinpath(*PurePosixPath(relpath).parts)
            status = _fetch_one(
                relpath,
                expected,
                target,
                origin_for(relpath, mirror),
                progress=progress,
                timeout=timeout,
            )
            logger.info("%s: %s", relpath, status)
            if progress:
                bar.write(f"{relpath}: {status}", file=sys.stderr)
            bar.update()
            paths.append(target)
    return paths


def _fetch_one(
    relpath: str,
    expected: str,
    target: Path,
    origin: Origin,
    *,
    progress: bool,
    timeout: float,
) -> str:
    """Make ``target`` hold the verified file and return a short status for the user."""
    existed = target.is_file()
    if existed and sha256_file(target) == expected:
        return "up to date"
    _make_dir(target.parent)
    tmp = _temp_path(target, ".part")
    try:
        if origin.member is None:
            got = _download_to(origin.url, relpath, tmp, progress=progress, timeout=timeout)
        else:
            got = _download_member(relpath, origin, tmp, progress=progress, timeout=timeout)
        if got != expected:
            msg = (
                f"checksum mismatch for {relpath} downloaded from {origin.url}: expected "
                f"sha256 {expected}, got {got}; retry, or if the origin has published a new "
                f"version pass --base-url to a mirror holding the pinned files"
            )
            raise FetchError(msg)
        _replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return "replaced (checksum differed)" if existed else "downloaded"


def _download_member(
    relpath: str, origin: Origin, tmp: Path, *, progress: bool, timeout: float
) -> str:
    """Download the zip at ``origin.url`` and extract ``origin.member`` into ``tmp``."""
    archive = _temp_path(tmp, ".zip")
    try:
        _download_to(origin.url, relpath, archive, progress=progress, timeout=timeout)
        return _extract_member(relpath, origin, archive, tmp)
    finally:
        archive.unlink(missing_ok=True)


def _extract_member(relpath: str, origin: Origin, archive: Path, tmp: Path) -> str:
    """Copy the wanted member of ``archive`` into ``tmp`` and return its SHA-256."""
    try:
        with zipfile.ZipFile(archive) as zf:
            info = _find_member(zf, origin.member or PurePosixPath(relpath).name)
            if info is None:
                names = ", ".join(zf.namelist()) or "nothing"
                msg = (
                    f"cannot find {origin.member} in {origin.url} (it holds {names}) for "
                    f"{relpath}; pass --base-url to a mirror holding the pinned files"
                )
                raise FetchError(msg)
            with zf.open(info) as src:
                return _write_stream(src.read, tmp, None)[0]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, zlib.error) as exc:
        msg = (
            f"cannot unpack {origin.url} for {relpath}: {_one_line(exc)}; retry, or pass "
            f"--base-url to a mirror holding the pinned files"
        )
        raise FetchError(msg) from exc


def _find_member(zf: zipfile.ZipFile, member: str) -> zipfile.ZipInfo | None:
    """Return the member named ``member`` (any folder), else the only one with its suffix."""
    files = [info for info in zf.infolist() if not info.is_dir()]
    for info in files:
        if PurePosixPath(info.filename).name == member:
            return info
    suffix = PurePosixPath(member).suffix
    same_kind = [info for info in files if info.filename.endswith(suffix)]
    return same_kind[0] if len(same_kind) == 1 else None


def _download_to(url: str, relpath: str, path: Path, *, progress: bool, timeout: float) -> str:
    """Stream ``url`` into a new file ``path`` and return its SHA-256.

    Network and HTTP failures become a one-line :class:`FetchError` naming ``relpath``.
    """
    try:
        request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            with tqdm(
                total=total,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=relpath,
                leave=False,
                file=sys.stderr,
                disable=not progress,
            ) as bar:
                digest, size = _write_stream(response.read, path, bar.update)
    except FetchError:
        raise
    except urllib.error.HTTPError as exc:
        exc.close()
        msg = (
            f"cannot download {relpath} from {url}: HTTP {exc.code} {_one_line(exc.reason)}; "
            f"check that the address or mirror serves this file, or pass --base-url to "
            f"another mirror"
        )
        raise FetchError(msg) from exc
    except (OSError, http.client.HTTPException, ValueError) as exc:
        # URLError (DNS, refused, unreachable), TimeoutError, ConnectionError, SSL errors,
        # http.client.HTTPException (IncompleteRead, RemoteDisconnected) and bad URLs.
        msg = f"cannot download {relpath} from {url}: {_reason(exc)}; {NETWORK_FIX}"
        raise FetchError(msg) from exc
    if total is not None and size != total:
        msg = (
            f"cannot download {relpath} from {url}: connection closed after {size} of "
            f"{total} bytes; {NETWORK_FIX}"
        )
        raise FetchError(msg)
    return digest


def _write_stream(
    read: Callable[[int], bytes], path: Path, on_chunk: Callable[[int], object] | None
) -> tuple[str, int]:
    """Copy chunks from ``read`` into a new file ``path``; return their SHA-256 and size.

    Only disk errors are converted here (to :class:`FetchError`); read errors propagate.
    """
    digest = hashlib.sha256()
    size = 0
    out = _open_new(path)
    with out:
        while chunk := read(_CHUNK_SIZE):
            digest.update(chunk)
            size += len(chunk)
            _write(out, chunk, path)
            if on_chunk is not None:
                on_chunk(len(chunk))
    return digest.hexdigest(), size


def _temp_path(target: Path, suffix: str) -> Path:
    """Return an unused hidden temporary path in the directory of ``target``."""
    return target.with_name(f".{target.name}.{secrets.token_hex(4)}{suffix}")


def _open_new(path: Path) -> BinaryIO:
    try:
        return open(path, "xb")
    except OSError as exc:
        raise _disk_error(path, exc) from exc


def _write(out: BinaryIO, chunk: bytes, path: Path) -> None:
    try:
        out.write(chunk)
    except OSError as exc:
        raise _disk_error(path, exc) from exc


def _make_dir(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _disk_error(path, exc) from exc


def _replace(tmp: Path, target: Path) -> None:
    try:
        os.replace(tmp, target)
    except OSError as exc:
        raise _disk_error(target, exc) from exc


def _disk_error(path: Path, exc: OSError) -> FetchError:
    msg = (
        f"cannot write {path}: {_reason(exc)}; check that --dest is a writable folder "
        f"with enough free space"
    )
    return FetchError(msg)


def _reason(exc: BaseException) -> str:
    """Return a short one-line reason for a network or disk error."""
    if isinstance(exc, urllib.error.URLError):
        if isinstance(exc.reason, str):
            return _one_line(exc.reason)
        exc = exc.reason
    if isinstance(exc, OSError) and exc.strerror:
        return _one_line(exc.strerror)
    return _one_line(exc) or type(exc).__name__


def _one_line(value: object) -> str:
    return " ".join(str(value).split())
