"""Benchmark of the scenario lab (run on demand: ``python benchmarks/bench_scenario.py``; prints figures).

Target (issue 5): the metrics and the map update within 1 s of each change. Measured:

* ``setup``: build + analysis + :func:`analysis.whatif.prepare` (once per data directory,
  cached by the page), and the slow path :func:`analysis.scenario.evaluate_scenario`
  on the Alakol example for comparison.
* ``fast path``: :func:`analysis.whatif.evaluate` per change, as a user session does
  them: a sequence of district moves to a neighbouring region (each one cold: the
  changed regions are dissolved and measured for the first time), centre changes
  (cold), then undo all the way back (warm: memoised). Also ``to_spec`` + ``dump_spec``,
  ``candidate_centres`` and the relabelled settlements table.
* ``page``: the map payload the page sends per change (``map_payload``), and the page's
  whole rerun after a change, driven by ``streamlit.testing.v1.AppTest`` (script run
  and element tree, no browser; the browser adds the component's redraw, about
  0.1–0.3 s in headless Chromium).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data"
APP = ROOT / "app.py"
ALAKOL = "KZ193400"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def summary(label: str, times: list[float]) -> None:
    if not times:
        print(f"  {label:<44} (none)")
        return
    arr = np.array(times)
    print(
        f"  {label:<44} n={len(arr):3d}  median {ms(float(np.median(arr)))}  "
        f"p95 {ms(float(np.percentile(arr, 95)))}  max {ms(float(arr.max()))}"
    )


def timed(func, *args, **kwargs):
    t0 = time.perf_counter()
    out = func(*args, **kwargs)
    return out, time.perf_counter() - t0


def border_moves(base, rng: np.random.Generator, n: int) -> list[tuple[str, str]]:
    """Districts that touch another region, each with one such neighbouring region."""
    import shapely

    pieces = base.build.pieces
    geoms = pieces.geometry.to_numpy()
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="touches")
    options: dict[str, set[str]] = {}
    for i, j in zip(a, b, strict=True):
        ri, rj = str(base.piece_region[i]), str(base.piece_region[j])
        if ri != rj:
            options.setdefault(str(base.piece_unit[i]), set()).add(rj)
    units = sorted(options)
    picks = rng.choice(len(units), size=min(n, len(units)), replace=False)
    return [
        (units[k], sorted(options[units[k]])[int(rng.integers(len(options[units[k]])))])
        for k in picks
    ]


def load_page():
    """The lab page's functions the benchmark times (webapp.lab_model, webapp.lab_map)."""
    from types import SimpleNamespace

    sys.path.insert(0, str(ROOT))
    from webapp.cache import compute_analysis
    from webapp.datasource import configured_sources
    from webapp.lab_map import map_data
    from webapp.lab_model import compute_lab
    from webapp.maps.script import to_json

    def lab_of(data_dir: str):
        # the name the app gives this folder: "bench" here, unless the folder is already
        # configured under another name (the page's $REFORM_ATLAS_DATA_DIR, see below)
        os.environ["REFORM_ATLAS_ALLOWED_DATA_DIRS"] = f"bench={data_dir}"
        sources = configured_sources()
        folder = str(Path(data_dir).resolve()) if data_dir else None
        name = next((n for n, s in sources.items() if folder and s.path == folder), next(iter(sources)))
        return compute_lab(name, compute_analysis(name))

    return SimpleNamespace(
        map_payload=lambda lab, res, **kw: to_json(map_data(lab, res, **kw)),
        cached_lab=lab_of,
        compute_lab=lab_of,
    )


