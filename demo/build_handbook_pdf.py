"""Rebuild demo/documents/employee-handbook.pdf (needs the dev extra: reportlab).

The PDF is committed; this script documents how it was made:
    .venv/bin/python demo/build_handbook_pdf.py
"""

from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer

PAGES = [
    (
        "Employee Handbook: Welcome",
        [
            "Welcome to Lumen Labs. This handbook collects the rules and habits that make our "
            "work days predictable. Read it during your first week and ask your buddy about "
            "anything that is unclear.",
            "Core working hours are 10:00 to 15:00 in your local time zone. Outside core hours "
            "you organise your own time, as long as your team knows how to reach you.",
            "Every new employee is paired with an onboarding buddy for the first 90 days. "
            "The buddy is a colleague from another team who answers everyday questions.",
        ],
    ),
    (
        "Equipment and IT",
        [
            "Every employee receives a laptop on the first day. Laptops are replaced every "
            "36 months, or earlier when a repair would cost more than half of a new machine.",
            "Full-disk encryption and automatic screen locking after five minutes are mandatory "
            "on every device that holds company data. The IT team checks this every month.",
            "Lost or stolen devices must be reported to the IT security desk within one hour, "
            "by phone at extension 4400, so that the device can be wiped remotely.",
        ],
    ),
    (
        "Leave and Benefits",
        [
            "Full-time employees have 27 days of paid holiday per calendar year, plus public "
            "holidays of the country they work in. Up to five unused days carry over to March.",
            "Parental leave is 20 weeks at full pay for every parent, to be taken within the "
            "first year after a birth or adoption.",
            "Each employee has a yearly learning budget of 1,500 euros for courses, books and "
            "conferences. Requests go to your manager and are answered within a week.",
        ],
    ),
]


def build(path: Path) -> None:
    styles = getSampleStyleSheet()
    story = []
    for number, (heading, paragraphs) in enumerate(PAGES):
        if number:
            story.append(PageBreak())
        story.append(Paragraph(heading, styles["Heading1"]))
        for text in paragraphs:
            story.append(Paragraph(text, styles["BodyText"]))
            story.append(Spacer(1, 8))
    SimpleDocTemplate(str(path), pagesize=A4, title="Employee Handbook", author="Lumen Labs").build(
        story
    )


if __name__ == "__main__":
    build(Path(__file__).resolve().parent / "documents" / "employee-handbook.pdf")
