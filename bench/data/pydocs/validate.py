"""Check the pydocs BEIR set and print its counts (Python 3.11 standard library only).

    python3.11 bench/data/pydocs/validate.py

Checks: every qrels line names a query of ``queries.jsonl`` and a corpus ``_id`` that exists;
grades are 1 or 2; every query has at least one grade-2 judgement; ids are unique. Prints the
numbers quoted in README.md: documents, queries, judgements, queries with more than one judged
document, modules covered, and the question-kind mix with each kind's word overlap.

A query's *word overlap* is the share of its content words (lower-cased, stop words and words
under three letters dropped, a plural ``s`` stripped, ``snake_case`` split) that also occur in
the text or dotted name of its best-overlapping grade-2 document. The ``kind`` stored in
``queries.jsonl`` is ``rare-term`` when the question was written around a rare decisive token
(an exception name, an option such as ``exist_ok``, a format such as ISO 8601), otherwise
``paraphrase`` when its overlap is below ``PARAPHRASE_BELOW`` and ``vocabulary`` when not.
"""

from __future__ import annotations

import json
import re
import statistics
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
PARAPHRASE_BELOW = 0.35

STOP = set(
    """a an the and or but if of to in on at by for with from as is are be been it its this that
    these those i me my we our you your he she they them their what which who whom how why when
    where do does did doing can could should would will shall may might must have has had having
    not no so than too very just also into out up down over under again more most some any all
    each every other such only own same both few one two three get got getting make want need way
    like there here then about without while until before after thing things something use
    using""".split()  # noqa: SIM905
)


def content_words(text: str) -> set[str]:
    words = set()
    for word in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text.lower()):
        for part in [*word.split("_"), *([word] if "_" in word else [])]:
            if len(part) < 3 or part in STOP:
                continue
            words.add(part[:-1] if part.endswith("s") and len(part) > 3 else part)
    return words


def word_overlap(question: str, judged: dict[str, int], texts: dict[str, str]) -> float:
    asked = content_words(question)
    best = 0.0
    for doc_id, grade in judged.items():
        if grade == 2:
            answer = content_words(texts[doc_id] + " " + doc_id.replace(".", " "))
            best = max(best, len(asked & answer) / max(1, len(asked)))
    return best


def module_of(doc_id: str, modules: list[str]) -> str:
    return max((m for m in modules if doc_id.startswith(m + ".")), key=len)


def main() -> int:
    sys.dont_write_bytecode = True  # no __pycache__ next to the data
    sys.path.insert(0, str(HERE))
    from build_corpus import MODULES  # the module list the corpus was built from

    modules = [*MODULES, "asyncio"]
    errors: list[str] = []
    corpus = [json.loads(line) for line in (HERE / "corpus.jsonl").open(encoding="utf-8")]
    texts = {row["_id"]: row["text"] for row in corpus}
    if len(texts) != len(corpus):
        errors.append("duplicate corpus _id")
    queries = [json.loads(line) for line in (HERE / "queries.jsonl").open(encoding="utf-8")]
    asked = {row["_id"]: row for row in queries}
    if len(asked) != len(queries):
        errors.append("duplicate query _id")
    if len({row["text"] for row in queries}) != len(queries):
        errors.append("duplicate query text")

    lines = (HERE / "qrels" / "test.tsv").read_text(encoding="utf-8").splitlines()
    if lines[0] != "query-id\tcorpus-id\tscore":
        errors.append(f"qrels header is {lines[0]!r}")
    qrels: dict[str, dict[str, int]] = {}
    for number, line in enumerate(lines[1:], start=2):
        query_id, doc_id, grade = line.split("\t")
        if query_id not in asked:
            errors.append(f"qrels line {number}: unknown query {query_id}")
        if doc_id not in texts:
            errors.append(f"qrels line {number}: unknown document {doc_id}")
        if grade not in ("1", "2"):
            errors.append(f"qrels line {number}: grade {grade}")
        if doc_id in qrels.get(query_id, {}):
            errors.append(f"qrels line {number}: {query_id} judges {doc_id} twice")
        qrels.setdefault(query_id, {})[doc_id] = int(grade)

    kinds: Counter[str] = Counter()
    overlaps: dict[str, list[float]] = {}
    for row in queries:
        judged = qrels.get(row["_id"], {})
        if 2 not in judged.values():
            errors.append(f"{row['_id']} has no grade-2 judgement")
            continue
        kind = row["metadata"]["kind"]
        overlap = word_overlap(row["text"], judged, texts)
        expected = (
            "rare-term"
            if kind == "rare-term"
            else "paraphrase"
            if overlap < PARAPHRASE_BELOW
            else "vocabulary"
        )
        if kind != expected:
            errors.append(f"{row['_id']}: kind {kind}, overlap {overlap:.2f} says {expected}")
        kinds[kind] += 1
        overlaps.setdefault(kind, []).append(overlap)

    answer_modules = {
        module_of(doc_id, modules)
        for judged in qrels.values()
        for doc_id, grade in judged.items()
        if grade == 2
    }
    judgements = sum(len(judged) for judged in qrels.values())
    grades = Counter(grade for judged in qrels.values() for grade in judged.values())
    print(f"documents  {len(corpus)} from {len({module_of(i, modules) for i in texts})} modules")
    print(f"queries    {len(queries)}")
    print(f"judgements {judgements} (grade 2: {grades[2]}, grade 1: {grades[1]})")
    print(f"queries with more than one judged document: {sum(len(j) > 1 for j in qrels.values())}")
    print(f"modules with a grade-2 answer: {len(answer_modules)}")
    for kind in ("paraphrase", "vocabulary", "rare-term"):
        values = overlaps.get(kind, [])
        if values:
            print(
                f"kind {kind:<10} {kinds[kind]:>4} queries, word overlap "
                f"median {statistics.median(values):.2f}, mean {statistics.fmean(values):.2f}"
            )
    for error in errors:
        print("ERROR", error)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
