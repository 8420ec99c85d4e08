"""BEIR-format evaluation data: ``corpus.jsonl``, ``queries.jsonl`` and ``qrels/<split>.tsv``."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path


class DatasetError(Exception):
    """The folder is not a readable BEIR data set; the message says what is wrong."""


@dataclass(frozen=True)
class CorpusEntry:
    doc_id: str
    title: str
    text: str


@dataclass(frozen=True)
class BeirDataset:
    path: Path
    corpus: list[CorpusEntry]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    corpus_sha256: str

    @property
    def name(self) -> str:
        return self.path.name


def _read_jsonl(path: Path) -> list[dict[str, object]]:
    if not path.is_file():
        raise DatasetError(f"{path} is missing.")
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except ValueError as exc:
                raise DatasetError(f"{path}:{number}: not JSON ({exc}).") from exc
    return rows


def read_corpus(path: Path) -> list[CorpusEntry]:
    return [
        CorpusEntry(str(row["_id"]), str(row.get("title") or ""), str(row.get("text") or ""))
        for row in _read_jsonl(path)
    ]


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """``query-id corpus-id score`` rows (tab-separated, header optional)."""
    if not path.is_file():
        raise DatasetError(f"{path} is missing.")
    qrels: dict[str, dict[str, int]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.split("\t")
        if len(fields) < 3 or fields[0] == "query-id":
            continue
        qrels.setdefault(fields[0], {})[fields[1]] = int(fields[2])
    return qrels


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_beir(path: Path, *, split: str = "test") -> BeirDataset:
    """The corpus, and the queries of ``split`` that have judgements (the others are dropped)."""
    corpus = read_corpus(path / "corpus.jsonl")
    qrels = read_qrels(path / "qrels" / f"{split}.tsv")
    queries = {
        str(row["_id"]): str(row.get("text") or "")
        for row in _read_jsonl(path / "queries.jsonl")
        if str(row["_id"]) in qrels
    }
    if not corpus or not queries:
        raise DatasetError(f"{path}: no documents, or no judged queries in the {split} split.")
    qrels = {query_id: judged for query_id, judged in qrels.items() if query_id in queries}
    return BeirDataset(path, corpus, queries, qrels, file_sha256(path / "corpus.jsonl"))
