"""The assessment over waves: stages per wave, the change since the baseline, bases won or lost.

Each wave is scored on its own by :func:`crmlib.assessment.assess` (its stages and
90% intervals as in a single run). The **change** baseline → latest of every
capability, driver, group mean and the mean stage comes from one percentile
bootstrap (Efron & Tibshirani, 1993, ch. 13) of both waves together, stratified by
group as in :class:`~crmlib.assessment.scoring.StageScorer`:

* **paired** when respondent ids repeat across the two waves: within each group the
  union of both waves' respondents is resampled once per replicate and the same
  draw is used for both waves, so a respondent's two answers stay together (the
  correlation between them narrows the interval). A respondent who answered one
  wave only enters that wave's means only.
* **independent** when no respondent id repeats: each wave's respondents are
  resampled on their own.

The change is latest − baseline (stages); ``p_boot`` is the two-sided bootstrap
p-value of 0 (Davison & Hinkley, 1997, §4.4), ``p_holm`` the same Holm-adjusted
within its level (the capabilities form one family, the drivers another, the groups a
third), as the single-wave tests between groups are. A capability **moved up a base** when
the base of its point estimate (``floor`` of the mean stage) is higher now than at
the baseline, and **fell back** when lower; ``support`` is the share of bootstrap
replicates that agree on that direction of move. The roadmap of the baseline is
marked with what was achieved: a capability the baseline roadmap set to reach
``next_base`` has achieved it when its base now is at least that base.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..display import p_text
from ..io.waves import Wave, waves_table
from ..multitest import holm
from .analysis import Assessment, assess
from .catalogue import STAGES
from .scoring import bootstrap_p, bootstrap_summary, resample_counts, stage_base, weighted_means

LEVELS = ("mean stage", "driver", "capability", "group")
ALPHA = 0.05  # level at which a move is called clear in the sentences


def _holm(p: np.ndarray) -> np.ndarray:
    """Holm-adjusted p-values; missing ones stay missing and do not count in the family."""
    out = np.full(len(p), np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = holm(p[ok])
    return out


def stages_by_wave(assessments: dict[str, Assessment]) -> pd.DataFrame:
    """Long table of every wave's scores: wave, level, name, estimate, interval, base.

    ``level`` is ``mean stage``, ``company base``, ``driver``, ``capability`` or ``group``
    (shown groups only); intervals are each wave's own bootstrap intervals.
    """
    rows = []
    for label, a in assessments.items():
        s = a.scorer
        rows.append({"wave": label, "level": "mean stage", "name": "company",
                     "estimate": s.mean_stage_, "ci_low": s.mean_stage_ci_[0],
                     "ci_high": s.mean_stage_ci_[1], "base": int(np.floor(s.mean_stage_ + 1e-9))})
        rows.append({"wave": label, "level": "company base", "name": "company",
                     "estimate": float(s.company_stage_), "ci_low": np.nan, "ci_high": np.nan,
                     "base": s.company_stage_})
        for level, table, key in (("driver", s.driver_scores_, "driver"),
                                  ("capability", s.capability_scores_, "capability"),
                                  ("group", s.group_stages_, "group")):
            for r in table.itertuples():
                rows.append({"wave": label, "level": level, "name": getattr(r, key),
                             "estimate": r.estimate, "ci_low": r.ci_low, "ci_high": r.ci_high,
                             "base": int(r.base) if not pd.isna(r.base) else pd.NA})
    out = pd.DataFrame(rows)
    out["base"] = out["base"].astype("Int64")
    return out


class StageChange:
    """Change of the stage scores from a baseline wave to a later one, with bootstrap intervals.

    Parameters
    ----------
    n_boot : bootstrap replicates.
    ci : interval level (0.90 gives the 5th–95th percentiles, as the single-wave scores).
    random_state : seed of the bootstrap.

    Attributes (after :meth:`fit`)
    -------------------------------
    paired_ : whether respondent ids repeat (the paired bootstrap was used).
    n_shared_ : respondents in both waves.
    change_ : one row per level and name: baseline, latest, change, se, ci_low, ci_high,
        p_boot, base_baseline, base_latest, movement, support.
    replicates_ : level -> (B × K) bootstrap replicates of the change (columns as in
        ``change_``), for checks.

    References
    ----------
    Efron, B. & Tibshirani, R. (1993). An Introduction to the Bootstrap. Chapman & Hall.
    Davison, A. C. & Hinkley, D. V. (1997). Bootstrap Methods and their Application. CUP.
    """

    def __init__(self, *, n_boot: int = 2000, ci: float = 0.90, random_state: int | None = 0):
        if int(n_boot) < 100:
            raise ValueError(f"n_boot must be at least 100, got {n_boot!r}")
        if not 0 < ci < 1:
            raise ValueError(f"ci must be between 0 and 1, got {ci!r}")
        self.n_boot, self.ci, self.random_state = int(n_boot), float(ci), random_state

    def fit(self, baseline: Assessment, latest: Assessment) -> StageChange:
        """Compare two waves scored by :func:`~crmlib.assessment.assess`."""
        shared = (set(baseline.data["respondent_id"]) & set(latest.data["respondent_id"]))
        self.n_shared_, self.paired_ = len(shared), bool(shared)
        rng = np.random.default_rng(self.random_state)
        reps = self._replicates(baseline, latest, rng)
        self.replicates_, rows = {}, []
        for level, key, names_b, names_l in self._levels(baseline, latest):
            both = [n for n in names_l if n is not None and n in names_b]
            jb = [names_b.index(n) for n in both]
            jl = [names_l.index(n) for n in both]
            names = [names_l[j] for j in jl]
            pb = np.atleast_1d(baseline.scorer.point_[key][0])[jb]
            pl = np.atleast_1d(latest.scorer.point_[key][0])[jl]
            rb = reps[0][key].reshape(self.n_boot, -1)[:, jb]
            rl = reps[1][key].reshape(self.n_boot, -1)[:, jl]
            self.replicates_[level] = rl - rb
            rows.append(self._rows(level, names, pb, pl, rb, rl))
        self.change_ = pd.concat(rows, ignore_index=True)
        return self

    @staticmethod
    def _levels(b: Assessment, lt: Assessment):
        shown_b = b.scorer.groups_.loc[b.scorer.groups_["shown"], "group"].tolist()
        shown_l = lt.scorer.groups_.loc[lt.scorer.groups_["shown"], "group"].tolist()
        all_b, all_l = b.scorer.groups_["group"].tolist(), lt.scorer.groups_["group"].tolist()
        return [("mean stage", "mean_stage", ["company"], ["company"]),
                ("driver", "driver", b.scorer.drivers_, lt.scorer.drivers_),
                ("capability", "capability", b.scorer.capabilities_, lt.scorer.capabilities_),
                ("group", "group_mean", [g if g in shown_b else None for g in all_b],
                 [g if g in shown_l else None for g in all_l])]

    def _replicates(self, b: Assessment, lt: Assessment, rng: np.random.Generator):
        """Bootstrap both waves with one stratified draw per group (shared when paired)."""
        waves = [(a, a.scorer._matrices(a.data, "current"), a.scorer._matrices(a.data, "target"),
                  [a.data.loc[a.data["group"] == g, "respondent_id"].unique()
                   for g in a.scorer.groups_["group"]]) for a in (b, lt)]
        groups = list(dict.fromkeys(b.scorer.groups_["group"].tolist()
                                    + lt.scorer.groups_["group"].tolist()))
        B = self.n_boot
        out = [[np.empty((B, len(w[1]), len(w[0].scorer.capabilities_))) for _ in range(2)]
               for w in waves]
        for g in groups:
            pos = [w[0].scorer.groups_["group"].tolist().index(g)
                   if g in set(w[0].scorer.groups_["group"]) else None for w in waves]
            if self.paired_:
                ids = list(dict.fromkeys([i for w, p in zip(waves, pos) if p is not None
                                          for i in w[3][p]]))
                W = resample_counts(rng, len(ids), B)
                at = {i: k for k, i in enumerate(ids)}
                draws = [None if p is None else W[:, [at[i] for i in w[3][p]]]
                         for w, p in zip(waves, pos)]
            else:
                draws = [None if p is None else resample_counts(rng, len(w[3][p]), B)
                         for w, p in zip(waves, pos)]
            for k, (w, p, D) in enumerate(zip(waves, pos, draws)):
                if p is not None and D is not None:   # D is None exactly when p is
                    out[k][0][:, p] = weighted_means(D, w[1][p])
                    out[k][1][:, p] = weighted_means(D, w[2][p])
        return [w[0].scorer._derive(c, t) for w, (c, t) in zip(waves, out)]

    def _rows(self, level, names, pb, pl, rb, rl) -> pd.DataFrame:
        s = bootstrap_summary(pl - pb, rl - rb, self.ci)
        base_b, base_l = stage_base(pb), stage_base(pl)
        up, down = base_l > base_b, base_l < base_b
        with np.errstate(invalid="ignore"):
            r_up = (stage_base(rl) > stage_base(rb)).mean(0)
            r_down = (stage_base(rl) < stage_base(rb)).mean(0)
        df = pd.DataFrame({"level": level, "name": names, "baseline": pb, "latest": pl,
                           "change": s["estimate"], "se": s["se"], "ci_low": s["ci_low"],
                           "ci_high": s["ci_high"], "p_boot": bootstrap_p(rl - rb),
                           "p_holm": _holm(bootstrap_p(rl - rb)),
                           "base_baseline": pd.array(base_b, dtype="Int64"),
                           "base_latest": pd.array(base_l, dtype="Int64")})
        df["movement"] = np.select([up, down], ["up a base", "fell back"], "same base")
        df["support"] = np.where(up, r_up, np.where(down, r_down, 1 - r_up - r_down))
        return df.dropna(subset=["change"]) if level == "group" else df

    def moved(self, direction: str = "up a base") -> pd.DataFrame:
        """Capabilities that moved up a base (``"up a base"``) or fell back (``"fell back"``)."""
        c = self.change_
        return c.loc[(c["level"] == "capability") & (c["movement"] == direction)].reset_index(
            drop=True)

    def group_movement(self) -> pd.DataFrame:
        """Groups shown in both waves: mean stage and base at the baseline and now (diamond)."""
        g = self.change_.loc[self.change_["level"] == "group"]
        return g.rename(columns={"name": "group"})[
            ["group", "baseline", "latest", "change", "ci_low", "ci_high", "base_baseline",
             "base_latest"]].reset_index(drop=True)


def roadmap_progress(baseline_roadmap: pd.DataFrame, change: pd.DataFrame) -> pd.DataFrame:
    """The baseline's roadmap marked with what was achieved since.

    Adds ``current_now`` and ``base_now`` (latest wave), the change and its interval, and
    ``progress``: ``achieved`` (a capability to work on now stands on its ``next_base``),
    ``not yet``, ``fell back`` (base lower than at the baseline), ``held`` (a ``maintain``
    capability kept its base) or ``not rated`` (absent from the latest wave).
    """
    c = change.loc[change["level"] == "capability"].set_index("name")
    rm = baseline_roadmap.copy()
    rm["current_now"] = rm["capability"].map(c["latest"])
    rm["base_now"] = rm["capability"].map(c["base_latest"]).astype("Int64")
    for col in ("change", "ci_low", "ci_high"):
        rm[f"{col}_since" if col == "change" else f"change_{col}"] = rm["capability"].map(c[col])
    base_then = np.floor(rm["current"] + 1e-9)
    now = rm["base_now"].astype(float)
    work = rm["status"] == "work"
    reached = now >= rm["next_base"].astype(float)
    rm["progress"] = np.select(
        [now.isna(), now < base_then, work & reached, work], ["not rated", "fell back",
                                                              "achieved", "not yet"], "held")
    first = ["rank", "capability", "driver", "status", "next_base", "current", "current_now",
             "base_now", "change_since", "change_ci_low", "change_ci_high", "progress", "action"]
    return rm[first]


def movement_sentences(change: StageChange) -> list[str]:
    """Plain sentences: the mean stage's change and the capabilities that moved a base."""
    c = change.change_
    m = c.loc[c["level"] == "mean stage"].iloc[0]
    lvl = f"{change.ci:.0%}"
    out = [f"The mean stage moved from {m['baseline']:.2f} to {m['latest']:.2f} "
           f"({m['change']:+.2f}; {lvl} interval {m['ci_low']:+.2f} to {m['ci_high']:+.2f}, "
           f"{'paired by respondent' if change.paired_ else 'independent samples'})."]
    for direction, verb in (("up a base", "moved up"), ("fell back", "fell back")):
        for r in change.moved(direction).itertuples():
            out.append(f"{r.name.replace('_', ' ')} {verb} from base {r.base_baseline} "
                       f"({STAGES.get(r.base_baseline, 'below base 1')}) to base "
                       f"{r.base_latest} ({STAGES.get(r.base_latest, 'below base 1')}): "
                       f"{r.baseline:.2f} → {r.latest:.2f}, change {r.change:+.2f} ({lvl} "
                       f"interval {r.ci_low:+.2f} to {r.ci_high:+.2f}; {r.support:.0%} of "
                       "replicates agree on the move" + (
                           "; not clear once all "
                           f"capabilities are tested together, Holm-adjusted p {p_text(r.p_holm)}"
                           if r.p_holm >= ALPHA else "") + ").")
    return out


