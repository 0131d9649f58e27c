#!/usr/bin/env bash
# The soak: simulated readers at once for a while (reading, signing up, logging in and out,
# subscribing, switching, cancelling, double submitting, guessing passwords) from many
# addresses, then an audit of the database against every acknowledged response.
#
#   bench/soak.sh [SECONDS] [CONNECTIONS]     defaults: 60 s, 64 connections
#
# It runs the same test `cargo test` runs in a short version, in release mode, against a
# database of its own on the PostgreSQL server of TEST_DATABASE_SERVER (default
# postgres://postgres@127.0.0.1:5432). It prints the answers by action and status and the
# audit, and fails when any promise was broken, any request got a 5xx, or memory grew.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
connections="${2:-64}"

if ! pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
fi

GAZETTE_SOAK_SECONDS="$seconds" GAZETTE_SOAK_CONNECTIONS="$connections" \
  cargo test --release --test app soak -- --nocapture --test-threads 1
