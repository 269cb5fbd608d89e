"""Demo inputs for the phase-ROI analysis: ``phase_plan.yaml`` and ``kpi_panel.csv``.

A retailer rolls out its CRM programme in three phases, each piloted in a few
stores (the rest are controls) and rolled out to every store after the phase
ends. The monthly panel is

    value = base + store level + month (season + trend) + effect · treated + noise,

so pre-trends are parallel by construction. Planted: one effect per KPI (one
KPI with none), a phase that ended two months late, staggered pilot starts in
the last phase, and a few rows the loader must exclude and count.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

MONTHS = pd.date_range("2023-10-01", "2025-09-01", freq="MS")
# name, direction, base, store sd, noise sd, planted effect, value per unit, benefit, role
PHASES: list[dict[str, Any]] = [
    {"name": "Loyalty and customer data", "start": "2024-04-01", "end": "2024-06-30",
     "costs": {"one_off": 60000, "monthly": 8000, "run_monthly": 2500},
     "goals": [("Grow repeat purchases", [
         ("repeat_rate", "up", 32.0, 3.0, 1.0, 1.5, 420, "direct", None),
         ("avg_basket", "up", 48.0, 4.0, 1.2, 1.2, 350, "direct", None)]),
         ("Know the customer", [
             ("identified_sales_share", "up", 45.0, 5.0, 1.5, 6.0, 40, "direct", None)])]},
    {"name": "Service recovery", "start": "2024-09-01", "end": "2024-11-30",
     "actual_end": "2025-01-31",
     "costs": {"one_off": 45000, "monthly": 12000, "run_monthly": 3000},
     "goals": [("Fewer complaints", [
         ("complaints_per_1000", "down", 12.0, 2.0, 0.8, -1.2, 220, "direct", None),
         ("nps", "up", 31.0, 5.0, 2.5, 0.0, 90, "direct", None)]),
         ("Faster service", [
             ("handling_minutes", "down", 14.0, 1.5, 0.6, -1.0, 260, "indirect",
              "service desk")])]},
    {"name": "Campaign automation", "start": "2025-03-01", "end": "2025-05-31",
     "costs": {"one_off": 260000, "monthly": 15000, "run_monthly": 9000},
     "goals": [("Better campaigns", [
         ("campaign_response", "up", 4.0, 0.6, 0.3, 0.5, 600, "direct", None),
         ("cross_sell_rate", "up", 11.0, 1.5, 0.6, 0.8, 280, "direct", None)]),
         ("Less manual work", [
             ("marketing_hours", "down", 22.0, 3.0, 1.2, -3.0, 45, "indirect",
              "marketing staff")])]},
]
SIZES = {"demo": (40, 8), "small": (16, 6)}
LATE_START = "2025-04-01"  # half the pilot stores start phase 3 a month late


def _plan(stores: int, pilots: list[str]) -> dict:
    phases = []
    for p in PHASES:
        d: dict[str, Any] = {k: p[k] for k in ("name", "start", "end", "actual_end") if k in p}
        d["costs"] = {k: round(v * stores / 40) for k, v in p["costs"].items()}
        d["rollout_units"] = stores
        d["goals"] = [{"name": g, "kpis": [
            {"name": k[0], "direction": k[1], "value_per_unit": k[6], "benefit": k[7],
             **({"role": k[8]} if k[8] else {})} for k in kpis]} for g, kpis in p["goals"]]
        phases.append(d)
    phases[2]["unit_starts"] = {u: LATE_START for u in pilots[len(pilots) // 2:]}
    return {"currency": "EUR", "discount_rate_annual": 0.10, "phases": phases}


def _starts(phase: dict, pilots: list[str], stores: list[str], late: dict) -> dict:
    """Month each store gets the phase's effect: pilots at the start (or late), the
    other stores one month after the phase's actual end (the rollout)."""
    end = pd.Timestamp(phase.get("actual_end", phase["end"]))
    rollout = (end + pd.offsets.MonthBegin(1)).normalize()
    out = {s: rollout for s in stores}
    out.update({s: pd.Timestamp(late.get(s, phase["start"])) for s in pilots})
    return out


