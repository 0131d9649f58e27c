#!/usr/bin/env python3
"""The reading benchmark: Gazette in release mode on a database of its own, with production
settings and JSON logs at info, driven over loopback by wrk, scenario after scenario in
interleaved rounds; prints the medians.

Every scenario is compared with `bare`: a bare actix-web server (bench/bare.rs, no middleware,
no logging) returning the same saved article page from memory, run beside Gazette in the same
rounds; `media` (a picture variant) with `bare-media`, the same server returning the same bytes
with the same headers. Run it through bench/read.sh (which builds both in release mode and installs wrk when
missing). Every scenario checks the status of every answer (bench/scenario.lua), so an error is
never hidden behind a fast number. Gazette's resident memory is sampled every 100 ms.
"""

import argparse
import http.client
import os
import re
import secrets
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Where cargo put the builds (read.sh builds them).
TARGET = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
# BENCH_GAZETTE_BINARY measures another build (an earlier commit's, say) with this harness.
BINARY = os.environ.get("BENCH_GAZETTE_BINARY", os.path.join(TARGET, "release", "gazette"))
BARE = os.path.join(TARGET, "release", "examples", "bare")
PASSWORD = "velvet lantern orchard 42"
STORM_ACCOUNTS = 20
SCENARIOS = ["bare", "static", "home", "fresh", "returning", "paywall", "member", "subscriber",
             "login-storm", "bare-media", "media"]
# The bare server's scenario each scenario is compared with (`bare` when not named here).
CEILINGS = {"bare-media": "bare-media", "media": "bare-media"}
# The least share of its ceiling's requests per second each scenario should reach, and the
# highest p99 in milliseconds.
TARGETS = {"static": 0.8, "home": 0.5, "fresh": 0.5, "returning": 0.5, "paywall": 0.5,
           "member": 0.4, "subscriber": 0.4, "media": 0.8}
# Extensions of the addresses of picture variants, by the format's name in the database.
EXTENSIONS = {"jpeg": "jpg", "png": "png", "webp": "webp", "gif": "gif"}
P99_TARGET_MS = 10.0


