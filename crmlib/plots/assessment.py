"""Assessment charts: the diamond, radar per driver, group × capability heatmap, gap bars.

Every function takes tables produced by :mod:`crmlib.assessment` and returns a
matplotlib Figure; none computes statistics.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.patches import Patch, Polygon

from .theme import BAD, NEUTRAL, PALETTE, new_figure, placed_title, source_note

STAGE_NAMES = {1: "product-centric", 2: "customer-aware", 3: "customer-measured",
               4: "customer-centric"}
# first, second, third base and home plate: the route runs 1 → 2 → 3 → 4
BASES = np.array([[1.0, 1.0], [0.0, 2.0], [-1.0, 1.0], [0.0, 0.0]])


def _on_path(stage: float) -> np.ndarray:
    """Point on the base path for a mean stage in [1, 4]."""
    s = float(np.clip(stage, 1, 4))
    k = min(int(np.floor(s)), 3)
    return BASES[k - 1] + (s - k) * (BASES[k] - BASES[k - 1])


def _note(fig: Figure, text: str) -> Figure:
    """Source note under the axes, with room kept for it in the constrained layout."""
    engine = fig.get_layout_engine()
    if isinstance(engine, ConstrainedLayoutEngine):
        engine.set(rect=(0, 0.045, 1, 0.955))
    return source_note(fig, text)


def _driver_colors(drivers) -> dict[str, str]:
    return {d: PALETTE[i % len(PALETTE)] for i, d in enumerate(dict.fromkeys(drivers))}


def diamond(group_stages: pd.DataFrame, company_stage: int, mean_stage: float,
            mean_stage_ci: tuple[float, float] | None = None,
            title: str = "Where each group places the company on the diamond") -> Figure:
    """The baseball diamond with each group's mean stage on the base path.

    Parameters
    ----------
    group_stages : ``StageScorer.group_stages_`` (group, estimate, base; shown groups only).
    company_stage : base reached by the no-skipping rule (drawn as the filled bases).
    mean_stage, mean_stage_ci : the company's mean stage and its interval.
    """
    fig, ax = new_figure(figsize=(8.4, 5.2))
    ax.add_patch(Polygon(BASES, closed=True, facecolor="#EAF2E3", edgecolor=NEUTRAL, lw=1.5))
    for k, (x, y) in enumerate(BASES, start=1):
        reached = k <= company_stage
        ax.add_patch(Polygon([[x, y - 0.08], [x + 0.08, y], [x, y + 0.08], [x - 0.08, y]],
                             closed=True, facecolor=PALETTE[0] if reached else "white",
                             edgecolor=PALETTE[0], lw=1.5, zorder=3))
        dy = {1: -0.13, 2: 0.13, 3: -0.13, 4: -0.13}[k]
        ax.text(x, y + dy, f"{k} {STAGE_NAMES[k]}", ha="center",
                va="bottom" if k == 2 else "top", fontsize=11, weight="bold")
    if mean_stage_ci is not None:
        path = np.array([_on_path(s) for s in np.linspace(*mean_stage_ci, 30)])
        ax.plot(path[:, 0], path[:, 1], color=BAD, lw=7, alpha=0.35, solid_capstyle="round",
                label="company mean, interval")
    run = np.array([_on_path(s) for s in np.linspace(1, mean_stage, 60)])
    ax.plot(run[:, 0], run[:, 1], color=PALETTE[0], lw=3, zorder=2)
    p = _on_path(mean_stage)
    ax.scatter(*p, s=260, marker="*", color=BAD, zorder=5, label=f"company mean {mean_stage:.2f}")
    centre = np.array([0.0, 1.0])
    for i, r in enumerate(group_stages.sort_values("estimate").itertuples()):
        q = _on_path(r.estimate)
        inward = (centre - q) / (np.linalg.norm(centre - q) or 1)
        q = q + inward * (0.13 + 0.11 * i)
        ax.plot([_on_path(r.estimate)[0], q[0]], [_on_path(r.estimate)[1], q[1]], color=NEUTRAL,
                lw=0.6, zorder=3)
        ax.scatter(*q, s=70, color=PALETTE[(i + 1) % len(PALETTE)], zorder=4,
                   label=f"{r.group} {r.estimate:.2f} (base {r.base})")
    ax.set(xlim=(-1.75, 1.75), ylim=(-0.32, 2.28), aspect="equal", xticks=[], yticks=[])
    ax.grid(False)
    for side in ax.spines.values():
        side.set_visible(False)
    ax.set_title(f"{title}\nCompany on base {company_stage} "
                 f"({STAGE_NAMES.get(company_stage, 'below base 1')}) by the no-skipping rule")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=9, frameon=False,
              title="group mean stage", title_fontsize=9)
    return _note(fig, "Filled bases: reached by every driver. Dots: each group's mean stage, "
                            "tied to its point on the base path (small groups not shown).")


def _cap_name(catalogue: pd.DataFrame, key: str) -> str:
    """The catalogue's name of a capability (its key in words for a catalogue without one)."""
    if "name" in catalogue.columns and pd.notna(catalogue.at[key, "name"]):
        return str(catalogue.at[key, "name"])
    return key.replace("_", " ")


