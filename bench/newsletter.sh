#!/usr/bin/env bash
# The newsletter benchmark in one command: builds Gazette in release mode, installs wrk when it
# is missing, starts PostgreSQL if it is down, and runs bench/newsletter.py (which starts the
# instances on a database of their own, a local SMTP server, and prints the table). Arguments
# go to newsletter.py, e.g.
#   bench/newsletter.sh                    (10,000 readers, NEWSLETTER_RATE=250)
#   bench/newsletter.sh --readers 2000
#   bench/newsletter.sh --rate 1000        (as fast as the machine goes)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
if ! pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
fi
cargo build --release --locked --bin gazette
exec python3 bench/newsletter.py "$@"
