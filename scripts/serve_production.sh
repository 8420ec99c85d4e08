#!/usr/bin/env bash
# `make serve`: the production start. gunicorn with the settings BENCHMARKS.md found (2 workers
# x 4 threads, gthread, keep-alive off, 120 s timeout), static files by whitenoise after
# collectstatic, DJANGO_DEBUG=0, JSON logs, and one ingestion worker beside it. Everything else
# comes from the environment (.env.example lists it). Ctrl-C or SIGTERM stops both.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python

export DJANGO_DEBUG=0
if [ -z "${DJANGO_SECRET_KEY:-}" ]; then
  echo "make serve runs with DJANGO_DEBUG=0 and needs DJANGO_SECRET_KEY in the environment, e.g." >&2
  echo "  export DJANGO_SECRET_KEY=\"\$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')\"" >&2
  echo "Keep it secret and the same across restarts (sessions and sign-in links depend on it)." >&2
  exit 2
fi
export LOG_FORMAT="${LOG_FORMAT:-json}"
ADDR="${QA_ADDR:-127.0.0.1:8000}"
# The worker reaches the built-in local provider through SITE_URL (when no model server is set).
export SITE_URL="${SITE_URL:-http://$ADDR}"
# Each gunicorn worker and the ingestion worker keep their metrics in files here; a start
# begins with an empty directory so that no dead process's figures are counted.
export PROMETHEUS_MULTIPROC_DIR="${PROMETHEUS_MULTIPROC_DIR:-var/prometheus}"
rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR" || exit 1

"$PY" manage.py migrate --noinput || exit 1
"$PY" manage.py collectstatic --noinput -v 0 || exit 1

# Children run in their own sessions, so a Ctrl-C reaches only this script, which sends each
# exactly one SIGTERM (see scripts/serve.sh).
cleanup() {
  trap '' INT TERM
  trap - EXIT
  kill -TERM $(jobs -pr) 2>/dev/null
  wait
  echo "Stopped web and worker." 2>/dev/null
}
trap cleanup EXIT INT TERM

setsid .venv/bin/gunicorn qa_site.wsgi:application \
  --bind "$ADDR" \
  --workers "${WEB_WORKERS:-2}" --worker-class gthread --threads "${WEB_THREADS:-4}" \
  --timeout 120 --keep-alive 0 \
  -c qa_site/gunicorn_conf.py &
for _ in $(seq 1 240); do
  "$PY" -c "import urllib.request; urllib.request.urlopen('http://$ADDR/healthz', timeout=1)" 2>/dev/null && break
  sleep 0.5
done
echo "Web: http://$ADDR/ (gunicorn, DEBUG=0; Ctrl-C stops web and worker)" >&2
setsid "$PY" manage.py ingest_worker --no-reload &
wait -n
