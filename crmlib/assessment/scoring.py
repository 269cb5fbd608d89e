"""Stage scores per capability, driver and respondent group, with bootstrap intervals.

Scores are mean stages (1–4). A group's score for a capability is the mean of
its respondents' stages; the company's score for a capability averages the
group means (``weighting="group"``: every department and the customers count
equally, so a large sales team does not outvote a small finance team) or all
respondents (``weighting="respondent"``). A driver's score is the mean of its
capabilities' scores; the mean stage is the mean of the driver scores.

**No-skipping rule.** A driver has *reached* base ``b`` when its score is at
least ``b`` (``floor`` of the score). Bases cannot be skipped, so the company
stands on the highest base that *all* drivers have reached: the minimum over
drivers of ``floor(score)``. The same rule places each group on the diamond.

**Intervals.** Percentile bootstrap (Efron & Tibshirani, 1993, ch. 13),
resampling respondents with replacement *within* each group (a stratified
bootstrap keeps group sizes fixed, as the design does). The resampling is our
own vectorised code rather than :func:`scipy.stats.bootstrap` because every
derived figure (capability, driver, group and company scores, the company
base, the staff-versus-customer gap, the gaps to target) must come from the
*same* replicates, with respondents' missing answers kept as missing.

**Anonymity.** A group with fewer respondents than ``min_group_size`` is not
shown on its own (its rows are absent from every group-level table); it still
counts in the company and staff totals.
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from ..io import DataError, DataQualityReport
from ..io.contracts import source_row
from .catalogue import STAGES, driver_order

_EPS = 1e-9
RESPONSES = "assessment responses"
TARGETS = "assessment target stages"


def _first_bad(df: pd.DataFrame, bad: pd.Series, column: str, message: str) -> None:
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(message, file=df.attrs.get("source"), column=column,
                        row=source_row(df, i), value=df[column].iloc[i], more=int(bad.sum()) - 1)


def prepare_responses(responses: pd.DataFrame, catalogue: pd.DataFrame, *,
                      customer_group: str = "Customer", target_stage: int | None = None,
                      quality: DataQualityReport | None = None) -> pd.DataFrame:
    """Check responses against the catalogue and return the rows that enter the analysis.

    Raises :class:`DataError` (file, column, row, value) for a capability not in the
    catalogue or a respondent listed in two groups. Rows without ``current_stage``
    are excluded and counted; rows without ``target_stage`` keep their current stage
    and are counted under ``assessment target stages`` (only when the target comes
    from the responses). The customer group's label is matched case-insensitively
    and written as ``customer_group``.

    Returns columns ``respondent_id, group, capability, driver, current, target``
    (stages as floats, missing target as NaN), indexed by source row.
    """
    df = responses
    unknown = ~df["capability"].isin(catalogue.index)
    _first_bad(df, unknown, "capability",
               f"capability not in the catalogue (known: {', '.join(catalogue.index[:6])}...)")
    groups = df["group"].where(df["group"].str.lower() != customer_group.lower(), customer_group)
    df = df.assign(group=groups)
    n_groups = df.groupby("respondent_id")["group"].transform("nunique")
    _first_bad(df, n_groups > 1, "group", "a respondent appears in more than one group")
    if target_stage is None and "target_stage" not in df.columns:
        raise DataError("no target_stage column: add one or set the target_stage parameter",
                        file=df.attrs.get("source"), column="target_stage")
    missing = df["current_stage"].isna()
    if quality is not None:
        first = source_row(df, int(missing.to_numpy().argmax())) if missing.any() else None
        quality.exclude(RESPONSES, "current_stage missing", int(missing.sum()),
                        f"row {first}" if first else None)
    df = df.loc[~missing]
    if target_stage is None:
        target = df["target_stage"].astype("Float64").astype(float)
        if quality is not None:
            quality.add_read(TARGETS, len(df))
            miss = target.isna()
            first = source_row(df, int(miss.to_numpy().argmax())) if miss.any() else None
            quality.exclude(TARGETS, "target_stage missing (current stage still used)",
                            int(miss.sum()), f"row {first}" if first else None)
    else:
        target = pd.Series(float(target_stage), index=df.index)
    out = pd.DataFrame({"respondent_id": df["respondent_id"].astype(str),
                        "group": df["group"].astype(str),
                        "capability": df["capability"].astype(str),
                        "driver": df["capability"].map(catalogue["driver"]).astype(str),
                        "current": df["current_stage"].astype("Float64").astype(float),
                        "target": target.to_numpy()}, index=df.index)
    out.attrs["source"] = responses.attrs.get("source")
    return out


def resample_counts(rng: np.random.Generator, n: int, n_boot: int) -> np.ndarray:
    """How often each of ``n`` respondents is drawn in each of ``n_boot`` resamples (B × n).

    Drawing n respondents with replacement is a multinomial draw of counts, so a
    resample's statistics are weighted sums (matrix products) rather than copies.
    """
    return rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(float)


def weighted_means(counts: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Column means of ``x`` (n × K, NaN = not answered) in each resample (B × K)."""
    ok = ~np.isnan(x)
    total = counts @ np.where(ok, x, 0.0)
    n = counts @ ok.astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, total / np.where(n > 0, n, 1), np.nan)


