"""Main-content extraction of web pages: our selectolax extractor against trafilatura.

Run: ``.venv/bin/python bench/site_extraction.py`` (no database, no network).

Pages are real documentation pages found on this machine (Node.js API, npm, mdBook, rustdoc,
Sphinx, DocBook, and the old table-layout xmlsoft.org site). For each page the *gold* main
content is the page's own content container (a CSS selector per site family); everything
else in the body (menus, side bars, tables of contents of the site, headers, footers) is
boilerplate. Words are compared as multisets of lower-cased word tokens:

- content lost: share of the gold content's words missing from the extraction;
- boilerplate kept: share of the boilerplate words that the extraction still holds.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "site_extraction.json"
sys.path.insert(0, str(ROOT))

from selectolax.lexbor import LexborHTMLParser  # noqa: E402

RUST = Path("/root/.rustup/toolchains/stable-x86_64-unknown-linux-gnu/share/doc/rust/html")
XMLSOFT = Path("/usr/share/doc/libxslt1-dev/html")
PAGES: list[tuple[str, Path, str]] = [
    ("node: dns", Path("/usr/share/doc/nodejs/api/dns.html"), "#apicontent"),
    ("node: path", Path("/usr/share/doc/nodejs/api/path.html"), "#apicontent"),
    (
        "npm: install",
        Path("/usr/lib/node_modules/npm/docs/output/commands/npm-install.html"),
        "#_content",
    ),
    ("mdBook: rustc lint levels", RUST / "rustc/lints/levels.html", "main"),
    ("mdBook: rustdoc intro", RUST / "rustdoc/what-is-rustdoc.html", "main"),
    (
        "rustdoc: macro page",
        RUST / "std_detect/macro.is_x86_feature_detected.html",
        "#main-content",
    ),
    ("Sphinx: Debian python policy", Path("/usr/share/doc/python3/python-policy.html"), "div.body"),
    (
        "DocBook: valgrind quick start",
        Path("/usr/share/doc/valgrind/html/quick-start.html"),
        "div.article, div.chapter, div.sect1",
    ),
    ("xmlsoft (tables): bugs", XMLSOFT / "bugs.html", "largest-td"),
    ("xmlsoft (tables): internals", XMLSOFT / "internals.html", "largest-td"),
    ("xmlsoft (tables): extensions", XMLSOFT / "extensions.html", "largest-td"),
]
_INVISIBLE = "script,style,noscript,template"


def words(text: str) -> Counter[str]:
    return Counter(re.findall(r"\w+", text.lower()))


def _visible(html: str) -> LexborHTMLParser:
    tree = LexborHTMLParser(html)
    for node in tree.css(_INVISIBLE):
        node.decompose()
    return tree


def gold_and_page(html: str, selector: str) -> tuple[Counter[str], Counter[str]]:
    tree = _visible(html)
    body = tree.body
    assert body is not None
    if selector == "largest-td":
        cells = tree.css('td[bgcolor="#fffacd"]')
        node = max(cells, key=lambda n: len(n.text().split()))
    else:
        node = tree.css_first(selector)
    assert node is not None, selector
    return words(node.text(separator=" ")), words(body.text(separator=" "))


def ours(html: str) -> str:
    from apps.knowledge.extract import extract_html

    return extract_html(html).text


def trafilatura_default(html: str) -> str:
    import trafilatura

    return trafilatura.extract(html) or ""


def trafilatura_markdown_recall(html: str) -> str:
    import trafilatura

    return (
        trafilatura.extract(html, output_format="markdown", favor_recall=True, include_tables=True)
        or ""
    )


EXTRACTORS: dict[str, Callable[[str], str]] = {
    "ours (selectolax)": ours,
    "trafilatura": trafilatura_default,
    "trafilatura md+recall": trafilatura_markdown_recall,
}


def score(extracted: str, gold: Counter[str], page: Counter[str]) -> tuple[float, float]:
    got = words(extracted)
    boilerplate = page - gold
    found = got & gold
    lost = 1 - sum(found.values()) / max(1, sum(gold.values()))
    kept = sum(((got - gold) & boilerplate).values()) / max(1, sum(boilerplate.values()))
    return lost, kept


def main() -> None:
    totals = {name: [0.0, 0.0, 0.0] for name in EXTRACTORS}
    rows = []
    pages = [(label, path, sel) for label, path, sel in PAGES if path.exists()]
    for extractor in EXTRACTORS.values():  # imports and first-call set-up are not timed
        extractor("<html><body><p>warm up</p></body></html>")
    for label, path, selector in pages:
        html = path.read_bytes().decode("utf-8", errors="replace")
        gold, page = gold_and_page(html, selector)
        boiler = sum((page - gold).values())
        cells = []
        for name, extractor in EXTRACTORS.items():
            started = time.perf_counter()
            lost, kept = score(extractor(html), gold, page)
            totals[name][0] += lost
            totals[name][1] += kept
            totals[name][2] += time.perf_counter() - started
            cells.append(f"{100 * lost:5.1f}% / {100 * kept:5.1f}%")
        rows.append(f"| {label} | {sum(gold.values())} | {boiler} | " + " | ".join(cells) + " |")
    header = " | ".join(EXTRACTORS)
    print("content lost / boilerplate kept (lower is better for both)\n")
    print(f"| page | content words | boilerplate words | {header} |")
    print("|---|---|---|" + "---|" * len(EXTRACTORS))
    print("\n".join(rows))
    mean = [
        f"{100 * t[0] / len(pages):5.1f}% / {100 * t[1] / len(pages):5.1f}%"
        for t in totals.values()
    ]
    print("| **mean** | | | " + " | ".join(mean) + " |")
    timing = ", ".join(f"{name} {1000 * t[2] / len(pages):.0f} ms" for name, t in totals.items())
    print(f"\nmean time per page: {timing}")
    result = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "loadavg": os.getloadavg(),
        "pages": [label for label, _, _ in pages],
        "mean": {
            name: {
                "content_lost": round(t[0] / len(pages), 4),
                "boilerplate_kept": round(t[1] / len(pages), 4),
                "ms_per_page": round(1000 * t[2] / len(pages), 1),
            }
            for name, t in totals.items()
        },
    }
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
