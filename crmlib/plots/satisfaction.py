"""Charts of the satisfaction-gap analysis. Each takes a result table and returns a Figure."""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .theme import BAD, GOOD, NEUTRAL, PALETTE, new_figure, place_labels, short_label, source_note


def _err(est, lo, hi, scale: float = 1.0) -> np.ndarray:
    """Error-bar lengths (2 × n); an interval that does not contain its estimate is not drawn."""
    est, lo, hi = (np.asarray(v, dtype=float) * scale for v in (est, lo, hi))
    tol = 1e-9 * (1 + np.abs(est))
    ok = (lo <= est + tol) & (est <= hi + tol)
    return np.where(ok, np.clip([est - lo, hi - est], 0, None), np.nan)


def _height(n: int, per: float = 0.38, base: float = 1.8) -> tuple[float, float]:
    return (9, max(3.5, base + per * n))


def gap_bars(gaps: pd.DataFrame, name: str = "dimension", label: str | None = None,
             title: str = "Service gaps: perception − expectation") -> Figure:
    """Diverging bars of gaps with their intervals; red = shortfall, green = exceeds.

    ``gaps`` is a table from ``dimension_gaps`` / ``item_gaps`` (or the value-weighted
    tables, with ``gap_weighted``). Hatched bars are not significant after adjustment.
    """
    col = "gap" if "gap" in gaps.columns else "gap_weighted"
    d = gaps.sort_values(col, ascending=False).reset_index(drop=True)
    names = d[label] if label else d[name]
    fig, ax = new_figure(figsize=_height(len(d)))
    colors = [BAD if g < 0 else GOOD for g in d[col]]
    sig = d["significant"] if "significant" in d else pd.Series(True, index=d.index)
    bars = ax.barh(np.arange(len(d)), d[col], color=colors, alpha=0.85)
    for b, s in zip(bars, sig):
        if not s:
            b.set_hatch("///")
            b.set_alpha(0.35)
    ax.errorbar(d[col], np.arange(len(d)), xerr=[d[col] - d["ci_low"], d["ci_high"] - d[col]],
                fmt="none", ecolor="#333333", capsize=3, lw=1)
    ax.axvline(0, color="#333333", lw=1)
    ax.set_yticks(np.arange(len(d)), names)
    ax.invert_yaxis()
    ax.set_xlabel("Gap (scale points; negative = shortfall)")
    ax.set_title(title)
    source_note(fig, "Bars: mean gap; lines: confidence interval; hatched: not significant "
                     "after multiplicity adjustment.")
    return fig