def _wmean(x: np.ndarray, w: np.ndarray, axis: int) -> np.ndarray:
    """Weighted mean ignoring NaN in ``x`` (NaN where no weight remains)."""
    w = np.where(np.isnan(x), 0.0, w)
    s = np.nansum(np.where(np.isnan(x), 0.0, x) * w, axis=axis)
    tot = w.sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(tot > 0, s / np.where(tot > 0, tot, 1), np.nan)


def _nanmean(x: np.ndarray, axis: int) -> np.ndarray:
    return _wmean(x, np.ones_like(x), axis)


def stage_base(score: np.ndarray) -> np.ndarray:
    """Base reached: floor of the score (NaN stays NaN)."""
    return np.floor(score + _EPS)


def _as_int(x) -> pd.Series:
    return pd.Series(np.asarray(x, dtype=float)).astype("Int64")


def bootstrap_p(reps: np.ndarray) -> np.ndarray:
    """Two-sided bootstrap p-value of 0 per column, ``2·min((#≤0 + 1), (#≥0 + 1)) / (B + 1)``
    (Davison & Hinkley, 1997, §4.4); NaN for columns without replicates."""
    ok = ~np.isnan(reps)
    B = ok.sum(0)
    lo = ((reps <= 0) & ok).sum(0) + 1
    hi = ((reps >= 0) & ok).sum(0) + 1
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.minimum(1.0, 2 * np.minimum(lo, hi) / (B + 1))
    return np.where(B > 0, p, np.nan)


def bootstrap_summary(point: np.ndarray, boot: np.ndarray, ci: float) -> dict[str, np.ndarray]:
    """Estimate, bootstrap standard error and percentile interval at level ``ci``."""
    lo, hi = (1 - ci) / 2 * 100, (1 + ci) / 2 * 100
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return {"estimate": point, "se": np.nanstd(boot, axis=0, ddof=1),
                "ci_low": np.nanpercentile(boot, lo, axis=0),
                "ci_high": np.nanpercentile(boot, hi, axis=0)}


