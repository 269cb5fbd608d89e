"""What the workshop adds to each notebook: method explanations (formula and paper).

Each :class:`Method` is inserted after the notebook section it explains (the
Markdown cell whose heading is ``after``). Its formulas are written twice: in
LaTeX, rendered by JupyterLab when a trainee opens the executed notebook, and as
readable Unicode text, shown in the offline HTML page (which loads no MathJax).
The exercises live in :mod:`crmlib.workshop.exercises`.
"""
from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..demo.migration import ACCELERATE_SHARE, LAPSE_SHARE, TOP_SHARE


@dataclass(frozen=True)
class Formula:
    """A formula in LaTeX with a readable plain-text fallback."""

    latex: str
    text: str

    def html(self) -> str:
        """The readable text as HTML: escaped, ``_x`` / ``_{..}`` as subscripts and
        ``^x`` / ``^(..)`` as superscripts."""
        s = html.escape(self.text, quote=False)
        s = re.sub(r"_\{([^{}]*)\}|_([A-Za-z0-9]+)",
                   lambda m: f"<sub>{m.group(1) or m.group(2)}</sub>", s)
        return re.sub(r"\^\(([^()]*)\)|\^([A-Za-z0-9]+)",
                      lambda m: f"<sup>{m.group(1) or m.group(2)}</sup>", s)


@dataclass(frozen=True)
class Method:
    """One method explained: what it does, its formulas, and the paper it comes from."""

    key: str
    title: str
    after: str
    explanation: str
    formulas: tuple[Formula, ...]
    papers: tuple[str, ...]

    def markdown(self, mode: str = "latex") -> str:
        """The explanation cell: ``mode="latex"`` for notebooks, ``"text"`` for the HTML page."""
        if mode not in ("latex", "text"):
            raise ValueError(f"mode must be 'latex' or 'text', got {mode!r}")
        parts = [f"### Method: {self.title}", self.explanation.strip()]
        for f in self.formulas:
            if mode == "latex":
                parts.append(f"$$\n{f.latex.strip()}\n$$")
            else:
                parts.append(f'<div class="crm-math crm-math-display">{f.html()}</div>'
                             f'\n<details class="ws-latex"><summary>LaTeX</summary>'
                             f"<pre>{html.escape(f.latex.strip())}</pre></details>")
        refs = "\n".join(f"- {p}" for p in self.papers)
        parts.append(f"**Paper{'s' if len(self.papers) > 1 else ''}:**\n\n{refs}")
        return "\n\n".join(parts)