def _panel(rng: np.random.Generator, stores: list[str], pilots: list[str],
           late: dict) -> pd.DataFrame:
    t = np.arange(len(MONTHS))
    season = np.sin(2 * np.pi * (MONTHS.month.to_numpy() - 1) / 12)
    frames = []
    for p in PHASES:
        on = _starts(p, pilots, stores, late if p is PHASES[2] else {})
        for _, kpis in p["goals"]:
            for name, _d, base, sd_u, sd_e, eff, *_ in kpis:
                level = rng.normal(0, sd_u, len(stores))
                month = 0.6 * sd_e * season + 0.02 * sd_e * t
                treated = np.array([[m >= on[s] for m in MONTHS] for s in stores], float)
                y = (base + level[:, None] + month[None, :] + eff * treated
                     + rng.normal(0, sd_e, (len(stores), len(MONTHS))))
                frames.append(pd.DataFrame({
                    "date": np.tile(MONTHS.strftime("%Y-%m-%d"), len(stores)),
                    "unit_id": np.repeat(stores, len(MONTHS)),
                    "group": np.repeat(["pilot" if s in pilots else "control" for s in stores],
                                       len(MONTHS)),
                    "kpi": name, "value": np.round(y.ravel(), 3)}))
    return pd.concat(frames, ignore_index=True)


def _blemishes(df: pd.DataFrame, rng: np.random.Generator, stores: list[str]) -> pd.DataFrame:
    """Rows the loader excludes and counts: empty values, exact duplicates and a KPI
    that is not in the plan."""
    df = df.copy()
    df.loc[rng.choice(len(df), 5, replace=False), "value"] = np.nan
    extra = df[df["kpi"] == "repeat_rate"].sample(24, random_state=int(rng.integers(10**9)))
    extra = extra.assign(kpi="footfall", value=np.round(rng.normal(5000, 400, 24)))
    dup = df.sample(3, random_state=int(rng.integers(10**9)))
    return pd.concat([df, extra, dup], ignore_index=True)


def generate(out: Path, rng: np.random.Generator, size: str = "demo") -> str:
    """Write ``phase_plan.yaml`` and ``kpi_panel.csv`` into ``out``; return the truths."""
    n, k = SIZES[size]
    stores = [f"S{i:02d}" for i in range(1, n + 1)]
    pilots = sorted(rng.choice(stores, k, replace=False).tolist())
    plan = _plan(n, pilots)
    late = plan["phases"][2]["unit_starts"]
    (Path(out) / "phase_plan.yaml").write_text(
        yaml.safe_dump(plan, sort_keys=False, allow_unicode=True), encoding="utf-8")
    _blemishes(_panel(rng, stores, pilots, late), rng, stores).to_csv(
        Path(out) / "kpi_panel.csv", index=False)
    return _truth(n, pilots, late, plan)


def _annuity(r: float, n: int) -> float:
    """Present value of 1 at the end of each of months 1 … n at monthly rate r."""
    return (1 - (1 + r) ** -n) / r