def waves_payload(labels: Sequence[str], stages: pd.DataFrame, change: StageChange,
                  progress: pd.DataFrame) -> dict:
    """The ``over_time`` entry of ``results.json`` (added only when there are two waves or more)."""
    c = change.change_

    def rec(level):
        return {r["name"]: {k: (None if pd.isna(r[k]) else (int(r[k]) if k.startswith("base_")
                                                             else r[k]))
                            for k in ("baseline", "latest", "change", "ci_low", "ci_high",
                                      "p_boot", "p_holm", "base_baseline", "base_latest",
                                      "movement", "support")}
                for _, r in c.loc[c["level"] == level].iterrows()}

    ms = stages.loc[stages["level"] == "mean stage"]
    base = stages.loc[stages["level"] == "company base"]
    return {"waves": list(labels), "baseline": labels[0], "latest": labels[-1],
            "design": "paired" if change.paired_ else "independent",
            "n_shared_respondents": change.n_shared_, "ci_level": change.ci,
            "mean_stage_by_wave": dict(zip(ms["wave"], ms["estimate"])),
            "company_stage_by_wave": dict(zip(base["wave"], base["base"].astype(int))),
            "mean_stage_change": rec("mean stage")["company"],
            "driver_change": rec("driver"), "capability_change": rec("capability"),
            "group_change": rec("group"),
            "moved_up_a_base": change.moved("up a base")["name"].tolist(),
            "fell_back": change.moved("fell back")["name"].tolist(),
            "roadmap_achieved": progress.loc[progress["progress"] == "achieved",
                                             "capability"].tolist(),
            "sentences": movement_sentences(change)}


