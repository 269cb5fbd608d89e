"""The report runner: check parameters, run notebooks with papermill, render client HTML.

Public API::

    from crmlib.report import run_report, load_config, check_config
    result = run_report("clients/demo.yaml", jobs=2)   # RunResult; result.exit_code 0/1/2
"""
from .config import ClientConfig, load_config, slugify
from .params import (NotebookError, NotebookParameter, NotebookParameterError,
                     check_parameters, read_parameters)
from .render import external_references, render_html
from .runner import RunResult, read_latest, run_report

__all__ = ["ClientConfig", "NotebookError", "NotebookParameter", "NotebookParameterError",
           "RunResult", "check_parameters", "external_references", "load_config",
           "read_latest", "read_parameters", "render_html", "run_report", "slugify"]