def bench_fast_path(base, page, lab, rng, n_moves: int, n_centres: int) -> None:
    from analysis.labspec import centre_from_settlement, to_spec
    from analysis.ranking import candidate_centres
    from analysis.whatif import evaluate
    from boundaries.spec import ReformSpecError, dump_spec

    print("\nfast path (analysis.whatif.evaluate), one user session:")
    res, dt = timed(evaluate, base)
    print(f"  {'no change (enacted)':<44} {ms(dt)}")
    res, dt = timed(evaluate, base, {ALAKOL: "KZ-10"})
    print(f"  {'Alakol → Abai (cold)':<44} {ms(dt)}   recomputed {res.recomputed['geometry']}")
    res, dt = timed(evaluate, base, {ALAKOL: "KZ-10"})
    print(f"  {'Alakol → Abai again (memoised)':<44} {ms(dt)}")

    moves: dict[str, str] = {}
    centres: dict = {}
    states = [({}, {})]
    move_times, payload_times, skipped = [], [], 0
    for unit, target in border_moves(base, rng, n_moves):
        trial = {**moves, unit: target}
        try:
            res, dt = timed(evaluate, base, trial, centres)
        except ReformSpecError:
            skipped += 1  # the move would empty a region
            continue
        moves = trial
        states.append((dict(moves), dict(centres)))
        move_times.append(dt)
        _, dp = timed(page.map_payload, lab, res, colour_by="region", selected=unit)
        payload_times.append(dp)
    summary(f"district move, cumulative (cold), {skipped} skipped", move_times)

    centre_times = []
    codes = list(base.codes)
    for _ in range(n_centres):
        code = codes[int(rng.integers(len(codes)))]
        res = evaluate(base, moves, centres)
        table = candidate_centres(res, code)
        row = table.iloc[int(rng.integers(len(table)))]
        centre = centre_from_settlement(
            {
                "id": row["id"],
                "name": row["candidate"],
                "name_en": row.get("name_en"),
                "name_kk": row.get("name_kk"),
                "name_ru": row.get("name_ru"),
                "lon": row["lon"],
                "lat": row["lat"],
            }
        )
        centres = {**centres, code: centre}
        res, dt = timed(evaluate, base, moves, centres)
        states.append((dict(moves), dict(centres)))
        centre_times.append(dt)
        _, dp = timed(page.map_payload, lab, res, colour_by="pop_weighted_mean_km", selected=None)
        payload_times.append(dp)
    summary("centre change, cumulative (cold)", centre_times)

    undo_times = []
    for m, c in reversed(states[:-1]):
        _, dt = timed(evaluate, base, m, c)
        undo_times.append(dt)
    summary("undo back to the enacted reform (memoised)", undo_times)

    res = evaluate(base, moves, centres)
    code = codes[0]
    base.memo.get("candidates", {}).clear()
    _, dt = timed(candidate_centres, res, code)
    print(f"  {'candidate_centres (rank_centres), cold':<44} {ms(dt)}")
    _, dt = timed(lambda: dump_spec(to_spec(base, moves, centres)))
    print(f"  {'to_spec + dump_spec':<44} {ms(dt)}   ({len(moves)} moves, {len(centres)} centres)")
    _, dt = timed(res.settlements)
    print(f"  {'relabelled settlements table':<44} {ms(dt)}")
    print("\npage (map payload per change, the scenario and the enacted map):")
    summary("map_payload", payload_times)
    fc = page.map_payload(lab, res, colour_by="region", selected=None)
    print(f"  payload size {len(fc.encode()) / 1024:.0f} KB")


def lab_page():
    from webapp.lab import main

    main()


