"""Reading annotation tables (xlsx, csv) and the cells in them, as the datasets write them."""

from __future__ import annotations

import csv
import functools
import math
import numbers
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from facscope.errors import DatasetError

__all__ = [
    "Row",
    "Table",
    "cell_int",
    "cell_text",
    "find_file",
    "header_key",
    "read_csv",
    "read_table",
    "read_xlsx",
]

_INT = re.compile(r"[+-]?\d+(?:\.0*)?")
_MISSING = frozenset({"", "/", "-", "--", "nan", "none", "null", "n/a", "na"})


@functools.lru_cache(maxsize=4096)
def header_key(name: object) -> str:
    """Column names compare case-, space- and punctuation-insensitively
    (``"Onset Frame"`` == ``"OnsetFrame"`` == ``"onset_frame"``)."""
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


@dataclass(frozen=True)
class Row:
    """One data row: its 1-based row number in the file and its cells by normalised header."""

    number: int
    cells: dict[str, Any]

    def get(self, *names: str) -> Any:
        """The first present cell among ``names`` (any spelling, see :func:`header_key`)."""
        for name in names:
            key = header_key(name)
            if key in self.cells:
                return self.cells[key]
        return None


@dataclass(frozen=True)
class Table:
    """A read table: the path, the header as written, the header row number and the rows."""

    path: Path
    header: tuple[str, ...]
    header_row: int
    rows: tuple[Row, ...]

    def has(self, name: str) -> bool:
        return header_key(name) in {header_key(h) for h in self.header}

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


def _make_rows(
    header: Sequence[object], data: Iterator[tuple[int, Sequence[Any]]]
) -> tuple[tuple[str, ...], tuple[Row, ...]]:
    names = tuple(
        str(h).strip() if h is not None and str(h).strip() else f"Unnamed: {i}"
        for i, h in enumerate(header)
    )
    keys = [header_key(n) for n in names]
    rows = []
    for number, values in data:
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
            continue  # blank line
        cells: dict[str, Any] = {}
        for key, value in zip(keys, values):
            if key not in cells or cells[key] is None:  # a duplicated header keeps the first
                cells[key] = value
        rows.append(Row(number, cells))
    return names, tuple(rows)


def read_xlsx(
    path: str | os.PathLike[str],
    *,
    header: Sequence[str] = (),
    header_row: int | None = None,
    sheet: str | int | None = None,
    search_rows: int = 40,
) -> Table:
    """Read one sheet of an .xlsx file (openpyxl, read-only mode).

    Args:
        header: column names the header row must contain (any spelling); the first row within
            ``search_rows`` that holds them all is the header (SAMM's is row 13).
        header_row: 1-based header row, to skip the search.
        sheet: sheet name or 0-based index; the first sheet by default.
    """
    import openpyxl

    p = Path(path)
    try:
        wb = openpyxl.load_workbook(p, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a bad file
        raise DatasetError(f"{p}: cannot read as an .xlsx workbook ({exc})") from None
    try:
        if sheet is None:
            ws = wb.worksheets[0]
        elif isinstance(sheet, int):
            ws = wb.worksheets[sheet]
        else:
            ws = wb[sheet]
        values = [tuple(r) for r in ws.iter_rows(min_row=1, values_only=True)]
    finally:
        wb.close()
    wanted = {header_key(h) for h in header}
    if header_row is None:
        for i, row in enumerate(values[:search_rows]):
            if wanted <= {header_key(v) for v in row if v is not None}:
                header_row = i + 1
                break
        else:
            raise DatasetError(
                f"{p}: no header row with columns {list(header)} in the first {search_rows} "
                "rows; is this the right annotation file?"
            )
    names, rows = _make_rows(
        values[header_row - 1],
        ((header_row + 1 + i, r) for i, r in enumerate(values[header_row:])),
    )
    return Table(p, names, header_row, rows)


def read_csv(path: str | os.PathLike[str], *, header: Sequence[str] = ()) -> Table:
    """Read a CSV file whose first line is the header (UTF-8, a BOM is ignored)."""
    p = Path(path)
    try:
        with open(p, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            head = next(reader, None)
            if head is None:
                raise DatasetError(f"{p}: the CSV file is empty; it needs a header line")
            names, rows = _make_rows(
                head,
                ((i + 2, [None if v == "" else v for v in r]) for i, r in enumerate(reader)),
            )
    except OSError as exc:
        raise DatasetError(f"{p}: cannot read the CSV file ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise DatasetError(f"{p}: not a UTF-8 text file; save the CSV as UTF-8") from None
    missing = {header_key(h) for h in header} - {header_key(n) for n in names}
    if missing:
        raise DatasetError(f"{p}: missing column(s) {sorted(missing)}; header is {list(names)}")
    return Table(p, names, 1, rows)


def read_table(path: str | os.PathLike[str], *, header: Sequence[str] = ()) -> Table:
    """:func:`read_xlsx` or :func:`read_csv` by suffix."""
    p = Path(path)
    if p.suffix.lower() in (".xlsx", ".xlsm"):
        return read_xlsx(p, header=header)
    return read_csv(p, header=header)


def find_file(root: Path, patterns: Sequence[str], what: str, *, depth: int = 2) -> Path:
    """The annotation file matching one of ``patterns`` in ``root`` or up to ``depth`` levels
    below; when several match, the last in name order (the newest dated release)."""
    if not root.is_dir():
        raise DatasetError(f"{root}: no such dataset folder; pass the dataset's root folder")
    for level in range(depth + 1):
        found: list[Path] = []
        for pattern in patterns:
            found += [
                p
                for p in root.glob("/".join(["*"] * level + [pattern]))
                if p.is_file() and not p.name.startswith((".", "~$"))
            ]
        if found:
            return sorted(found, key=lambda p: (p.name.lower(), str(p)))[-1]
    raise DatasetError(
        f"{root}: no {what} ({' or '.join(patterns)}) found here or {depth} levels below; "
        "pass the dataset root or annotations=PATH"
    )


def cell_text(value: Any) -> str | None:
    """A cell as stripped text; None for empty and missing markers (``/``, ``-``, ``nan``)."""
    if value is None:
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer():
            value = int(value)
    text = str(value).strip()
    return None if text.lower() in _MISSING else text


def cell_int(value: Any) -> int | None:
    """A cell as an integer frame number; None when missing or not a whole number."""
    if type(value) is str:  # the common case first (CSV cells); ABC checks are slow
        text = cell_text(value)
        return int(float(text)) if text is not None and _INT.fullmatch(text) else None
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        f = float(value)
        return int(f) if math.isfinite(f) and f.is_integer() else None
    text = cell_text(value)
    if text is None:
        return None
    return int(float(text)) if _INT.fullmatch(text) else None