ASSESSMENT = (
    Method("no_skipping", "the no-skipping rule", "## The company's base",
           "A driver's score $\\bar s_d$ is the mean of its capabilities' scores, each the mean "
           "of the group means (every group counts equally). The company stands on the highest "
           "base that every driver has reached; intervals come from a percentile bootstrap that "
           "resamples respondents within each group.",
           (Formula(r"\text{stage} = \max\{b : \bar s_d \ge b \ \forall d\} = "
                    r"\min_d \lfloor \bar s_d \rfloor",
                    "stage = max{ b : s̄_d ≥ b for every driver d } = min over d of ⌊s̄_d⌋"),),
           ("Efron, B. & Tibshirani, R. J. (1993). An Introduction to the Bootstrap. "
            "Chapman & Hall (percentile intervals).",)),
    Method("rwg", "within-group agreement r_wg", "## Agreement within groups",
           "r_wg compares the observed variance $s_x^2$ of a group's answers with the variance "
           "expected if everyone answered at random on the $A = 4$ stages (uniform null); "
           "r_wg(J) pools the $J$ capabilities of a driver.",
           (Formula(r"r_{wg} = 1 - \frac{s_x^2}{\sigma_{EU}^2}, \qquad "
                    r"\sigma_{EU}^2 = \frac{A^2 - 1}{12} = 1.25",
                    "r_wg = 1 − s_x² / σ²_EU,   σ²_EU = (A² − 1)/12 = 1.25"),
            Formula(r"r_{wg(J)} = \frac{J(1 - \bar s_x^2/\sigma_{EU}^2)}"
                    r"{J(1 - \bar s_x^2/\sigma_{EU}^2) + \bar s_x^2/\sigma_{EU}^2}",
                    "r_wg(J) = J(1 − s̄²/σ²_EU) / [ J(1 − s̄²/σ²_EU) + s̄²/σ²_EU ]")),
           ("James, L. R., Demaree, R. G. & Wolf, G. (1984). Estimating within-group interrater "
            "reliability with and without response bias. Journal of Applied Psychology 69, 85–98.",
            "LeBreton, J. M. & Senter, J. L. (2008). Answers to 20 questions about interrater "
            "reliability and interrater agreement. Organizational Research Methods 11, 815–852.")),
    Method("icc", "ICC(1) and ICC(2)", "## Are group means reliable?",
           "From a one-way ANOVA of answers on group: $MSB$ and $MSW$ are the between- and "
           "within-group mean squares and $k$ the (mean) group size.",
           (Formula(r"ICC(1) = \frac{MSB - MSW}{MSB + (k - 1)\,MSW}, \qquad "
                    r"ICC(2) = \frac{MSB - MSW}{MSB}",
                    "ICC(1) = (MSB − MSW) / (MSB + (k − 1)·MSW),   ICC(2) = (MSB − MSW) / MSB"),),
           ("Bliese, P. D. (2000). Within-group agreement, non-independence, and reliability. "
            "In Klein & Kozlowski (eds.), Multilevel Theory, Research, and Methods in "
            "Organizations, 349–381.",
            "Shrout, P. E. & Fleiss, J. L. (1979). Intraclass correlations: uses in assessing "
            "rater reliability. Psychological Bulletin 86, 420–428.")),
    Method("kruskal", "Kruskal–Wallis with ε² and Holm's correction",
           "## Differences between groups",
           "Ranks $R_{ij}$ of all $n$ answers on a capability, $n_j$ answers in group $j$; the "
           "effect size ε² is $H$ rescaled to 0–1. With $m$ capabilities tested, Holm compares "
           "the $i$-th smallest p-value with $\\alpha/(m - i + 1)$.",
           (Formula(r"H = \frac{12}{n(n+1)} \sum_j \frac{R_j^2}{n_j} - 3(n+1), \qquad "
                    r"\varepsilon^2 = \frac{H}{n - 1}",
                    "H = 12/(n(n+1)) · Σ_j R_j²/n_j − 3(n+1),   ε² = H/(n − 1)"),
            Formula(r"p^{Holm}_{(i)} = \max_{k \le i} \min\{1, (m - k + 1)\,p_{(k)}\}",
                    "p_Holm(i) = max over k ≤ i of min{1, (m − k + 1)·p(k)}")),
           ("Kruskal, W. H. & Wallis, W. A. (1952). Use of ranks in one-criterion variance "
            "analysis. JASA 47, 583–621.",
            "Holm, S. (1979). A simple sequentially rejective multiple test procedure. "
            "Scandinavian Journal of Statistics 6, 65–70.",
            "Tomczak, M. & Tomczak, E. (2014). The need to report effect size estimates "
            "revisited. Trends in Sport Sciences 1(21), 19–25.")),
)

