"""Workshop mode: the analysis notebooks for teaching.

Code visible, each method explained with its formula and paper, exercises with
checks, and the demo client's planted truths next to what the models recovered::

    from crmlib.workshop import build_workshop
    index = build_workshop("workshop", only="02", seed=7)   # Path of index.html

Design and contents: ``docs/workshop.md``.
"""
from .build import NOTEBOOKS, WorkshopError, build_workshop, select, workshop_notebook
from .content import METHODS, Formula, Method
from .exercises import CHECKS, EXERCISES, CheckResult, Exercise, check
from .truths import comparison

__all__ = ["CHECKS", "EXERCISES", "METHODS", "NOTEBOOKS", "CheckResult", "Exercise", "Formula",
           "Method", "WorkshopError", "build_workshop", "check", "comparison", "select",
           "workshop_notebook"]
