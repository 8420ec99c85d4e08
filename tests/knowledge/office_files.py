"""Office and book files made on the fly with the libraries that write them for real."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field

Cell = str | int | float | None


def xlsx_bytes(
    sheets: dict[str, Sequence[Sequence[Cell]]], *, cached: dict[str, str] | None = None
) -> bytes:
    """A workbook with one sheet per entry. ``cached`` gives formulas the value a spreadsheet
    program would have stored with them ({"=B2*2": "2400"}); openpyxl itself stores none."""
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(list(row))
    out = io.BytesIO()
    workbook.save(out)
    data = out.getvalue()
    return _with_cached_values(data, cached) if cached else data


def _with_cached_values(data: bytes, cached: dict[str, str]) -> bytes:
    def rewrite(xml: bytes) -> bytes:
        text = xml.decode()
        for formula, value in cached.items():
            pattern = f"<f>{re.escape(formula.removeprefix('='))}</f><v\\s*/>|<f>{re.escape(formula.removeprefix('='))}</f><v></v>"
            text = re.sub(pattern, f"<f>{formula.removeprefix('=')}</f><v>{value}</v>", text)
        return text.encode()

    return rewrite_zip(data, lambda name, xml: rewrite(xml) if "worksheets/" in name else xml)


def rewrite_zip(data: bytes, change, *, extra: dict[str, bytes] | None = None) -> bytes:  # type: ignore[no-untyped-def]
    """The same package with each member passed through ``change(name, bytes)``, plus
    the ``extra`` members."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            member = change(info.filename, source.read(info))
            compress = zipfile.ZIP_STORED if info.filename == "mimetype" else zipfile.ZIP_DEFLATED
            target.writestr(info.filename, member, compress_type=compress)
        for name, member in (extra or {}).items():
            target.writestr(name, member, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


@dataclass
class SlideSpec:
    title: str = ""
    body: list[str] = field(default_factory=list)
    table: list[list[str]] = field(default_factory=list)
    notes: str = ""


def pptx_bytes(slides: Sequence[SlideSpec]) -> bytes:
    from pptx import Presentation
    from pptx.util import Inches

    presentation = Presentation()
    for spec in slides:
        layout = presentation.slide_layouts[1 if spec.title else 6]  # title+content, or blank
        slide = presentation.slides.add_slide(layout)
        if spec.title:
            slide.shapes.title.text = spec.title
            body = slide.placeholders[1].text_frame
            body.text = spec.body[0] if spec.body else ""
            for line in spec.body[1:]:
                body.add_paragraph().text = line
        else:
            box = slide.shapes.add_textbox(Inches(1), Inches(1), Inches(6), Inches(1))
            box.text_frame.text = "\n".join(spec.body)
        if spec.table:
            rows, cols = len(spec.table), len(spec.table[0])
            shape = slide.shapes.add_table(rows, cols, Inches(1), Inches(4), Inches(6), Inches(1))
            for r, row in enumerate(spec.table):
                for c, value in enumerate(row):
                    shape.table.cell(r, c).text = value
        if spec.notes:
            slide.notes_slide.notes_text_frame.text = spec.notes
    out = io.BytesIO()
    presentation.save(out)
    return out.getvalue()


def _odf_save(document) -> bytes:  # type: ignore[no-untyped-def]
    out = io.BytesIO()
    document.write(out)
    return out.getvalue()


def ods_bytes(sheets: dict[str, Sequence[Sequence[Cell]]]) -> bytes:
    """Numbers become float cells with their value; strings become text cells."""
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    document = OpenDocumentSpreadsheet()
    for name, rows in sheets.items():
        table = Table(name=name)
        for row in rows:
            table_row = TableRow()
            for value in row:
                if value is None:
                    cell = TableCell()
                elif isinstance(value, int | float):
                    cell = TableCell(valuetype="float", value=value)
                    cell.addElement(P(text=str(value)))
                else:
                    cell = TableCell(valuetype="string")
                    cell.addElement(P(text=value))
                table_row.addElement(cell)
            table.addElement(table_row)
        document.spreadsheet.addElement(table)
    return _odf_save(document)


def odp_bytes(slides: Sequence[SlideSpec]) -> bytes:
    from odf.draw import Frame, Page, TextBox
    from odf.namespaces import PRESENTATIONNS
    from odf.opendocument import OpenDocumentPresentation
    from odf.presentation import Notes
    from odf.style import MasterPage, PageLayout
    from odf.text import P

    document = OpenDocumentPresentation()
    layout = PageLayout(name="layout")
    document.automaticstyles.addElement(layout)
    master = MasterPage(name="master", pagelayoutname=layout)
    document.masterstyles.addElement(master)

    def frame(lines: list[str], kind: str) -> Frame:
        box = Frame(width="20cm", height="3cm", x="1cm", y="1cm")
        box.setAttrNS(PRESENTATIONNS, "class", kind)
        text_box = TextBox()
        for line in lines:
            text_box.addElement(P(text=line))
        box.addElement(text_box)
        return box

    for number, spec in enumerate(slides, start=1):
        page = Page(name=f"page{number}", masterpagename=master)
        if spec.title:
            page.addElement(frame([spec.title], "title"))
        if spec.body:
            page.addElement(frame(spec.body, "outline"))
        if spec.notes:
            notes = Notes()
            notes.addElement(frame([spec.notes], "notes"))
            page.addElement(notes)
        document.presentation.addElement(page)
    return _odf_save(document)


def odt_bytes(blocks: Sequence[tuple[str, object]]) -> bytes:
    """``("h1", text)``, ``("p", text)``, ``("list", [items])``, ``("table", [[cells]])``."""
    from odf.opendocument import OpenDocumentText
    from odf.table import Table, TableCell, TableColumn, TableRow
    from odf.text import H, List, ListItem, P

    document = OpenDocumentText()
    for kind, value in blocks:
        if kind.startswith("h"):
            document.text.addElement(H(outlinelevel=int(kind[1:]), text=str(value)))
        elif kind == "p":
            document.text.addElement(P(text=str(value)))
        elif kind == "list":
            items = List()
            for item in value:  # type: ignore[attr-defined]
                list_item = ListItem()
                list_item.addElement(P(text=str(item)))
                items.addElement(list_item)
            document.text.addElement(items)
        elif kind == "table":
            table = Table(name="T")
            table.addElement(TableColumn(numbercolumnsrepeated=len(value[0])))  # type: ignore[index]
            for row in value:  # type: ignore[attr-defined]
                table_row = TableRow()
                for text in row:
                    cell = TableCell()
                    cell.addElement(P(text=text))
                    table_row.addElement(cell)
                table.addElement(table_row)
            document.text.addElement(table)
    return _odf_save(document)


def epub_bytes(title: str, chapters: Sequence[tuple[str, str]]) -> bytes:
    """``(toc title, xhtml body)`` chapters in spine order."""
    from ebooklib import epub

    book = epub.EpubBook()
    book.set_identifier("test-book")
    book.set_title(title)
    book.set_language("en")
    items = []
    for number, (toc_title, body) in enumerate(chapters, start=1):
        item = epub.EpubHtml(title=toc_title, file_name=f"chap_{number}.xhtml", lang="en")
        item.content = f"<html><body>{body}</body></html>"
        book.add_item(item)
        items.append(item)
    book.toc = [epub.Link(i.file_name, i.title, f"c{n}") for n, i in enumerate(items, 1)]
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = ["nav", *items]
    out = io.BytesIO()
    epub.write_epub(out, book)
    return out.getvalue()


RTF_POLICY = (
    rb"{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0 Times New Roman;}}"
    rb"{\info{\title Remote work policy}}"
    rb"\f0\fs24 {\b Remote work policy}\par "
    rb"Staff may work from home two days a week.\par "
    rb"Caf\'e9 receipts are not reimbursed.\par}"
)
