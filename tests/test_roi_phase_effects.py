"""Phase effects on a small plan by hand: the 2×2 difference in differences, the method
and sample recorded for each KPI, staggered starts, before/after without a control group."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from crmlib.io import load_kpi_panel
from crmlib.roi import estimate_effects, load_plan, prepare_panel
from crmlib.roi.phase_effects import METHOD_BA, METHOD_DID, METHOD_STACKED

MONTHS = pd.date_range("2024-01-01", periods=8, freq="MS")


def _plan(tmp_path, unit_starts=None) -> object:
    phase = {"name": "Pilot", "start": "2024-05-01", "end": "2024-08-31",
             "costs": {"one_off": 1000, "monthly": 100, "run_monthly": 10},
             "rollout_units": 10,
             "goals": [{"name": "Sell more", "kpis": [
                 {"name": "sales", "direction": "up", "value_per_unit": 10,
                  "benefit": "direct"}]}]}
    if unit_starts:
        phase["unit_starts"] = unit_starts
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump({"currency": "EUR", "discount_rate_annual": 0.1,
                                    "phases": [phase]}))
    return load_plan(path)


def _panel(tmp_path, values: dict[str, list[float]], pilots: set[str]) -> pd.DataFrame:
    rows = [{"date": m.date().isoformat(), "unit_id": u,
             "group": "pilot" if u in pilots else "control", "kpi": "sales", "value": v}
            for u, vs in values.items() for m, v in zip(MONTHS, vs)]
    path = tmp_path / "kpi.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return load_kpi_panel(path)


def _values(n_pilot=3, n_control=3, effect=2.0, seed=0):
    """Unit level + common month effect + noise; pilots gain ``effect`` from May (month 4)."""
    rng = np.random.default_rng(seed)
    trend = np.linspace(0, 1.4, len(MONTHS))
    out = {}
    for i in range(n_pilot + n_control):
        u = f"P{i}" if i < n_pilot else f"C{i - n_pilot}"
        lift = np.where(np.arange(len(MONTHS)) >= 4, effect, 0.0) if i < n_pilot else 0.0
        out[u] = list(np.round(10 + i + trend + lift + rng.normal(0, 0.3, len(MONTHS)), 3))
    return out


def test_two_by_two_difference_in_differences_by_hand(tmp_path):
    plan = _plan(tmp_path)
    values = _values(n_pilot=12, n_control=12)
    pilots = {u for u in values if u.startswith("P")}
    monthly = prepare_panel(_panel(tmp_path, values, pilots), plan)
    eff, _ = estimate_effects(monthly, plan, pre_periods=4, n_permutations=99)
    row = eff.iloc[0]
    v = pd.DataFrame(values, index=MONTHS)
    post, pre = v.index >= "2024-05-01", v.index < "2024-05-01"
    p, c = v[sorted(pilots)], v[[u for u in v if u not in pilots]]
    # balanced panel with unit and month effects: the DiD of means
    did = (p[post].mean().mean() - p[pre].mean().mean()) - (
        c[post].mean().mean() - c[pre].mean().mean())
    assert row["effect"] == pytest.approx(did, rel=1e-9)
    assert row["method"] == METHOD_DID
    assert (row["n_pilot"], row["n_control"]) == (12, 12)
    assert (row["n_obs"], row["pre_months"], row["post_months"]) == (24 * 8, 4, 4)
    assert row["baseline"] == pytest.approx(p[pre].mean().mean(), rel=1e-12)
    assert row["effect_pct"] == pytest.approx(did / p[pre].mean().mean(), rel=1e-9)
    assert row["ci_low"] < row["effect"] < row["ci_high"] and row["p_value"] < 0.05
    assert np.isnan(row["perm_p"])                     # enough pilots: clustered errors
    assert row["p_gate"] == pytest.approx(row["p_value"])
    assert bool(row["pretrend_ok"]) and row["note"] == ""


def test_few_pilots_get_placebo_p_values(tmp_path):
    plan = _plan(tmp_path)
    values = _values(n_pilot=3, n_control=9)
    monthly = prepare_panel(_panel(tmp_path, values, {"P0", "P1", "P2"}), plan)
    eff, events = estimate_effects(monthly, plan, pre_periods=4, n_permutations=99)
    row = eff.iloc[0]
    assert 0 < row["perm_p"] <= 1
    assert row["p_gate"] == pytest.approx(max(row["p_value"], row["perm_p"]))
    assert "3 pilot units: placebo p-values from" in row["note"]
    assert sorted(events["rel"]) == [-4, -3, -2, -1, 0, 1, 2, 3]
    assert events.set_index("rel").loc[-1, "estimate"] == 0    # the reference month


def test_staggered_starts_use_the_stacked_estimator(tmp_path):
    plan = _plan(tmp_path, unit_starts={"P0": "2024-06-01"})
    values = _values(n_pilot=12, n_control=12)
    pilots = {u for u in values if u.startswith("P")}
    monthly = prepare_panel(_panel(tmp_path, values, pilots), plan)
    row = estimate_effects(monthly, plan, pre_periods=4, n_permutations=99)[0].iloc[0]
    assert row["method"] == METHOD_STACKED and row["n_pilot"] == 12


def test_without_a_control_group_before_after_on_the_pilots(tmp_path):
    plan = _plan(tmp_path)
    values = _values(n_pilot=4, n_control=0)
    monthly = prepare_panel(_panel(tmp_path, values, set(values)), plan)
    row = estimate_effects(monthly, plan, pre_periods=4, n_permutations=99)[0].iloc[0]
    v = pd.DataFrame(values, index=MONTHS)
    ba = v[v.index >= "2024-05-01"].mean().mean() - v[v.index < "2024-05-01"].mean().mean()
    assert row["method"] == METHOD_BA
    assert row["note"] == "no untreated unit observed after the start"
    assert (row["n_pilot"], row["n_control"]) == (4, 0)
    assert row["effect"] == pytest.approx(ba, rel=1e-9)
    assert (row["pre_months"], row["post_months"]) == (4, 4)
    assert np.isnan(row["perm_p"]) and np.isnan(row["pretrend_p"])   # neither is computed
    assert np.isnan(row["pretrend_p_clustered"]) and bool(row["pretrend_ok"])
    assert row["p_gate"] == pytest.approx(row["p_value"])


def test_a_pilot_without_pre_period_data_is_refused(tmp_path):
    from crmlib.io import DataError
    plan = _plan(tmp_path)
    values = _values(n_pilot=4, n_control=0)
    panel = _panel(tmp_path, values, set(values))
    panel = panel[pd.to_datetime(panel["date"]) >= "2024-05-01"]     # no month before
    with pytest.raises(DataError, match="no pre-period data for the pilot units") as err:
        estimate_effects(prepare_panel(panel, plan), plan, pre_periods=4, n_permutations=99)
    assert "2024-01 to 2024-04" in str(err.value)


def test_clustered_standard_error_is_statsmodels(tmp_path):
    import statsmodels.formula.api as smf
    plan = _plan(tmp_path)
    values = _values(n_pilot=12, n_control=12, seed=5)
    pilots = {u for u in values if u.startswith("P")}
    monthly = prepare_panel(_panel(tmp_path, values, pilots), plan)
    row = estimate_effects(monthly, plan, pre_periods=4, n_permutations=99)[0].iloc[0]
    long = pd.DataFrame(values, index=MONTHS).stack().rename("value").reset_index()
    long.columns = ["period", "unit", "value"]
    long["D"] = (long["unit"].isin(pilots) & (long["period"] >= "2024-05-01")).astype(float)
    fit = smf.ols("value ~ D + C(unit) + C(period)", long).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(long["unit"])[0]})
    assert row["effect"] == pytest.approx(fit.params["D"], rel=1e-9)
    assert row["se"] == pytest.approx(fit.bse["D"], rel=1e-6)