def radar_by_driver(group_capability_scores: pd.DataFrame, catalogue: pd.DataFrame,
                    title: str = "Mean stage per capability, by group") -> Figure:
    """One radar per driver: capabilities as spokes (1–4), one line per group shown."""
    drivers = list(dict.fromkeys(catalogue.loc[
        catalogue.index.isin(group_capability_scores["capability"]), "driver"]))
    ncols = min(2, len(drivers))
    nrows = int(np.ceil(len(drivers) / ncols))
    fig, axes = new_figure(nrows, ncols, figsize=(6 * ncols, 5.2 * nrows),
                           subplot_kw={"projection": "polar"}, squeeze=False)
    groups = list(dict.fromkeys(group_capability_scores["group"]))
    colors = {g: PALETTE[i % len(PALETTE)] for i, g in enumerate(groups)}
    for ax, drv in zip(axes.flat, drivers):
        caps = [c for c in catalogue.index[catalogue["driver"] == drv]
                if c in set(group_capability_scores["capability"])]
        angles = np.linspace(0, 2 * np.pi, len(caps), endpoint=False)
        wide = group_capability_scores.pivot_table(index="group", columns="capability",
                                                   values="estimate").reindex(columns=caps)
        for g in groups:
            if g not in wide.index:
                continue
            v = wide.loc[g].to_numpy(dtype=float)
            closed_a, closed_v = np.append(angles, angles[0]), np.append(v, v[0])
            partial = bool(np.isnan(v).any())
            ax.plot(closed_a, closed_v, color=colors[g], lw=1.8, marker="o",
                    ms=6 if partial else 3, label=g)
        ax.set_xticks(angles, [_cap_name(catalogue, c) for c in caps], fontsize=8)
        ax.set_ylim(1, 4)
        ax.set_yticks([1, 2, 3, 4], ["1", "2", "3", "4"], fontsize=7, color=NEUTRAL)
        placed_title(ax, drv.capitalize(), fontsize=11, pad=14)
    for ax in list(axes.flat)[len(drivers):]:
        ax.set_visible(False)
    legend: dict[str, Any] = {}
    for ax in axes.flat:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(lab, h)
    handles, labels = [legend[g] for g in groups if g in legend], [g for g in groups if g in legend]
    fig.suptitle(title, weight="bold")
    fig.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 0.03),
               ncols=min(len(groups), 7), frameon=False)
    _note(fig, "Spokes from stage 1 (centre) to 4. A group missing on a spoke did not rate "
               "that capability.")
    engine = fig.get_layout_engine()
    if isinstance(engine, ConstrainedLayoutEngine):
        engine.set(rect=(0, 0.08, 1, 0.92))
    return fig