def planted_finance(plan: dict, n_pilot: int, horizon: int = 24) -> dict[str, dict]:
    """True NPV, PV of costs and ROI per phase, written out from the plan's inputs.

    Independent of :mod:`crmlib.roi` (the code these truths check). Per phase, with t = 0
    its start and month t = 1 … ``horizon`` discounted by (1 + r)^−t, r the monthly rate
    of the plan's annual rate: the one-off cost at t = 0; while the phase runs (its first
    ``m`` months, start to actual end) the monthly cost and the pilot stores' benefit
    n_pilot · Σ v·|e|; after it the run cost and every store's benefit units · Σ v·|e|,
    where |e| is the planted effect in the KPI's good direction (a fall counts as a gain
    for a ``down`` KPI). So NPV = −one_off + (B_pilot − monthly)·a(m) + (B_all − run)·
    (a(horizon) − a(m)) with the annuity factor a(n) = (1 − (1 + r)^−n) / r.
    """
    r = (1 + plan["discount_rate_annual"]) ** (1 / 12) - 1
    effects = {k[0]: k[5] for ph in PHASES for _, ks in ph["goals"] for k in ks}
    out = {}
    for ph in plan["phases"]:
        s, e = pd.Timestamp(ph["start"]), pd.Timestamp(ph.get("actual_end", ph["end"]))
        m = (e.year - s.year) * 12 + e.month - s.month + 1
        gain = sum((1 if k["direction"] == "up" else -1) * effects[k["name"]] * k["value_per_unit"]
                   for g in ph["goals"] for k in g["kpis"])
        c = ph["costs"]
        a_run, a_after = _annuity(r, m), _annuity(r, horizon) - _annuity(r, m)
        pv_costs = c["one_off"] + c["monthly"] * a_run + c["run_monthly"] * a_after
        pv_benefits = gain * (n_pilot * a_run + ph["rollout_units"] * a_after)
        out[ph["name"]] = {"npv": pv_benefits - pv_costs, "pv_costs": pv_costs,
                           "roi": (pv_benefits - pv_costs) / pv_costs}
    return out


def _true_finance(plan: dict, n_pilot: int) -> list[str]:
    """NPV and ROI at 24 months per phase with the planted effects (:func:`planted_finance`)."""
    return [f"- True 24-month NPV of *{name}* (planted effects, plan's costs): "
            f"EUR {f['npv']:,.0f}, ROI {100 * f['roi']:.0f}%."
            for name, f in planted_finance(plan, n_pilot).items()]


def _truth(n: int, pilots: list[str], late: dict, plan: dict) -> str:
    rows = []
    for p in PHASES:
        for g, kpis in p["goals"]:
            for name, d, base, _u, sd_e, eff, value, kind, role in kpis:
                money = (1 if d == "up" else -1) * eff * value * n
                rows.append(f"| {p['name']} | {g} | `{name}` | {d} | {base:g} | {eff:+g} | "
                            f"{sd_e:g} | {value:g} | {money:,.0f} | {kind}"
                            f"{f' ({role})' if role else ''} |")
    return "\n".join([
        "## Phase ROI (`phase_plan.yaml`, `kpi_panel.csv`)",
        "",
        f"{n} stores, monthly {MONTHS[0]:%Y-%m} to {MONTHS[-1]:%Y-%m}; {len(pilots)} pilot stores "
        f"({', '.join(pilots)}), the others are controls. Each phase's effect reaches the "
        "control stores one month after the phase's actual end (the rollout), so only the "
        "phase window compares pilots with untouched controls. Trends are parallel by "
        "construction (common season and trend), so pre-trend tests should pass.",
        "",
        "| phase | goal | KPI | direction | base | planted effect | noise s.d. | value per unit "
        "| true monthly value after rollout (EUR) | benefit |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        "- `nps` (Service recovery) has **no real effect**: its interval should cover 0 and the "
        "phase cannot pass the gate as *continue*.",
        "- *Service recovery* was planned to end 2024-11-30 and ended **2025-01-31** (two "
        "months late: two more months of running costs, rollout two months later).",
        f"- *Campaign automation* starts staggered: {', '.join(sorted(late))} start "
        f"{LATE_START}, the other pilots 2025-03-01 (only not-yet-treated stores are controls).",
        "- Fewer than 10 pilot stores: placebo-in-space p-values are reported.",
        "- Planted rows to be excluded and counted: 5 empty values, 3 exact duplicate rows, "
        "24 rows of KPI `footfall` (not in the plan).",
        "- Discount rate 10% a year; costs are in the plan (demo size: 40 stores; costs scale "
        "with the number of stores).",
        *_true_finance(plan, len(pilots)),
    ])
