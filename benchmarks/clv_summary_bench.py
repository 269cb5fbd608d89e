"""Benchmark of the CLV customer summary (``crmlib.clv.summarise``).

Compares, on the same synthetic Parquet transaction logs in the same run:

* DuckDB engine on 100,000,000 transactions against a bare DuckDB
  ``GROUP BY customer, day`` over the same file (target: within 2x), its peak
  memory (target: under 4 GB) and a run with DuckDB's ``memory_limit='2GB'``
  (must complete, spilling to disk);
* on 10,000,000 transactions: the DuckDB engine, the pandas engine and
  Lifetimes 0.11.3's ``summary_data_from_transaction_data``. Lifetimes is never a
  dependency: it is installed in a separate virtual environment under
  ``benchmarks/.work/`` (with ``setuptools<81`` for its ``pkg_resources`` import).

Every measurement runs in a fresh process (peak memory = that process's maximum
resident set size); the table shows the median of ``--repeats`` runs, run in interleaved rounds. Results are
printed and written to ``benchmarks/results/clv_summary_bench.{json,md}``.

    .venv/bin/python benchmarks/clv_summary_bench.py            # full (about 20 min)
    .venv/bin/python benchmarks/clv_summary_bench.py --quick    # 2,000,000 / 500,000 rows
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"
RESULTS = HERE / "results"
LIFETIMES_VENV = WORK / "lifetimes-venv"
CAL_END, OBS_END = "2024-06-30", "2024-12-31"


# ----------------------------------------------------------------------------- data
def make_data(n: int) -> Path:
    """Synthetic log: n rows, n/50 customers, two years, 1% returns, 0.1% exact duplicates
    (deterministic: every value is a hash of the row number)."""
    import duckdb
    path = WORK / f"transactions_{n}.parquet"
    if path.exists():
        return path
    WORK.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".partial")
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    base = n - n // 1000
    con.execute(f"""
        COPY (
          SELECT 'C' || lpad(CAST(hash(i) % {max(n // 50, 10)} AS VARCHAR), 9, '0') AS customer_id,
                 DATE '2023-01-01' + CAST(hash(i + 7) % 730 AS INTEGER) AS date,
                 CASE WHEN hash(i + 11) % 100 = 0 THEN -round(1 + (hash(i + 13) % 5000) / 100, 2)
                      ELSE round(5 + (hash(i + 17) % 12000) / 100, 2) END AS amount
          FROM (SELECT i FROM range({base}) r(i)
                UNION ALL SELECT i FROM range(0, {base}, {max(base // max(n - base, 1), 1)}) d(i)
                LIMIT {n})
        ) TO '{tmp}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)""")
    tmp.rename(path)
    return path


# ----------------------------------------------------------------------------- workers
def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(task: str, path: str, memory_limit: str | None) -> dict:
    """Run one measurement in this process and return seconds, peak memory, checks."""
    if task == "bare":
        import duckdb
        con = duckdb.connect()
        con.execute("SET enable_progress_bar = false")
        if memory_limit:
            con.execute(f"SET memory_limit = '{memory_limit}'")
        t = time.perf_counter()
        groups, spend = con.execute(f"""
            SELECT count(*), sum(s) FROM (
              SELECT customer_id, CAST(date AS DATE) AS day, sum(amount) AS s
              FROM read_parquet('{path}') GROUP BY customer_id, day)""").fetchone()
        return {"seconds": time.perf_counter() - t, "peak_mb": _peak_mb(), "groups": groups}
    if task in ("duckdb", "pandas"):
        sys.path.insert(0, str(HERE.parent))
        import duckdb  # noqa: F401  imports are not timed, as for Lifetimes and the bare query

        import crmlib.clv.summary_duckdb  # noqa: F401
        import crmlib.io.loaders  # noqa: F401
        from crmlib.clv.summary import summarise
        src = path
        if task == "pandas":
            import pandas as pd
            src = pd.read_parquet(path)          # reading the file is not timed
        t = time.perf_counter()
        s = summarise(src, engine=task, time_unit="W", observation_end=OBS_END,
                      calibration_end=CAL_END, memory_limit=memory_limit)
        secs = time.perf_counter() - t
        c = s.customers
        return {"seconds": secs, "peak_mb": _peak_mb(), "customers": len(c),
                "frequency_sum": int(c["frequency"].sum()),
                "holdout_sum": int(c["frequency_holdout"].sum()),
                "excluded": s.quality.excluded()}
    raise ValueError(task)


LIFETIMES_WORKER = textwrap.dedent("""
    import json, resource, sys, time
    import pandas as pd
    from lifetimes.utils import summary_data_from_transaction_data
    df = pd.read_parquet(sys.argv[1])            # reading the file is not timed
    t = time.perf_counter()
    s = summary_data_from_transaction_data(df, "customer_id", "date", monetary_value_col="amount",
                                           observation_period_end="%s", freq="W")
    secs = time.perf_counter() - t
    print(json.dumps({"seconds": secs, "customers": len(s),
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
""" % OBS_END)


def ensure_lifetimes() -> Path | None:
    """Python of the separate Lifetimes environment (created on first use)."""
    py = LIFETIMES_VENV / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(LIFETIMES_VENV)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "lifetimes==0.11.3",
                        "setuptools<81", "pandas", "pyarrow"], check=True)
    ok = subprocess.run([str(py), "-c", "import lifetimes.utils"], capture_output=True)
    return py if ok.returncode == 0 else None


def run_once(task: str, path: Path, memory_limit: str | None = None) -> dict:
    """One measurement in a fresh process."""
    if task == "lifetimes":
        py = ensure_lifetimes()
        if py is None:
            return {"error": "Lifetimes environment could not be created"}
        cmd = [str(py), "-c", LIFETIMES_WORKER, str(path)]
    else:
        cmd = [sys.executable, __file__, "--worker", task, str(path)] + (
            ["--memory-limit", memory_limit] if memory_limit else [])
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr else "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def combine(runs: list[dict]) -> dict:
    """Median time, maximum peak memory over the runs of one measurement."""
    if any("error" in r for r in runs):
        return next(r for r in runs if "error" in r)
    res = dict(runs[-1])
    res["seconds"] = statistics.median(r["seconds"] for r in runs)
    res["all_seconds"] = [round(r["seconds"], 2) for r in runs]
    res["peak_mb"] = max(r["peak_mb"] for r in runs)
    return res


# ----------------------------------------------------------------------------- main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--rows", type=int, default=100_000_000)
    ap.add_argument("--small-rows", default="3000000,10000000",
                    help="comma-separated sizes on which the engines meet Lifetimes")
    ap.add_argument("--no-lifetimes", action="store_true")
    ap.add_argument("--worker", nargs=2, metavar=("TASK", "PATH"), help=argparse.SUPPRESS)
    ap.add_argument("--memory-limit", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        print(json.dumps(worker(a.worker[0], a.worker[1], a.memory_limit)))
        return
    big, smalls = ((2_000_000, [500_000]) if a.quick
                   else (a.rows, [int(n) for n in a.small_rows.split(",")]))
    t0 = time.time()
    print(f"data: {big:,} and {smalls} rows (generated once under {WORK})", flush=True)
    pbig = make_data(big)
    plan = [("bare", pbig, None, "bare DuckDB GROUP BY customer, day"),
            ("duckdb", pbig, None, "crmlib summary, DuckDB engine"),
            ("duckdb", pbig, "2GB", "crmlib summary, DuckDB, memory_limit 2GB")]
    for n in smalls:
        psmall = make_data(n)
        plan += [("bare", psmall, None, "bare DuckDB GROUP BY customer, day"),
                 ("duckdb", psmall, None, "crmlib summary, DuckDB engine"),
                 ("pandas", psmall, None, "crmlib summary, pandas engine"),
                 ("lifetimes", psmall, None, "Lifetimes summary_data_from_transaction_data")]
    sizes = {str(path): int(path.stem.rsplit("_", 1)[1]) for _, path, _, _ in plan}
    load = [os.getloadavg()[0]]
    plan = [p for p in plan if not (p[0] == "lifetimes" and a.no_lifetimes)]
    # interleaved rounds, so that a change in machine load hits every measurement alike
    runs: dict[int, list[dict]] = {i: [] for i in range(len(plan))}
    for rnd in range(a.repeats):
        for i, (task, path, mem, label) in enumerate(plan):
            if mem and rnd > 0:
                continue               # the memory-limited run is done once
            n = sizes[str(path)]
            print(f"  round {rnd + 1}: {label} on {n:,} rows...", flush=True)
            runs[i].append(run_once(task, path, mem))
            load.append(os.getloadavg()[0])
        rows = []
        for i, (task, path, mem, label) in enumerate(plan):
            if runs[i]:
                rows.append({"task": task, "label": label, "rows": sizes[str(path)],
                             "memory_limit": mem, **combine(runs[i])})
        report(rows, smalls, time.time() - t0, a.quick, rnd + 1, load)  # after every round


def _ratio(rows, n):
    return next((r["all_seconds"] for r in rows if r["task"] == "bare" and r["rows"] == n
                 and "seconds" in r), None)


def _lifetimes(rows, n):
    return next((r["all_seconds"] for r in rows if r["task"] == "lifetimes" and r["rows"] == n
                 and "seconds" in r), None)


def _paired_ratio(base: list[float], mine: list[float]) -> float:
    """Median over rounds of base / mine: the runs of one round share the machine's load."""
    return statistics.median(b / m for b, m in zip(base, mine))


def report(rows: list[dict], smalls: list[int], elapsed: float, quick: bool,
           rounds: int, load: list[float]) -> None:
    lines = ["| measurement | rows | median s | runs (s) | x bare GROUP BY (per round) | speed-up over "
             "Lifetimes (median of per-round ratios) | peak memory MB |",
             "|---|---:|---:|---|---:|---:|---:|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['label']} | {r['rows']:,} | failed: {r['error']} | | | |")
            continue
        bare, lt = _ratio(rows, r["rows"]), _lifetimes(rows, r["rows"])
        lines.append(f"| {r['label']} | {r['rows']:,} | {r['seconds']:.2f} | "
                     f"{', '.join(map(str, r['all_seconds']))} | "
                     + (f"{1 / _paired_ratio(bare, r['all_seconds']):.2f}" if bare else "")
                     + " | "
                     + (f"{_paired_ratio(lt, r['all_seconds']):.2f}x" if lt else "")
                     + f" | {r['peak_mb']:,.0f} |")
    agree = all(len({(r["customers"], r["frequency_sum"], r["holdout_sum"]) for r in rows
                     if r["rows"] == n and r["task"] in ("duckdb", "pandas")
                     and "customers" in r}) == 1 for n in smalls)
    import duckdb
    import pandas
    meta = (f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; {platform.platform()}; "
            f"{os.cpu_count()} CPUs; Python {platform.python_version()}, DuckDB "
            f"{duckdb.__version__}, pandas {pandas.__version__}; total {elapsed / 60:.1f} min"
            + (" (--quick)" if quick else "") + f"; {rounds} round(s) completed; 1-minute "
            f"load average {min(load):.1f} to {max(load):.1f} during the runs")
    text = "\n".join(["# CLV summary benchmark", "", meta, "", *lines, "",
                      f"DuckDB and pandas engines agree on the {', '.join(map(str, smalls))}-row "
                      "files "
                      f"(customers, frequency and holdout sums): {'yes' if agree else 'NO'}."])
    print("\n" + text)
    RESULTS.mkdir(exist_ok=True)
    name = "clv_summary_bench_quick" if quick else "clv_summary_bench"
    (RESULTS / f"{name}.md").write_text(text + "\n", encoding="utf-8")
    (RESULTS / f"{name}.json").write_text(json.dumps({"meta": meta, "rows": rows,
                                                      "engines_agree": agree}, indent=2))


if __name__ == "__main__":
    main()