CLV = (
    Method("bgnbd", "the BG/NBD model", "## Which model describes these customers?",
           "While alive, a customer buys at rate λ ~ Gamma(r, α); after each purchase they drop "
           "out with probability p ~ Beta(a, b). A customer with $x$ repeat purchases, the last "
           "at $t_x$, observed for $T$, contributes the likelihood below; the parameters are "
           "estimated by maximum likelihood, standard errors from the observed information.",
           (Formula(r"L = \frac{B(a, b + x)}{B(a, b)} \frac{\Gamma(r + x)\,\alpha^r}"
                    r"{\Gamma(r)(\alpha + T)^{r + x}} + \delta_{x > 0} "
                    r"\frac{B(a + 1, b + x - 1)}{B(a, b)} \frac{\Gamma(r + x)\,\alpha^r}"
                    r"{\Gamma(r)(\alpha + t_x)^{r + x}}",
                    "L = B(a, b+x)/B(a, b) · Γ(r+x) αʳ / (Γ(r) (α+T)^(r+x))  +  "
                    "[x > 0] · B(a+1, b+x−1)/B(a, b) · Γ(r+x) αʳ / (Γ(r) (α+t_x)^(r+x))"),),
           ("Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). “Counting your customers” the "
            "easy way: an alternative to the Pareto/NBD model. Marketing Science 24(2), 275–284.",
            "Schmittlein, D. C., Morrison, D. G. & Colombo, R. (1987). Counting your customers: "
            "who are they and what will they do next? Management Science 33(1), 1–24 "
            "(Pareto/NBD).")),
    Method("conditional", "conditional expectation for the holdout", "## Holdout check",
           "The expected number of repeat purchases in the next $t$ periods of a customer with "
           "history $(x, t_x, T)$; ${}_2F_1$ is the Gaussian hypergeometric function.",
           (Formula(r"E[Y(t) \mid x, t_x, T] = \frac{\frac{a + b + x - 1}{a - 1}\left[1 - "
                    r"\left(\frac{\alpha + T}{\alpha + T + t}\right)^{r + x} {}_2F_1\left(r + x, "
                    r"b + x; a + b + x - 1; \frac{t}{\alpha + T + t}\right)\right]}"
                    r"{1 + \delta_{x > 0} \frac{a}{b + x - 1}\left(\frac{\alpha + T}"
                    r"{\alpha + t_x}\right)^{r + x}}",
                    "E[Y(t) | x, t_x, T] = ((a+b+x−1)/(a−1)) · [1 − ((α+T)/(α+T+t))^(r+x) · "
                    "₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t))] / [1 + [x > 0]·(a/(b+x−1))·"
                    "((α+T)/(α+t_x))^(r+x)]"),),
           ("Fader, Hardie & Lee (2005), Marketing Science 24(2), eq. (10).",)),
    Method("p_alive", "probability a customer is still active",
           "## From the observation end onwards",
           "Bayes' rule on the two ways a history $(x, t_x, T)$ can arise: alive, or dropped out "
           "just after the last purchase. A customer who never repeated is alive by assumption "
           "in BG/NBD.",
           (Formula(r"P(\text{alive} \mid x, t_x, T) = \left[1 + \delta_{x > 0} \frac{a}{b + x - 1}"
                    r"\left(\frac{\alpha + T}{\alpha + t_x}\right)^{r + x}\right]^{-1}",
                    "P(alive | x, t_x, T) = 1 / [1 + [x > 0] · (a/(b+x−1)) · "
                    "((α+T)/(α+t_x))^(r+x)]"),),
           ("Fader, Hardie & Lee (2005), Marketing Science 24(2), eq. (11).",)),
    Method("gamma_gamma", "the Gamma-Gamma spend model", "## Spend per purchase (Gamma-Gamma)",
           "Each purchase's value is Gamma(p, ν) with ν ~ Gamma(q, γ) across customers, so the "
           "expected spend of a customer shrinks their observed mean $\\bar m_x$ (over $x$ "
           "repeat purchases) towards the population mean $p\\gamma/(q - 1)$. It assumes spend "
           "is independent of purchase frequency, hence the correlation check.",
           (Formula(r"E[M \mid p, q, \gamma, \bar m_x, x] = \frac{q - 1}{p x + q - 1} "
                    r"\cdot \frac{p \gamma}{q - 1} + \frac{p x}{p x + q - 1}\,\bar m_x",
                    "E[M | p, q, γ, m̄_x, x] = (q−1)/(px+q−1) · pγ/(q−1) + px/(px+q−1) · m̄_x"),),
           ("Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). RFM and CLV: using iso-value "
            "curves for customer base analysis. Journal of Marketing Research 42(4), 415–430.",
            "Colombo, R. & Jiang, W. (1999). A stochastic RFM model. Journal of Interactive "
            "Marketing 13(3), 2–12.")),
    Method("clv", "discounted customer lifetime value", "## Customer lifetime value",
           "Expected purchases month by month from the purchase model, times the expected spend, "
           "times the margin, discounted at the monthly rate converted from the annual one, over "
           "$H$ months.",
           (Formula(r"CLV = \sum_{m=1}^{H} \frac{\text{margin} \cdot E[M] \cdot "
                    r"\left(E[Y(m)] - E[Y(m-1)]\right)}{(1 + d)^m}, \qquad d = (1 + r)^{1/12} - 1",
                    "CLV = Σ_{m=1..H} margin · E[M] · (E[Y(m)] − E[Y(m−1)]) / (1+d)^m,   "
                    "d = (1+r)^(1/12) − 1"),),
           ("Fader, Hardie & Lee (2005), Journal of Marketing Research 42(4), 415–430.",
            "Gupta, S. et al. (2006). Modeling customer lifetime value. Journal of Service "
            "Research 9(2), 139–155.")),
    Method("since_last_run", "value tiers between two runs and the forecast checked",
           "## Since the last run",
           "Value tiers are bands of CLV fixed in money at the earlier run's 90th, 80th and "
           "50th percentiles and applied to both runs, so a customer changes tier only when "
           "their own value changes. An earlier customer is churned when they bought nothing "
           "since and $P(\\text{alive})$ now is below 0.5; the matrix counts customers from "
           "each earlier tier (or New) to each tier now (or Churned), and the change in total "
           "value splits exactly into new customers, shifts between tiers, changes within a "
           "tier and value lost to churn. The earlier model's forecast for the $t$ units that "
           "have really passed is set against the purchases made. The demo's log a year on "
           f"plants the migration: {LAPSE_SHARE:.0%} of the top {TOP_SHARE:.0%} by spending "
           f"rate lapse, {ACCELERATE_SHARE:.0%} of the lower half accelerate, new customers "
           "arrive (`TRUTH.md`).",
           (Formula(r"V_{now} - V_{before} = V_{new} + V_{shifted} + V_{within} - V_{lost}",
                    "V_now − V_before = V_new + V_shifted + V_within − V_lost"),
            Formula(r"\hat Y = \sum_i E[Y_i(t) \mid x_i, t_{x,i}, T_i], \qquad "
                    r"t = \frac{\text{end}_{now} - \text{end}_{before}}{\text{unit}}",
                    "Ŷ = Σᵢ E[Yᵢ(t) | xᵢ, t_x,ᵢ, Tᵢ],   t = (end_now − end_before) / unit")),
           ("Pfeifer, P. E. & Carraway, R. L. (2000). Modeling customer relationships as Markov "
            "chains. Journal of Interactive Marketing 14(2), 43–55.",
            "Fader, Hardie & Lee (2005), Marketing Science 24(2), eq. (10).")),
    Method("sbg", "the shifted-Beta-Geometric model", "## Subscriptions (contractual)",
           "Each subscriber cancels at the end of a month with probability θ ~ Beta(α, β). "
           "Active subscribers are right-censored: they contribute the survival $S(t)$, "
           "those who left contribute $P(T = t)$.",
           (Formula(r"P(T = t \mid \alpha, \beta) = \frac{B(\alpha + 1, \beta + t - 1)}"
                    r"{B(\alpha, \beta)}, \qquad "
                    r"S(t) = \frac{B(\alpha, \beta + t)}{B(\alpha, \beta)}",
                    "P(T = t | α, β) = B(α+1, β+t−1) / B(α, β),   S(t) = B(α, β+t) / B(α, β)"),),
           ("Fader, P. S. & Hardie, B. G. S. (2007). How to project customer retention. "
            "Journal of Interactive Marketing 21(1), 76–90.",)),
)