def heatmap(group_capability_scores: pd.DataFrame, catalogue: pd.DataFrame,
            title: str = "Mean stage by group and capability") -> Figure:
    """Groups × capabilities (ordered by driver), annotated with the mean stage."""
    caps = [c for c in catalogue.index if c in set(group_capability_scores["capability"])]
    wide = group_capability_scores.pivot_table(index="group", columns="capability",
                                               values="estimate").reindex(columns=caps)
    groups = list(dict.fromkeys(group_capability_scores["group"]))
    wide = wide.reindex(groups)
    fig, ax = new_figure(figsize=(max(9, 0.55 * len(caps) + 3), 1.0 + 0.55 * len(groups) + 2))
    sns.heatmap(wide, ax=ax, vmin=1, vmax=4, center=2.5, cmap="RdYlGn", annot=True, fmt=".1f",
                annot_kws={"fontsize": 8}, linewidths=0.5, linecolor="white",
                cbar_kws={"label": "mean stage (1–4)", "shrink": 0.8})
    drivers = catalogue.loc[caps, "driver"].tolist()
    for j in range(1, len(caps)):
        if drivers[j] != drivers[j - 1]:
            ax.axvline(j, color="black", lw=1.5)
    ax.grid(False)
    ax.set_xticklabels([_cap_name(catalogue, c) for c in caps], rotation=60, ha="right",
                       fontsize=9)
    ax.tick_params(axis="y", rotation=0)
    ax.set(xlabel="capability (grouped by driver)", ylabel="", title=title)
    return _note(fig, "Blank cells: capability not rated by the group. Groups below the "
                            "anonymity threshold are not shown.")


def target_gap_bars(roadmap: pd.DataFrame, title: str = "Gap to target per capability") -> Figure:
    """Horizontal bars of target − current with 90% intervals, in roadmap order.

    ``roadmap`` is :func:`crmlib.assessment.build_roadmap` output; misaligned
    capabilities are hatched.
    """
    df = roadmap.dropna(subset=["gap"]).iloc[::-1]
    colors = _driver_colors(roadmap["driver"])
    fig, ax = new_figure(figsize=(9, max(4, 0.32 * len(df) + 1.5)))
    y = np.arange(len(df))
    err = np.vstack([df["gap"] - df["gap_low"], df["gap_high"] - df["gap"]]).clip(min=0)
    bars = ax.barh(y, df["gap"], color=[colors[d] for d in df["driver"]], xerr=err,
                   error_kw={"ecolor": "#333333", "capsize": 2, "lw": 1})
    for bar, mis in zip(bars, df["misaligned"]):
        if mis:
            bar.set_hatch("///")
    labels = [f"{'' if pd.isna(r) else int(r)}. {c.replace('_', ' ')}" if not pd.isna(r)
              else c.replace("_", " ") for r, c in zip(df["rank"], df["capability"])]
    ax.set_yticks(y, labels, fontsize=9)
    ax.axvline(0, color=NEUTRAL, lw=1)
    ax.set(xlabel="target − current (stages)", title=title)
    handles = [Patch(color=c, label=d) for d, c in colors.items()]
    handles.append(Patch(facecolor="white", edgecolor="black", hatch="///", label="misaligned"))
    ax.legend(handles=handles, fontsize=8, loc="lower right", frameon=False)
    return _note(fig, "Roadmap order from top (rank). Whiskers: 90% bootstrap interval.")


