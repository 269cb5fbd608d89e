"""The report runner: check parameters, run notebooks with papermill, render client HTML.

Public API::

    from crmlib.report import expand_configs, load_config, run_clients, run_report
    result = run_report("clients/demo.yaml", jobs=2)   # RunResult; result.exit_code 0/1/2
    outcomes = run_clients(expand_configs(["clients/*.yaml"]), jobs=4, keep=8)

``crm validate`` checks a configuration without running it
(:func:`crmlib.report.check.validate_config` on :func:`load_config`'s result).
"""
from .batch import ClientOutcome, expand_configs, overall_exit, run_clients
from .config import ClientConfig, load_config, slugify
from .lock import ClientBusy
from .params import (
                     NotebookError,
                     NotebookParameter,
                     NotebookParameterError,
                     check_parameters,
                     read_parameters,
)
from .render import external_references, render_html
from .runner import RunResult, read_latest, run_report

__all__ = ["ClientBusy", "ClientConfig", "ClientOutcome", "NotebookError", "NotebookParameter",
           "NotebookParameterError", "RunResult", "check_parameters", "expand_configs",
           "external_references", "load_config", "overall_exit", "read_latest",
           "read_parameters", "render_html", "run_clients", "run_report", "slugify"]
