"""The CLV analysis' settings, built once from the parameters, checked once, passed whole.

:class:`SummaryOptions` says how a transaction log becomes one row per customer (time
unit, window, column mapping, the $0-row, identical-row and transaction-id rules);
:class:`Valuation` how a fitted model becomes money (margin, discount rate, horizon,
interval draws and level). Both engines (:func:`crmlib.clv.pipeline.analyse`,
:func:`crmlib.clv.spark.pipeline.run_clv`) take these objects and hand them on intact, as
:class:`crmlib.roi.GateRule` travels to the gate.

>>> SummaryOptions.from_params(P), Valuation.from_params(P)   # doctest: +SKIP
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from .summary_core import UNIT_NAMES

ZERO_AMOUNTS = ("keep", "exclude")
DUPLICATES = ("keep", "drop")


def _choice(name: str, value: Any, choices) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")


def _known(cls, values: Mapping[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in values.items() if k in names}


@dataclass(frozen=True)
class SummaryOptions:
    """How the log is summarised per customer (Fader, Hardie & Lee 2005's x, t_x, T).

    Attributes
    ----------
    time_unit : unit of recency, T and every horizon: ``"D"``, ``"W"`` or ``"M"``.
    observation_end : last day observed (None = the last date in the data).
    calibration_end : end of the calibration period; the holdout follows (None = none).
    mapping : contract column → the client's column.
    zero_amounts : ``"keep"`` a $0 row as a purchase day left out of the spend model, or
        ``"exclude"`` it.
    duplicates : identical rows ``"keep"`` (separate purchases) or ``"drop"``.
    transaction_col : column identifying transactions (identical rows then are one).
    """

    time_unit: str = "W"
    observation_end: dt.date | None = None
    calibration_end: dt.date | None = None
    mapping: Mapping[str, str] | None = None
    zero_amounts: str = "keep"
    duplicates: str = "keep"
    transaction_col: str | None = None

    def __post_init__(self):
        _choice("time_unit", self.time_unit, tuple(UNIT_NAMES))
        _choice("zero_amounts", self.zero_amounts, ZERO_AMOUNTS)
        _choice("duplicates", self.duplicates, DUPLICATES)
        ends = (self.calibration_end, self.observation_end)
        if None not in ends and ends[0] > ends[1]:
            raise ValueError(f"calibration_end {ends[0]} is after observation_end {ends[1]}")

    @classmethod
    def from_params(cls, P: Mapping[str, Any], mapping: Mapping[str, str] | None = None
                    ) -> SummaryOptions:
        """The options among notebook 02's validated parameters; ``mapping`` the
        transactions' column mapping (:func:`crmlib.io.mapping.for_input`)."""
        return cls(**{**_known(cls, P), "mapping": mapping})

    def summary_kwargs(self, *, calibration: bool = True) -> dict[str, Any]:
        """Keyword arguments of :func:`crmlib.clv.summary.summarise` (without the
        calibration end when ``calibration`` is False: the whole-period summary)."""
        out = asdict(self)
        out["mapping"] = dict(self.mapping) if self.mapping is not None else None
        if not calibration:
            out["calibration_end"] = None
        return out


@dataclass(frozen=True)
class Valuation:
    """How a fitted model becomes customer value (discounted expected margin; Fader,
    Hardie & Lee 2005, with the Gamma-Gamma spend).

    Attributes
    ----------
    margin : share of spend kept (0..1).
    discount_rate_annual : annual rate (0..1), applied monthly.
    horizon_months : months valued.
    n_draws : parameter draws for the intervals (0 = none).
    level : interval level.
    """

    margin: float = 0.3
    discount_rate_annual: float = 0.1
    horizon_months: int = 36
    n_draws: int = 200
    level: float = 0.90

    def __post_init__(self):
        if not 0 <= self.margin <= 1:
            raise ValueError(f"margin must be between 0 and 1, got {self.margin!r}")
        if not 0 <= self.discount_rate_annual <= 1:
            raise ValueError("discount_rate_annual must be between 0 and 1, got "
                             f"{self.discount_rate_annual!r}")
        if int(self.horizon_months) != self.horizon_months or self.horizon_months < 1:
            raise ValueError(f"horizon_months must be a whole number of months ≥ 1, got "
                             f"{self.horizon_months!r}")
        if int(self.n_draws) != self.n_draws or self.n_draws < 0:
            raise ValueError(f"n_draws must be a whole number ≥ 0, got {self.n_draws!r}")
        if not 0 < self.level < 1:
            raise ValueError(f"level must be between 0 and 1, got {self.level!r}")
        object.__setattr__(self, "horizon_months", int(self.horizon_months))
        object.__setattr__(self, "n_draws", int(self.n_draws))

    @classmethod
    def from_params(cls, P: Mapping[str, Any]) -> Valuation:
        """The valuation among notebook 02's validated parameters."""
        return cls(**_known(cls, P))

    def value_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :func:`crmlib.clv.value.customer_value`."""
        return asdict(self)


def split_options(options: Mapping[str, Any]) -> tuple[SummaryOptions, Valuation, dict]:
    """Loose keyword arguments (``time_unit=…, margin=…``) as the two settings objects, and
    what belongs to neither."""
    rest = {k: v for k, v in options.items()
            if k not in _known(SummaryOptions, options) and k not in _known(Valuation, options)}
    return (SummaryOptions(**_known(SummaryOptions, options)),
            Valuation(**_known(Valuation, options)), rest)


def settings_from(options: SummaryOptions | None, valuation: Valuation | None,
                  loose: Mapping[str, Any], caller: str) -> tuple[SummaryOptions | None,
                                                                  Valuation | None]:
    """The settings objects a function was given, or built from its loose keywords
    (``time_unit=…, margin=…``); TypeError for both at once or an unknown keyword."""
    if not loose:
        return options, valuation
    if options is not None or valuation is not None:
        raise TypeError("give the settings as options/valuation objects or as keywords, "
                        "not both")
    options, valuation, rest = split_options(loose)
    if rest:
        raise TypeError(f"{caller}() got unexpected keyword argument(s) {sorted(rest)}")
    return options, valuation