def psql(server, database, sql):
    out = subprocess.run(
        ["psql", f"{server}/{database}", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


class Browser:
    """Just enough of a browser: one session cookie, no redirects followed."""

    def __init__(self, port, cookie_name):
        self.port = port
        self.cookie_name = cookie_name
        self.cookie = None

    def request(self, method, path, form=None, headers=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = dict(headers or {})
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookie:
            headers["Cookie"] = f"{self.cookie_name}={self.cookie}"
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        text = response.read().decode("utf-8", "replace")
        for name, value in response.getheaders():
            if name.lower() == "set-cookie" and value.startswith(self.cookie_name + "="):
                self.cookie = value.split(";", 1)[0].split("=", 1)[1]
        connection.close()
        return response.status, text

    def token(self, path="/login"):
        status, text = self.request("GET", path)
        match = re.search(r'name="csrf_token" value="([^"]+)"', text)
        if status != 200 or not match:
            sys.exit(f"bench: no form on {path} (status {status})")
        return match.group(1)

    def post(self, path, form, address):
        form = dict(form, csrf_token=self.token("/login"))
        return self.request("POST", path, form=form, headers={"X-Forwarded-For": address})

    def header(self):
        return f"{self.cookie_name}={self.cookie}" if self.cookie else ""


def prepare(port, cookie_name, premium, free, picture):
    """The cookies and paths of each scenario, made the way readers make them."""

    def browser():
        return Browser(port, cookie_name)

    def expect(status, wanted, what):
        if status != wanted:
            sys.exit(f"bench: {what} answered {status}, expected {wanted}")

    scenarios = {
        "bare": ("/static/bench/article.html", "", 200),
        "static": ("/static/bench/article.html", "", 200),
        "bare-media": (picture, "", 200),
        "media": (picture, "", 200),
    }

    visitor = browser()
    expect(visitor.request("GET", "/")[0], 200, "the front page")
    scenarios["home"] = ("/", visitor.header(), 200)
    scenarios["fresh"] = (f"/articles/{premium[0]}", "", 200)

    returning = browser()
    for article in premium[:3]:
        expect(returning.request("GET", f"/articles/{article}")[0], 200, "an article")
    scenarios["returning"] = (f"/articles/{premium[1]}", returning.header(), 200)

    past_meter = browser()
    for article in premium[:5]:
        expect(past_meter.request("GET", f"/articles/{article}")[0], 200, "an article")
    scenarios["paywall"] = (f"/articles/{premium[5]}", past_meter.header(), 402)

    member = browser()
    status, _ = member.post("/signup", {"email": "member@example.com", "password": PASSWORD}, "10.9.0.1")
    expect(status, 303, "signing up")
    expect(member.request("GET", f"/articles/{premium[0]}")[0], 200, "an article on the meter")
    scenarios["member"] = (f"/articles/{premium[0]}", member.header(), 200)

    subscriber = browser()
    status, _ = subscriber.post("/signup", {"email": "subscriber@example.com", "password": PASSWORD}, "10.9.0.2")
    expect(status, 303, "signing up")
    status, _ = subscriber.post("/subscribe", {"plan": "monthly"}, "10.9.0.2")
    expect(status, 303, "subscribing")
    scenarios["subscriber"] = (f"/articles/{premium[6]}", subscriber.header(), 200)
    scenarios["login-storm"] = scenarios["returning"]

    for n in range(1, STORM_ACCOUNTS + 1):
        status, _ = browser().post(
            "/signup", {"email": f"storm-{n}@example.com", "password": PASSWORD}, f"10.8.{n}.1"
        )
        expect(status, 303, "signing up a log-in storm account")
    return scenarios


def variant_to_serve(server, database, port):
    """The address of the 800-pixel variant of the newest front-page article's feature image,
    its bytes saved under target/bench-media/ for the bare server."""
    found = psql(server, database,
                 "SELECT m.hash || ' ' || v.format FROM articles a JOIN media m ON m.id = a.feature_media_id "
                 "JOIN media_variants v ON v.media_id = m.id AND v.width = 800 "
                 "ORDER BY a.published_at DESC, a.id DESC LIMIT 1")
    if not found:
        sys.exit("bench: no article has a feature image with an 800-pixel variant")
    digest, format_name = found.split()
    path = f"/media/{digest}-800.{EXTENSIONS[format_name]}"
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", path)
    response = connection.getresponse()
    body = response.read()
    if response.status != 200:
        sys.exit(f"bench: {path} answered {response.status}")
    folder = os.path.join(TARGET, "bench-media")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, path.rsplit("/", 1)[1]), "wb") as saved:
        saved.write(body)
    return path


def wait_for(port, path):
    for _ in range(100):
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", path)
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    sys.exit(f"bench: the bare server did not answer {path}")


def only(chosen):
    """`--only` takes names apart or joined by commas: `--only media home`, `--only media,home`."""
    if not chosen:
        return SCENARIOS
    names = [name for item in chosen for name in item.split(",") if name]
    unknown = [name for name in names if name not in SCENARIOS]
    if unknown:
        sys.exit(f"bench: no scenario {', '.join(unknown)} (there are {', '.join(SCENARIOS)})")
    return names


def resident_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def parse_wrk(output):
    def duration_ms(text):
        number = float(re.match(r"[\d.]+", text).group(0))
        unit = text[len(re.match(r"[\d.]+", text).group(0)):]
        return number * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]

    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))}
    for percentile in ("50", "99"):
        match = re.search(rf"^\s+{percentile}%\s+(\S+)", output, re.M)
        result[f"p{percentile}"] = duration_ms(match.group(1))
    errors = int(re.search(r"unexpected_statuses (\d+)", output).group(1))
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if socket:
        errors += sum(int(n) for n in socket.groups())
    result["errors"] = errors
    result["requests"] = int(re.search(r"(\d+) requests in", output).group(1))
    return result


