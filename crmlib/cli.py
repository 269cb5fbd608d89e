"""The ``crm`` command: run client reports, check inputs, make demo data, start a client.

    crm report --config clients/demo.yaml [--only NAMES] [--jobs N] [--as-of DATE] [--out DIR]
    crm report --config 'clients/*.yaml' --keep 8      # several clients in parallel
    crm validate --config clients/demo.yaml
    crm demo-data --out data/demo --seed 7 [--size demo|small]
    crm new-client "Acme Retail"
    crm params 02
    crm workshop --out workshop/ [--only NAMES] [--seed N]

Exit codes: 0 success; 1 a report ran but some notebooks failed; 2 bad input,
parameters or configuration (one line on stderr naming the file or parameter,
nothing run), or another run of the same client in progress; 130 interrupted.
With several configurations, the worst of the clients' codes.
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence
from pathlib import Path

EXIT_USAGE = 2  # pandas and friends are imported only once a command runs: --help stays quick
INTERRUPTED = "crm: interrupted (an unfinished run stays in its .partial folder)"
INTERRUPT_DEADLINE = 20.0
"""Seconds after a Ctrl-C by which ``crm`` has ended, even if its clean-up is stuck."""
REPORT_FILES = """\
files of a run (reports/<client>/<run-id>/):
  index.html                  start page: status and headline figures, links to all below
  deck.pptx                   slides for the board: summary, one per analysis, priorities
  05_executive_summary.pdf    the two-page executive summary (A4), also as .html
  <notebook>.html / .pdf      each report: summary first, method appendix at the end
  results/<notebook>/         tables.xlsx (formatted, filters), CSVs and results.json
  <notebook>.ipynb, run.json, run.log   executed notebooks, parameters, checksums, log
PDFs need Chromium (apt-get install chromium-headless-shell); CRM_NO_PDF=1 skips them."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit 2), like every other ``crm`` error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"crm: error: {message} (see '{self.prog} --help')\n")


def _date(text: str) -> str:
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an ISO date yyyy-mm-dd, got {text!r}") \
            from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number ≥ 1, got {text!r}")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number ≥ 0, got {text!r}")
    return value


def _here(text: str) -> Path:
    """A path given on the command line: relative to the current directory."""
    return Path(text).expanduser().resolve()


def _config_path(text: str) -> Path:
    """A configuration path: relative to the current directory, else to the project root
    (so ``--config clients/demo.yaml`` works from anywhere)."""
    here = _here(text)
    if here.exists():
        return here
    from . import paths
    return paths.resolve(text)


