"""Benchmark of the CLV analysis after the summary: what a client with a large log waits for.

On one of two Parquet logs, each step of the CLV notebook's analysis
(:func:`crmlib.clv.pipeline.analyse`, DuckDB engine, weekly) is timed in a fresh process:

* ``--log synthetic`` (default): the 3,000,000-row log of ``clv_summary_bench.py`` (60,000
  customers buying at random over two years, none dropping out: the models end at their
  limits and the intervals come from the parametric bootstrap); calibration to 2024-06-30,
  holdout to 2024-12-31;
* ``--log retail``: a retail client's log of 200,000 customers (about 900,000 rows),
  simulated by the demo generator (:mod:`crmlib.demo.clv`: BG/NBD purchases, Gamma-Gamma
  spend, three channels; seed 3); calibration to 2024-12-31, holdout to 2025-06-30.

The steps:

* the summary (calibration and holdout),
* the model comparison (BG/NBD, MBG/NBD and Pareto/NBD with their limits, on the
  calibration period, scored on the holdout),
* the chosen model refitted on the whole period,
* the customers' value with its intervals (parameter draws, or a parametric bootstrap
  when the model's Wald errors are unreliable).

Lifetimes 0.11.3 does the steps it has, in the same run on the same file:
``summary_data_from_transaction_data`` of the calibration period (its
``calibration_and_holdout_data`` fails on current pandas: "No objects to concatenate"), then
``BetaGeoFitter`` and ``ParetoNBDFitter`` on that summary (no limits, no holdout scoring,
no intervals). Lifetimes is never a
dependency: it runs in the separate environment ``clv_summary_bench.py`` creates.

The table shows the median of ``--repeats`` interleaved rounds and each process's peak
memory; results go to ``benchmarks/results/clv_pipeline_bench.{json,md}`` (with
``--log retail``: ``clv_pipeline_bench_retail.{json,md}``).

    .venv/bin/python benchmarks/clv_pipeline_bench.py            # about 15 min on 2 cores
    .venv/bin/python benchmarks/clv_pipeline_bench.py --repeats 1
    .venv/bin/python benchmarks/clv_pipeline_bench.py --log retail
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from clv_summary_bench import (  # noqa: E402  (the shared data and Lifetimes environment)
    CAL_END,
    OBS_END,
    RESULTS,
    WORK,
    _peak_mb,
    ensure_lifetimes,
    make_data,
)

ROWS = 3_000_000
RETAIL_CUSTOMERS = 200_000
TIMEOUT = 1200  # seconds a measurement may take
CRM_STEPS = (("summary", "summary (calibration and holdout)"),
             ("fit", "model comparison (3 models, their limits, holdout)"),
             ("final_model", "chosen model refitted on the whole period"),
             ("value", "customer value with intervals"))


def retail_data(n: int = RETAIL_CUSTOMERS) -> tuple[Path, tuple[str, str]]:
    """The retail client's log (see the module docstring), written once, and its
    calibration and observation ends (the demo generator's)."""
    sys.path.insert(0, str(HERE.parent))
    import numpy as np

    from crmlib.demo.clv import CALIBRATION_END, OBSERVATION_END, simulate
    ends = (f"{CALIBRATION_END:%Y-%m-%d}", f"{OBSERVATION_END:%Y-%m-%d}")
    path = WORK / f"retail_{n}.parquet"
    if not path.exists():
        WORK.mkdir(parents=True, exist_ok=True)
        _, tx = simulate(np.random.default_rng(3), n)
        tmp = path.with_suffix(".partial")
        tx.to_parquet(tmp, index=False)
        tmp.rename(path)
    return path, ends


def crm_worker(path: str, cal_end: str, obs_end: str) -> dict:
    """Every step of the analysis in this process, timed one after the other."""
    sys.path.insert(0, str(HERE.parent))
    import warnings

    from crmlib.clv import pipeline as PL
    from crmlib.clv.settings import SummaryOptions, Valuation

    warnings.simplefilter("ignore")
    out: dict = {"steps": {}}
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        clv = PL.analyse(path, engine="duckdb",
                         options=SummaryOptions(time_unit="W", observation_end=obs_end,
                                                calibration_end=cal_end),
                         valuation=Valuation(), model="auto", output_dir=tmp)
        out["steps"]["summary"] = time.perf_counter() - t
        for step, _ in CRM_STEPS[1:]:
            t = time.perf_counter()
            getattr(clv, step)
            out["steps"][step] = time.perf_counter() - t
        fm = clv.final_model[0] if isinstance(clv.final_model, tuple) else clv.final_model
        out["model"] = type(fm).__name__
        out["customers"] = int(len(clv.customers))
        out["clv_total"] = float(clv.customers["clv"].sum())
    out["seconds"] = sum(out["steps"].values())
    out["peak_mb"] = _peak_mb()
    return out


LIFETIMES_WORKER = textwrap.dedent("""
    import json, resource, sys, time, warnings
    warnings.simplefilter("ignore")
    import pandas as pd
    from lifetimes import BetaGeoFitter, ParetoNBDFitter
    from lifetimes.utils import summary_data_from_transaction_data
    df = pd.read_parquet(sys.argv[1])            # reading the file is not timed
    steps = {}
    t = time.perf_counter()
    cal = df[pd.to_datetime(df["date"]) <= pd.Timestamp(sys.argv[2])]
    s = summary_data_from_transaction_data(cal, "customer_id", "date",
                                           observation_period_end=sys.argv[2], freq="W")
    s = s.rename(columns=lambda c: c + "_cal")
    steps["summary"] = time.perf_counter() - t
    failed = {}
    for key, fitter in (("bgnbd", BetaGeoFitter), ("pnbd", ParetoNBDFitter)):
        t = time.perf_counter()
        try:
            fitter().fit(s["frequency_cal"], s["recency_cal"], s["T_cal"])
        except Exception as exc:  # Lifetimes' ConvergenceError: timed to the failure
            failed[key] = str(exc).strip().splitlines()[0]
        steps[key] = time.perf_counter() - t
    print(json.dumps({"steps": steps, "seconds": sum(steps.values()), "customers": len(s),
                      "failed": failed,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
""")
LT_STEPS = (("summary", "summary_data_from_transaction_data, calibration period"), ("bgnbd", "BetaGeoFitter.fit"),
            ("pnbd", "ParetoNBDFitter.fit"))


def run_once(tool: str, path: Path, ends: tuple[str, str]) -> dict:
    """One whole measurement in a fresh process (``ends``: calibration and observation)."""
    if tool == "lifetimes":
        py = ensure_lifetimes()
        if py is None:
            return {"error": "Lifetimes environment could not be created"}
        cmd = [str(py), "-c", LIFETIMES_WORKER, str(path), *ends]
    else:
        cmd = [sys.executable, __file__, "--worker", str(path), *ends]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return {"error": f"did not finish within {TIMEOUT} s"}
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr else "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def _median_steps(runs: list[dict]) -> dict:
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return {"error": runs[-1]["error"]}
    steps = {k: statistics.median(r["steps"][k] for r in ok) for k in ok[0]["steps"]}
    return {**ok[-1], "steps": steps, "seconds": statistics.median(r["seconds"] for r in ok),
            "all_seconds": [round(r["seconds"], 1) for r in ok],
            "peak_mb": max(r["peak_mb"] for r in ok)}


def report(crm: dict, lt: dict | None, rounds: int, load: list[float], elapsed: float,
           title: str) -> str:
    import duckdb
    import numpy as np
    import pandas as pd
    lines = [f"# CLV analysis after the summary: {title}",
             "", f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; "
             f"{platform.platform()}; {os.cpu_count()} CPUs; Python {platform.python_version()}; "
             f"numpy {np.__version__}, pandas {pd.__version__}, duckdb {duckdb.__version__}; "
             f"{rounds} round(s), {elapsed / 60:.1f} min; 1-minute load average "
             f"{min(load):.1f} to {max(load):.1f}", ""]
    lines += ["| tool | step | median s |", "|---|---|---:|"]
    if "error" in crm:
        lines.append(f"| crmlib | failed: {crm['error']} | |")
    else:
        for key, label in CRM_STEPS:
            lines.append(f"| crmlib | {label} | {crm['steps'][key]:.1f} |")
        lines.append(f"| crmlib | **all** (runs {', '.join(map(str, crm['all_seconds']))} s; "
                     f"peak {crm['peak_mb']:,.0f} MB) | **{crm['seconds']:.1f}** |")
    if lt is not None and "error" in lt:
        lines.append(f"| Lifetimes 0.11.3 | failed: {lt['error']} | |")
    elif lt is not None:
        for key, label in LT_STEPS:
            why = lt.get("failed", {}).get(key)
            lines.append(f"| Lifetimes 0.11.3 | {label}"
                         + (f" (failed: {why})" if why else "") + f" | {lt['steps'][key]:.1f} |")
        lines.append(f"| Lifetimes 0.11.3 | **all** (runs {', '.join(map(str, lt['all_seconds']))}"
                     f" s; peak {lt['peak_mb']:,.0f} MB) | **{lt['seconds']:.1f}** |")
    if "error" not in crm:
        lines += ["", f"crmlib chose {crm['model']} for {crm['customers']:,} customers "
                  f"(total value {crm['clv_total']:,.0f})."]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-lifetimes", action="store_true")
    ap.add_argument("--log", choices=("synthetic", "retail"), default="synthetic",
                    help="the log analysed (see above)")
    ap.add_argument("--worker", nargs=3, metavar=("PATH", "CAL_END", "OBS_END"),
                    help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        print(json.dumps(crm_worker(*a.worker)))
        return
    t0, load = time.time(), [os.getloadavg()[0]]
    if a.log == "retail":
        (path, ends), stem = retail_data(), "_retail"
        title = f"a retail client's {RETAIL_CUSTOMERS:,} customers"
    else:
        path, ends, stem, title = make_data(ROWS), (CAL_END, OBS_END), "", f"{ROWS:,} rows"
    runs: dict[str, list[dict]] = {"crmlib": [], "lifetimes": []}
    for rnd in range(a.repeats):
        for tool in ("crmlib",) + (() if a.no_lifetimes else ("lifetimes",)):
            print(f"  round {rnd + 1}: {tool}...", flush=True)
            runs[tool].append(run_once(tool, path, ends))
            load.append(os.getloadavg()[0])
    crm = _median_steps(runs["crmlib"])
    lt = None if a.no_lifetimes else _median_steps(runs["lifetimes"])
    text = report(crm, lt, a.repeats, load, time.time() - t0, title)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"clv_pipeline_bench{stem}.md").write_text(text, encoding="utf-8")
    (RESULTS / f"clv_pipeline_bench{stem}.json").write_text(
        json.dumps({"crmlib": runs["crmlib"], "lifetimes": runs["lifetimes"]}, indent=1),
        encoding="utf-8")


if __name__ == "__main__":
    main()
