"""The hostile-input corpus (tests/hostile/): every case gives its written outcome.

Data files are read in-process by the loaders (and, for transaction logs, by the pandas
and DuckDB summaries: one reading contract for every engine); configurations go through
``crm validate`` in-process. A refusal is exit 2 / a DataError naming file, column, row and
value in one line of sane length. Expected values are written by hand in
``tests/hostile/build.py`` (which regenerates the files and ``manifest.yaml``).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from crmlib import cli, paths
from crmlib.clv import summarise
from crmlib.io import DataError, load_items, load_transactions
from crmlib.io.options import ReadOptions
from crmlib.report.check import validate_config
from crmlib.report.config import load_config

HOSTILE = Path(__file__).parent / "hostile"
MANIFEST = yaml.safe_load((HOSTILE / "manifest.yaml").read_text(encoding="utf-8"))
DATA = MANIFEST["data"]
CONFIGS = MANIFEST["configs"]
KINDS = ("dates", "numbers", "encodings", "flags", "transactions", "configs")
LOADERS = {"transactions": load_transactions, "items": load_items}


def _id(case: dict) -> str:
    return case["file"]


def test_corpus_is_complete():
    files = {p.relative_to(HOSTILE).as_posix() for p in HOSTILE.rglob("*") if p.is_file()
             and p.parts[len(HOSTILE.parts)] in KINDS and "data" not in p.parts}
    listed = {c["file"] for c in DATA + CONFIGS}
    assert files == listed                       # every file has its outcome, and vice versa
    assert len(files) >= 40 and {f.split("/")[0] for f in files} == set(KINDS)
    assert sum(c["outcome"] == "refused" for c in DATA + CONFIGS) >= 20


def _check_refusal(exc: DataError, case: dict) -> None:
    err, text = case["error"], str(exc)
    assert "\n" not in text and len(text) < 400
    assert err["message"] in text
    assert Path(str(exc.file)).name == Path(case["file"]).name
    if err["column"] is not None:
        assert (exc.column, exc.row) == (err["column"], err["row"])
        assert str(exc.value) == str(err["value"])


def _check_values(df: pd.DataFrame, case: dict) -> None:
    for column, values in case["expect"].items():
        got = df[column]
        if pd.api.types.is_datetime64_any_dtype(got):
            assert list(got) == [pd.Timestamp(v) for v in values]
        elif column == "reverse":
            assert [None if pd.isna(v) else int(v) for v in got] == values
        else:
            assert list(got) == values


@pytest.mark.parametrize("case", [c for c in DATA if c["contract"] in LOADERS], ids=_id)
def test_loader_outcome(case):
    load = LOADERS[case["contract"]]
    options = ReadOptions(**case.get("options", {}))
    path = HOSTILE / case["file"]
    if case["outcome"] == "refused":
        with pytest.raises(DataError) as e:
            _load(load, path, options)
        _check_refusal(e.value, case)
    else:
        _check_values(_load(load, path, options), case)


def _load(load, path: Path, options: ReadOptions) -> pd.DataFrame:
    from crmlib.io import contracts as C
    from crmlib.io.readers import read_table
    if options == ReadOptions():
        return load(path)
    contract = C.TRANSACTIONS if load is load_transactions else C.ITEMS
    return C.validate(read_table(path), contract, file=path, options=options)


ENGINE_CASES = [c for c in DATA if c["contract"] == "transactions"
                and c["file"].endswith(".csv") and not c.get("options")]


@pytest.mark.parametrize("case", ENGINE_CASES, ids=_id)
def test_engines_read_alike(case):
    """pandas and DuckDB summaries: the same values, or the same refusal (row and value)."""
    path = HOSTILE / case["file"]
    outcomes = []
    for engine in ("pandas", "duckdb"):
        try:
            s = summarise(path, engine=engine, time_unit="D")
            outcomes.append(("ok", s.customers.round({c: 9 for c in ("recency", "T",
                             "monetary_value", "total_spend")}), s.quality.read))
        except DataError as exc:
            outcomes.append(("refused", exc.column, exc.row, str(exc.value), exc.message))
    assert outcomes[0][0] == ("refused" if case["outcome"] == "refused" else "ok")
    if outcomes[0][0] == "ok":
        pd.testing.assert_frame_equal(outcomes[0][1], outcomes[1][1], check_dtype=False)
        assert outcomes[0][2] == outcomes[1][2]
    else:
        assert outcomes[0] == outcomes[1]


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
@pytest.mark.parametrize("case", [c for c in DATA if c["contract"] == "summary"], ids=_id)
def test_transactions_counted_as_btyd_does(case, engine):
    path = HOSTILE / case["file"]
    opts = dict(case.get("summary_options", {}))
    if case["outcome"] == "refused":
        with pytest.raises(DataError, match=case["error"]["message"]):
            summarise(path, engine=engine, time_unit="D", **opts)
        return
    s = summarise(path, engine=engine, time_unit="D", **opts)
    for cid, want in case["customers"].items():
        got = s.customers.loc[cid]
        assert {k: got[k] for k in want} == pytest.approx(want), cid
    assert s.quality.noted() == case["notes"]
    assert {k: v for k, v in s.quality.excluded().items() if v} == case["excluded"]


@pytest.fixture(scope="module")
def demo_free(tmp_path_factory):
    """Configs reference files under the project root, as a real client's do."""
    assert paths.resolve("tests/hostile").is_dir()
    return tmp_path_factory


