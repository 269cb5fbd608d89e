"""Text encoding of a CSV file: detected once, the same for every engine.

UTF-8 (with or without BOM), UTF-16 (with or without BOM, either byte order)
and Windows cp1252 / ISO latin-1 are recognised. Engines that read files in
place (DuckDB, Spark) read UTF-8 only, so :func:`utf8_path` hands them the
file itself when it already is UTF-8 without BOM, or a transcoded copy.
"""
from __future__ import annotations

import codecs
import hashlib
import os
import tempfile
from pathlib import Path

from .errors import DataError

_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))
# bytes that cp1252 leaves undefined: a file holding them is latin-1
_CP1252_HOLES = frozenset(b"\x81\x8d\x8f\x90\x9d")
SAMPLE = 1 << 16


def _utf16_without_bom(head: bytes) -> str | None:
    """``utf-16-le``/``-be`` when every other byte of the start is NUL (ASCII text in UTF-16)."""
    pairs = head[: len(head) - len(head) % 2]
    if len(pairs) < 4:
        return None
    even, odd = pairs[0::2], pairs[1::2]
    if odd.count(0) >= 0.9 * len(odd) and even.count(0) == 0:
        return "utf-16-le"
    if even.count(0) >= 0.9 * len(even) and odd.count(0) == 0:
        return "utf-16-be"
    return None


def detect_encoding(raw: bytes) -> str:
    """Python codec name of ``raw``: utf-8-sig, utf-16(-le/-be), utf-8, cp1252 or latin-1."""
    for bom, name in _BOMS:
        if raw.startswith(bom):
            return name
    utf16 = _utf16_without_bom(raw[:SAMPLE])
    if utf16:
        return utf16
    try:
        raw.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    return "latin-1" if _CP1252_HOLES.intersection(raw) else "cp1252"


def decode(raw: bytes, file=None) -> str:
    """Decode ``raw`` with its detected encoding (no BOM, no NUL left in the text)."""
    enc = detect_encoding(raw)
    try:
        text = raw.decode(enc)
    except UnicodeDecodeError as exc:
        raise DataError(f"cannot decode the file as {enc}: byte {exc.start}", file=file) from None
    if "\x00" in text:
        raise DataError("the file holds NUL characters: is it a CSV text file?", file=file)
    return text


CHUNK = 1 << 22


def file_encoding(path: str | os.PathLike) -> str:
    """Detected encoding of the file at ``path``, checking every byte in chunks."""
    with open(path, "rb") as fh:
        head = fh.read(SAMPLE)
        for bom, name in _BOMS:
            if head.startswith(bom):
                return name
        utf16 = _utf16_without_bom(head)
        if utf16:
            return utf16
        fh.seek(0)
        dec, holes = codecs.getincrementaldecoder("utf-8")(), False
        utf8 = True
        while chunk := fh.read(CHUNK):
            if b"\x00" in chunk:
                raise DataError("the file holds NUL characters: is it a CSV text file?",
                                file=path)
            holes = holes or bool(_CP1252_HOLES.intersection(chunk))
            if utf8:
                try:
                    dec.decode(chunk)
                except UnicodeDecodeError:
                    utf8 = False
        if utf8:
            try:
                dec.decode(b"", final=True)
                return "utf-8"
            except UnicodeDecodeError:
                pass
        return "latin-1" if holes else "cp1252"


def utf8_path(path: str | os.PathLike, workdir: str | os.PathLike | None = None) -> Path:
    """``path`` itself when it is UTF-8 without BOM, else a UTF-8 copy in ``workdir``.

    Engines reading files in place (DuckDB, Spark) get the same text as the pandas
    reader. The copy is named after the file's path, size and time, so calls reuse it.
    """
    path = Path(path)
    enc = file_encoding(path)
    if enc == "utf-8":
        return path
    st = path.stat()
    key = hashlib.sha1(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()
    folder = Path(workdir or tempfile.gettempdir()) / "crmlib-utf8"
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{path.stem}-{key[:12]}{path.suffix or '.csv'}"
    if not out.exists():
        tmp = out.with_name(out.name + f".{os.getpid()}.part")
        with open(path, encoding=enc, newline="") as src, \
                open(tmp, "w", encoding="utf-8", newline="") as dst:
            while block := src.read(CHUNK):
                if "\x00" in block:
                    raise DataError("the file holds NUL characters: is it a CSV text file?",
                                    file=path)
                dst.write(block)
        tmp.replace(out)
    return out
