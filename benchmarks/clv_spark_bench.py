"""Summary benchmark: DuckDB engine vs Spark engine (``local[2]``) on 10M and 100M transactions.

Usage::

    .venv/bin/python benchmarks/clv_spark_bench.py                 # 10M and 100M (an hour)
    .venv/bin/python benchmarks/clv_spark_bench.py --sizes 1e6 --runs 1   # quick check

What is timed, in a fresh worker process per run (so start-up and peak memory are
measured the same way every time):

* ``duckdb``: :func:`crmlib.clv.summarise` on the Parquet file (``engine="duckdb"``),
  calibration/holdout split, per-customer table returned to the driver as pandas.
* ``spark``: :func:`crmlib.clv.spark.summarise_spark` + :func:`sufficient_statistics`
  with ``local[2]`` — the per-customer table stays in Spark, only the exclusion counts,
  per-day counts and the compressed statistics reach the driver. Spark's start-up
  (JVM and session) is timed apart.

Peak memory: the driver process's peak resident set (``ru_maxrss``) — for Spark the
Python driver and, separately, the JVM (its ``VmHWM``; in ``local`` mode the JVM is
also the executor, bounded by ``spark.driver.memory``).

Data (seeded, written once to ``benchmarks/.work/``, which git ignores; delete with
``--clean``): integer customer ids (20 transactions per customer on average), dates
over three years (Parquet ``date``), amounts Gamma(2, 25) in cents with 1% returns and
0.5% zero amounts. Results: ``benchmarks/results/clv_spark.md``.
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
RESULTS = HERE / "results" / "clv_spark.md"
START, DAYS = np.datetime64("2022-01-01"), 3 * 365
CAL, OBS = "2024-06-30", "2024-12-30"
CHUNK = 5_000_000


def data_path(n: int) -> Path:
    return WORK / f"spark_tx_{n}.parquet"


def generate(n: int) -> Path:
    """Write ``n`` synthetic transactions as Parquet in row groups of 5M (low memory)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = data_path(n)
    if path.exists():
        return path
    WORK.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(n % 2**32)
    n_cust = max(n // 20, 1)
    first = rng.integers(0, DAYS, n_cust)            # each customer's first purchase day
    tmp = path.with_suffix(".tmp")
    schema = pa.schema([("customer_id", pa.int64()), ("date", pa.date32()),
                        ("amount", pa.float64())])
    with pq.ParquetWriter(tmp, schema, compression="snappy") as w:
        for lo in range(0, n, CHUNK):
            k = min(CHUNK, n - lo)
            cust = rng.integers(0, n_cust, k)
            day = first[cust] + (rng.random(k) * (DAYS - first[cust])).astype(np.int64)
            amount = np.round(rng.gamma(2.0, 25.0, k), 2)
            u = rng.random(k)
            amount[u < 0.01] *= -1
            amount[(u >= 0.01) & (u < 0.015)] = 0.0
            dates = (START + day.astype("timedelta64[D]")).astype("datetime64[D]")
            w.write_table(pa.table({"customer_id": cust, "date": pa.array(dates, pa.date32()),
                                    "amount": amount}, schema=schema))
    tmp.rename(path)
    return path


# --------------------------------------------------------------------------- workers
def _hwm_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        out += [int(c) for c in text]
    return out


def worker(engine: str, path: str) -> None:
    """One timed run; prints a JSON line."""
    import warnings
    warnings.simplefilter("ignore")
    sys.path.insert(0, str(ROOT))
    kw = dict(time_unit="W", observation_end=OBS, calibration_end=CAL)
    out: dict = {"engine": engine}
    if engine == "duckdb":
        from crmlib.clv import summarise
        t0 = time.perf_counter()
        s = summarise(path, engine="duckdb", **kw)
        out.update(seconds=time.perf_counter() - t0, customers=len(s.customers),
                   transactions=s.n_transactions)
    else:
        from crmlib.clv.spark import get_session, sufficient_statistics, summarise_spark
        t0 = time.perf_counter()
        spark = get_session("local[2]", conf={"spark.driver.memory": "2g",
                                              "spark.ui.enabled": "false"})
        spark.range(1).count()
        t1 = time.perf_counter()
        s = summarise_spark(path, spark=spark, **kw)
        st = sufficient_statistics(s)
        t2 = time.perf_counter()
        jvm = max((_hwm_mb(c) for c in _children(os.getpid())), default=float("nan"))
        out.update(startup=t1 - t0, seconds=t2 - t1, customers=s.n_customers,
                   transactions=s.n_transactions, stats_rows=len(st.rft) + len(st.spend),
                   stats_kb=st.nbytes / 1024, jvm_peak_mb=jvm)
        s.unpersist()
        spark.stop()
    out["driver_peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def run_one(engine: str, path: Path) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--worker", engine, str(path)],
                          capture_output=True, text=True, cwd=ROOT)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode or not lines:
        raise RuntimeError(f"{engine} run failed:\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1])


# --------------------------------------------------------------------------- report
def _median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def table(results: dict[int, dict[str, list[dict]]]) -> str:
    head = ("| transactions | engine | runs | summary s (median) | Spark start-up s | "
            "total s | driver peak MB | JVM peak MB | customers | collected to driver |\n"
            "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|\n")
    rows = []
    for n, by in sorted(results.items()):
        for engine, runs in by.items():
            sec = _median(runs, "seconds")
            start = _median(runs, "startup") if engine == "spark" else 0.0
            jvm = f"{_median(runs, 'jvm_peak_mb'):,.0f}" if engine == "spark" else "–"
            got = (f"{runs[0]['stats_rows']:,} rows ({runs[0]['stats_kb']:,.0f} KB)"
                   if engine == "spark" else f"{runs[0]['customers']:,} customer rows")
            rows.append(f"| {n:,} | {engine} | {len(runs)} | {sec:,.1f} | "
                        f"{start:,.1f} | {sec + start:,.1f} | "
                        f"{_median(runs, 'driver_peak_mb'):,.0f} | {jvm} | "
                        f"{runs[0]['customers']:,} | {got} |")
    return head + "\n".join(rows) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", nargs="+", type=float, default=[1e7, 1e8])
    ap.add_argument("--runs", type=int, default=3, help="runs per engine and size")
    ap.add_argument("--runs-large", type=int, default=1, help="runs at 100M and above")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--clean", action="store_true", help="delete the generated data after")
    ap.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(*args.worker)
    results: dict[int, dict[str, list[dict]]] = {}
    for n in (int(s) for s in args.sizes):
        t0 = time.perf_counter()
        path = generate(n)
        print(f"{n:,} transactions: data ready in {time.perf_counter() - t0:.0f} s", flush=True)
        runs = args.runs if n < 1e8 else args.runs_large
        results[n] = {e: [] for e in ("duckdb", "spark")}
        for _ in range(runs):
            for engine in ("duckdb", "spark"):
                r = run_one(engine, path)
                results[n][engine].append(r)
                print(json.dumps(r), flush=True)
        if args.clean:
            path.unlink()
    text = table(results)
    print(text)
    meta = (f"Machine: {os.cpu_count()} cores, {platform.python_version()}, "
            f"{time.strftime('%Y-%m-%d')}.\n\n")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("# Summary engines: DuckDB vs Spark local[2]\n\n" + meta + text
                        + "\nRaw runs:\n\n```json\n" + json.dumps(results, indent=1)
                        + "\n```\n")


if __name__ == "__main__":
    main()