def _names(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


def build_parser() -> argparse.ArgumentParser:
    """The ``crm`` argument parser with its six commands (report, validate, demo-data,
    params, new-client, workshop)."""
    parser = _Parser(prog="crm", description="CRM analysis notebooks and client reports.",
                     epilog="Run 'crm COMMAND --help' for a command's options. Exit codes: 0 ok, "
                            "1 some notebooks failed, 2 bad input or parameters.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    config_help = ("client configuration (YAML), e.g. clients/demo.yaml (relative to the "
                   "current folder, else to the project root)")
    only_help = ("comma-separated notebook names or numeric prefixes (e.g. 02,03); "
                 "notebooks whose results they use are added")

    rep = sub.add_parser("report", help="run a client's notebooks into a report",
                         description="Check every notebook's parameters, then run the notebooks "
                                     "in parallel into reports/<client>/<run-id>/ with an "
                                     "index.html. 'latest' moves to the run only when every "
                                     "notebook of the configuration succeeded.",
                         epilog=REPORT_FILES, formatter_class=argparse.RawDescriptionHelpFormatter)
    rep.add_argument("--config", required=True, nargs="+", action="extend", metavar="FILE",
                     help="one or more client configurations (YAML); a quoted pattern such as "
                          "'clients/*.yaml' is expanded by crm; several clients run in parallel")
    rep.add_argument("--only", type=_names, action="extend", metavar="NAMES", help=only_help)
    rep.add_argument("--jobs", type=_positive, metavar="N",
                     help="notebooks run at the same time, over all clients (default: number "
                          "of CPUs)")
    rep.add_argument("--keep", type=_positive, metavar="N",
                     help="after the run, remove all but the N newest complete runs of the "
                          "client (never the one 'latest' points at)")
    rep.add_argument("--retry", type=_count, default=0, metavar="N",
                     help="run a notebook whose kernel died or timed out up to N more times "
                          "(never one that raised an error); each attempt is logged in "
                          "run.json (default: 0)")
    rep.add_argument("--as-of", type=_date, metavar="DATE",
                     help="ISO date given to every notebook with an as_of parameter")
    rep.add_argument("--out", type=_here, metavar="DIR",
                     help="reports folder (default: reports/ of the project)")
    rep.add_argument("--quiet", action="store_true", help="no progress output")
    rep.set_defaults(func=cmd_report)

    val = sub.add_parser("validate", help="check parameters and inputs without running",
                         description="Check every notebook's parameters and load each input "
                                     "file through its data contract. Nothing is run.")
    val.add_argument("--config", required=True, type=_config_path, help=config_help)
    val.add_argument("--only", type=_names, action="extend", metavar="NAMES", help=only_help)
    val.add_argument("--as-of", type=_date, metavar="DATE", help="as for 'crm report'")
    val.set_defaults(func=cmd_validate)

    demo = sub.add_parser("demo-data", help="generate the demo client's input files",
                          description="Write the fictional demo retailer's inputs and TRUTH.md "
                                      "(the values planted in them).")
    demo.add_argument("--out", type=_here, default=None, metavar="DIR",
                      help="output folder (default: data/demo)")
    demo.add_argument("--seed", type=int, default=7, help="random seed (default: 7)")
    demo.add_argument("--size", choices=("demo", "small"), default="demo",
                      help="'demo' for the demo report, 'small' for test fixtures")
    demo.set_defaults(func=cmd_demo_data)

    par = sub.add_parser("params", help="list a notebook's parameters",
                         description="List the parameters a client configuration can set for "
                                     "each notebook: name, type, default and meaning (read from "
                                     "the notebook's parameters cell).")
    par.add_argument("notebooks", nargs="*", metavar="NOTEBOOK",
                     help="notebook names or numeric prefixes (default: all in notebooks/)")
    par.set_defaults(func=cmd_params)

    new = sub.add_parser("new-client", help="scaffold data/<client>/ and clients/<client>.yaml",
                         description="Create template input files (headers and one example row "
                                     "per data contract) and a configuration for a new client.")
    new.add_argument("name", help="the client's display name, e.g. 'Acme Retail'")
    new.add_argument("--force", action="store_true", help="overwrite existing files")
    new.add_argument("--from", dest="source", metavar="DIR",
                     help="folder of the client's files: propose the configuration and column "
                          "mapping from them instead of writing templates")
    new.set_defaults(func=cmd_new_client)

    work = sub.add_parser("workshop", help="render the notebooks for teaching",
                          description="Run the analysis notebooks on the demo client drawn with "
                                      "--seed and render them for a workshop: code shown, each "
                                      "method explained with its formula and paper, exercises "
                                      "with checks, the planted truths next to what the models "
                                      "recovered (docs/workshop.md).")
    work.add_argument("--out", required=True, type=_here, metavar="DIR",
                      help="folder to write: index.html, one page per notebook, data/, results/")
    work.add_argument("--only", type=_names, action="extend", metavar="NAMES",
                      help="comma-separated notebook names or numeric prefixes (e.g. 02,03; "
                           "default: the four analyses)")
    work.add_argument("--seed", type=int, default=7, help="seed of the demo data (default: 7)")
    work.set_defaults(func=cmd_workshop)
    return parser


def cmd_report(args: argparse.Namespace) -> int:
    """``crm report``."""
    from .report.batch import expand_configs

    configs = expand_configs(args.config)
    if len(configs) > 1:
        return _report_clients(args, configs)
    from .report.runner import run_report

    result = run_report(configs[0], only=args.only, jobs=args.jobs, as_of=args.as_of,
                        out=args.out, progress=not args.quiet, keep=args.keep,
                        retry=args.retry)
    for warning in result.warnings:
        print(f"crm: warning: {warning}", file=sys.stderr)
    bad = {k: v for k, v in result.notebooks.items() if v["status"] != "ok"}
    n = len(result.notebooks)
    if bad:
        print(f"crm: {len(bad)} of {n} notebooks did not succeed: {', '.join(bad)}; 'latest' "
              "was not moved", file=sys.stderr)
    elif not args.quiet:
        print(f"crm: all {n} notebooks succeeded"
              + ("" if result.latest_moved else " ('latest' not moved: not every notebook "
                                                 "of the configuration ran)"), file=sys.stderr)
    if result.pruned and not args.quiet:
        print(f"crm: removed {len(result.pruned)} old run(s): {', '.join(result.pruned)}",
              file=sys.stderr)
    print(result.index)
    return result.exit_code


def _report_clients(args: argparse.Namespace, configs: list[Path]) -> int:
    """``crm report`` with several configurations: one summary line per client on stdout."""
    from .report.batch import overall_exit, run_clients, share_jobs, summary_line

    if not args.quiet:
        at_once, each = share_jobs(len(configs), args.jobs)
        print(f"crm: {len(configs)} clients, {at_once} at a time, up to {each} notebook(s) "
              "each", file=sys.stderr)

    def done(outcome) -> None:
        print(summary_line(outcome), flush=True)
        for warning in outcome.warnings:
            print(f"crm: warning: {outcome.slug}: {warning}", file=sys.stderr)

    outcomes = run_clients(configs, jobs=args.jobs, only=args.only, as_of=args.as_of,
                           out=args.out, keep=args.keep, on_done=done, retry=args.retry)
    return overall_exit(outcomes)


def cmd_validate(args: argparse.Namespace) -> int:
    """``crm validate``."""
    from .report.check import report_lines, validate_config
    from .report.config import load_config

    checks = validate_config(load_config(args.config), only=args.only, as_of=args.as_of)
    out, err = report_lines(checks)
    for line in out:
        print(line)
    for problem in err:
        print(f"crm: error: {problem}{_hint(problem)}", file=sys.stderr)
    if err:
        return EXIT_USAGE
    print(f"crm: {len(checks)} notebook(s) checked, all inputs valid")
    return 0


def cmd_demo_data(args: argparse.Namespace) -> int:
    """``crm demo-data``."""
    from . import demo

    truth = demo.generate(args.out, seed=args.seed, size=args.size)
    print(f"crm: demo data written to {Path(truth).parent} (planted truths: {truth})")
    return 0


def cmd_params(args: argparse.Namespace) -> int:
    """``crm params``."""
    from . import paths
    from .report.config import RUNNER_SET, select_notebooks
    from .report.params import NO_DEFAULT, read_parameters

    available = sorted(p.stem for p in paths.NOTEBOOKS.glob("*.ipynb"))
    for stem in select_notebooks(args.notebooks, available, file=paths.NOTEBOOKS):
        print(stem)
        for p in read_parameters(paths.NOTEBOOKS / f"{stem}.ipynb").values():
            default = "(computed)" if p.default is NO_DEFAULT else repr(p.default)
            note = " [set by the runner]" if p.name in RUNNER_SET else ""
            print(f"  {p.name}: {p.annotation or 'any'} = {default}  # {p.comment}{note}")
    return 0


def cmd_new_client(args: argparse.Namespace) -> int:
    """``crm new-client``."""
    from .report.scaffold import new_client

    written = new_client(args.name, force=args.force, source=args.source)
    for path in written:
        print(path)
    todo = ("check the proposed files and columns in" if args.source
            else "fill in the files above, then check")
    print(f"crm: {todo} the configuration: 'crm validate --config {written[-1]}'",
          file=sys.stderr)
    return 0


def cmd_workshop(args: argparse.Namespace) -> int:
    """``crm workshop``."""
    from . import workshop

    try:
        workshop.select(args.only)
    except ValueError as exc:
        print(f"crm: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        index = workshop.build_workshop(args.out, only=args.only, seed=args.seed,
                                        progress=lambda line: print(line, file=sys.stderr))
    except workshop.WorkshopError as exc:
        print(f"crm: workshop: {exc}", file=sys.stderr)
        print(args.out / "index.html")
        return 1
    print(index)
    return 0


def _hint(message: str) -> str:
    """A pointer to the fix for the one common first-run problem: no demo data yet."""
    from . import paths

    if "not found" in message and str(paths.DEMO) in message:
        return " (generate the demo data first: crm demo-data, or make data)"
    return ""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``crm`` command; returns the exit code."""
    args = build_parser().parse_args(argv)
    from .io.errors import DataError, ParameterError
    from .report.lock import ClientBusy
    from .report.params import NotebookError

    try:
        return args.func(args)
    except (DataError, ParameterError, NotebookError, ClientBusy) as exc:
        print(f"crm: error: {exc}{_hint(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # unwritable reports folder, disk full: 1 once a run had started
        print(f"crm: error: {exc}", file=sys.stderr)
        return getattr(exc, "exit_code", EXIT_USAGE)
    except KeyboardInterrupt:
        print(INTERRUPTED, file=sys.stderr)
        return 130


def run() -> None:
    """The ``crm`` command: :func:`main`, and a Ctrl-C that ends the process within
    :data:`INTERRUPT_DEADLINE` seconds whatever its clean-up waits for."""
    import signal

    from .procs import interrupt_with_deadline

    signal.signal(signal.SIGINT, interrupt_with_deadline(INTERRUPT_DEADLINE, INTERRUPTED))
    sys.exit(main())


if __name__ == "__main__":
    run()
