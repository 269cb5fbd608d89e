"""Model-fit benchmark: crmlib.clv.models against Lifetimes 0.11.3 on the same synthetic data.

Usage::

    .venv/bin/python benchmarks/clv_bench.py            # full run (about 15-30 min on 2 cores)
    .venv/bin/python benchmarks/clv_bench.py --quick    # small run, a minute or two

Lifetimes is installed only into a separate virtual environment created here,
``benchmarks/.work/lifetimes-venv`` (``lifetimes==0.11.3`` with
``setuptools<81`` for its ``pkg_resources`` import); it is never a crmlib
dependency. Every fit runs in a fresh worker process (crmlib under this
interpreter, Lifetimes under the venv's) so that peak memory is measured the
same way for both: the process's peak resident set size (``ru_maxrss``) minus
its resident size just before the first fit, with the data already loaded.

Data (seeded, written once to ``benchmarks/.work/``): customers simulated from
the CDNOW BG/NBD and Pareto/NBD estimates with ages uniform on 13-78 weeks,
in weeks at daily resolution (recency and T multiples of 1/7, as a summary of
dated transactions gives) and, for one BG/NBD row, in whole weeks. Spend for
the Gamma-Gamma row comes from the CDNOW Gamma-Gamma estimates for the repeat
customers of a further BG/NBD simulation. Full results are written to
``benchmarks/results/clv_models.md``; ``--quick`` results to
``benchmarks/.work/clv_models_quick.md``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / ".work"
VENV = WORK / "lifetimes-venv"
RESULTS = HERE / "results" / "clv_models.md"
CDNOW_BG = dict(r=0.2426, alpha=4.4135, a=0.7929, b=2.4258)
CDNOW_PNBD = dict(r=0.5533, alpha=10.5778, s=0.6063, beta=11.6693)
CDNOW_GG = dict(p=6.2488, q=3.7446, v=15.4477)


# --------------------------------------------------------------------------- workers
def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def worker(tool: str, model: str, path: str, runs: int, other: dict | None = None) -> None:
    """Fit ``model`` with ``tool`` ``runs`` times on the data in ``path``; print JSON.

    For crmlib, ``other`` (the other tool's estimates) is scored with crmlib's
    log-likelihood on the same data, to show which optimum is higher.
    """
    import warnings
    warnings.simplefilter("ignore")
    import pandas as pd
    d = np.load(path)
    cols = {k: pd.Series(d[k]) for k in d.files}
    out: dict = {"times": [], "cpu": [], "params": None, "error": None}
    if tool == "crmlib":
        sys.path.insert(0, str(ROOT))
        from crmlib.clv import models as M
        frame = pd.DataFrame(cols)
        make = {"bgnbd": lambda: M.BGNBD().fit(frame), "pnbd": lambda: M.ParetoNBD().fit(frame),
                "gg": lambda: M.GammaGamma().fit(frame)}[model]
    else:
        from lifetimes import BetaGeoFitter, GammaGammaFitter, ParetoNBDFitter
        f, r, T = cols.get("frequency"), cols.get("recency"), cols.get("T")
        make = {"bgnbd": lambda: BetaGeoFitter().fit(f, r, T),
                "pnbd": lambda: ParetoNBDFitter().fit(f, r, T),
                "gg": lambda: GammaGammaFitter().fit(f, cols["monetary_value"])}[model]
    before = _rss_mb()
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            m = make()
        except Exception as exc:  # Lifetimes' ConvergenceError and the like are results here
            out["times"].append(time.perf_counter() - t0)
            out["cpu"].append(time.process_time() - c0)
            out["error"] = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:160]}"
            continue
        out["times"].append(time.perf_counter() - t0)
        out["cpu"].append(time.process_time() - c0)
        out["params"] = {k: float(v) for k, v in m.params_.items()}
        if tool == "crmlib":
            out["n_rows"] = m.n_rows_
    if tool == "crmlib" and out["params"] and hasattr(m, "log_likelihood"):
        out["ll"] = m.log_likelihood_
        if other:
            out["ll_other"] = m.with_params(other).log_likelihood(frame)
    out["peak_mb"] = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before, 0.0)
    print(json.dumps(out))


# --------------------------------------------------------------------------- driver
def ensure_lifetimes() -> Path:
    """Create the Lifetimes venv under benchmarks/.work if it is missing; return its python."""
    py = VENV / "bin" / "python"
    probe = [str(py), "-c", "import lifetimes; assert lifetimes.__version__ == '0.11.3'"]
    if py.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return py
    print(f"creating {VENV} with lifetimes==0.11.3 ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(py), "-m", "pip", "install", "-q", "lifetimes==0.11.3", "setuptools<81"],
                   check=True)
    return py


def make_data(n: int, n_gg_source: int) -> dict[str, Path]:
    sys.path.insert(0, str(ROOT))
    from crmlib.clv.models import simulate_bgnbd, simulate_pareto_nbd
    WORK.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20260101)
    files = {}

    def save(name, df):
        path = WORK / f"{name}_{n}.npz"
        np.savez(path, **{c: df[c].to_numpy() for c in df.columns})
        files[name] = path

    save("bgnbd_daily", simulate_bgnbd(n, **CDNOW_BG, T=rng.uniform(13, 78, n), rng=rng,
                                       resolution=1 / 7))
    save("bgnbd_weekly", simulate_bgnbd(n, **CDNOW_BG, T=rng.uniform(13, 78, n), rng=rng,
                                        resolution=1.0))
    save("pnbd_daily", simulate_pareto_nbd(n, **CDNOW_PNBD, T=rng.uniform(13, 78, n), rng=rng,
                                           resolution=1 / 7))
    src = simulate_bgnbd(n_gg_source, **CDNOW_BG, T=rng.uniform(13, 78, n_gg_source), rng=rng)
    x = src.frequency.to_numpy()
    x = x[x > 0]
    nu = rng.gamma(CDNOW_GG["q"], 1 / CDNOW_GG["v"], len(x))
    spend = np.round(rng.gamma(CDNOW_GG["p"] * x, 1 / (nu * x)), 2)  # mean of x transactions
    spend = np.maximum(spend, 0.01)
    import pandas as pd
    save("gg", pd.DataFrame({"frequency": x, "monetary_value": spend}))
    return files


def run(py: Path, tool: str, model: str, path: Path, runs: int, timeout: float,
        other: dict | None = None) -> dict:
    cmd = [str(py), str(Path(__file__).resolve()), "--worker", tool, model, str(path), str(runs),
           json.dumps(other or {})]
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"times": [time.perf_counter() - t0], "cpu": [], "params": None,
                "error": f"did not finish within {timeout:.0f} s", "peak_mb": float("nan")}
    if p.returncode != 0:
        return {"times": [], "cpu": [], "params": None,
                "error": p.stderr.strip().splitlines()[-1][:200],
                "peak_mb": float("nan")}
    return json.loads(p.stdout.strip().splitlines()[-1])


def rel_diff(a: dict | None, b: dict | None) -> float:
    if not a or not b:
        return float("nan")
    return max(abs(a[k] - b[k]) / abs(b[k]) for k in a)


def fmt_params(p: dict | None) -> str:
    return ", ".join(f"{k}={v:.5g}" for k, v in p.items()) if p else "-"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="50,000 customers, one run each")
    ap.add_argument("--customers", type=int, default=None)
    ap.add_argument("--runs", type=int, default=None, help="runs per fit (median reported)")
    ap.add_argument("--lifetimes-pnbd-runs", type=int, default=1,
                    help="Lifetimes Pareto/NBD runs (about 230 s each on 1,000,000 customers)")
    ap.add_argument("--worker", nargs=5, metavar=("TOOL", "MODEL", "DATA", "RUNS", "OTHER"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        tool, model, path, runs, other = args.worker
        worker(tool, model, path, int(runs), json.loads(other) or None)
        return 0
    n = args.customers or (50_000 if args.quick else 1_000_000)
    runs = args.runs or (1 if args.quick else 3)
    lt_py = ensure_lifetimes()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load0 = os.getloadavg()
    print(f"simulating data for {n:,} customers ...", flush=True)
    files = make_data(n, int(n * 1.1))
    rows_spec = [
        ("BG/NBD, daily resolution", "bgnbd", "bgnbd_daily", runs, runs, 20),
        ("BG/NBD, whole weeks", "bgnbd", "bgnbd_weekly", runs, runs, 20),
        ("Pareto/NBD, daily resolution", "pnbd", "pnbd_daily", runs, args.lifetimes_pnbd_runs, 50),
        ("Gamma-Gamma, repeat customers", "gg", "gg", runs, runs, None),
    ]
    table = []
    for label, model, key, r_ours, r_lt, target in rows_spec:
        n_cust = int(np.load(files[key])["frequency"].shape[0])
        print(f"{label}: {n_cust:,} customers ...", flush=True)
        theirs = run(lt_py, "lifetimes", model, files[key], r_lt, 7200)
        print(f"  Lifetimes {theirs['times']} {theirs.get('error') or ''}", flush=True)
        ours = run(Path(sys.executable), "crmlib", model, files[key], r_ours, 3600,
                   theirs.get("params"))
        print(f"  crmlib    {ours['times']} {ours.get('error') or ''}", flush=True)
        table.append(dict(label=label, n=n_cust, target=target, ours=ours, theirs=theirs,
                          runs=(len(ours["times"]), len(theirs["times"]))))
    text = render(table, n, started, load0, os.getloadavg())
    print("\n" + text)
    out = WORK / "clv_models_quick.md" if args.quick else RESULTS
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(f"written to {out.relative_to(ROOT)}")
    return 0


def _median(v: list) -> float:
    return statistics.median(v) if v else float("nan")


def render(table: list[dict], n: int, started: str, load0, load1) -> str:
    lines = [
        "# CLV model fits: crmlib.clv.models vs Lifetimes 0.11.3",
        "",
        f"Run {started} on {platform.machine()} with {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; load average {load0[0]:.1f} at the start and "
        f"{load1[0]:.1f} at the end (the machine is shared with other work, so wall times vary "
        "from run to run; both tools ran in the same run, one after the other, on the same "
        "data). Wall and CPU seconds are medians over the runs shown (CPU time is less "
        "sensitive to the machine's load); memory is the peak resident size of the worker "
        "process above its size before the first fit. `benchmarks/clv_bench.py` regenerates "
        "this file.",
        "",
        "| fit | customers | distinct rows | crmlib wall s (runs) | Lifetimes wall s (runs) | "
        "speed-up wall | crmlib CPU s | Lifetimes CPU s | speed-up CPU | target | "
        "crmlib peak MB | Lifetimes peak MB | max rel. param. diff | LL crmlib − LL Lifetimes "
        "| outcome |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in table:
        o, t = row["ours"], row["theirs"]
        to, tt = _median(o["times"]), _median(t["times"])
        co, ct = _median(o.get("cpu", [])), _median(t.get("cpu", []))
        both = t.get("error") is None and o.get("error") is None
        speed = f"{tt / to:.0f}×" if both else "-"
        speed_cpu = f"{ct / co:.0f}×" if both else "-"
        target = f"≥ {row['target']}×" if row["target"] else "converges"
        if o.get("error"):
            outcome = f"crmlib failed: {o['error']}"
        elif t.get("error") is None:
            outcome = "both converged"
        else:
            outcome = f"crmlib converged; Lifetimes: {t['error']}"
        n_rows = f"{o['n_rows']:,}" if o.get("n_rows") else "-"
        dll = f"{o['ll'] - o['ll_other']:.2g}" if "ll_other" in o else "-"
        lines.append(
            f"| {row['label']} | {row['n']:,} | {n_rows} | {to:.2f} ({row['runs'][0]}) "
            f"| {tt:.2f} ({row['runs'][1]}) | {speed} | {co:.2f} | {ct:.2f} | {speed_cpu} | "
            f"{target} | {o['peak_mb']:.0f} | {t['peak_mb']:.0f} | "
            f"{rel_diff(o['params'], t['params']):.1e} | {dll} | {outcome} |")
    lines += ["", "Wall seconds of each run:", ""]
    for row in table:
        lines.append(f"- {row['label']}: crmlib {[round(x, 2) for x in row['ours']['times']]}, "
                     f"Lifetimes {[round(x, 2) for x in row['theirs']['times']]}")
    lines += ["", "Estimates:", ""]
    for row in table:
        lines.append(f"- {row['label']}: crmlib {fmt_params(row['ours']['params'])}; "
                     f"Lifetimes {fmt_params(row['theirs']['params'])}")
    lines += ["", "Data: simulated from the CDNOW estimates (BG/NBD r=0.2426, α=4.4135, a=0.7929, "
              "b=2.4258; Pareto/NBD r=0.5533, α=10.5778, s=0.6063, β=11.6693; Gamma-Gamma "
              "p=6.2488, q=3.7446, γ=15.4477), customer ages uniform on 13-78 weeks; "
              "\"daily resolution\" = recency and T in weeks rounded to 1/7, \"whole weeks\" = "
              "rounded to whole weeks. crmlib compresses identical (frequency, recency, T) rows "
              "before fitting, so its cost follows the distinct rows; Lifetimes fits every "
              "customer row. \"LL crmlib − LL Lifetimes\" is crmlib's log-likelihood at its own "
              "estimates minus the same log-likelihood at Lifetimes' estimates (positive: crmlib "
              "found the higher maximum).", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
