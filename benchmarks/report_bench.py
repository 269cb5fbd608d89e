"""Benchmark of the whole demo report against its import-only floor; ``crm validate``;
``crm workshop``.

Measured in the same run, each in a fresh process, median of ``--repeats`` interleaved
rounds, with the CPU time of the command and all it waited for (steadier than wall time on
a shared machine) and peak memory = the largest resident set of the command and its children:

* ``crm report`` on the demo configuration (every notebook, HTML, PDF, deck, Excel);
* its *floor*: the same runner on stand-in notebooks holding only each real notebook's
  parameters cell and its ``import`` lines (same ``--jobs``), i.e. what the report would
  cost if the analyses themselves took no time (target: the report within 2x of it);
* ``crm validate`` on the demo configuration (target: 3 s);
* ``crm workshop`` (target: within 2x of the report).

    .venv/bin/python benchmarks/report_bench.py                 # 3 rounds, about 10 min
    .venv/bin/python benchmarks/report_bench.py --repeats 1 --no-workshop

Results are printed and written to ``benchmarks/results/report_bench.{md,json}`` with the
machine, versions and the load average seen during the runs (a busy machine inflates every
row alike; compare ratios, not seconds, across machines).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / ".work" / "report"
RESULTS = HERE / "results"
CRM = [sys.executable, "-m", "crmlib.cli"]


def floor_notebooks(src: Path, dst: Path) -> None:
    """Each notebook of ``src`` as its parameters cell plus one cell of its import lines
    (those the runner imports early, :func:`crmlib.report.engine.import_lines`)."""
    import nbformat

    from crmlib.report.engine import import_lines

    dst.mkdir(parents=True, exist_ok=True)
    for path in sorted(src.glob("[0-9]*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        imports = import_lines(nb)
        nb.cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        nb.cells.append(nbformat.v4.new_code_cell("\n".join(imports)))
        nbformat.write(nb, dst / path.name)


def configs() -> tuple[Path, Path]:
    """The demo configuration and the floor's (same inputs, stand-in notebooks)."""
    demo = ROOT / "clients" / "demo.yaml"
    floor_notebooks(ROOT / "notebooks", WORK / "floor")
    raw = yaml.safe_load(demo.read_text(encoding="utf-8"))
    raw["notebook_dir"] = str(WORK / "floor")
    for params in raw["notebooks"].values():
        for key, value in list((params or {}).items()):
            if isinstance(value, str) and value.startswith("from:"):
                del params[key]       # the stand-ins write no results to hand on
    floor = WORK / "floor.yaml"
    floor.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return demo, floor


WRAP = ("import resource, subprocess, sys; code = subprocess.run(sys.argv[1:]).returncode; "
        "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
        "print('PEAK_KB=%d CPU_S=%.3f' % (u.ru_maxrss, u.ru_utime + u.ru_stime)); "
        "sys.exit(code)")


# Python's bytecode cache on, as in a user's installation: a machine that sets
# PYTHONDONTWRITEBYTECODE recompiles every crmlib module in every process (twice the time)
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run(cmd: list[str]) -> dict:
    """Seconds, CPU seconds (user + system of the command and every process it waited for:
    workers, kernels, Chromium) and peak memory (the largest of those processes)."""
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", WRAP] + cmd, cwd=ROOT, capture_output=True,
                         text=True, env=ENV)
    secs = time.perf_counter() - t
    if out.returncode != 0:
        tail = (out.stderr or out.stdout).strip().splitlines()[-1:] or ["failed"]
        return {"error": f"exit {out.returncode}: {tail[0][:200]}"}
    peak, cpu = re.findall(r"PEAK_KB=(\d+) CPU_S=([\d.]+)", out.stdout)[-1]
    return {"seconds": secs, "cpu_seconds": float(cpu), "peak_mb": int(peak) / 1024}


