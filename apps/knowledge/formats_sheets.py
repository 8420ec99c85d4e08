"""Spreadsheets (xlsx / xlsm through openpyxl, ods through odfpy) as text with structure.

Each sheet is a section under a ``# <sheet name>`` heading; each row below the header row
(the first row with a value) is a record that names its row and its cells by their header:
``Row 12 — Owner: Finance; Cost: 1200``. A cell under no header is named by its column
letter. Formulas give their cached values (the values the spreadsheet program last
computed). Huge sheets are cut at the limits of ``ExtractOptions`` with a note in the text,
so the rows before the cut stay searchable and the cut is visible in the passages.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from apps.knowledge.errors import ExtractionError
from apps.knowledge.extracted import Extracted
from apps.knowledge.formats_odf import (
    OFFICE_NS,
    TABLE_NS,
    attribute,
    children,
    count_attribute,
    load_opendocument,
    paragraph_texts,
)
from apps.knowledge.office_package import MIME_ODS, check_package

if TYPE_CHECKING:
    from apps.knowledge.extract import ExtractOptions

# Excel's own bound on columns; an ODS claiming more repeated cells is cut here.
MAX_COLUMNS = 16_384

Cells = list[tuple[int, str]]  # (column number from 1, text) of the cells that hold a value
Rows = Iterable[tuple[int, Cells]]  # (row number from 1, its cells)


@dataclass
class Budget:
    """What is left to read of one workbook, and the notes on what was cut."""

    max_rows: int
    cells_left: int
    notes: list[str] = field(default_factory=list)

    def charge(self, width: int) -> bool:
        """Take one row of ``width`` cells (blank ones included: reading them costs too)."""
        self.cells_left -= width
        return self.cells_left >= 0


def extract_spreadsheet(data: bytes, mime_type: str, options: ExtractOptions) -> Extracted:
    """Every sheet a section, every row a record; bounded by the options' limits."""
    budget = Budget(options.spreadsheet_max_rows, options.spreadsheet_max_cells)
    check_package(data, max_expanded_bytes=options.max_expanded_bytes, what="spreadsheet")
    try:
        if mime_type == MIME_ODS:
            sections = _sections(_ods_sheets(data), budget, options.office_max_parts)
        else:
            sections = _xlsx_sections(data, budget, options.office_max_parts)
    except ExtractionError:
        raise
    except Exception as exc:  # openpyxl and odfpy raise many kinds for broken parts
        raise ExtractionError(f"The spreadsheet could not be read: {exc}") from exc
    text = "\n\n".join([*sections, *budget.notes])
    return Extracted(text=text)


def _xlsx_sections(data: bytes, budget: Budget, max_sheets: int) -> list[str]:
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        return _sections(_xlsx_sheets(workbook), budget, max_sheets)
    finally:
        workbook.close()


def _xlsx_sheets(workbook: Any) -> Iterator[tuple[str, Rows]]:
    for sheet in workbook.worksheets:
        # The <dimension> a file declares is not trusted: rows are padded only to their own
        # last cell instead of to a claimed A1:XFD1048576.
        sheet.reset_dimensions()
        yield str(sheet.title), _xlsx_rows(sheet)


def _xlsx_rows(sheet: Any) -> Iterator[tuple[int, Cells]]:
    for number, values in enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1):
        cells = [(column, cell_text(v)) for column, v in enumerate(values, start=1)]
        yield number, [(column, text) for column, text in cells if text]


def _sections(sheets: Iterable[tuple[str, Rows]], budget: Budget, max_sheets: int) -> list[str]:
    sections: list[str] = []
    for index, (name, rows) in enumerate(sheets):
        if index >= max_sheets:
            budget.notes.append(
                f"[Only the first {max_sheets:,} sheets were indexed (OFFICE_MAX_PARTS).]"
            )
            break
        title = " ".join(name.split()) or f"Sheet {index + 1}"
        records = sheet_records(title, rows, budget)
        if records:
            sections.append("\n\n".join([f"# {title}", *records]))
        if budget.cells_left < 0:
            break
    return sections


