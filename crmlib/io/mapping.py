"""Column mapping: the one rule that turns a client's header names into a contract's.

A mapping is ``{contract column: client column}`` per input, written in the
client configuration under the notebook's ``columns`` parameter::

    02_clv_modelling:
      transactions: data/acme/opportunities.csv
      columns:
        transactions: {customer_id: AccountId, date: CloseDate, amount: Amount}

The same :func:`resolve` is used by ``crm validate``, by the pandas loaders,
by the DuckDB and Spark summaries and by the covariate probe, so an input is
renamed the same way wherever it is read. Header names are compared after
stripping surrounding blanks; the comparison is exact otherwise (``Amount`` is
not ``amount``): a proposed mapping from ``crm new-client --from`` writes the
client's spelling into the configuration.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from .errors import DataError

# notebook parameters of earlier versions that name one transactions column each
LEGACY_PARAMETERS = {"transactions": {"customer_id": "customer_col", "date": "date_col",
                                      "amount": "amount_col"}}


def shown(names: Iterable[str], limit: int = 8) -> str:
    """A file's columns for a message, cut to ``limit`` names."""
    names = list(names)
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return str(names[:limit])[:-1] + more + "]"


def _known(contract, std: str) -> bool:
    return contract is None or contract.column(std) is not None


def resolve(columns: Iterable[Any], mapping: Mapping[str, str] | None, *, contract=None,
            file: Any = None, required: Iterable[str] | None = None) -> dict[str, str]:
    """Return ``{header as read: contract name}`` for every column of an input.

    Parameters
    ----------
    columns : header names as read (blanks around a name are ignored).
    mapping : contract column → client column; None or empty keeps the names.
    contract : :class:`~crmlib.io.contracts.Contract` whose columns the mapping may name
        (its required columns must be present after renaming unless ``required`` is given).
    file : name used in error messages.
    required : contract columns that must be present after renaming.

    Raises
    ------
    DataError
        A mapping names a column the contract does not know, a client column the file
        does not have, or the same client column twice; a contract column would appear
        twice (mapped and already present); a required column is missing.
    """
    raw = [str(c) for c in columns]
    names = {c.strip(): c for c in raw}
    renames = {c: c.strip() for c in raw}
    seen: dict[str, str] = {}
    for std, own in (mapping or {}).items():
        if not isinstance(own, str) or not own.strip():
            raise DataError(f"the mapping for '{std}' must be a column name, got {own!r}",
                            file=file, column=std)
        own = own.strip()
        if not _known(contract, std):
            known = [c.name for c in contract.columns]
            raise DataError(f"the mapping names '{std}', which is not a column of the "
                            f"{contract.name} (known: {known})", file=file, column=std)
        if own not in names:
            raise DataError(f"mapped column '{own}' (for '{std}') not found; columns are "
                            f"{shown(names)}", file=file, column=own)
        if own in seen:
            raise DataError(f"client column '{own}' is mapped twice, to '{seen[own]}' and "
                            f"'{std}'", file=file, column=own)
        seen[own] = std
        renames[names[own]] = std
    targets = list(renames.values())
    dup = next((t for t in targets if targets.count(t) > 1), None)
    if dup is not None:
        raise DataError("the column appears twice (the file has it and a mapping names "
                        "another column for it)" if dup in seen.values()
                        else "the column appears twice", file=file, column=dup)
    if required is None and contract is not None:
        required = [c.name for c in contract.columns if c.required]
    missing = [r for r in (required or ()) if r not in targets]
    if missing:
        raise DataError(f"required column missing; the file has columns {shown(names)} (map "
                        f"yours under 'columns' in the configuration)",
                        file=file, column=missing[0])
    return renames


def apply(df: pd.DataFrame, mapping: Mapping[str, str] | None, *, contract=None,
          file: Any = None) -> pd.DataFrame:
    """``df`` with its columns renamed by :func:`resolve` (a copy; data unchanged)."""
    renames = resolve(df.columns, mapping, contract=contract, file=file)
    return df.rename(columns=renames)


def for_input(parameters: Mapping[str, Any], name: str) -> dict[str, str]:
    """The mapping of input ``name`` from a notebook's parameters.

    ``parameters["columns"][name]`` plus, for the transactions, the older single-column
    parameters (``customer_col``, ``date_col``, ``amount_col``) when they differ from the
    contract's name. Entries mapping a column to itself are left out.
    """
    out: dict[str, str] = {}
    for std, param in LEGACY_PARAMETERS.get(name, {}).items():
        value = parameters.get(param)
        if isinstance(value, str) and value.strip() and value.strip() != std:
            out[std] = value.strip()
    columns = parameters.get("columns") or {}
    given = columns.get(name) if isinstance(columns, Mapping) else None
    for std, own in (given or {}).items():
        if std in out and out[std] != own:
            raise DataError(f"columns.{name}.{std} is {own!r} but the parameter "
                            f"{LEGACY_PARAMETERS[name][std]} says {out[std]!r}; keep one",
                            column=std)
        if own != std:
            out[str(std)] = own
    return out
