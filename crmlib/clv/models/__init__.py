"""Buy-Till-You-Die models for customer-base analysis, fitted by maximum likelihood.

Counting models (non-contractual, continuous time): :class:`BGNBD`,
:class:`MBGNBD`, :class:`ParetoNBD`; discrete opportunities: :class:`BGBB`;
contractual retention: :class:`ShiftedBetaGeometric`; spend per transaction:
:class:`GammaGamma`; static covariates: :class:`BGNBDCovariates`.
See docs/clv_models.md for formulas, parametrisations and time units.
"""
from .base import ConvergenceError
from .bgbb import BGBB
from .bgnbd import BGNBD, MBGNBD, simulate_bgnbd
from .covariates import BGNBDCovariates
from .gamma_gamma import GammaGamma
from .identified import fit_identified, limits_of
from .limits import NBD, BGNBDCommonDropout, ParetoNBDCommonDropout
from .one_rate import PoissonCommonDropout, PoissonExponentialDropout
from .pareto_nbd import ParetoNBD, simulate_pareto_nbd
from .registry import MODELS
from .sbg import ShiftedBetaGeometric

__all__ = ["BGBB", "BGNBD", "BGNBDCommonDropout", "BGNBDCovariates", "ConvergenceError", "GammaGamma", "MBGNBD", "MODELS", "NBD", "ParetoNBD", "ParetoNBDCommonDropout", "PoissonCommonDropout",
           "PoissonExponentialDropout", "ShiftedBetaGeometric", "fit_identified", "limits_of",
           "simulate_bgnbd", "simulate_pareto_nbd"]