ONE_WAVE = ("One wave of responses: this run is the baseline. A later run with a follow-up "
            "wave will show what changed since.")


@dataclass
class WaveComparison:
    """The assessment over waves: the waves, every wave's scores, the change, the roadmap's progress."""

    labels: list[str]
    waves: pd.DataFrame
    assessments: dict[str, Assessment]
    stages: pd.DataFrame
    change: StageChange
    progress: pd.DataFrame

    def payload(self) -> dict:
        """The ``over_time`` entry of ``results.json``."""
        out = waves_payload(self.labels, self.stages, self.change, self.progress)
        out["waves_table"] = self.waves.astype({"date": "string"}).to_dict("records")
        return out

    def tables(self) -> dict[str, pd.DataFrame]:
        """Tables written next to ``results.json`` (added only with two waves or more)."""
        return {"waves": self.waves, "stages_by_wave": self.stages,
                "stage_change": self.change.change_, "roadmap_progress": self.progress}

    def movement(self) -> pd.DataFrame:
        """Groups' and the company's mean stage at the baseline and now (for the diamond)."""
        c = self.change.change_
        company = c.loc[c["level"] == "mean stage"].rename(columns={"name": "group"})
        return pd.concat([self.change.group_movement(), company[
            ["group", "baseline", "latest", "change", "ci_low", "ci_high", "base_baseline",
             "base_latest"]]], ignore_index=True)


