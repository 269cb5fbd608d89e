"""Benchmark of notebook 04's heaviest library steps: the placebo refits of the phase
effects and the Monte Carlo risk, batched against the one-at-a-time code they replace.

On the demo data with the notebook's settings (999 placebo assignments, 10,000 risk
draws, seed 7), in one process, rounds interleaved, median of ``--repeats``:

* ``estimate_effects`` (all phases and KPIs, placebo p-values included) and the placebo
  step alone (``placebo_tests`` on each KPI, one random stream as in the notebook);
* ``risk.simulate`` (NPV, ROI, payback and IRR of the draws).

The "loop" rows run the code as it was before batching, read from git (``--baseline``,
default the last commit before it) and loaded beside the current package. Each pair's
results are checked to be identical. Peak memory is the largest traced allocation
(tracemalloc, numpy included) of one extra call.

    .venv/bin/python benchmarks/roi_placebo_bench.py              # 3 rounds, a few minutes

Results are printed and written to ``benchmarks/results/roi_placebo_bench.{md,json}`` with
the machine, versions and the load average (the machine is shared: compare ratios).
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
import time
import tracemalloc
import types
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
BASELINE = "49f8a8c"  # the last commit with one refit per placebo assignment
sys.path.insert(0, str(ROOT))

from crmlib.roi import cashflow as CF  # noqa: E402
from crmlib.roi import phase_effects as PE  # noqa: E402
from crmlib.roi import placebo as PL  # noqa: E402
from crmlib.roi import risk as RISK  # noqa: E402
from crmlib.roi.effects import blas_single_thread  # noqa: E402
from crmlib.roi.notebook import load_inputs  # noqa: E402


def load_baseline(commit: str) -> dict[str, types.ModuleType]:
    """The modules of ``commit`` as ``crmlib.roi._loop_<name>``, importing each other."""
    names = ["effects", "phase_effects", "risk"]
    mods = {}
    for name in names:
        src = subprocess.run(["git", "-C", str(ROOT), "show", f"{commit}:crmlib/roi/{name}.py"],
                             capture_output=True, text=True, check=True).stdout
        for other in names:
            src = src.replace(f"from .{other} import", f"from ._loop_{other} import")
        mod = types.ModuleType(f"crmlib.roi._loop_{name}")
        mod.__package__ = "crmlib.roi"
        sys.modules[mod.__name__] = mod
        exec(compile(src, f"{commit}:crmlib/roi/{name}.py", "exec"), mod.__dict__)
        mods[name] = mod
    return mods


def placebo_step(module, plan, monthly, seed=7, B=999):
    """``placebo_tests`` on every phase and KPI with one random stream, as the notebook."""
    rng, out = np.random.default_rng(seed), []
    with blas_single_thread():
        for ph in plan.phases:
            last = PE.month_of(min(ph.effective_end, monthly.attrs["as_of"]))
            for kpi in [k.name for g in ph.goals for k in g.kpis]:
                d = monthly[monthly["kpi"] == kpi]
                d.attrs = {}
                out.append(module.placebo_tests(d, PE.unit_starts(d, ph), 6, last, B, rng))
    return pd.DataFrame(out)


def timed(fn):
    t = time.perf_counter()
    result = fn()
    return time.perf_counter() - t, result


def peak_mb(fn) -> float:
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--baseline", default=BASELINE)
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")  # the demo's planted pre-trend warning, every round
    os.chdir(ROOT)
    loop = load_baseline(args.baseline)
    plan, monthly, _ = load_inputs({"plan": "data/demo/phase_plan.yaml",
                                    "kpis": "data/demo/kpi_panel.csv", "as_of": None})
    eff, _ = PE.estimate_effects(monthly, plan, 6, 999, 7)
    costs, lines = CF.cash_flows(plan, eff, monthly.attrs["as_of"])
    pairs = {
        "estimate_effects (999 placebos)": (
            lambda: loop["phase_effects"].estimate_effects(monthly, plan, 6, 999, 7),
            lambda: PE.estimate_effects(monthly, plan, 6, 999, 7)),
        "placebo step alone (9 KPIs)": (
            lambda: placebo_step(loop["phase_effects"], plan, monthly),
            lambda: placebo_step(PL, plan, monthly)),
        "risk.simulate (10,000 draws)": (
            lambda: loop["risk"].simulate(plan, costs, lines, 10_000, 7),
            lambda: RISK.simulate(plan, costs, lines, 10_000, 7)),
    }
    times = {k: ([], []) for k in pairs}
    loads = [os.getloadavg()[0]]
    start = time.time()
    for _ in range(args.repeats):
        for name, (old, new) in pairs.items():
            t_old, r_old = timed(old)
            t_new, r_new = timed(new)
            times[name][0].append(t_old)
            times[name][1].append(t_new)
            for a, b in zip(*(r if isinstance(r, tuple) else (r,) for r in (r_old, r_new))):
                pd.testing.assert_frame_equal(a, b, check_exact=True)
        loads.append(os.getloadavg()[0])
    rows = []
    for name, (old, new) in pairs.items():
        rows.append({"step": name, "loop_s": statistics.median(times[name][0]),
                     "batched_s": statistics.median(times[name][1]),
                     "loop_runs": times[name][0], "batched_runs": times[name][1],
                     "loop_peak_mb": peak_mb(old), "batched_peak_mb": peak_mb(new)})
        rows[-1]["speed_up"] = rows[-1]["loop_s"] / rows[-1]["batched_s"]
    meta = {"when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": platform.platform(), "cpus": os.cpu_count(),
            "python": platform.python_version(), "numpy": np.__version__,
            "pandas": pd.__version__, "baseline": args.baseline, "repeats": args.repeats,
            "load_1min": [round(x, 1) for x in loads],
            "minutes": round((time.time() - start) / 60, 1)}
    write(rows, meta)
    return 0


def write(rows: list[dict], meta: dict) -> None:
    lines = ["# Notebook 04: placebo refits and Monte Carlo risk, batched vs one at a time", "",
             f"{meta['when']}; {meta['machine']}; {meta['cpus']} CPUs; Python {meta['python']}, "
             f"numpy {meta['numpy']}, pandas {meta['pandas']}; {meta['repeats']} round(s), "
             f"{meta['minutes']} min; 1-minute load average {min(meta['load_1min'])} to "
             f"{max(meta['load_1min'])} during the runs (shared machine: the ratios are the "
             "result, the seconds are inflated). Loop = the code of commit "
             f"{meta['baseline']}; results of each pair identical (checked every round).", "",
             "| step | loop median s | batched median s | speed-up | loop runs (s) | "
             "batched runs (s) | peak MB loop / batched |",
             "|---|---:|---:|---:|---|---|---:|"]
    for r in rows:
        lines.append(f"| {r['step']} | {r['loop_s']:.2f} | {r['batched_s']:.2f} | "
                     f"{r['speed_up']:.1f}x | {', '.join(f'{x:.2f}' for x in r['loop_runs'])} | "
                     f"{', '.join(f'{x:.2f}' for x in r['batched_runs'])} | "
                     f"{r['loop_peak_mb']:.0f} / {r['batched_peak_mb']:.0f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "roi_placebo_bench.md").write_text(text, encoding="utf-8")
    (RESULTS / "roi_placebo_bench.json").write_text(
        json.dumps({"meta": meta, "rows": rows}, indent=2), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
