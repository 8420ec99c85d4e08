#!/usr/bin/env bash
# Web + one ingestion worker in the foreground; Ctrl-C stops both (and the embedded database).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
ADDR="${QA_ADDR:-127.0.0.1:8000}"

cleanup() { trap - EXIT INT TERM; kill $(jobs -p) 2>/dev/null; wait; }
trap cleanup EXIT INT TERM

"$PY" manage.py runserver "$ADDR" --noreload &
# The worker embeds through the local provider that the web process serves: wait for it.
for _ in $(seq 1 120); do
  "$PY" -c "import urllib.request,sys; urllib.request.urlopen('http://$ADDR/login/', timeout=1)" 2>/dev/null && break
  sleep 0.5
done
echo "Web: http://$ADDR/   (Ctrl-C stops web, worker and database)"
"$PY" manage.py db_worker --no-reload --interval 1 &
wait -n
