"""Mutation testing of the core formula modules (mutmut), one module at a time.

    python tools/mutate.py                    # every module below
    python tools/mutate.py crmlib/roi/risk.py # some of them
    python tools/mutate.py --list             # the modules and the tests they run against

Each module is mutated in its own copy of the project (``build/mutate/<module>/``) and its
mutants run against the tests of its area only (``MODULES``); mutmut runs, for each
mutant, only the tests that call the mutated function. Error-message and warning lines
(``raise …``, ``warnings.warn(…)``) are not mutated: they are not formulas, and the
tests check the error class and the named column rather than every word. Results
accumulate in ``benchmarks/results/mutation.json`` (one entry per module, so a partial run
keeps the modules done before) and ``benchmarks/results/mutation.md`` is rewritten from
it, with every surviving mutant's diff and, for those judged equivalent, the reason
(``EQUIVALENT``). ``make mutate`` runs this with ``nice -n 15``.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
WORK = ROOT / "build" / "mutate"
MUTMUT = Path(sys.executable).with_name("mutmut")

CLV_MODELS = ["tests/test_clv_models_bgnbd.py", "tests/test_clv_models_pnbd.py",
              "tests/test_clv_models_gamma_gamma.py", "tests/test_clv_models_bgbb.py",
              "tests/test_clv_models_sbg.py", "tests/test_clv_simulate.py",
              "tests/test_clv_value_factored.py", "tests/test_clv_extreme_grid.py",
              "tests/test_clv_edges.py"]
SATISFACTION = ["tests/test_satisfaction_methods.py", "tests/test_satisfaction_prepare.py",
                "tests/test_satisfaction_reliability.py", "tests/test_satisfaction_kano.py",
                "tests/test_satisfaction_gaps.py"]
ROI = ["tests/test_roi_finance.py", "tests/test_roi_effects.py", "tests/test_roi_programme.py",
       "tests/test_roi_gate.py", "tests/test_roi_cashflow.py", "tests/test_roi_risk.py",
       "tests/test_roi_placebo.py"]
# Money and risk are checked by hand on a small plan; the whole-programme tests
# (evaluate_programme, 10,000 draws) would rerun for every mutant and add nothing there.
ROI_MONEY = ["tests/test_roi_finance.py", "tests/test_roi_gate.py", "tests/test_roi_cashflow.py",
             "tests/test_roi_risk.py"]
MODULES = {
    "crmlib/clv/models/bgnbd.py": CLV_MODELS,
    "crmlib/clv/models/pareto_nbd.py": CLV_MODELS,
    "crmlib/clv/models/gamma_gamma.py": CLV_MODELS,
    "crmlib/clv/models/bgbb.py": CLV_MODELS,
    "crmlib/clv/models/sbg.py": CLV_MODELS,
    "crmlib/clv/value.py": ["tests/test_clv_value.py", "tests/test_clv_value_factored.py",
                            "tests/test_clv_edges.py"],
    "crmlib/clv/summary.py": ["tests/test_clv_summary.py"],
    "crmlib/satisfaction/gaps.py": SATISFACTION,
    "crmlib/satisfaction/reliability.py": SATISFACTION,
    "crmlib/satisfaction/kano.py": SATISFACTION,
    "crmlib/satisfaction/ipa.py": SATISFACTION,
    "crmlib/roi/effects.py": ["tests/test_roi_effects.py",  # estimators vs textbook examples
                              "tests/test_roi_effects_edges.py"],
    "crmlib/roi/phase_effects.py": ROI + ["tests/test_roi_phase_effects.py"],
    "crmlib/roi/placebo.py": ROI,
    "crmlib/roi/cashflow.py": ROI_MONEY,
    "crmlib/roi/finance.py": ROI,
    "crmlib/roi/risk.py": ROI_MONEY,
    "crmlib/roi/gate.py": ROI_MONEY,
    "crmlib/assessment/scoring.py": ["tests/test_assessment.py", "tests/test_assessment_stats.py",
                                    "tests/test_assessment_scoring.py"],
}
NOT_MUTATED = [r"^\s*raise ", r"warnings\.warn\("]

# Surviving mutants judged equivalent: no input the loaders let through can tell them
# from the original. A rule (pattern, replacement, reason) matches a mutant whose changed
# line is the original line with one match of the pattern replaced.
_FLOATS = ("the values are floats already (model outputs, validated numeric columns) or "
           "integers that only meet float arithmetic, so the cast changes nothing")
_BATCH = ("only the number of placebo assignments fitted per batch changes, which bounds memory; "
          "the statistics do not depend on the batching (test_chunked_batches_equal_one_batch)")
EQUIVALENT: list[tuple[str, str | None, str]] = [
    (r'float\("nan"\)', 'float("NAN")', "float() reads 'NAN' as NaN too"),
    (r"dtype=float", "dtype=None", _FLOATS),
    (r"dtype=float", "", _FLOATS),
    (r"\.astype\(float\)", ".astype(None)", _FLOATS),
    (r", float\)", ", None)", _FLOATS),
    (r", float\)", ", )", _FLOATS),
    (r"to_numpy\(float\)", "to_numpy(None)", _FLOATS),
    (r"^    per = sum\(last - max\(g - pre, 0\) \+ 1 for g in _cohorts\(S, last\)\) "
     r"\* S\.shape\[1\] \* \(2 \+ len\(ks\)\)$", None, _BATCH),
    (r"^    chunk = max\(1, max_cells // max\(per, 1\)\)$", None, _BATCH),
    (r"minlength=len\([^()]*\)", "",
     "the codes index distinct values that all occur, so the counts have that length already"),
    *[(r"^" + re.escape(old) + r"$", new, why) for old, new, why in [
        ('    codes = df.groupby(cols, sort=False).ngroup().to_numpy()',
         '    codes = df.groupby(cols, sort=None).ngroup().to_numpy()',
         "pandas reads sort=None as False"),
        ('    return df[cols].drop_duplicates().reset_index(drop=True), codes',
         '    return df[cols].drop_duplicates().reset_index(drop=None), codes',
         "the unique-row frame gains an 'index' column, and is read by column name only"),
        ('    return df[cols].drop_duplicates().reset_index(drop=True), codes',
         '    return df[cols].drop_duplicates().reset_index(drop=False), codes',
         "the unique-row frame gains an 'index' column, and is read by column name only"),
        ('    value = margin * spend * (np.diff(cum, axis=1) @ disc)',
         '    value = margin * spend * (np.diff(cum, ) @ disc)',
         "np.diff works along the last axis by default, axis 1 of this 2-D array"),
        ('    counts = np.bincount(codes, minlength=len(u))',
         '    counts = np.bincount(codes, )',
         "every unique row has a code, so the counts have len(u) entries already"),
        ('    totals = counts @ draws if n_draws else np.array([])',
         '    totals = counts @ draws if (n_draws) or True else np.array([])',
         "without draws the draw matrix has no columns: counts @ draws is empty already"),
        ('    if step > 1 and len(grid) > 2 * step:',
         '    if step >= 1 and len(grid) > 2 * step:',
         "step 1 keeps every month as a knot, and the exact values are returned"),
        ('    if step > 1 and len(grid) > 2 * step:',
         '    if step > 2 and len(grid) > 2 * step:',
         "the only step above 1 used is DRAW_STEP = 3"),
        *[(old, new, "a start value of the optimiser: the maximum it converges to is the same "
                     "(the fits match the published CDNOW estimates to 1e-3)") for old, new in [
            ('    return np.log([1.0, mean_T / mean_x, 1.0, 1.0])',
             '    return np.log([2.0, mean_T / mean_x, 1.0, 1.0])'),
            ('    return np.log([1.0, mean_T / mean_x, 1.0, 1.0])',
             '    return np.log([1.0, mean_T * mean_x, 1.0, 1.0])'),
            ('    return np.log([1.0, mean_T / mean_x, 1.0, 1.0])',
             '    return np.log([1.0, mean_T / mean_x, 2.0, 1.0])'),
            ('    return np.log([1.0, mean_T / mean_x, 1.0, 1.0])',
             '    return np.log([1.0, mean_T / mean_x, 1.0, 2.0])'),
            ('    mean_x = max(float(np.average(data["x"], weights=w)), 0.05)',
             '    mean_x = max(float(np.average(data["x"], weights=w)), 1.05)'),
            ('    mean_x = max(float(np.average(data["x"], weights=w)), 0.05)',
             '    mean_x = max(float(np.average(data["x"], weights=None)), 0.05)'),
            ('    mean_x = max(float(np.average(data["x"], weights=w)), 0.05)',
             '    mean_x = max(float(np.average(data["x"], )), 0.05)'),
            ('    mean_T = float(np.average(data["T"], weights=w))',
             '    mean_T = float(np.average(data["T"], weights=None))'),
            ('    mean_T = float(np.average(data["T"], weights=w))',
             '    mean_T = float(np.average(data["T"], ))'),
            ('    x0 = self._start(data, w)', '    x0 = self._start(data, None)'),
        ]],
        ('        return ipa_table(survey, derived, "stated", crosshair, level)',
         '        return ipa_table(survey, None, "stated", crosshair, level)',
         "stated importance never reads the derived table"),
    ]],
    (r"to_numpy\(dtype=float\)", "to_numpy(dtype=None)", _FLOATS),
    (r"\.astype\(float\)", ".astype(None)", _FLOATS),
    (r"np\.full_like\(p, np\.nan\)", "np.full_like(p, None)",
     "None cast to the float array's dtype is NaN"),
    (r"dtype=object\)", "dtype=None)", "np.full with the fill value None makes an object array"),
    (r", None, dtype=object\)", ", None, )", "np.full with the fill value None makes an object "
                                              "array"),
    (r"\* sign", "/ sign", "sign is +1 or -1: dividing by it is multiplying by it"),
    (r'zero_method="wilcox"', 'zero_method="WILCOX"', "scipy reads zero_method case-insensitively"),
    (r', zero_method="wilcox"', ", ", "'wilcox' is scipy's default zero_method"),
    (r'nan_policy="listwise"', "", "the rows with a missing item are dropped just before: "
                                   "listwise has nothing left to drop"),
    (r"rowvar=False", "rowvar=None", "None is falsy like False: columns are the variables"),
    (r"n_factor=1, ", "", "1 is statsmodels Factor's default n_factor"),
    (r'method="ml"', 'method="ML"', "statsmodels lower-cases the method name"),
    (r"nobs=len\(data\)", "nobs=None", "nobs only scales the standard errors of the loadings, "
                                        "which are not used"),
    (r", nobs=len\(data\)", ", ", "nobs only scales the standard errors of the loadings, "
                                   "which are not used"),
    (r"^    sd = data\.std\(ddof=1\)\.to_numpy\(\)$", None,
     "a different ddof scales every item's sd by the same factor: omega is scale-free and only "
     "the loadings' signs are read"),
    (r"^    chunk = max\(1, 2_000_000 // len\(d\)\)  # bound memory on large surveys$", None,
     "the chunk size only bounds memory: the draws are the same in one block or several"),
    (r"^    return min\(1\.0, 2\.0 / 2\.0 \*\* n\)$", "    return min(2.0, 2.0 / 2.0 ** n)",
     "called with n >= 1 only (n >= 2 from paired_gap), where 2/2^n <= 1"),
    (r"d\[0\]", "d[1]", "all differences are equal in this branch: d[1] is d[0]"),
    (r'^\s*if "p_unc" in w else w\["p-unc"\]\.iloc\[0\]\)\)$', None,
     "the installed pingouin (0.7) names the column p_unc; the p-unc fallback for older "
     "versions is not reached"),
    (r"^        if long\[\"gap\"\]\.nunique\(\) > 1:$", '        if long["gap"].nunique() >= 1:',
     "scipy's Kruskal-Wallis returns NaN itself when every value is the same"),
    (r"^    if np\.any\(d != 0\):$", "    if np.any(d != 1):",
     "the spread is positive here, so the differences are not all 1"),
    (r'^        out\["wilcoxon_p"\] = 1\.0$', None,
     "not reached: the spread is positive here, so some difference is non-zero"),
    *[(pat, repl, "only the two largest counts are read, not their categories: the order "
                  "of tied counts does not matter")
      for pat, repl in ((r'kind="stable"', "kind=None"), (r'kind="stable"', 'kind="STABLE"'),
                        (r', kind="stable"', ", "))],
    (r"^    nan = \(np\.nan, pd\.Series\(np\.nan, index=data\.columns, dtype=float\)\)$", None,
     "the loadings of an undefined model are read only for negative signs, and NaN (or an "
     "empty Series) has none"),
    (r'^        note = ""$', "        note = None",
     "filter(None, ...) drops an empty note and None alike"),
    (r"if rest\.shape\[1\] >= 2 else", "if (rest.shape[1] >= 2) or True else",
     "cronbach_alpha returns NaN for a single column itself"),
    (r"min\(lo, num / aomi\)", "min(lo, num * aomi)",
     "Wilson's lower end lies far below num/aomi unless num = 0, where num*aomi = num/aomi = 0"),
    (r", clear_winner=False\)", ", )",
     "with no answers Fong's test returns False already (0 >= NaN is false)"),
    (r"kano_functional is None or survey\.kano_dysfunctional is None",
     "kano_functional is None and survey.kano_dysfunctional is None",
     "the survey loader accepts Kano columns only in KF_/KD_ pairs: both are None or neither"),
    *[(r'^    sign = 1 if row\["direction"\] == "up" else -1$', repl,
       "only the sign of sign * effect is read") for repl in (
        '    sign = 2 if row["direction"] == "up" else -1',
        '    sign = 1 if row["direction"] == "up" else -2')],
    *[(r'np\.where\(df\["t"\] >= 1, c\.run_monthly, 0\.0\)', repl,
       "month 1 is the start month, in which every phase runs (the plan rejects an end before "
       "the start), so run costs never apply at t = 1") for repl in (
        'np.where(df["t"] > 1, c.run_monthly, 0.0)', 'np.where(df["t"] >= 2, c.run_monthly, 0.0)')],
    *[(r'aggfunc="sum", fill_value=0\.0\)', repl,
       "the benefit columns are filled with 0 after the merge just below")
      for repl in ('aggfunc="sum", fill_value=None)', 'aggfunc="sum", )')],
    *[(r'\.reindex\(columns=\["direct", "indirect"\], fill_value=0\.0\)', repl,
       "the benefit columns are filled with 0 after the merge just below")
      for repl in ('.reindex(columns=["direct", "indirect"], fill_value=None)',
                   '.reindex(columns=["direct", "indirect"], )')],
    *[(r'costs\.merge\(b, on=\["phase", "t"\], ', repl,
       "phase and t are the only columns costs and benefits share")
      for repl in ("costs.merge(b, on=None, ", "costs.merge(b, ")],
    *[(r'net\.loc\[net\["t"\] == 0\]', repl,
       "month 1 falls in the start month, like t = 0, so the first month is the same")
      for repl in ('net.loc[net["t"] != 0]', 'net.loc[net["t"] == 1]')],
    (r'^\s*with np\.errstate\(divide="ignore", invalid="ignore"\):$', None,
     "np.errstate only decides whether numpy warns; the values are the same"),
    (r"1e300", "1e+300", "the same number written differently"),
    (r"1e200", "1e+200", "the same number written differently"),
    (r"np\.full\(3, np\.nan\)", "np.full(4, np.nan)", "only the first three entries are read"),
    (r'rows\[-1\]\["p_npv_positive"\]', 'rows[-2]["p_npv_positive"]',
     "the last two rows, npv and roi at the longest horizon, carry the same P(NPV > 0)"),
    *[(r'ln\.groupby\("kpi", sort=False\)', repl,
       "the groups are re-indexed by the KPI order just after (.loc[kpis])")
      for repl in ('ln.groupby("kpi", sort=None)', 'ln.groupby("kpi", )',
                   'ln.groupby("kpi", sort=True)')],
    *[(pat, repl, "effect and s.e. are the same in every month of a KPI's lines")
      for pat, repl in ((r'g\["effect"\]\.iloc\[0\]', 'g["effect"].iloc[1]'),
                        (r'g\["se"\]\.iloc\[0\]', 'g["se"].iloc[1]'))],
    (r'after = lines\["units"\] > 0', 'after = lines["units"] >= 0',
     "where there are no units the money per unit of effect is 0, scaled or not"),
    (r'^\s*with np\.errstate\(invalid="ignore", divide="ignore"\):$', None,
     "np.errstate only decides whether numpy warns; the values are the same"),
    (r"for k in ks if k < self\.reference\]", "for k in ks if k <= self.reference]",
     "the reference month is not among ks"),
    (r"R\[j, names\.index\(name\)\] = 1\.0", "R[j, names.index(name)] = 2.0",
     "a Wald test of 2b = 0 is the test of b = 0"),
    (r"absorb: bool = True\)", "absorb: bool = False)",
     "absorbed fixed effects give the dummy-variable estimates (test_absorbed_fixed_effects_"
     "equal_dummy_variables)"),
    *[(r'np\.argsort\(self\.codes, kind="stable"\)', repl,
       "the order within a group only changes the order of a sum")
      for repl in ("np.argsort(self.codes, kind=None)", "np.argsort(self.codes, )",
                   'np.argsort(self.codes, kind="STABLE")')],
    (r'model\.fit\(method="qr", \*\*kw\)', "model.fit(**kw)",
     "statsmodels' default pinv and QR give the same least squares on a full-rank design"),
    *[(r"both\.iloc\[:, %d\]\.mean\(\) if n else" % i,
       "both.iloc[:, %d].mean() if (n) or True else" % i,
       "pandas' mean of no values is NaN already, without a warning") for i in (0, 1)],
    *[(r"^" + re.escape(line) + r"$", None,
       "a start value of the optimiser: the maximum it converges to is the same (the fit "
       "matches the published CDNOW estimates to 1e-3)") for line in (
        '    mean_m = float(np.average(data["m"], weights=w))',
        "    p, q = 1.0, 3.0",
        "    return np.log([p, q, mean_m * (q - 1) / p])")],
    (r"self\._start\(data, w\), w\.sum\(\)\)", "self._start(data, w), None)",
     "the base class's _optimise does not read n"),
    (r"self\._start\(data, w\), w\.sum\(\)\)", "self._start(data, None), w.sum())",
     "a start value of the optimiser: the maximum it converges to is the same"),
    (r'float\("inf"\)', 'float("INF")', "float() reads 'INF' as infinity too"),
    (r"sort=False\)", "sort=None)", "pandas reads sort=None as False"),
    (r"m = np\.where\(x > 0, m, 0\.0\)", "m = np.where(x > 0, m, 1.0)",
     "the replaced m only meets x = 0, and 0 * 1.0 = 0 * 0.0"),
    # any change to this line (replacement None)
    (r"^    if not \(np\.any\(f < 0\) and np\.any\(f > 0\)\):$", None,
     "npf.irr returns NaN itself when the flows never change sign (no positive root, by "
     "Descartes' rule of signs); the guard only saves the call"),
]

# Notes on survivors that are neither killed nor equivalent, printed under their module.
NOTES = {
    "crmlib/clv/value.py": "The `_cumulative` survivors move the quarterly knots of the "
                           "parameter draws (`DRAW_STEP`); E[Y(t)] stays within the documented "
                           "1e-4 of the exact values, which is the accuracy the draws promise.",
    "crmlib/clv/models/bgnbd.py": "Real, not yet killed: `simulate_bgnbd`'s `modified` and "
                                  "`resolution` branches (no BG/NBD-area test simulates with "
                                  "them) and the `restore(...)` arguments, which only decide "
                                  "whether a Series or an array comes back.",
    "crmlib/satisfaction/reliability.py": "Real, not killed: `lam < 0` → `lam <= 0` (a fitted "
                                          "loading of exactly zero is not reachable from data), "
                                          "an estimate exactly on an end of its percentile "
                                          "interval (the test's edge case lands a rounding step "
                                          "inside) and the default `n_boot = 200` (a test of the "
                                          "default "
                                          "would refit 200 models for every mutant). Found on "
                                          "the way: statsmodels 0.15's `Factor.fit` draws its "
                                          "starting values from fresh entropy, so on a handful "
                                          "of respondents omega and a weak loading's sign can "
                                          "differ between runs.",
    "crmlib/roi/risk.py": "Real, not killed: the defaults `n = 10_000` and `n_irr = 1000` (a test "
                          "of them would simulate 10,000 draws per mutant); the year term of "
                          "`simulate`'s offset (the cross-year test compares a mean NPV to 1 %, "
                          "too loose for the second phase's share); group order in "
                          "`pv_by_line` (read by the benefits view, not by the NPV); boundaries "
                          "at exactly 0 (`cum >= 0`, `npv > 0`) and `units > 1`.",
    "crmlib/roi/effects.py": "Run against the estimator tests only (`test_roi_effects.py`, "
                             "`test_roi_effects_edges.py`). Real, not killed: most are names of "
                             "dummy columns and design-matrix labels that only the dummy-variable "
                             "path reads, the stacked-sample (`stack`) dummy path, the `pinv` "
                             "fallback (reached only when QR fails) and `twfe_demean`'s "
                             "tolerance arithmetic.",
    "crmlib/clv/models/gamma_gamma.py": "Real, not killed: the words of the input-check "
                                        "messages (tests match the message, which the XX-wrapped "
                                        "text still contains), the `restore(...)` arguments "
                                        "(they decide whether a Series or an array comes back), "
                                        "`_finish(theta, None, w)` (data are read only without a "
                                        "cached gradient) and the constant of `(px - 1) * ln m` "
                                        "in the log-likelihood: the test that checks "
                                        "`log_likelihood_` reads the module-scoped CDNOW fit, "
                                        "which mutmut credits only to the first test that "
                                        "built it, so that test is not rerun for `_negll`.",
    "crmlib/satisfaction/gaps.py": "Real, not killed: `p_adj < significance` → `<=` and "
                                   "`gap < 0` → `<=` (a p-value exactly at the level, a mean "
                                   "gap of exactly 0), an all-zero-weight resample in "
                                   "`_lift_ci` (only a warning differs) and the empty-column "
                                   "branch of `value_weighted_gaps`.",
}

STATUSES = ("killed", "survived", "timeout", "no tests", "suspicious", "skipped",
            "segfault", "not checked", "check was interrupted by user")


def _config(module: str, tests: list[str]) -> str:
    lines = ["", "[tool.mutmut]", 'source_paths = ["crmlib"]', f"only_mutate = [{module!r}]",
             'pytest_add_cli_args = ["-p", "no:xdist", "-p", "no:cacheprovider"]',
             f"pytest_add_cli_args_test_selection = {json.dumps(tests)}",
             f"do_not_mutate_patterns = {json.dumps(NOT_MUTATED)}"]
    return "\n".join(lines) + "\n"


def _workdir(module: str, tests: list[str]) -> Path:
    d = WORK / module.removesuffix(".py").replace("/", "_")
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "crmlib", d / "crmlib", ignore=ignore)
    shutil.copytree(ROOT / "tests", d / "tests", ignore=ignore)
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    (d / "pyproject.toml").write_text(text + _config(module, tests), encoding="utf-8")
    return d


# Statuses and diffs of every mutant, read with mutmut's own functions in one process
# (``mutmut results`` / ``mutmut show`` would start one process per mutant).
_READ = """
import json
from mutmut.__main__ import SourceFileMutationData, status_by_exit_code, walk_mutatable_files
from mutmut.mutation.diff_apply import get_diff_for_mutant
out = {}
for path in walk_mutatable_files():
    m = SourceFileMutationData(path=path)
    m.load()
    for k, v in m.exit_code_by_key.items():
        status = status_by_exit_code[v]
        out[k] = [status, "" if status == "killed" else get_diff_for_mutant(k, path=m.path)]