def compare_waves(waves: Sequence[Wave], catalogue: pd.DataFrame,
                  latest: Assessment | None = None, *, n_boot: int = 2000, ci: float = 0.90,
                  random_state: int | None = 0, **assess_kw) -> WaveComparison:
    """Score every wave with :func:`~crmlib.assessment.assess` and compare the first with the last.

    ``latest`` is the last wave already assessed (the run's main analysis), reused as is;
    ``assess_kw`` (target_stage, customer_group, min_group_size, weighting...) apply to
    every wave. Earlier waves' exclusions are not added to the run's data-quality ledger.
    """
    if len(waves) < 2:
        raise ValueError("a comparison needs two waves or more")
    out = {}
    for i, w in enumerate(waves):
        if i == len(waves) - 1 and latest is not None:
            out[w.label] = latest
        else:
            out[w.label] = assess(w.data, catalogue, n_boot=n_boot, ci=ci,
                                  random_state=random_state, **assess_kw)
    labels = list(out)
    change = StageChange(n_boot=n_boot, ci=ci, random_state=random_state).fit(
        out[labels[0]], out[labels[-1]])
    return WaveComparison(labels=labels, waves=waves_table(waves), assessments=out,
                          stages=stages_by_wave(out), change=change,
                          progress=roadmap_progress(out[labels[0]].roadmap, change.change_))
