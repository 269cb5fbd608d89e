"""The purchase models the CLV analysis compares, by the name used in parameters and results."""
from .bgnbd import BGNBD, MBGNBD
from .pareto_nbd import ParetoNBD

MODELS = {"bgnbd": BGNBD, "mbgnbd": MBGNBD, "pnbd": ParetoNBD}