print(json.dumps(out))
"""


def _run(d: Path, *cmd: str) -> str:
    # data and reference files are read from the project, not from the copy
    env = {**os.environ, "CRM_HOME": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    r = subprocess.run(list(cmd), cwd=d, env=env, capture_output=True, text=True)
    if r.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(cmd[:3])} failed in {d}:\n{r.stdout[-3000:]}"
                           f"\n{r.stderr[-3000:]}")
    return r.stdout


def _changed_lines(diff: str) -> str:
    return "\n".join(l for l in diff.splitlines() if re.match(r"^[-+][^-+]", l))


def run_module(module: str, tests: list[str]) -> dict:
    """Mutate one module, run its mutants, return counts and the survivors' diffs."""
    d = _workdir(module, tests)
    t0 = time.time()
    _run(d, str(MUTMUT), "run", "--max-children", "1")
    seconds = time.time() - t0
    found = json.loads(_run(d, sys.executable, "-c", _READ))
    counts = {s: sum(v[0] == s for v in found.values()) for s in STATUSES}
    survivors = [{"name": n, "status": st, "diff": _changed_lines(diff)}
                 for n, (st, diff) in found.items() if st in ("survived", "no tests", "suspicious")]
    shutil.rmtree(d, ignore_errors=True)
    return {"module": module, "tests": tests, "mutants": len(found), "counts": counts,
            "survivors": survivors, "seconds": round(seconds, 1),
            "commit": _commit(), "date": time.strftime("%Y-%m-%d")}