def staff_customer_gap(gap_table: pd.DataFrame,
                       title: str = "Staff − customer perception gap") -> Figure:
    """Forest plot of the staff-versus-customer gap per capability and overall."""
    df = gap_table.iloc[::-1].reset_index(drop=True)
    fig, ax = new_figure(figsize=(8, max(3.5, 0.4 * len(df) + 1.5)))
    y = np.arange(len(df))
    overall = df["capability"] == "overall"
    ax.errorbar(df["estimate"], y, xerr=np.vstack([df["estimate"] - df["ci_low"],
                                                   df["ci_high"] - df["estimate"]]).clip(min=0),
                fmt="none", ecolor="#555555", capsize=3)
    ax.scatter(df["estimate"], y, c=np.where(overall, BAD, PALETTE[0]),
               s=np.where(overall, 90, 40), zorder=3)
    ax.axvline(0, color=NEUTRAL, lw=1)
    ax.set_yticks(y, [c.replace("_", " ") for c in df["capability"]], fontsize=9)
    ax.set(xlabel="staff mean − customer mean (stages)", title=title)
    return _note(fig, "Positive: staff see the company as more customer-centric than "
                            "customers do. Whiskers: 90% bootstrap interval.")


def _diamond_field(ax) -> None:
    ax.add_patch(Polygon(BASES, closed=True, facecolor="#EAF2E3", edgecolor=NEUTRAL, lw=1.5))
    for k, (x, y) in enumerate(BASES, start=1):
        ax.add_patch(Polygon([[x, y - 0.08], [x + 0.08, y], [x, y + 0.08], [x - 0.08, y]],
                             closed=True, facecolor="white", edgecolor=PALETTE[0], lw=1.5,
                             zorder=3))
        dy = {1: -0.13, 2: 0.13, 3: -0.13, 4: -0.13}[k]
        ax.text(x, y + dy, f"{k} {STAGE_NAMES[k]}", ha="center",
                va="bottom" if k == 2 else "top", fontsize=11, weight="bold")


def diamond_movement(movement: pd.DataFrame, baseline_label: str = "baseline",
                     latest_label: str = "latest",
                     title: str = "How each group's view moved since the baseline") -> Figure:
    """The diamond with an arrow per group from its baseline mean stage to its latest one.

    Parameters
    ----------
    movement : ``StageChange.group_movement()`` (group, baseline, latest, change, ci_low,
        ci_high) plus, optionally, a ``company`` row built the same way from the mean stage.
    baseline_label, latest_label : the waves' labels, for the title and caption.
    """
    fig, ax = new_figure(figsize=(9.6, 5.2))
    _diamond_field(ax)
    centre = np.array([0.0, 1.0])
    for i, r in enumerate(movement.sort_values("latest").itertuples()):
        color = BAD if r.group == "company" else PALETTE[(i + 1) % len(PALETTE)]
        inset = 0.13 + 0.11 * i
        ends = []
        for s in (r.baseline, r.latest):
            q = _on_path(s)
            inward = (centre - q) / (np.linalg.norm(centre - q) or 1)
            ends.append(q + inward * inset)
        ax.annotate("", xy=ends[1], xytext=ends[0], zorder=4,
                    arrowprops={"arrowstyle": "-|>", "color": color, "lw": 2.2,
                                "shrinkA": 0, "shrinkB": 0})
        ax.scatter(*ends[0], s=30, color=color, alpha=0.5, zorder=4)
        ax.scatter(*ends[1], s=70, color=color, zorder=5,
                   label=f"{r.group} {r.baseline:.2f} → {r.latest:.2f} "
                         f"({r.change:+.2f}, {r.ci_low:+.2f} to {r.ci_high:+.2f})")
    ax.set(xlim=(-1.75, 1.75), ylim=(-0.32, 2.28), aspect="equal", xticks=[], yticks=[])
    ax.grid(False)
    for side in ax.spines.values():
        side.set_visible(False)
    ax.set_title(f"{title}\n{baseline_label} → {latest_label}")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False,
              title="mean stage, change (interval)", title_fontsize=9)
    return _note(fig, "Each arrow runs from where a group placed the company at the baseline "
                      "(faint dot) to where it places it now; the change's bootstrap interval "
                      "is in the legend (small groups not shown).")
