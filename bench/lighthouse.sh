#!/usr/bin/env bash
# Lighthouse scores (performance, accessibility, best practices, SEO) of four pages: the front
# page, an article, the paywall and the sign-up page, in Debian's Chromium with Lighthouse's
# default mobile emulation.
#
#   bench/lighthouse.sh            (LIGHTHOUSE=/path/to/lighthouse to use one already installed)
#
# It builds the release binary, starts it on a database of its own (demo articles with their
# pictures, no free articles, so a premium article shows the paywall and a free one the
# article), runs
# Lighthouse against each page, prints the scores, and removes the database. Lighthouse is
# installed with npm under target/ when it is not found. It is not part of CI.
#
# The paywall answers 402, as the HTTP contract says. Lighthouse refuses to rate a page whose
# document is not a 2xx unless told to (--ignore-status-code), and then marks that status down
# itself: `http-status-code` (SEO) and the browser's console line about the 402
# (`errors-in-console`, best practices). The audits that failed are printed beside the scores.
set -euo pipefail
cd "$(dirname "$0")/.."

server="${TEST_DATABASE_SERVER:-postgres://postgres@127.0.0.1:5432}"
database="gazette_lighthouse_$$"
port="${LIGHTHOUSE_PORT:-18080}"
site="http://127.0.0.1:$port"
export CHROME_PATH="${CHROME_PATH:-/usr/bin/chromium}"

target="${CARGO_TARGET_DIR:-target}"
lighthouse="${LIGHTHOUSE:-$(command -v lighthouse || true)}"
if [ -z "$lighthouse" ]; then
  lighthouse="$target/tools/lighthouse/node_modules/.bin/lighthouse"
  if [ ! -x "$lighthouse" ]; then
    echo "Installing Lighthouse with npm under $target/tools/lighthouse ..." >&2
    mkdir -p "$target/tools/lighthouse"
    (cd "$target/tools/lighthouse" && npm init -y >/dev/null && npm install --silent lighthouse >&2)
  fi
fi

cargo build --release --quiet
reports="$(mktemp -d)"
app_pid=""
cleanup() {
  [ -n "$app_pid" ] && kill "$app_pid" 2>/dev/null && wait "$app_pid" 2>/dev/null || true
  psql "$server/postgres" -q -c "DROP DATABASE IF EXISTS \"$database\" WITH (FORCE)" >/dev/null 2>&1 || true
  [ -n "${KEEP_REPORTS:-}" ] && echo "reports kept in $reports" >&2 || rm -rf "$reports"
}
trap cleanup EXIT

DATABASE_URL="$server/$database" PORT="$port" FREE_ARTICLES_PER_MONTH=0 DEMO_CONTENT=true \
  PUBLIC_URL="$site" RUST_LOG=warn "$target/release/gazette" &
app_pid=$!
# The first start draws and processes the demo pictures.
for _ in $(seq 1 300); do
  curl -fs "$site/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done

# The newest free and premium articles, by their canonical addresses.
article=$(psql "$server/$database" -Atc \
  "SELECT '/articles/' || id || '/' || slug FROM articles WHERE NOT is_premium ORDER BY published_at DESC LIMIT 1")
paywall=$(psql "$server/$database" -Atc \
  "SELECT '/articles/' || id || '/' || slug FROM articles WHERE is_premium ORDER BY published_at DESC LIMIT 1")

printf '%-12s %-58s %5s %5s %5s %5s\n' page address perf a11y best seo
for entry in "front:/" "article:$article" "paywall:$paywall" "sign-up:/signup"; do
  name="${entry%%:*}"
  path="${entry#*:}"
  report="$reports/$name.json"
  "$lighthouse" "$site$path" --quiet --output=json --output-path="$report" \
    --only-categories=performance,accessibility,best-practices,seo --ignore-status-code \
    --chrome-flags="--headless=new --no-sandbox --disable-gpu --disable-background-networking --disable-dev-shm-usage" \
    >/dev/null 2>&1 || true
  node -e '
    const fs = require("fs");
    const [name, path, file] = process.argv.slice(1);
    const report = JSON.parse(fs.readFileSync(file, "utf8"));
    const score = (id) => Math.round((report.categories[id]?.score ?? 0) * 100);
    const failed = Object.values(report.audits)
      .filter((a) => a.score !== null && a.score < 1 && a.scoreDisplayMode === "binary")
      .map((a) => a.id);
    console.log(
      name.padEnd(12), path.padEnd(58),
      ...["performance", "accessibility", "best-practices", "seo"].map((id) => String(score(id)).padStart(5)),
      failed.length ? "  (failed: " + failed.join(", ") + ")" : ""
    );
  ' "$name" "$path" "$report"
done
