"""Every satisfaction chart builds a titled, labelled Figure from its result table."""
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

import crmlib.satisfaction as S
from crmlib.demo import generate
from crmlib.plots import satisfaction as charts


@pytest.fixture(scope="module")
def sv(tmp_path_factory):
    out = tmp_path_factory.mktemp("satplots")
    generate(out, size="small", only=("satisfaction",))
    return S.load_inputs({"survey": out / "survey.csv", "items": out / "survey_items.csv",
                          "scale_min": 1, "scale_max": 7, "dont_know_codes": [99],
                          "segment_col": "segment"})[0]


def _check(fig):
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_title() and ax.get_xlabel()
    fig.canvas.draw()  # renders without error


def test_all_charts(sv):
    ig, dg = S.item_gaps(sv), S.dimension_gaps(sv)
    d, r2, _ = S.derived_importance(sv, n_boot=20)
    by, tests = S.segment_gaps(sv)
    _check(charts.gap_bars(dg))
    _check(charts.gap_bars(ig, "item", label="label"))
    _check(charts.profile(ig))
    _check(charts.ipa_grid(S.ipa_table(sv)))
    _check(charts.ipa_grid(S.ipa_table(sv, d, "derived", "midpoint")))
    _check(charts.kano_plot(S.kano_table(sv)))
    _check(charts.driver_shares(d, r2=r2))
    _check(charts.reliability_chart(S.reliability_table(sv, n_boot=10)))
    _check(charts.segment_comparison(by, tests))
    clv = pd.DataFrame({"customer_id": sv.customer_id.dropna().unique()})
    clv["clv"] = np.arange(len(clv), dtype=float) + 1
    vi, vd = S.value_weighted_gaps(sv, clv)
    _check(charts.gap_bars(vd, title="CLV-weighted gaps"))
    _check(charts.value_weighted(vd))
    _check(charts.path_coefficients(S.satisfaction_model(sv, n_boot=20).summary()))