@pytest.mark.parametrize("case", CONFIGS, ids=_id)
def test_crm_validate(case, capsys, demo_free):
    code = cli.main(["validate", "--config", str(HOSTILE / case["file"])])
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "Invalid unicode" not in err
    if case["outcome"] == "accepted":
        assert code == 0, err
        assert "all inputs valid" in out
        return
    assert code == 2
    lines = err.strip().splitlines()
    assert all(line.startswith("crm: error: ") and len(line) < 450 for line in lines)
    for message in case["messages"]:
        assert message in err
    if "problems" in case:
        assert len(lines) == case["problems"]


@pytest.mark.parametrize("case", [c for c in CONFIGS if c["outcome"] == "accepted"], ids=_id)
def test_validate_passing_implies_the_run_input_stage_passes(case):
    """What the notebooks call first, with the parameters the run injects, accepts it too."""
    from crmlib.clv import pipeline as PL
    from crmlib.io.options import declared
    from crmlib.report.plan import plan_job
    config = load_config(HOSTILE / case["file"])
    assert all(c.ok for c in validate_config(config))
    with declared(config.raw.get("inputs"), config.path, paths.ROOT):
        for stem in config.notebooks:
            job = plan_job(config, stem, HOSTILE / ".run", None)
            p = {n: d.default for n, d in job.declared.items()} | job.parameters
            if stem.startswith("02"):
                clv = PL.analyse(p["transactions"], engine=p["engine"], time_unit=p["time_unit"],
                                 observation_end=p["observation_end"],
                                 calibration_end=p["calibration_end"])
                assert len(clv.summary.customers) > 0
            elif stem.startswith("03"):
                from crmlib.params import validate
                from crmlib.satisfaction.inputs import load_inputs
                from crmlib.satisfaction.params import SPEC
                survey, _, _ = load_inputs(validate(SPEC, p))
                assert survey.n_respondents > 0
            elif stem.startswith("04"):
                from crmlib.params import validate
                from crmlib.roi.notebook import load_inputs
                from crmlib.roi.params import SPEC
                plan, monthly, _ = load_inputs(validate(SPEC, p))
                assert len(monthly) > 0


@pytest.mark.parametrize("case", [c for c in DATA if c["contract"] in ("transactions", "summary")],
                         ids=_id)
def test_validate_agrees_with_the_clv_notebook_input_stage(case, tmp_path):
    """Every transaction fixture: crm validate passes exactly when the CLV notebook's first
    step (``analyse`` with the parameters the run injects) reads the file."""
    from crmlib.clv import pipeline as PL
    from crmlib.io.options import declared
    path = str(HOSTILE / case["file"])
    params = {"transactions": path, "subscriptions": None, "observation_end": None,
              "calibration_end": None}
    if "transaction_col" in case.get("summary_options", {}):
        params["transaction_col"] = case["summary_options"]["transaction_col"]
    body = {"client": "corpus", "notebooks": {"02_clv_modelling": params}}
    if case.get("options"):
        body["inputs"] = {path: case["options"]}
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(body), encoding="utf-8")
    checks = validate_config(load_config(cfg))
    with declared(body.get("inputs")):
        try:
            PL.analyse(path, engine="auto", time_unit="W",
                       transaction_col=params.get("transaction_col"))
            run_ok = True
        except DataError:
            run_ok = False
    assert checks[0].ok == run_ok, checks[0].problems


def test_problems_grouped_by_kind_and_capped():
    from crmlib.report.check import MAX_PER_KIND, NotebookCheck, report_lines
    bad, good = NotebookCheck("02_clv"), NotebookCheck("01_assessment")
    for row in range(2, 12):
        bad.add(DataError("not a number", file="t.csv", column="amount", row=row, value="x"))
    bad.add(DataError("a value is required", file="t.csv", column="customer_id", row=3))
    good.loaded["responses"] = "r.csv: 10 rows × 5 columns"
    out, err = report_lines([good, bad])
    assert out[0].startswith("ok") and out[1].endswith("10 rows × 5 columns")
    assert out[2].startswith("ERROR 02_clv: 11 problem(s)") and len(out) == 3
    assert sum("not a number" in e for e in err) == MAX_PER_KIND + 1   # five and a summary
    assert err[-1] == f"… and {10 - MAX_PER_KIND} more problem(s) of this kind: not a number"
    assert any("a value is required" in e for e in err)