def run_wrk(args, scenario, pid, storm_env=None, port=None):
    path, cookie, status = scenario
    env = dict(os.environ, BENCH_PATH=path, BENCH_COOKIE=cookie, BENCH_STATUS=str(status))
    command = [
        "wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s", "--latency",
        "-s", os.path.join(ROOT, "bench", "scenario.lua"), f"http://127.0.0.1:{port or args.port}",
    ]
    storm = None
    if storm_env is not None:
        storm = subprocess.Popen(
            ["wrk", "-t2", "-c2", f"-d{args.duration + 1}s", "-s",
             os.path.join(ROOT, "bench", "login-storm.lua"), f"http://127.0.0.1:{args.port}"],
            env=dict(os.environ, **storm_env), stdout=subprocess.PIPE, text=True,
        )
        time.sleep(0.5)
    samples = []
    sampling = [True]

    def sample():
        while sampling[0]:
            samples.append(resident_kib(pid))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample)
    sampler.start()
    output = subprocess.run(command, env=env, capture_output=True, text=True).stdout
    sampling[0] = False
    sampler.join()
    result = parse_wrk(output)
    result["rss_mib"] = max(samples, default=0) / 1024
    # Flat means the last seconds need no more than the first: compare the peaks of the first
    # and the last fifth of the run.
    fifth = max(len(samples) // 5, 1)
    result["rss_first_mib"] = max(samples[:fifth], default=0) / 1024
    result["rss_last_mib"] = max(samples[-fifth:], default=0) / 1024
    if storm is not None:
        storm_output, _ = storm.communicate()
        result["errors"] += int(re.search(r"unexpected_statuses (\d+)", storm_output).group(1))
        result["logins"] = int(re.search(r"login_attempts (\d+)", storm_output).group(1))
    return result


def seed_large(server, database, articles, accounts):
    """Many published articles and accounts, copied from what the demo content and the
    bench's own sign-ups made, so the scenarios run against a real-sized database."""
    columns = psql(
        server, database,
        "SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns "
        "WHERE table_schema = 'public' AND table_name = 'articles' AND column_name <> 'id'",
    ).split(",")
    copied = ", ".join(
        f"{c} || ' ' || n" if c == "title" else
        f"{c} || '-' || n" if c == "slug" else
        f"published_at - make_interval(days => n)" if c == "published_at" else c
        for c in columns
    )
    psql(server, database,
         f"INSERT INTO articles ({', '.join(columns)}) SELECT {copied} "
         f"FROM (SELECT * FROM articles ORDER BY id LIMIT 1) a, generate_series(1, {articles}) n")
    psql(server, database,
         "INSERT INTO users (email, password_hash) SELECT 'reader-' || n || '@example.com', "
         f"(SELECT password_hash FROM users LIMIT 1) FROM generate_series(1, {accounts}) n")
    psql(server, database, "ANALYZE")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=int, default=10, help="seconds per scenario and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--port", type=int, default=8181)
    parser.add_argument("--large", action="store_true",
                        help="seed 10,000 more published articles and 100,000 accounts first")
    parser.add_argument("--only", nargs="*", metavar="SCENARIO",
                        help="run these scenarios only (and the bare ones they are compared with); "
                             "names apart or joined by commas: " + ", ".join(SCENARIOS))
    args = parser.parse_args()
    server = os.environ.get("TEST_DATABASE_SERVER", "postgres://postgres@127.0.0.1:5432")
    database = "gazette_bench"
    subprocess.run(["psql", f"{server}/postgres", "-qc", f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"],
                   check=True)

    log_path = os.path.join(TARGET, "bench-server.log")
    log = open(log_path, "w")
    env = dict(
        os.environ,
        APP_ENV="production",
        SESSION_KEY=secrets.token_urlsafe(64),
        COOKIE_SECURE="false",
        DEMO_CONTENT="true",
        PAYMENT_GATEWAY="test",
        TRUST_PROXY_HEADERS="true",
        MAX_SIGNUPS_PER_ADDRESS="1000",
        PUBLIC_URL=f"http://127.0.0.1:{args.port}",
        # Nothing the benchmark does sends mail; a relay on this machine satisfies production.
        SMTP_URL="smtp://127.0.0.1:2525",
        HOST="127.0.0.1",
        PORT=str(args.port),
        DATABASE_URL=f"{server}/{database}",
        RUST_LOG=os.environ.get("RUST_LOG", "info"),
    )
    process = subprocess.Popen([BINARY], env=env, stdout=log, stderr=subprocess.STDOUT)
    bare_port = args.port + 1
    bare = None
    try:
        # The first start draws and processes the demo pictures.
        for _ in range(300):
            try:
                connection = http.client.HTTPConnection("127.0.0.1", args.port, timeout=1)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        else:
            sys.exit(f"bench: the server did not start (see {log_path})")

        premium = [int(i) for i in psql(server, database,
                   "SELECT id FROM articles WHERE is_premium ORDER BY published_at, id").split()]
        free = [int(i) for i in psql(server, database,
                "SELECT id FROM articles WHERE NOT is_premium ORDER BY published_at, id").split()]
        chosen = [name for name in SCENARIOS if name in only(args.only)]
        # Every ratio needs its ceiling measured in the same rounds.
        chosen = [name for name in SCENARIOS
                  if name in chosen or any(CEILINGS.get(c, "bare") == name for c in chosen)]
        bare_command = [BARE, str(bare_port)]
        picture = None
        if "bare-media" in chosen:
            picture = variant_to_serve(server, database, args.port)
            bare_command.append(os.path.join(TARGET, "bench-media", picture.rsplit("/", 1)[1]))
        bare = subprocess.Popen(bare_command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        wait_for(bare_port, picture or "/static/bench/article.html")
        scenarios = prepare(args.port, "gazette_session", premium, free, picture)
        if args.large:
            seed_large(server, database, 10_000, 100_000)
            print("seeded 10,000 more published articles and 100,000 accounts", flush=True)

        storm_env = {
            "BENCH_ACCOUNTS": str(STORM_ACCOUNTS),
            "BENCH_PASSWORD": urllib.parse.quote_plus(PASSWORD),
            "BENCH_PAUSE_MS": "100",
        }
        results = {name: [] for name in chosen}
        for round_number in range(1, args.rounds + 1):
            for name in chosen:
                on_bare = name in ("bare", "bare-media")
                result = run_wrk(args, scenarios[name], bare.pid if on_bare else process.pid,
                                 storm_env if name == "login-storm" else None,
                                 bare_port if on_bare else None)
                results[name].append(result)
                print(f"round {round_number} {name:<12} {result['rps']:>9.0f} req/s  p50 {result['p50']:6.2f} ms"
                      f"  p99 {result['p99']:6.2f} ms  errors {result['errors']}  rss {result['rss_mib']:.1f} MiB"
                      f" (first fifth {result['rss_first_mib']:.1f}, last fifth {result['rss_last_mib']:.1f})"
                      + (f"  logins {result['logins']}" if 'logins' in result else ""), flush=True)

        def median(name, key):
            return statistics.median(r[key] for r in results[name])

        def ceiling(name):
            reference = CEILINGS.get(name, "bare")
            return median(reference, "rps") if reference in results else None

        print()
        print(f"medians of {args.rounds} rounds, {args.duration} s each, {args.connections} connections, "
              f"wrk -t{args.threads} on the same machine; Gazette with APP_ENV=production, "
              f"RUST_LOG={env['RUST_LOG']}")
        print("| scenario | req/s | ratio to bare | target | p50 ms | p99 ms | errors | peak RSS MiB |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        missed = []
        for name in chosen:
            ratio = median(name, "rps") / ceiling(name) if ceiling(name) else None
            target = TARGETS.get(name)
            p99 = median(name, "p99")
            met = (target is None or ratio is None or ratio >= target) and p99 < P99_TARGET_MS
            if not met:
                missed.append(name)
            errors = sum(r["errors"] for r in results[name])
            peak = max(r["rss_mib"] for r in results[name])
            print(f"| {name} | {median(name, 'rps'):.0f} | {'-' if ratio is None else f'{ratio:.2f}'} | "
                  f"{'-' if target is None else f'>= {target}'}{'' if met else ' (missed)'} | "
                  f"{median(name, 'p50'):.2f} | {p99:.2f} | {errors} | {peak:.1f} |")
        print(f"targets: the ratio shown, and p99 under {P99_TARGET_MS:.0f} ms; "
              + (f"missed by {', '.join(missed)}" if missed else "all met"))
    finally:
        process.terminate()
        process.wait(timeout=30)
        if bare is not None:
            bare.terminate()
            bare.wait(timeout=30)
        log.close()
    # Every request Gazette answered has its line: none dropped by the log writer.
    sent = sum(r["requests"] for name in results if name not in ("bare", "bare-media")
               for r in results[name])
    with open(log_path) as lines:
        logged = [line for line in lines]
    answered = sum(1 for line in logged if '"answered"' in line)
    dropped = sum(1 for line in logged if "lines were dropped" in line)
    print(f"log: {answered} `answered` lines for {sent} benchmark requests (and the set-up's), "
          f"{dropped} warnings of dropped lines")


if __name__ == "__main__":
    main()
