# Two commands: `make run` and `make test`. Everything else is a helper.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
INSTALLED := $(VENV)/.installed
INSTALLED_DEV := $(VENV)/.installed-dev

.PHONY: run serve backup restore test check lint fmt chromium ocr speech migrate demo clean-db pg16-binaries bench bench-faults bench-ingest bench-ingest-formats \
	bench-quality bench-quality-pydocs bench-bm25 bench-retrieval bench-retrieval-1m bench-breakdown bench-load bench-transcription bench-ingest-recordings

$(PY):
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(INSTALLED): pyproject.toml | $(PY)
	$(PIP) install -q -e .
	@touch $@

$(INSTALLED_DEV): pyproject.toml $(INSTALLED)
	$(PIP) install -q -e '.[dev]'
	@touch $@

## make run: install (with Tesseract for OCR), start the embedded database, migrate, load the demo, serve web + worker
run: $(INSTALLED) pg16-binaries ocr
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo
	./scripts/serve.sh

## make serve: the production start (gunicorn, whitenoise, DEBUG=0, JSON logs, a worker beside
## it); needs DJANGO_SECRET_KEY; configuration from the environment (.env.example)
serve: $(INSTALLED) pg16-binaries ocr
	./scripts/serve_production.sh

## make backup: the database and the stored originals in one file under BACKUP_DIR (var/backups)
backup: $(INSTALLED)
	$(PY) manage.py backup

## make restore FILE=var/backups/qa-backup-….tar [FORCE=1]: replace database and originals
## (stop make run / make serve first; FORCE=1 replaces a database that already holds data)
restore: $(INSTALLED)
	@test -n "$(FILE)" || { echo "Usage: make restore FILE=var/backups/qa-backup-<time>.tar [FORCE=1]"; exit 2; }
	$(PY) manage.py restore "$(FILE)" $(if $(FORCE),--force)

## make test: install what the tests need (dev extras, Debian chromium, tesseract-ocr and
## espeak-ng), run checks and the suite
test: $(INSTALLED_DEV) chromium ocr speech
	$(MAKE) --no-print-directory check
	$(PY) -m pytest

check: $(INSTALLED_DEV)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy apps qa_site
	$(PY) manage.py makemigrations --check --dry-run

fmt: $(INSTALLED_DEV)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

chromium:
	@if ! command -v chromium >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "Browser tests need Debian's chromium: sudo apt-get install chromium"; exit 1; fi; \
	fi

## speech: Debian's espeak-ng, which reads the test sentences the transcription tests hear
speech:
	@if ! command -v espeak-ng >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng >/dev/null; \
	  else echo "The transcription tests need Debian's espeak-ng: sudo apt-get install espeak-ng"; exit 1; fi; \
	fi

## ocr: Debian's Tesseract with English and German language data, for scans and images
## (OCR_LANGUAGES chooses among them). Without root it says how, and scans fail with that sentence.
OCR_PACKAGES := tesseract-ocr tesseract-ocr-eng tesseract-ocr-deu
ocr:
	@if ! tesseract --list-langs 2>/dev/null | grep -qx deu; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(OCR_PACKAGES) >/dev/null; \
	  else echo "OCR of scans and images needs Tesseract: sudo apt-get install $(OCR_PACKAGES)"; fi; \
	fi

INSTALLED_BENCH := $(VENV)/.installed-bench
$(INSTALLED_BENCH): pyproject.toml $(INSTALLED_DEV)
	$(PIP) install -q -e '.[dev,bench]'
	@touch $@

DATASET ?= ../shared/data/scifact

## make bench: every benchmark (figures printed and written to bench/results/*.json; see
## BENCHMARKS.md); one command each below. Never part of the tests. Takes about an hour.
bench: bench-faults bench-ingest bench-ingest-formats bench-quality bench-quality-pydocs bench-bm25 bench-retrieval \
	bench-breakdown bench-load bench-transcription bench-ingest-recordings

bench-faults: $(INSTALLED_BENCH)
	$(PY) bench/client_faults.py
bench-transcription: $(INSTALLED_BENCH) speech
	$(PY) bench/transcription.py
bench-ingest-recordings: $(INSTALLED_BENCH) speech
	$(PY) bench/ingest_recordings.py
bench-ingest: $(INSTALLED_BENCH)
	$(PY) bench/ingest.py
bench-ingest-formats: $(INSTALLED_BENCH)
	$(PY) bench/ingest.py --formats --per-format 30 --ocr-docs 8
bench-quality: $(INSTALLED_BENCH)
	$(PY) bench/quality.py --dataset $(DATASET) --keep
bench-quality-pydocs: $(INSTALLED_BENCH)
	$(PY) bench/quality.py --dataset bench/data/pydocs --keep --output bench/results/quality_pydocs.json
bench-bm25: bench-quality bench-quality-pydocs
	$(PY) bench/bm25_params.py --dataset bench/data/pydocs --dataset $(DATASET)
bench-retrieval: $(INSTALLED_BENCH)
	$(PY) bench/retrieval.py --sizes 10000,100000
bench-retrieval-1m: $(INSTALLED_BENCH)
	$(PY) bench/retrieval.py --sizes 1000000 --sweep-at 0 --chroma-max 0 --compare-ts-rank --out bench/results/retrieval_1m_bm25.json
bench-breakdown: $(INSTALLED_BENCH)
	$(PY) bench/breakdown.py
bench-load: $(INSTALLED_BENCH)
	$(PY) bench/load.py

migrate: $(INSTALLED) pg16-binaries
	$(PY) manage.py migrate --noinput

demo: $(INSTALLED) pg16-binaries
	$(PY) manage.py load_demo

## pg16-binaries: the embedded server is PostgreSQL 18 now; a data directory still written by
## the earlier PostgreSQL 16 is moved to 18 on the next start (qa_site/embedded_upgrade.py),
## which reads it with pgserver's PostgreSQL 16 binaries: installed here when missing.
PGDATA_DIR = $(or $(QA_VAR_DIR),var)/pgdata
pg16-binaries: $(INSTALLED)
	@if [ -z "$$DATABASE_URL" ] && [ "$$(cat '$(PGDATA_DIR)/PG_VERSION' 2>/dev/null)" = 16 ] \
	  && ! $(PY) -c 'import pgserver' 2>/dev/null; then \
	  echo "$(PGDATA_DIR) holds PostgreSQL 16 data: installing pgserver to move it to PostgreSQL 18"; \
	  $(PIP) install -q 'pgserver>=0.1.4,<0.2'; \
	fi

## clean-db: delete the embedded database and uploaded files under var/ (asks no questions)
clean-db:
	rm -rf var/pgdata var/media