def plan(a) -> list[tuple[str, list[str]]]:
    demo, floor = configs()
    out = WORK / "out"
    jobs = ["--jobs", str(a.jobs)]
    rows = [("crm validate (demo)", CRM + ["validate", "--config", str(demo)]),
            ("crm report (demo)", CRM + ["report", "--config", str(demo), "--out",
                                         str(out / "demo"), "--quiet"] + jobs),
            ("import-only floor of the report", CRM + ["report", "--config", str(floor),
                                                       "--out", str(out / "floor"),
                                                       "--quiet"] + jobs)]
    if not a.no_workshop:
        rows.append(("crm workshop", CRM + ["workshop", "--out", str(out / "workshop")]))
    return rows


def report(rows: list[dict], load: list[float], rounds: int, elapsed: float) -> str:
    sec = {r["label"]: r.get("seconds") for r in rows}
    ratios = {"crm report (demo)": ("import-only floor of the report", 2.0),
              "crm workshop": ("crm report (demo)", 2.0)}
    cpu = {r["label"]: r.get("cpu_seconds") for r in rows}
    lines = ["| measurement | median s | runs (s) | ratio | target | median CPU s (ratio) "
             "| peak memory MB |", "|---|---:|---|---:|---|---:|---:|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['label']} | failed: {r['error']} | | | | | |")
            continue
        ratio, target, cpu_ratio = "", "", ""
        if r["label"] in ratios and sec.get(ratios[r["label"]][0]):
            base, limit = ratios[r["label"]]
            ratio = f"{r['seconds'] / sec[base]:.2f}x {base}"
            target = f"<= {limit:g}x"
            cpu_ratio = f" ({r['cpu_seconds'] / cpu[base]:.2f}x)"
        elif r["label"].startswith("crm validate"):
            target = "<= 3 s"
        lines.append(f"| {r['label']} | {r['seconds']:.1f} | "
                     f"{', '.join(f'{s:.1f}' for s in r['all_seconds'])} | {ratio} | {target} "
                     f"| {r['cpu_seconds']:.1f}{cpu_ratio} | {r['peak_mb']:,.0f} |")
    meta = (f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; {platform.platform()}; "
            f"{os.cpu_count()} CPUs; Python {platform.python_version()}; {rounds} round(s); "
            f"total {elapsed / 60:.1f} min; 1-minute load average {min(load):.1f} to "
            f"{max(load):.1f} during the runs; bytecode cache on")
    return "\n".join(["# Report run benchmark", "", meta, "", *lines])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=2, help="notebooks run at once (both runs)")
    ap.add_argument("--no-workshop", action="store_true")
    a = ap.parse_args()
    if not (ROOT / "data" / "demo" / "TRUTH.md").exists():
        subprocess.run(CRM + ["demo-data", "--out", "data/demo", "--seed", "7"], cwd=ROOT,
                       check=True, capture_output=True)
    shutil.rmtree(WORK / "out", ignore_errors=True)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "crmlib")], env=ENV,
                   check=True)
    todo, t0, load = plan(a), time.time(), [os.getloadavg()[0]]
    runs: dict[str, list[dict]] = {label: [] for label, _ in todo}
    for rnd in range(a.repeats):
        for label, cmd in todo:
            print(f"  round {rnd + 1}: {label}...", flush=True)
            runs[label].append(run(cmd))
            load.append(os.getloadavg()[0])
    rows = []
    for label, got in runs.items():
        ok = [g for g in got if "seconds" in g]
        if len(ok) < len(got):
            rows.append({"label": label, "error": next(g["error"] for g in got if "error" in g)})
            continue
        secs = [g["seconds"] for g in ok]
        rows.append({"label": label, "seconds": statistics.median(secs), "all_seconds": secs,
                     "cpu_seconds": statistics.median(g["cpu_seconds"] for g in ok),
                     "peak_mb": max(g["peak_mb"] for g in ok)})
    text = report(rows, load, a.repeats, time.time() - t0)
    print("\n" + text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "report_bench.md").write_text(text + "\n", encoding="utf-8")
    (RESULTS / "report_bench.json").write_text(json.dumps({"rows": rows, "load": load},
                                                          indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