def bench_page_reruns(data_dir: str, rng, n: int) -> None:
    from streamlit.testing.v1 import AppTest

    from boundaries.sources import ENV_VAR

    os.environ[ENV_VAR] = data_dir
    at = AppTest.from_function(lab_page, default_timeout=600)
    _, dt = timed(at.run)
    print(
        f"\npage reruns (AppTest, no browser):\n  {'first run (cold caches in this process)':<44} {ms(dt)}"
    )
    _, dt = timed(at.run)
    print(f"  {'rerun, nothing changed':<44} {ms(dt)}")
    page = load_page()
    lab = page.cached_lab(data_dir)
    moves, undo = [], []
    for unit, target in border_moves(lab.base, rng, n):
        at.selectbox(key="lab_unit").set_value(unit)
        at.selectbox(key="lab_target").set_value(target)
        at.run()
        if at.button(key="lab_move").disabled:
            continue
        at.button(key="lab_move").click()
        _, dt = timed(at.run)
        if at.exception:
            raise SystemExit(str(at.exception))
        moves.append(dt)
    summary("rerun after 'Move district' (click → page)", moves)
    while not at.button(key="lab_undo").disabled:
        at.button(key="lab_undo").click()
        _, dt = timed(at.run)
        undo.append(dt)
    summary("rerun after 'Undo'", undo)
    at.selectbox(key="lab_centre_region").set_value("KZ-19")
    at.text_input(key="lab_centre_query").set_value("Kaskelen")
    at.run()
    at.button(key="lab_set_centre").click()
    _, dt = timed(at.run)
    print(f"  {'rerun after Set centre (Kaskelen for KZ-19)':<44} {ms(dt)}")
    at.button(key="lab_example_0").click()
    _, dt = timed(at.run)
    print(f"  {'rerun after loading an example spec':<44} {ms(dt)}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(DEFAULT_DATA))
    parser.add_argument(
        "--moves", type=int, default=30, help="district moves in the session (default 30)"
    )
    parser.add_argument(
        "--centres", type=int, default=10, help="centre changes in the session (default 10)"
    )
    parser.add_argument(
        "--page-moves", type=int, default=8, help="moves driven through the page (default 8)"
    )
    parser.add_argument("--no-page", action="store_true", help="skip the AppTest page reruns")
    parser.add_argument("--seed", type=int, default=2022)
    args = parser.parse_args(argv)
    if not (Path(args.data_dir) / "geokz").is_dir():
        raise SystemExit(
            f"{args.data_dir}: no geokz folder; pass --data-dir DIR (laid out like ../shared/data)"
        )
    rng = np.random.default_rng(args.seed)

    from analysis.pipeline import analyze, load_settlements
    from analysis.scenario import evaluate_scenario, load_scenario
    from analysis.whatif import prepare
    from boundaries.build import build
    from boundaries.sources import load_sources
    from boundaries.spec import load_spec

    print(f"data: {args.data_dir}   python {sys.version.split()[0]}   cpus {os.cpu_count()}")
    print("setup (once per data directory; the page caches it):")
    sources, dt_src = timed(load_sources, args.data_dir)
    result, dt_build = timed(build, sources, load_spec())
    settlements, dt_load = timed(load_settlements, sources)
    analysis, dt_an = timed(analyze, result, settlements)
    base, dt_prep = timed(prepare, result, analysis.settlements)
    print(f"  {'load sources':<44} {ms(dt_src)}\n  {'build':<44} {ms(dt_build)}")
    print(f"  {'load settlements':<44} {ms(dt_load)}\n  {'analyze':<44} {ms(dt_an)}")
    print(f"  {'whatif.prepare (base metrics)':<44} {ms(dt_prep)}")
    print(
        f"  {len(result.pieces)} pieces, {len(analysis.settlements):,} settlements, {len(base.codes)} regions"
    )
    page = load_page()
    lab, dt_lab = timed(page.compute_lab, args.data_dir)
    print(f"  {'page lab (all of the above + display geometry)':<44} {ms(dt_lab)}")
    spec = load_scenario(ROOT / "scenarios" / "zhetysu-without-alakol.toml", sources=sources)
    _, dt_slow = timed(
        evaluate_scenario, spec, sources=sources, settlements_source=settlements, enacted=analysis
    )
    print(f"  {'slow path: evaluate_scenario (Alakol example)':<44} {ms(dt_slow)}")

    bench_fast_path(lab.base, page, lab, rng, args.moves, args.centres)
    if not args.no_page:
        bench_page_reruns(args.data_dir, rng, args.page_moves)
    print(
        "\ntarget: < 1000 ms per change (fast path + page rerun; the browser redraw adds ~0.1–0.3 s)"
    )


if __name__ == "__main__":
    main()