def sheet_records(title: str, rows: Rows, budget: Budget) -> list[str]:
    """The records of one sheet: the first row with a value is the header of the others."""
    header: dict[int, str] | None = None
    header_row: tuple[int, Cells] | None = None
    records: list[str] = []
    for number, cells in rows:
        if not cells:
            continue
        if not budget.charge(cells[-1][0]):
            budget.notes.append(
                f"[Sheet {title!r} was cut at row {number:,}: the workbook has more cells than "
                "the limit (SPREADSHEET_MAX_CELLS); the rest was not indexed.]"
            )
            break
        if header is None:
            header, header_row = dict(cells), (number, cells)
            continue
        if len(records) >= budget.max_rows:
            budget.notes.append(
                f"[Sheet {title!r} has more than {budget.max_rows:,} rows; the rows after row "
                f"{number - 1:,} were not indexed (SPREADSHEET_MAX_ROWS).]"
            )
            break
        records.append(row_record(number, cells, header))
    if not records and header_row is not None:
        number, cells = header_row
        records.append(f"Row {number} — " + " | ".join(text for _, text in cells))
    return records


def row_record(number: int, cells: Cells, header: dict[int, str]) -> str:
    """``Row 12 — Owner: Finance; Cost: 1200`` (a cell under no header: its column letter)."""
    from openpyxl.utils import get_column_letter

    pairs = [f"{header.get(column) or get_column_letter(column)}: {text}" for column, text in cells]
    return f"Row {number} — " + "; ".join(pairs)


def cell_text(value: object) -> str:
    """A cell value as it reads: whole numbers without ".0", dates in ISO form, one line."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return format(value, ".15g")
    if isinstance(value, dt.datetime):
        if value.time() == dt.time():
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return " ".join(str(value).split())


# --- OpenDocument spreadsheets ---


def _ods_sheets(data: bytes) -> Iterator[tuple[str, Rows]]:
    document = load_opendocument(data, what="spreadsheet")
    for table in _tables(document.spreadsheet):
        yield attribute(table, TABLE_NS, "name"), _ods_rows(table)


def _tables(element: Any) -> Iterator[Any]:
    yield from children(element, TABLE_NS, "table")


def _ods_rows(table: Any) -> Iterator[tuple[int, Cells]]:
    """Rows with their numbers; ``number-rows-repeated`` of blank rows costs nothing, and of
    rows with values is expanded lazily (the reader stops at the limits)."""
    number = 0
    for row in _row_elements(table):
        repeat = count_attribute(row, TABLE_NS, "number-rows-repeated")
        cells = _ods_cells(row)
        if not cells:
            number += repeat
            continue
        for _ in range(repeat):
            number += 1
            yield number, cells


_ROW_GROUPS = ("table-rows", "table-header-rows", "table-row-group")


def _row_elements(element: Any) -> Iterator[Any]:
    for child in children(element, TABLE_NS, "table-row", *_ROW_GROUPS):
        if child.qname[1] == "table-row":
            yield child
        else:
            yield from _row_elements(child)


def _ods_cells(row: Any) -> Cells:
    cells: Cells = []
    column = 0
    for cell in children(row, TABLE_NS, "table-cell", "covered-table-cell"):
        repeat = count_attribute(cell, TABLE_NS, "number-columns-repeated")
        text = ods_value(cell)
        if text:
            count = min(repeat, MAX_COLUMNS - column)
            cells.extend((column + i, text) for i in range(1, count + 1))
        column += repeat
        if column >= MAX_COLUMNS:
            break
    return cells


def ods_value(cell: Any) -> str:
    """The cell's value: numbers and dates from their typed attribute (formulas keep their
    computed value there), anything else as its displayed text."""
    kind = attribute(cell, OFFICE_NS, "value-type")
    if kind in ("float", "percentage", "currency"):
        try:
            return cell_text(float(attribute(cell, OFFICE_NS, "value")))
        except ValueError:
            pass
    elif kind == "date":
        return attribute(cell, OFFICE_NS, "date-value").removesuffix("T00:00:00")
    elif kind == "boolean":
        return attribute(cell, OFFICE_NS, "boolean-value").upper()
    return " ".join(" ".join(paragraph_texts(cell)).split())
