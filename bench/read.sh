#!/usr/bin/env bash
# The reading benchmark in one command: builds Gazette and the bare server it is measured
# against (bench/bare.rs) in release mode, installs wrk when it is missing, starts PostgreSQL if
# it is down, and runs bench/read.py (which starts both, Gazette on a database of its own, and
# prints the table). Arguments go to read.py, e.g.
#   bench/read.sh --rounds 3 --duration 10      (the defaults)
#   bench/read.sh --large                       (10,000 more articles and 100,000 accounts)
#   bench/read.sh --only media,home             (these scenarios, and the bare ones they need)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
if ! pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
fi
cargo build --release --locked --bin gazette --example bare
exec python3 bench/read.py "$@"
