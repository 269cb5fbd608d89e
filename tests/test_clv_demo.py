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