class StageScorer:
    """Stage scores with stratified-bootstrap intervals and the no-skipping stage rule.

    Parameters
    ----------
    customer_group : label of the customer group; every other group is staff.
    min_group_size : anonymity threshold; smaller groups are not shown on their own.
    n_boot : bootstrap replicates.
    ci : interval level (0.90 gives 5th–95th percentiles).
    weighting : ``"group"`` (each group counts equally in company scores) or
        ``"respondent"`` (each answer counts equally).
    random_state : seed of the bootstrap.

    Attributes (after :meth:`fit`)
    -------------------------------
    groups_ : group, role (staff/customer), n_respondents, shown.
    capability_scores_, driver_scores_ : company scores with se and interval.
    group_capability_scores_, group_driver_scores_, group_stages_ : shown groups only.
    company_stage_ : base reached by the no-skipping rule; ``company_stage_support_`` is the
        share of bootstrap replicates that give the same base.
    mean_stage_, mean_stage_ci_ : mean of the driver scores and its interval.
    staff_customer_gap_ : per capability rated by both, plus ``overall`` (staff − customer).
    notes_ : sentences the report must state (hidden groups, one-respondent groups...).

    References
    ----------
    Efron, B. & Tibshirani, R. (1993). An Introduction to the Bootstrap. Chapman & Hall.
    """

    def __init__(self, *, customer_group: str = "Customer", min_group_size: int = 5,
                 n_boot: int = 2000, ci: float = 0.90, weighting: str = "group",
                 random_state: int | None = 0):
        if weighting not in ("group", "respondent"):
            raise ValueError(f"weighting must be 'group' or 'respondent', got {weighting!r}")
        if int(n_boot) < 100:
            raise ValueError(f"n_boot must be at least 100 for percentile intervals, got {n_boot!r}")
        if not 0 < ci < 1:
            raise ValueError(f"ci must be between 0 and 1, got {ci!r}")
        self.customer_group, self.min_group_size = customer_group, int(min_group_size)
        self.n_boot, self.ci, self.weighting = int(n_boot), float(ci), weighting
        self.random_state = random_state

    # ---- fitting -------------------------------------------------------------------------
    def fit(self, data: pd.DataFrame, catalogue: pd.DataFrame) -> StageScorer:
        """Score ``data`` (from :func:`prepare_responses`) against ``catalogue``."""
        if data.empty:
            raise DataError("no responses with a current stage", file=data.attrs.get("source"),
                            column="current_stage")
        answered = set(data["capability"])
        self.capabilities_ = [c for c in catalogue.index if c in answered]
        self.drivers_ = [d for d in driver_order(catalogue)
                         if d in set(catalogue.loc[self.capabilities_, "driver"])]
        self.catalogue_ = catalogue
        self._set_groups(data)
        cur, tgt = self._matrices(data, "current"), self._matrices(data, "target")
        self._counts = np.stack([(~np.isnan(m)).sum(0) for m in cur])           # G × K
        point_c = np.stack([_nanmean(m, 0) for m in cur])[None]
        point_t = np.stack([_nanmean(m, 0) for m in tgt])[None]
        boot_c, boot_t = self._bootstrap(cur, tgt)
        self.point_ = self._derive(point_c, point_t)
        self.replicates_ = self._derive(boot_c, boot_t)
        self._tables()
        return self

    def _set_groups(self, data: pd.DataFrame) -> None:
        n = data.groupby("group", sort=False)["respondent_id"].nunique()
        staff = sorted(g for g in n.index if g != self.customer_group)
        order = staff + [g for g in n.index if g == self.customer_group]
        g = pd.DataFrame({"group": order, "n_respondents": n.loc[order].to_numpy()})
        g["role"] = np.where(g["group"] == self.customer_group, "customer", "staff")
        g["shown"] = g["n_respondents"] >= self.min_group_size
        self.groups_ = g[["group", "role", "n_respondents", "shown"]]
        self.n_respondents_ = int(g["n_respondents"].sum())
        notes = []
        hidden = g.loc[~g["shown"]]
        if len(hidden):
            notes.append(f"{len(hidden)} group(s) with fewer than {self.min_group_size} "
                         f"respondents ({int(hidden['n_respondents'].sum())} respondents in all) "
                         "are not shown on their own; their answers count in the company and "
                         "staff totals.")
        if len(hidden) == 1:
            notes.append("With exactly one group hidden, its mean could be inferred from the "
                         "total and the groups shown; merge small groups if that matters.")
        if self.customer_group not in set(g["group"]):
            notes.append(f"No '{self.customer_group}' group in the responses (groups: "
                         f"{', '.join(order)}): every group counts as staff and the staff-versus-"
                         "customer gap is not computed.")
        self.notes_ = notes

    def _matrices(self, data: pd.DataFrame, column: str) -> list[np.ndarray]:
        out = []
        for group in self.groups_["group"]:
            wide = (data.loc[data["group"] == group]
                    .pivot_table(index="respondent_id", columns="capability", values=column,
                                 aggfunc="first", dropna=False)
                    .reindex(columns=self.capabilities_))
            ids = data.loc[data["group"] == group, "respondent_id"].unique()
            out.append(wide.reindex(ids).to_numpy(dtype=float))
        return out

    def _bootstrap(self, cur: list[np.ndarray], tgt: list[np.ndarray]):
        rng = np.random.default_rng(self.random_state)
        B, K = self.n_boot, len(self.capabilities_)
        bc = np.empty((B, len(cur), K))
        bt = np.empty((B, len(cur), K))
        for gi, (c, t) in enumerate(zip(cur, tgt)):
            w = resample_counts(rng, len(c), B)
            bc[:, gi], bt[:, gi] = weighted_means(w, c), weighted_means(w, t)
        return bc, bt

    # ---- derived quantities (leading axis = replicate) ---------------------------------
    def _derive(self, M: np.ndarray, T: np.ndarray) -> dict[str, np.ndarray]:
        G = self.groups_
        w = self._counts.astype(float) if self.weighting == "respondent" else \
            (self._counts > 0).astype(float)
        w = np.broadcast_to(w, M.shape)
        caps = np.array([self.catalogue_.loc[c, "driver"] for c in self.capabilities_])
        out: dict[str, Any] = {"group_capability": M}
        out["capability"] = _wmean(M, w, 1)
        out["target"] = _wmean(T, w, 1)
        out["target_gap"] = out["target"] - out["capability"]
        out["driver"] = np.stack([_nanmean(out["capability"][:, caps == d], 1)
                                  for d in self.drivers_], -1)
        out["mean_stage"] = _nanmean(out["driver"], 1)
        out["company_stage"] = np.nanmin(stage_base(out["driver"]), axis=1)
        gd = np.stack([_nanmean(M[:, :, caps == d], 2) for d in self.drivers_], -1)
        out["group_driver"] = gd
        out["group_mean"] = _nanmean(gd, 2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out["group_stage"] = np.nanmin(stage_base(gd), axis=2)
        staff = (G["role"] == "staff").to_numpy()
        cust = (G["role"] == "customer").to_numpy()
        if staff.any() and cust.any():
            s = _wmean(M[:, staff], w[:, staff], 1)
            c = M[:, cust][:, 0]
            common = (self._counts[staff].sum(0) > 0) & (self._counts[cust][0] > 0)
            gap = np.where(common, s - c, np.nan)
            out["staff"], out["customer"], out["gap"] = s, c, gap
            out["gap_overall"] = _nanmean(gap, 1) if common.any() else np.full(len(M), np.nan)
        return out

    # ---- tables -------------------------------------------------------------------------
    def _stat(self, key: str) -> dict[str, np.ndarray]:
        return bootstrap_summary(self.point_[key][0], self.replicates_[key], self.ci)

    def _tables(self) -> None:
        cat, caps, G = self.catalogue_, self.capabilities_, self.groups_
        shown = G["shown"].to_numpy()
        s = self._stat("capability")
        self.capability_scores_ = pd.DataFrame({
            "capability": caps, "driver": cat.loc[caps, "driver"].to_numpy(),
            "n_respondents": self._counts.sum(0), **s, "base": _as_int(stage_base(s["estimate"]))})
        s = self._stat("driver")
        self.driver_scores_ = pd.DataFrame({"driver": self.drivers_, **s,
                                            "base": _as_int(stage_base(s["estimate"]))})
        self.company_stage_ = int(self.point_["company_stage"][0])
        self.company_stage_support_ = float(np.mean(self.replicates_["company_stage"]
                                                    == self.company_stage_))
        s = self._stat("mean_stage")
        self.mean_stage_ = float(s["estimate"])
        self.mean_stage_se_ = float(s["se"])
        self.mean_stage_ci_ = (float(s["ci_low"]), float(s["ci_high"]))
        self.group_capability_scores_ = self._group_long("group_capability", caps, "capability",
                                                         shown, counts=True)
        self.group_driver_scores_ = self._group_long("group_driver", self.drivers_, "driver",
                                                     shown)
        self.group_driver_scores_["base"] = _as_int(stage_base(self.group_driver_scores_["estimate"]))
        s = self._stat("group_mean")
        gs = pd.DataFrame({"group": G["group"], "role": G["role"],
                           "n_respondents": G["n_respondents"], **s,
                           "base": _as_int(self.point_["group_stage"][0])})
        gs["support"] = np.mean(self.replicates_["group_stage"]
                                == self.point_["group_stage"], axis=0)
        self.group_stages_ = gs.loc[shown].reset_index(drop=True)
        self.staff_customer_gap_ = self._gap_table()

    def _group_long(self, key: str, names: list[str], label: str, shown: np.ndarray,
                    counts: bool = False) -> pd.DataFrame:
        s = self._stat(key)
        rows = []
        for gi, g in enumerate(self.groups_["group"]):
            if not shown[gi]:
                continue
            for j, name in enumerate(names):
                row = {"group": g, label: name, **{k: v[gi, j] for k, v in s.items()}}
                if counts:
                    row["n"] = int(self._counts[gi, j])
                rows.append(row)
        cols = ["group", label, "estimate", "se", "ci_low", "ci_high"] + (["n"] if counts else [])
        df = pd.DataFrame(rows, columns=cols)
        if label == "capability":
            df.insert(2, "driver", df["capability"].map(self.catalogue_["driver"]))
        return df.dropna(subset=["estimate"]).reset_index(drop=True)

    def _gap_table(self) -> pd.DataFrame:
        cols = ["capability", "driver", "staff", "customer", "estimate", "se", "ci_low", "ci_high",
                "p_boot"]
        G = self.groups_
        cust = G.loc[G["role"] == "customer"]
        if "gap" not in self.point_:
            return pd.DataFrame(columns=cols)
        if not bool(cust["shown"].iloc[0]):
            self.notes_.append(f"The '{self.customer_group}' group has fewer than "
                               f"{self.min_group_size} respondents: the staff-versus-customer "
                               "gap is not shown.")
            return pd.DataFrame(columns=cols)
        s = self._stat("gap")
        df = pd.DataFrame({"capability": self.capabilities_,
                           "driver": self.catalogue_.loc[self.capabilities_, "driver"].to_numpy(),
                           "staff": self.point_["staff"][0], "customer": self.point_["customer"][0],
                           **s, "p_boot": bootstrap_p(self.replicates_["gap"])})
        df = df.dropna(subset=["estimate"])
        o = self._stat("gap_overall")
        common = df["capability"]
        overall = {"capability": "overall", "driver": "",
                   "staff": float(np.nanmean(df["staff"])) if len(common) else np.nan,
                   "customer": float(np.nanmean(df["customer"])) if len(common) else np.nan,
                   **{k: float(v) for k, v in o.items()},
                   "p_boot": float(bootstrap_p(self.replicates_["gap_overall"][:, None])[0])}
        return pd.concat([df, pd.DataFrame([overall])], ignore_index=True)

    # ---- outputs ------------------------------------------------------------------------
    def summary(self) -> pd.DataFrame:
        """Company-level figures: mean stage, each driver, the staff–customer gap, each capability."""
        rows = [{"quantity": "mean stage", "estimate": self.mean_stage_, "se": self.mean_stage_se_,
                 "ci_low": self.mean_stage_ci_[0], "ci_high": self.mean_stage_ci_[1]}]
        for _, r in self.driver_scores_.iterrows():
            rows.append({"quantity": f"driver: {r['driver']}",
                         **{k: r[k] for k in ("estimate", "se", "ci_low", "ci_high")}})
        gap = self.staff_customer_gap_
        if len(gap):
            r = gap.iloc[-1]
            rows.append({"quantity": "staff − customer gap",
                         **{k: r[k] for k in ("estimate", "se", "ci_low", "ci_high")}})
        for _, r in self.capability_scores_.iterrows():
            rows.append({"quantity": f"capability: {r['capability']}",
                         **{k: r[k] for k in ("estimate", "se", "ci_low", "ci_high")}})
        return pd.DataFrame(rows)

    def stage_statement(self) -> str:
        """One sentence stating the company's base and the rule that gives it."""
        d = self.driver_scores_
        low = d.loc[d["estimate"].idxmin()]
        b = self.company_stage_
        name = STAGES.get(b, "below the first base")
        return (f"The company stands on base {b} ({name}) by the no-skipping rule: a base counts "
                "as reached only when every driver's mean stage is at least that base, and the "
                f"lowest driver is {low['driver']} at {low['estimate']:.2f} "
                f"({self.ci:.0%} interval {low['ci_low']:.2f}–{low['ci_high']:.2f}). "
                f"{self.company_stage_support_:.0%} of bootstrap replicates give the same base.")
