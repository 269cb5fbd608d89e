"""Demo CLV data: planted problems present, truths stated (fixture ``clv_small`` in conftest)."""
from __future__ import annotations

import pandas as pd

from crmlib.demo import clv as demo_clv
from crmlib.demo import generate


def test_files_and_truths(clv_small):
    truth = (clv_small / "TRUTH.md").read_text()
    for text in ("r = 0.6", "α = 6.0", "a = 0.8", "b = 3.0", "p = 6.0", "q = 4.0",
                 "γ = 90.0", "α = 0.9", "β = 2.4"):
        assert text in truth
    tx = pd.read_csv(clv_small / "transactions.csv", dtype={"amount": float})
    assert list(tx.columns) == ["customer_id", "date", "amount", "channel"]
    assert tx["customer_id"].str.fullmatch(r"C\d{5}").all()
    assert tx["customer_id"].nunique() == demo_clv.SIZES["small"][0]
    assert (tx["amount"] < 0).any() and (tx["amount"] == 0).any()
    assert tx.duplicated().any()
    assert tx.duplicated(["customer_id", "date"]).sum() > tx.duplicated().sum()
    assert (pd.to_datetime(tx["date"]) > demo_clv.OBSERVATION_END).sum() == demo_clv.N_LATE
    subs = pd.read_csv(clv_small / "subscriptions.csv")
    assert subs["end_date"].isna().any() and subs["end_date"].notna().any()
    assert len(subs) == demo_clv.SIZES["small"][1]


def test_same_seed_same_data(tmp_path):
    generate(tmp_path / "a", size="small", only=("clv",), seed=3)
    generate(tmp_path / "b", size="small", only=("clv",), seed=3)
    assert (tmp_path / "a/transactions.csv").read_bytes() == (tmp_path / "b/transactions.csv").read_bytes()


def test_the_log_a_year_on_continues_the_baseline_with_the_planted_groups(clv_small, tmp_path):
    from crmlib.demo import migration as DM
    end, year_end = demo_clv.OBSERVATION_END, DM.FOLLOW_UP_END
    base = pd.read_csv(clv_small / "transactions.csv", dtype={"customer_id": str})
    log = pd.read_csv(clv_small / "transactions_wave2.csv", dtype={"customer_id": str})
    planted = pd.read_csv(clv_small / "migration_planted.csv", dtype=str)
    base["date"], log["date"] = pd.to_datetime(base["date"]), pd.to_datetime(log["date"])
    cols = ["customer_id", "date", "amount", "channel"]
    before = log[log["date"] <= end].sort_values(cols).reset_index(drop=True)
    pd.testing.assert_frame_equal(before, base[base["date"] <= end].sort_values(cols)
                                  .reset_index(drop=True))  # the late rows left out
    assert log["date"].max() <= year_end
    year = log[log["date"] > end]
    assert (year["amount"] > 0).all() and not year.duplicated().any()  # no planted problems
    group = planted.set_index("customer_id")["group"]
    days = year.drop_duplicates(["customer_id", "date"]).groupby("customer_id").size()
    n = group.value_counts()
    assert days.reindex(group.index[group == "lapse"]).isna().all()  # no purchase in the year
    assert n["lapse"] == round(DM.LAPSE_SHARE * (n["lapse"] + n["stay_top"]))
    # 0.25 purchases a week over 365 days (or the customer's own rate, if higher)
    acc = days.reindex(group.index[group == "accelerate"]).fillna(0)
    expected = DM.ACCELERATE_RATE * (year_end - end).days / 7
    assert acc.mean() > expected - 3 * (expected / len(acc)) ** 0.5
    new = group.index[group == "new"]
    assert len(new) == round(DM.NEW_SHARE * demo_clv.SIZES["small"][0])
    assert not base["customer_id"].isin(new).any()
    first = log[log["customer_id"].isin(new)].groupby("customer_id")["date"].min()
    assert len(first) == len(new) and first.gt(end).all()
    assert first.le(end + pd.Timedelta(weeks=demo_clv.ACQUISITION_WEEKS)).all()
    text = DM.generate(tmp_path, size="small")  # the same draw: TRUTH.md states these counts
    assert f"| {n['lapse']} of {n['lapse'] + n['stay_top']} |" in text
    assert f"| {n['accelerate']} |" in text and f"| {n['new']} |" in text
    assert (tmp_path / "transactions_wave2.csv").read_bytes() == \
        (clv_small / "transactions_wave2.csv").read_bytes()
