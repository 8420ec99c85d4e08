#!/usr/bin/env bash
# Web + one ingestion worker in the foreground; Ctrl-C stops both (and the embedded database).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
ADDR="${QA_ADDR:-127.0.0.1:8000}"
# The worker reaches the local provider through SITE_URL: on another address it must follow.
export SITE_URL="${SITE_URL:-http://$ADDR}"

# Children run in their own sessions so that a Ctrl-C reaches only this script, which then
# sends each of them exactly one SIGTERM: a second signal would interrupt their clean exit
# (the last one to exit stops the embedded database).
cleanup() {
  # Ignore (not reset) further signals: make forwards a second SIGTERM during its own cleanup,
  # and dying between here and the kill below would leave web and worker running.
  trap '' INT TERM
  trap - EXIT
  kill -TERM $(jobs -pr) 2>/dev/null
  wait
  echo "Stopped web and worker." 2>/dev/null
}
trap cleanup EXIT INT TERM

setsid "$PY" manage.py runserver "$ADDR" --noreload &
# The worker embeds through the local provider that the web process serves: wait for it.
for _ in $(seq 1 120); do
  "$PY" -c "import urllib.request; urllib.request.urlopen('http://$ADDR/login/', timeout=1)" 2>/dev/null && break
  sleep 0.5
done
echo "Web: http://$ADDR/   (Ctrl-C stops web, worker and database)"
setsid "$PY" manage.py ingest_worker --no-reload --interval 1 &
wait -n