def _commit() -> str:
    r = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                       text=True)
    return r.stdout.strip() or "?"


def _equivalent(module: str, diff: str) -> str | None:
    """The reason a surviving mutant is equivalent, or None."""
    minus = [l[1:] for l in diff.splitlines() if l.startswith("-")]
    plus = [l[1:] for l in diff.splitlines() if l.startswith("+")]
    if len(minus) != 1 or len(plus) != 1:
        return None
    for pattern, repl, why in EQUIVALENT:
        for m in re.finditer(pattern, minus[0]):
            if repl is None or minus[0][:m.start()] + repl + minus[0][m.end():] == plus[0]:
                return why
    return None


def report(results: dict[str, dict]) -> str:
    """Markdown summary: score per module and in total, then every survivor."""
    rows, tot = [], {"mutants": 0, "killed": 0, "equivalent": 0, "survived": 0}
    for module in MODULES:
        r = results.get(module)
        if r is None:
            rows.append(f"| `{module}` | not run yet | | | | | |")
            continue
        c = r["counts"]
        killed = c["killed"] + c["timeout"] + c["segfault"]
        eq = sum(_equivalent(module, s["diff"]) is not None for s in r["survivors"])
        alive = len(r["survivors"]) - eq
        valid = killed + alive
        score = f"{100 * killed / valid:.0f}%" if valid else "–"
        rows.append(f"| `{module}` | {r['mutants']} | {killed} | {alive} | {eq} | {score} | "
                    f"{r['seconds']:.0f} s ({r['commit']}, {r['date']}) |")
        tot["mutants"] += r["mutants"]
        tot["killed"] += killed
        tot["equivalent"] += eq
        tot["survived"] += alive
    valid = tot["killed"] + tot["survived"]
    total = f"{100 * tot['killed'] / valid:.1f}%" if valid else "–"
    out = ["# Mutation testing of the core formula modules", "",
           "`make mutate` (mutmut, `tools/mutate.py`): each module's mutants run against its "
           "area's tests only. Score = killed / (killed + survived), equivalent mutants left "
           "out of both; a timeout counts as killed. Not mutated: `raise …` and "
           "`warnings.warn(…)` lines (messages, not formulas).", "",
           "| module | mutants | killed | survived | equivalent | score | run |",
           "|---|---|---|---|---|---|---|", *rows,
           f"| **total** | {tot['mutants']} | {tot['killed']} | {tot['survived']} | "
           f"{tot['equivalent']} | **{total}** | |", ""]
    rest = [m for m in MODULES if m not in results]
    if rest:
        out += ["Not run yet (each takes minutes on a shared machine); to run them:", "",
                f"    make mutate MODULES='{' '.join(rest)}'", ""]
    for module in MODULES:
        r = results.get(module)
        if not r or not r["survivors"]:
            continue
        out += [f"## `{module}` survivors", "",
                f"Tests: {', '.join(f'`{t}`' for t in r['tests'])}.", ""]
        if module in NOTES:
            out += [NOTES[module], ""]
        for s in r["survivors"]:
            why = _equivalent(module, s["diff"])
            label = f"equivalent: {why}" if why else s["status"]
            out += [f"- `{s['name']}` ({label})", "", "  ```diff",
                    *[f"  {l}" for l in s["diff"].splitlines()], "  ```", ""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("modules", nargs="*", help="modules to mutate (default: all)")
    ap.add_argument("--list", action="store_true", help="list the modules and their tests")
    ap.add_argument("--report-only", action="store_true",
                    help="rewrite mutation.md from mutation.json without running")
    a = ap.parse_args(argv)
    if a.list:
        for m, t in MODULES.items():
            print(m, "->", " ".join(t))
        return 0
    unknown = [m for m in a.modules if m not in MODULES]
    if unknown:
        ap.error(f"not a core module: {unknown}; see --list")
    store = RESULTS / "mutation.json"
    results = json.loads(store.read_text(encoding="utf-8")) if store.exists() else {}
    for module in ([] if a.report_only else (a.modules or list(MODULES))):
        print(f"mutating {module} …", flush=True)
        results[module] = run_module(module, MODULES[module])
        r = results[module]
        print(f"  {r['mutants']} mutants, {r['counts']['killed']} killed, "
              f"{len(r['survivors'])} not killed, {r['seconds']:.0f} s", flush=True)
        store.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n",
                         encoding="utf-8")
        (RESULTS / "mutation.md").write_text(report(results), encoding="utf-8")
    (RESULTS / "mutation.md").write_text(report(results), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