def profile(item_gaps: pd.DataFrame, title: str = "Expectation vs perception by item") -> Figure:
    """Dumbbell profile: expectation and perception means per item, grouped by dimension."""
    d = item_gaps.reset_index(drop=True)
    y = np.arange(len(d))
    fig, ax = new_figure(figsize=_height(len(d), 0.32))
    ax.hlines(y, d["expectation"], d["perception"],
              color=[BAD if g < 0 else GOOD for g in d["gap"]], lw=2.5, alpha=0.7)
    ax.scatter(d["expectation"], y, color=PALETTE[0], zorder=3, label="Expectation")
    ax.scatter(d["perception"], y, color=PALETTE[2], zorder=3, marker="D", label="Perception")
    ax.set_yticks(y, [f"{r.label} ({r.dimension})" for r in d.itertuples()], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("Mean rating")
    ax.set_title(title)
    ax.legend(loc="lower right", frameon=True)
    return fig


def ipa_grid(ipa: pd.DataFrame, title: str | None = None) -> Figure:
    """Importance-performance grid with crosshair, iso-priority diagonal and intervals."""
    imp_c = ipa.attrs.get("importance_center", ipa["importance"].mean())
    perf_c = ipa.attrs.get("performance_center", ipa["performance"].mean())
    derived = ipa.attrs.get("importance") == "derived"
    fig, ax = new_figure(figsize=(9, 7))
    colors = {q: c for q, c in zip(["Concentrate here", "Keep up the good work", "Low priority",
                                    "Possible overkill"], [BAD, GOOD, NEUTRAL, PALETTE[2]])}
    ax.errorbar(ipa["performance"], ipa["importance"],
                xerr=[ipa["performance"] - ipa["performance_ci_low"],
                      ipa["performance_ci_high"] - ipa["performance"]],
                yerr=[ipa["importance"] - ipa["importance_ci_low"],
                      ipa["importance_ci_high"] - ipa["importance"]],
                fmt="none", ecolor="#BBBBBB", lw=0.8, zorder=1)
    ax.scatter(ipa["performance"], ipa["importance"], c=ipa["quadrant"].map(colors), s=45,
               zorder=2)
    ax.axvline(perf_c, color="#555555", lw=1, ls="--")
    ax.axhline(imp_c, color="#555555", lw=1, ls="--")
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    if derived:
        s_i, s_p = ipa["importance"].std() or 1, ipa["performance"].std() or 1
    else:
        s_i = s_p = 1.0
    xs = np.linspace(x0, x1, 50)
    ax.plot(xs, imp_c + (xs - perf_c) * s_i / s_p, color=PALETTE[5], lw=1, ls=":")
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    for q, (x, y, ha, va) in {"Concentrate here": (x0, y1, "left", "top"),
                              "Keep up the good work": (x1, y1, "right", "top"),
                              "Low priority": (x0, y0, "left", "bottom"),
                              "Possible overkill": (x1, y0, "right", "bottom")}.items():
        ax.text(x, y, q, ha=ha, va=va, fontsize=9, color=colors[q], fontweight="bold")
    ax.set_xlabel("Performance (mean perception)")
    ax.set_ylabel("Derived importance (share of R²)" if derived else "Stated importance (mean)")
    ax.set_title(title or "Importance-performance analysis")
    ax.legend([Line2D([], [], color=PALETTE[5], ls=":")], ["Iso-priority diagonal "
                                                            "(above: importance > performance)"],
              loc="lower left", bbox_to_anchor=(0, 0.06), fontsize=8)
    order = {"Concentrate here": 0, "Keep up the good work": 1, "Possible overkill": 2}
    first = ipa.iloc[np.argsort(ipa["quadrant"].map(order).fillna(3).to_numpy(), kind="stable")]
    names = first["label"] if "label" in first else first["item"]
    place_labels(ax, first["performance"], first["importance"],
                 [short_label(n, 24) for n in names.fillna(first["item"])])
    return fig


def kano_plot(kano: pd.DataFrame, title: str = "Kano: Better vs Worse coefficients") -> Figure:
    """Better (satisfaction if present) against |Worse| (dissatisfaction if absent)."""
    fig, ax = new_figure(figsize=(8, 6.5))
    x, y = kano["worse"].abs(), kano["better"]
    ax.errorbar(x, y, xerr=_err(x, kano["worse_ci_high"].abs(), kano["worse_ci_low"].abs()),
                yerr=_err(y, kano["better_ci_low"], kano["better_ci_high"]), fmt="none",
                ecolor="#BBBBBB", lw=0.8)
    ax.scatter(x, y, s=60, c=PALETTE[0], zorder=3)
    tags = [short_label(f"{r.feature} ({r.category}{'' if r.clear_winner else '?'})", 26)
            for r in kano.itertuples()]
    ax.axvline(0.5, color="#555555", lw=1, ls="--")
    ax.axhline(0.5, color="#555555", lw=1, ls="--")
    for txt, (px, py) in {"Attractive": (0.02, 0.98), "One-dimensional": (0.98, 0.98),
                          "Indifferent": (0.02, 0.02), "Must-be": (0.98, 0.02)}.items():
        ax.text(px, py, txt, transform=ax.transAxes, ha="left" if px < 0.5 else "right",
                va="top" if py > 0.5 else "bottom", color=NEUTRAL, fontweight="bold")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("|Worse|: dissatisfaction when the feature is missing")
    ax.set_ylabel("Better: satisfaction when the feature is present")
    ax.set_title(title)
    source_note(fig, "Label: dominant category; '?' = no clear winner (Fong's test). "
                     "Lines: Wilson intervals.")
    place_labels(ax, x, y, tags, fontsize=8)
    return fig


def driver_shares(drivers: pd.DataFrame, name: str = "item", label: str | None = "label",
                  r2: float | None = None,
                  title: str = "What drives overall satisfaction") -> Figure:
    """Relative-weight shares of R² with bootstrap intervals, largest first (coloured by
    dimension when the table has one)."""
    d = drivers.sort_values("share", ascending=False).reset_index(drop=True)
    names = d[label] if label and label in d else d[name]
    fig, ax = new_figure(figsize=_height(len(d), 0.33))
    y = np.arange(len(d))
    if "dimension" in d:
        dims = list(dict.fromkeys(drivers["dimension"]))
        cmap = {k: PALETTE[i % len(PALETTE)] for i, k in enumerate(dims)}
        colors = d["dimension"].map(cmap)
        ax.legend(handles=[Line2D([], [], color=cmap[k], lw=6, label=k) for k in dims],
                  title="Dimension", loc="lower right")
    else:
        colors = PALETTE[3]
    ax.barh(y, d["share"] * 100, color=colors, alpha=0.85)
    ax.errorbar(d["share"] * 100, y,
                xerr=_err(d["share"], d["share_ci_low"], d["share_ci_high"], 100),
                fmt="none", ecolor="#333333", capsize=3, lw=1)
    ax.set_yticks(y, names, fontsize=8 if len(d) > 10 else 10)
    ax.invert_yaxis()
    ax.set_xlabel("Share of explained variance in overall satisfaction (%)")
    ax.set_title(title if r2 is None else f"{title} (R² = {r2:.2f})")
    source_note(fig, "Johnson's relative weights; lines: bootstrap intervals.")
    return fig


def reliability_chart(rel: pd.DataFrame, title: str = "Scale reliability by dimension") -> Figure:
    """Alpha and omega per dimension with intervals and the 0.7 / 0.8 guide lines."""
    fig, ax = new_figure(figsize=_height(len(rel), 0.6))
    y = np.arange(len(rel))
    for off, key, color, lab in ((-0.15, "alpha", PALETTE[0], "Cronbach's alpha (raw)"),
                                 (0.15, "omega", PALETTE[3], "McDonald's omega")):
        v = rel[key]
        ax.errorbar(v, y + off, xerr=_err(v, rel[f"{key}_ci_low"], rel[f"{key}_ci_high"]),
                    fmt="o", color=color, capsize=3, label=lab)
    for x, ls in ((0.7, "--"), (0.8, ":")):
        ax.axvline(x, color="#777777", lw=1, ls=ls)
    ax.set_yticks(y, [f"{d} ({k} items)" for d, k in zip(rel["dimension"], rel["n_items"])])
    ax.invert_yaxis()
    shown = rel[["alpha", "omega", "alpha_ci_low", "omega_ci_low"]].to_numpy(dtype=float)
    ax.set_xlim(min(0.5, float(np.nanmin(shown, initial=0.5))) - 0.02, 1)
    ax.set_xlabel("Reliability (0.7 acceptable, 0.8 good)")
    ax.set_title(title)
    ax.legend(loc="lower left")
    return fig


def segment_comparison(by_segment: pd.DataFrame, tests: pd.DataFrame | None = None,
                       title: str = "Gaps by segment") -> Figure:
    """Dimension gaps per segment (point and interval); adjusted Welch p in the labels."""
    dims = list(dict.fromkeys(by_segment["dimension"]))
    segs = list(dict.fromkeys(by_segment["segment"]))
    fig, ax = new_figure(figsize=_height(len(dims), 0.7))
    width = 0.7 / max(1, len(segs))
    for k, s in enumerate(segs):
        d = by_segment[by_segment["segment"] == s].set_index("dimension").reindex(dims)
        y = np.arange(len(dims)) - 0.35 + width * (k + 0.5)
        ax.errorbar(d["gap"], y, xerr=[d["gap"] - d["ci_low"], d["ci_high"] - d["gap"]],
                    fmt="o", color=PALETTE[k % len(PALETTE)], capsize=2, label=s)
    labels = dims
    if tests is not None:
        p = tests.set_index("dimension")["p_welch_adj"]
        labels = [f"{d}\n(p adj = {p.get(d, np.nan):.3f})" for d in dims]
    ax.set_yticks(np.arange(len(dims)), labels)
    ax.invert_yaxis()
    ax.axvline(0, color="#333333", lw=1)
    ax.set_xlabel("Gap (scale points; negative = shortfall)")
    ax.set_title(title)
    ax.legend(title="Segment", loc="best")
    source_note(fig, "Points: mean gap; lines: confidence intervals; p: Welch's ANOVA, adjusted.")
    return fig


def path_coefficients(summary: pd.DataFrame, title: str = "Drivers of satisfaction (PLS paths)") -> Figure:
    """Path coefficients of the PLS model with bootstrap intervals."""
    d = summary[summary["kind"] == "path"].sort_values("estimate").reset_index(drop=True)
    fig, ax = new_figure(figsize=_height(len(d), 0.5))
    y = np.arange(len(d))
    ax.barh(y, d["estimate"], color=[PALETTE[0] if v >= 0 else BAD for v in d["estimate"]])
    ax.errorbar(d["estimate"], y, xerr=_err(d["estimate"], d["ci_low"], d["ci_high"]),
                fmt="none", ecolor="#333333", capsize=3)
    ax.axvline(0, color="#333333", lw=1)
    ax.set_yticks(y, d["parameter"])
    ax.set_xlabel("Standardised path coefficient")
    ax.set_title(title)
    source_note(fig, "Lines: bootstrap intervals.")
    return fig


def value_weighted(value_gaps: pd.DataFrame, name: str = "dimension",
                   title: str = "Gaps felt by valuable customers") -> Figure:
    """Unweighted vs CLV-weighted gap per dimension (or item), with the weighted interval.

    An arrow pointing left means the most valuable customers feel a larger shortfall.
    """
    d = value_gaps.sort_values("gap_weighted").reset_index(drop=True)
    y = np.arange(len(d))
    fig, ax = new_figure(figsize=_height(len(d), 0.5))
    ax.errorbar(d["gap_weighted"], y, xerr=_err(d["gap_weighted"], d["ci_low"], d["ci_high"]),
                fmt="o", color=PALETTE[1], capsize=3, label="CLV-weighted", zorder=3)
    ax.scatter(d["gap_unweighted"], y, color=NEUTRAL, label="Unweighted", zorder=2)
    for yi, a, b in zip(y, d["gap_unweighted"], d["gap_weighted"]):
        ax.annotate("", xy=(b, yi), xytext=(a, yi),
                    arrowprops={"arrowstyle": "->", "color": NEUTRAL, "lw": 1})
    ax.axvline(0, color="#333333", lw=1)
    labels = d[name]
    if "lift_ci_low" in d:
        labels = [f"{n}\n(lift {v:+.2f} " + (f"[{lo:+.2f}, {hi:+.2f}])"
                                              if np.isfinite([lo, hi]).all() else "no interval)")
                  for n, v, lo, hi in zip(d[name], d["value_lift"], d["lift_ci_low"],
                                          d["lift_ci_high"])]
    ax.set_yticks(y, labels, fontsize=9)
    ax.invert_yaxis()
    ax.set_xlabel("Gap (scale points; negative = shortfall)")
    ax.set_title(title)
    ax.legend(loc="best")
    source_note(fig, "Lift = CLV-weighted − unweighted gap, bootstrap interval; "
                     "negative: valuable customers feel it more.")
    return fig


def ipa_arrows(movement: pd.DataFrame, title: str = "IPA: where each item moved since the baseline"
               ) -> Figure:
    """Arrows from each item's baseline place to its latest place on the importance-performance
    grid (``movement`` from :func:`crmlib.satisfaction.waves.ipa_movement`); items that changed
    quadrant are drawn in colour and labelled. Crosshair: the latest wave's."""
    imp_c = movement.attrs.get("importance_center", movement["importance_latest"].mean())
    perf_c = movement.attrs.get("performance_center", movement["performance_latest"].mean())
    fig, ax = new_figure(figsize=(9, 7))
    for r in movement.itertuples():
        color = BAD if r.moved else "#9A9A9A"
        ax.annotate("", xy=(r.performance_latest, r.importance_latest),
                    xytext=(r.performance_baseline, r.importance_baseline),
                    arrowprops={"arrowstyle": "-|>", "color": color, "lw": 1.6 if r.moved else 0.9,
                                "shrinkA": 0, "shrinkB": 0})
    ax.scatter(movement["performance_baseline"], movement["importance_baseline"], s=14,
               color="#BBBBBB", zorder=2, label="baseline")
    ax.scatter(movement["performance_latest"], movement["importance_latest"], s=36,
               c=np.where(movement["moved"], BAD, PALETTE[0]), zorder=3, label="latest")
    ax.axvline(perf_c, color="#555555", lw=1, ls="--")
    ax.axhline(imp_c, color="#555555", lw=1, ls="--")
    ax.update_datalim(np.column_stack([movement["performance_baseline"],
                                       movement["importance_baseline"]]))
    ax.autoscale_view()
    moved = movement.loc[movement["moved"]]
    if len(moved):
        names = moved["label"].fillna(moved["item"]) if "label" in moved else moved["item"]
        place_labels(ax, moved["performance_latest"], moved["importance_latest"],
                     [short_label(n, 24) for n in names])
    ax.set_xlabel("Performance (mean perception)")
    ax.set_ylabel("Importance")
    ax.set_title(title)
    ax.legend(loc="lower left", fontsize=8)
    return source_note(fig, "Arrows run from the baseline to the latest wave; red: the item "
                            "changed quadrant. Dashed lines: the latest wave's crosshair.")