SATISFACTION = (
    Method("reliability", "Cronbach's alpha and McDonald's omega", "## Reliability",
           "For a dimension with $k$ items, item variances $\\sigma_i^2$ and total-score "
           "variance $\\sigma_X^2$; omega uses the loadings $\\lambda_i$ and error variances "
           "$\\theta_i$ of a one-factor model. Raw alpha (covariances) is reported, with "
           "Feldt's interval.",
           (Formula(r"\alpha = \frac{k}{k - 1}"
                    r"\left(1 - \frac{\sum_i \sigma_i^2}{\sigma_X^2}\right),"
                    r" \qquad \omega = \frac{(\sum_i \lambda_i)^2}{(\sum_i \lambda_i)^2 + "
                    r"\sum_i \theta_i}",
                    "α = k/(k−1) · (1 − Σσᵢ² / σ_X²),   ω = (Σλᵢ)² / ((Σλᵢ)² + Σθᵢ)"),),
           ("Cronbach, L. J. (1951). Coefficient alpha and the internal structure of tests. "
            "Psychometrika 16, 297–334.",
            "McDonald, R. P. (1999). Test Theory: A Unified Treatment. Erlbaum.",
            "Feldt, L. S., Woodruff, D. J. & Salih, F. A. (1987). Statistical inference for "
            "coefficient alpha. Applied Psychological Measurement 11, 93–103.")),
    Method("servqual", "SERVQUAL gaps and the paired tests", "## SERVQUAL gaps by dimension",
           "Each respondent's gap $d = P - E$ (perception minus expectation; negative is a "
           "shortfall). The mean gap is tested against zero with a paired t-test (and Wilcoxon's "
           "signed-rank test); $d_z$ is the standardised mean gap; p-values are adjusted "
           "over dimensions (Holm by default).",
           (Formula(r"\bar d \pm t_{n-1, 1-\alpha/2} \frac{s_d}{\sqrt n}, \qquad "
                    r"t = \frac{\bar d}{s_d / \sqrt n}, \qquad d_z = \frac{\bar d}{s_d}",
                    "d̄ ± t(n−1, 1−α/2) · s_d/√n,   t = d̄ / (s_d/√n),   d_z = d̄ / s_d"),),
           ("Parasuraman, A., Zeithaml, V. A. & Berry, L. L. (1988). SERVQUAL: a multiple-item "
            "scale for measuring consumer perceptions of service quality. Journal of Retailing "
            "64(1), 12–40.",
            "Holm, S. (1979). Scandinavian Journal of Statistics 6, 65–70.")),
    Method("relative_weights", "Johnson's relative weights", "## Key drivers (derived importance)",
           "Correlated drivers make regression weights unstable. Johnson regresses overall "
           "satisfaction on the orthogonal counterparts $Z$ of the predictors ($\\beta$) and "
           "maps back with $\\Lambda$, the regression of $X$ on $Z$; the weights $\\varepsilon_j$ "
           "sum to $R^2$, so each item's share of $R^2$ is its derived importance.",
           (Formula(r"\varepsilon_j = \sum_k \lambda_{jk}^2 \beta_k^2, \qquad "
                    r"\sum_j \varepsilon_j = R^2",
                    "ε_j = Σ_k λ_jk² · β_k²,   Σ_j ε_j = R²"),),
           ("Johnson, J. W. (2000). A heuristic method for estimating the relative weight of "
            "predictor variables in multiple regression. Multivariate Behavioral Research "
            "35(1), 1–19.",)),
    Method("ipa", "importance-performance analysis", "## Importance-performance analysis",
           "Items are placed by performance $P$ (mean perception) and importance $I$; the "
           "crosshair $(P_c, I_c)$ splits the grid into four quadrants, and the iso-priority "
           "diagonal through it ranks items by how much more important than well-performing "
           "they are.",
           (Formula(r"\text{quadrant} = \begin{cases} \text{Concentrate here} & I \ge I_c,\ "
                    r"P < P_c \\ \text{Keep up the good work} & I \ge I_c,\ P \ge P_c \\ "
                    r"\text{Low priority} & I < I_c,\ P < P_c \\ \text{Possible overkill} & "
                    r"I < I_c,\ P \ge P_c \end{cases}",
                    "Concentrate here: I ≥ I_c and P < P_c;  Keep up the good work: I ≥ I_c and "
                    "P ≥ P_c;  Low priority: I < I_c and P < P_c;  Possible overkill: I < I_c "
                    "and P ≥ P_c"),
            Formula(r"\text{priority index} = (I - I_c) - (P - P_c)",
                    "priority index = (I − I_c) − (P − P_c)")),
           ("Martilla, J. A. & James, J. C. (1977). Importance-performance analysis. Journal of "
            "Marketing 41(1), 77–79.",
            "Bacon, D. R. (2003). A comparison of approaches to importance-performance "
            "analysis. International Journal of Market Research 45(1), 55–71.")),
    Method("kano", "Kano categories, Better/Worse and Fong's test", "## Kano features",
           "Each functional/dysfunctional answer pair maps to a category through the evaluation "
           "table (A attractive, O one-dimensional, M must-be, I indifferent, R reverse, "
           "Q questionable). With $a$ and $b$ the counts of the two most frequent categories "
           "among $n$ answers, Fong's test finds no clear winner when the difference is small.",
           (Formula(r"\text{Better} = \frac{A + O}{A + O + M + I}, \qquad "
                    r"\text{Worse} = -\frac{O + M}{A + O + M + I}",
                    "Better = (A + O)/(A + O + M + I),   Worse = −(O + M)/(A + O + M + I)"),
            Formula(r"|a - b| < 1.65 \sqrt{\frac{(a + b)(2n - a - b)}{2n}}",
                    "|a − b| < 1.65 · √((a + b)(2n − a − b) / (2n))  →  no clear winner")),
           ("Kano, N., Seraku, N., Takahashi, F. & Tsuji, S. (1984). Attractive quality and "
            "must-be quality. Hinshitsu 14(2), 39–48.",
            "Berger, C. et al. (1993). Kano's methods for understanding customer-defined "
            "quality. Center for Quality Management Journal 2(4), 3–36.",
            "Fong, D. (1996). Using the self-stated importance questionnaire to interpret Kano "
            "questionnaire results. Center for Quality Management Journal 5(3), 21–24.")),
    Method("pls", "the PLS path model and the 0–100 index", "## ACSI-style structural model",
           "Each latent variable $\\eta_j$ is a weighted sum of its block's standardised items; "
           "inner paths are estimated by regressions between the latent scores, iterating "
           "outer weights until they converge (Lohmöller's algorithm). The index rescales the "
           "latent score on the rating scale $[s_{min}, s_{max}]$ with the unstandardised "
           "weights $w$.",
           (Formula(r"\eta_{SAT} = \sum_i \beta_i \eta_i + \zeta, \qquad "
                    r"\text{index} = 100 \cdot "
                    r"\frac{\sum_k w_k \bar x_k - s_{min}}{s_{max} - s_{min}}",
                    "η_SAT = Σᵢ βᵢ ηᵢ + ζ,   "
                    "index = 100 · (Σ_k w_k x̄_k − s_min) / (s_max − s_min)"),),
           ("Fornell, C. et al. (1996). The American Customer Satisfaction Index: nature, "
            "purpose, and findings. Journal of Marketing 60(4), 7–18.",
            "Lohmöller, J.-B. (1989). Latent Variable Path Modeling with Partial Least Squares. "
            "Physica.",
            "Tenenhaus, M., Esposito Vinzi, V., Chatelin, Y.-M. & Lauro, C. (2005). PLS path "
            "modeling. Computational Statistics & Data Analysis 48, 159–205.")),
)

ROI = (
    Method("did", "difference-in-differences with fixed effects",
           "## Effects: did each phase move its KPIs?",
           "Unit $i$, month $t$, $D_{it} = 1$ for a pilot unit once its phase has started. Unit "
           "effects $\\alpha_i$ absorb level differences, month effects $\\lambda_t$ the common "
           "season and trend; $\\beta$ is the effect. Standard errors are clustered by unit; "
           "the event study replaces $\\beta D_{it}$ by one coefficient per month relative to "
           "the start and tests the leads jointly (parallel trends). With few pilots the "
           "placebo-in-space p-value reassigns the treatment to control units.",
           (Formula(r"y_{it} = \alpha_i + \lambda_t + \beta D_{it} + \varepsilon_{it}",
                    "y_it = α_i + λ_t + β·D_it + ε_it"),
            Formula(r"p_{placebo} = \frac{1 + \#\{b : |\hat\beta_b| \ge |\hat\beta|\}}{1 + B}",
                    "p_placebo = (1 + #{b : |β̂_b| ≥ |β̂|}) / (1 + B)")),
           ("Angrist, J. D. & Pischke, J.-S. (2009). Mostly Harmless Econometrics, ch. 5. "
            "Princeton University Press.",
            "Bertrand, M., Duflo, E. & Mullainathan, S. (2004). How much should we trust "
            "differences-in-differences estimates? QJE 119(1), 249–275.",
            "Abadie, A., Diamond, A. & Hainmueller, J. (2010). Synthetic control methods for "
            "comparative case studies. JASA 105, 493–505 (placebo-in-space inference).")),
    Method("money", "from an effect to money", "## Money",
           "A KPI effect $\\hat\\beta$ (per unit and month) is worth its value per unit $v$ in "
           "each of the $U$ rollout units, signed by the KPI's direction (+1 up, −1 down). "
           "Its interval scales the effect's interval the same way.",
           (Formula(r"\text{monthly value} = \text{sign} \cdot \hat\beta \cdot v \cdot U",
                    "monthly value = sign · β̂ · v · U"),),
           ("Forrester Research (2009). The Total Economic Impact™ methodology: a foundation "
            "for sound technology investments (benefits quantified per unit and month).",)),
    Method("finance", "NPV, ROI, IRR and discounted payback",
           "## ROI, NPV, IRR and payback by phase",
           "Monthly discounting at the rate converted from the annual one; one-off costs at "
           "$t = 0$, each month's benefits $B_m$ and costs $C_m$ at the month's end; IRR is the "
           "rate that makes NPV zero, annualised; discounted payback is the first month the "
           "cumulative discounted cash flow turns positive.",
           (Formula(r"d = (1 + r)^{1/12} - 1, \qquad NPV_M = -C_0 + \sum_{m=1}^{M} "
                    r"\frac{B_m - C_m}{(1 + d)^m}",
                    "d = (1 + r)^(1/12) − 1,   NPV_M = −C₀ + Σ_{m=1..M} (B_m − C_m)/(1 + d)^m"),
            Formula(r"ROI = \frac{PV(B) - PV(C)}{PV(C)}",
                    "ROI = (PV(B) − PV(C)) / PV(C)")),
           ("Forrester Research (2009). The Total Economic Impact™ methodology.",
            "Brealey, R. A., Myers, S. C. & Allen, F. (2020). Principles of Corporate Finance, "
            "13th ed., McGraw-Hill, ch. 2 "
            "and 5 (NPV, IRR, payback).")),
    Method("risk", "Monte Carlo risk adjustment", "## Risk",
           "Each draw takes the effects from their sampling distribution, a benefit-realisation "
           "factor and a cost-overrun factor (triangular distributions in the spirit of "
           "Forrester's risk-adjusted TEI), and recomputes NPV; the report gives P10/P50/P90 "
           "and the share of draws with a positive NPV.",
           (Formula(r"\hat P(NPV > 0) = \frac{1}{S}\sum_{s=1}^{S} \mathbf{1}"
                    r"\{NPV(\beta_s, \rho_s, \kappa_s) > 0\}",
                    "P̂(NPV > 0) = (1/S) · Σ_s 1{ NPV(β_s, ρ_s, κ_s) > 0 }"),),
           ("Forrester Research (2009). The Total Economic Impact™ methodology (risk "
            "adjustment).",
            "Vose, D. (2008). Risk Analysis: A Quantitative Guide, 3rd ed. Wiley.")),
)

METHODS: dict[str, tuple[Method, ...]] = {
    "01_crm_assessment": ASSESSMENT, "02_clv_modelling": CLV,
    "03_satisfaction_gaps": SATISFACTION, "04_phase_roi": ROI}
"""Notebook stem → the methods explained in its workshop page."""


def method_of(cell: Mapping[str, Any]) -> Method | None:
    """The Method a workshop cell explains (None for other cells)."""
    key = cell.get("metadata", {}).get("crmlib_workshop", {}).get("key")
    return next((m for ms in METHODS.values() for m in ms if m.key == key), None)
