//! Logs as an operator reads them: the real binary at debug level, a reader signing up,
//! logging in (once with a wrong password), subscribing and logging out. Every response names
//! its request, every line of the request carries that name, and no secret the reader or the
//! server exchanged appears anywhere; in production every line is a JSON object.

use std::sync::Arc;

use actix_web::cookie::{Cookie, CookieJar, Key};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{PASSWORD, Page, Reader, hidden_value};
use crate::operations::running::RunningBinary;
use crate::support::{START, TestApp};

const SESSION_KEY: &str =
    "a session key for the logging tests, sixty-four bytes or more, never used for anything else";
const WRONG_PASSWORD: &str = "amber wrong horse 7 battery";
const EMAIL: &str = "logged@example.com";

/// One request of the journey: its id, and a line its log must contain.
struct Exchange {
    what: &'static str,
    request_id: String,
    must_log: Option<&'static str>,
}

/// Everything the test saw that must never be logged.
struct Secrets {
    key: Key,
    cookie_name: String,
    seen: Vec<String>,
}

impl Secrets {
    fn new(cookie_name: &str) -> Self {
        let mut seen = Vec::new();
        for password in [PASSWORD, WRONG_PASSWORD] {
            seen.push(password.to_string());
            // As a form body carries it, should anything log the raw body.
            seen.push(serde_urlencoded::to_string([("p", password)]).unwrap()[2..].to_string());
        }
        Self {
            key: Key::from(SESSION_KEY.as_bytes()),
            cookie_name: cookie_name.to_string(),
            seen,
        }
    }

    fn collect(&mut self, page: &Page) {
        if let Some(token) = hidden_value(&page.body, "csrf_token") {
            self.seen.push(token);
        }
        for set_cookie in page.set_cookies() {
            let raw = Cookie::parse(set_cookie.clone()).expect("a well-formed Set-Cookie");
            if raw.value().is_empty() {
                continue;
            }
            // As sent (percent-encoded) and as meant.
            self.seen.push(raw.value().to_string());
            let cookie = Cookie::parse_encoded(set_cookie).expect("a well-formed Set-Cookie");
            self.seen.push(cookie.value().to_string());
            if cookie.name() == self.cookie_name {
                self.collect_session(cookie);
            }
        }
    }

    /// What the encrypted session cookie holds (the CSRF token, the login token): the test
    /// knows the key, so it can look inside.
    fn collect_session(&mut self, cookie: Cookie<'static>) {
        let mut jar = CookieJar::new();
        jar.add_original(cookie.clone());
        let content = jar
            .private(&self.key)
            .get(cookie.name())
            .expect("the session cookie decrypts with the session key");
        let state: std::collections::HashMap<String, String> =
            serde_json::from_str(content.value()).expect("the session is a JSON map");
        for value in state.values() {
            if let Ok(Value::String(inner)) = serde_json::from_str::<Value>(value)
                && inner.len() >= 16
            {
                self.seen.push(inner);
            }
        }
    }
}

/// The binary seen through the test helpers' reader (forms, CSRF tokens, a cookie jar).
async fn as_test_app(app: &RunningBinary) -> TestApp {
    let mut settings = gazette::config::Settings::for_database(&app.db.url);
    settings.cookie_secure = false;
    TestApp {
        // The binary sends its mail elsewhere; this mailbox only fills the struct.
        mailbox: crate::support::mailbox::Mailbox::start().await,
        address: app.address.clone(),
        port: app.port,
        // The binary keeps the system's time; this clock is only there to fill the struct.
        clock: Arc::new(gazette::clock::ManualClock::new(START)),
        db: app.db.clone(),
        settings,
    }
}

/// Signs up, logs out, guesses wrong, logs in, subscribes and logs out, checking every
/// response carries an X-Request-Id; returns the exchanges and the secrets seen.
async fn journey(app: &TestApp) -> (Vec<Exchange>, Secrets) {
    let reader = Reader::new(app);
    let mut secrets = Secrets::new(app.cookie_name());
    let mut exchanges = Vec::new();
    let mut step = |what: &'static str, page: &Page, status: StatusCode, must_log| {
        assert_eq!(page.status, status, "{what}: {}", page.body);
        secrets.collect(page);
        let request_id = page
            .header("x-request-id")
            .unwrap_or_else(|| panic!("{what}: no X-Request-Id"))
            .to_string();
        assert!(
            exchanges
                .iter()
                .all(|e: &Exchange| e.request_id != request_id),
            "{what}: a request id is never reused"
        );
        exchanges.push(Exchange {
            what,
            request_id,
            must_log,
        });
    };

    let form = reader.get("/signup").await;
    step("sign-up form", &form, StatusCode::OK, None);
    let token = form.csrf_token();
    let page = reader
        .post(
            "/signup",
            &[
                ("email", EMAIL),
                ("password", PASSWORD),
                ("csrf_token", &token),
            ],
        )
        .await;
    step(
        "sign-up",
        &page,
        StatusCode::SEE_OTHER,
        Some("account created"),
    );

    let account = reader.get("/account").await;
    step("account", &account, StatusCode::OK, None);
    let page = reader
        .post("/logout", &[("csrf_token", &account.csrf_token())])
        .await;
    step("log-out", &page, StatusCode::SEE_OTHER, None);

    let form = reader.get("/login").await;
    step("login form", &form, StatusCode::OK, None);
    let page = reader
        .post(
            "/login",
            &[
                ("email", EMAIL),
                ("password", WRONG_PASSWORD),
                ("csrf_token", &form.csrf_token()),
            ],
        )
        .await;
    step(
        "wrong password",
        &page,
        StatusCode::UNAUTHORIZED,
        Some("failed login"),
    );
    let page = reader
        .post(
            "/login",
            &[
                ("email", EMAIL),
                ("password", PASSWORD),
                ("csrf_token", &page.csrf_token()),
            ],
        )
        .await;
    step("log-in", &page, StatusCode::SEE_OTHER, Some("logged in"));

    let offer = reader.get("/subscribe").await;
    step("subscribe page", &offer, StatusCode::OK, None);
    let page = reader
        .post(
            "/subscribe",
            &[("plan", "monthly"), ("csrf_token", &offer.csrf_token())],
        )
        .await;
    step(
        "subscribe",
        &page,
        StatusCode::SEE_OTHER,
        Some("subscription paid"),
    );

    let account = reader.get("/account").await;
    step("account", &account, StatusCode::OK, None);
    assert!(account.body.contains("monthly") || account.body.contains("Monthly"));
    let page = reader
        .post("/logout", &[("csrf_token", &account.csrf_token())])
        .await;
    step("log-out", &page, StatusCode::SEE_OTHER, None);

    let page = reader.get("/no-such-page").await;
    step("missing page", &page, StatusCode::NOT_FOUND, None);
    (exchanges, secrets)
}

fn assert_no_secret_in(lines: &[String], secrets: &Secrets) {
    assert!(secrets.seen.len() > 10, "the journey saw its secrets");
    for secret in &secrets.seen {
        for line in lines {
            assert!(
                !line.contains(secret.as_str()),
                "a secret in the log:\n{line}"
            );
        }
    }
}

/// Every exchange's id is in the log, on the line that closes the request and on the line the
/// exchange must log.
fn assert_requests_named(lines: &[String], exchanges: &[Exchange]) {
    for exchange in exchanges {
        let of_request: Vec<&String> = lines
            .iter()
            .filter(|line| line.contains(&exchange.request_id))
            .collect();
        assert!(
            of_request.iter().any(|line| line.contains("answered")),
            "{}: no line of the request carries its id {}",
            exchange.what,
            exchange.request_id
        );
        if let Some(event) = exchange.must_log {
            assert!(
                of_request.iter().any(|line| line.contains(event)),
                "{}: `{event}` is not logged with the request id",
                exchange.what
            );
            let without_id: Vec<_> = lines
                .iter()
                .filter(|line| line.contains(event) && !line.contains(&exchange.request_id))
                .collect();
            assert!(
                without_id.is_empty(),
                "{}: logged outside its request: {without_id:?}",
                exchange.what
            );
        }
    }
}

#[tokio::test]
async fn debug_logs_name_each_request_and_hold_no_secret() {
    let app = RunningBinary::start(&[("RUST_LOG", "debug"), ("SESSION_KEY", SESSION_KEY)]).await;
    let (exchanges, secrets) = journey(&as_test_app(&app).await).await;
    let lines = app.stop().await;

    assert_requests_named(&lines, &exchanges);
    assert_no_secret_in(&lines, &secrets);
    eprintln!(
        "{} lines at debug level, {} requests, {} secrets none of which is logged",
        lines.len(),
        exchanges.len(),
        secrets.seen.len()
    );
}

#[tokio::test]
async fn production_logs_are_json_lines_naming_each_request_and_hold_no_secret() {
    let app = RunningBinary::start(&[
        ("APP_ENV", "production"),
        ("RUST_LOG", "debug"),
        ("SESSION_KEY", SESSION_KEY),
        ("COOKIE_SECURE", "false"),
        ("PAYMENT_GATEWAY", "test"),
        ("PUBLIC_URL", "http://127.0.0.1"),
        ("SMTP_URL", "smtp://127.0.0.1:1"),
    ])
    .await;
    let (exchanges, secrets) = journey(&as_test_app(&app).await).await;
    let lines = app.stop().await;

    for line in &lines {
        let parsed: Value = serde_json::from_str(line)
            .unwrap_or_else(|error| panic!("not a JSON line ({error}): {line}"));
        assert!(parsed["level"].is_string() && parsed["timestamp"].is_string());
        // A line inside a request carries the request's id, in the outermost span.
        if let Some(spans) = parsed["spans"].as_array() {
            let request = spans.first().expect("a span list is never empty");
            assert!(
                request["request_id"].is_string(),
                "a line inside a request without its id: {line}"
            );
        }
    }
    assert_requests_named(&lines, &exchanges);
    assert_no_secret_in(&lines, &secrets);
}

#[test]
fn a_log_filter_that_does_not_parse_stops_start_up_with_one_line() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_gazette"))
        .env_clear()
        .current_dir(std::env::temp_dir())
        .env("RUST_LOG", "gazette=loud")
        .env("PORT", "0")
        .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/gazette")
        .output()
        .expect("running the binary");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("gazette: RUST_LOG: "), "{stderr}");
}

/// What a client writes in `X-Forwarded-For` is logged only where the limits per address
/// trust it (behind the proxy, its last entry); a client cannot put another address in the log.
#[tokio::test]
async fn the_logged_client_address_is_the_one_the_limits_see() {
    for (trust, logged) in [("false", "127.0.0.1"), ("true", "198.51.100.7")] {
        let app = RunningBinary::start(&[
            ("RUST_LOG", "info"),
            ("SESSION_KEY", SESSION_KEY),
            ("TRUST_PROXY_HEADERS", trust),
        ])
        .await;
        let client = crate::support::http_client()
            .build()
            .expect("an HTTP client");
        for _ in 0..3 {
            let response = client
                .get(format!("{}/articles/999999", app.address))
                .header("X-Forwarded-For", "203.0.113.66, 198.51.100.7")
                .send()
                .await
                .expect("GET");
            assert_eq!(response.status(), StatusCode::NOT_FOUND);
        }
        let lines = app.stop().await;

        let addresses: Vec<&str> = lines
            .iter()
            .filter_map(|line| line.split("http.client_ip=").nth(1))
            .filter_map(|rest| rest.split([' ', '}']).next())
            .collect();
        assert!(!addresses.is_empty(), "no request logged: {lines:#?}");
        assert!(
            addresses.iter().all(|address| *address == logged),
            "trusting the proxy: {trust}; logged {addresses:?}"
        );
        assert!(!lines.iter().any(|line| line.contains("203.0.113.66")));
    }
}

/// The value of the span field `name` on each line that has it (text lines).
fn logged_field<'a>(lines: &'a [String], name: &str) -> Vec<&'a str> {
    let marker = format!("{name}=");
    lines
        .iter()
        .filter_map(|line| line.split(marker.as_str()).nth(1))
        .filter_map(|rest| rest.split([' ', '}']).next())
        .collect()
}

/// The host and scheme in the log are the site's own: from the configured address and the
/// connection, or from the proxy the settings trust, never from what a client wrote in `Host`,
/// `X-Forwarded-Host`, `X-Forwarded-Proto`, `Forwarded` or an absolute request target.
#[tokio::test]
async fn the_logged_host_and_scheme_are_never_what_a_client_wrote() {
    for trust in [false, true] {
        let mut vars = vec![
            ("RUST_LOG", "info"),
            ("SESSION_KEY", SESSION_KEY),
            ("TRUST_PROXY_HEADERS", if trust { "true" } else { "false" }),
        ];
        if trust {
            vars.push(("PUBLIC_URL", "https://gazette.example"));
        }
        let app = RunningBinary::start(&vars).await;
        let client = crate::support::http_client()
            .build()
            .expect("an HTTP client");
        for _ in 0..3 {
            let mut request = client
                .get(format!("{}/articles/999999", app.address))
                .header("Host", "forged-host.example")
                .header("X-Forwarded-Host", "forged-xfh.example")
                .header("X-Forwarded-Proto", "forged-proto")
                .header(
                    "Forwarded",
                    "for=203.0.113.99;host=forged-fwd.example;proto=forged-fwd-proto",
                );
            if trust {
                // What the trusted proxy adds after whatever the client sent.
                request = request.header("X-Forwarded-Proto", "https");
            }
            let response = request.send().await.expect("GET");
            assert_eq!(response.status(), StatusCode::NOT_FOUND);
        }
        // An absolute target names a host of its own.
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", app.port))
            .await
            .expect("connecting");
        let proxy_line = if trust {
            "X-Forwarded-Proto: https\r\n"
        } else {
            ""
        };
        let raw = format!(
            "GET http://forged-absolute.example/articles/999999 HTTP/1.1\r\n\
             Host: forged-host.example\r\nX-Forwarded-Proto: forged-proto\r\n{proxy_line}\
             Connection: close\r\n\r\n"
        );
        tokio::io::AsyncWriteExt::write_all(&mut stream, raw.as_bytes())
            .await
            .expect("writing the request");
        let mut answer = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut stream, &mut answer)
            .await
            .expect("reading the answer");
        assert!(answer.starts_with(b"HTTP/1.1 404"));
        let port = app.port;
        let lines = app.stop().await;

        let forged: Vec<&String> = lines.iter().filter(|l| l.contains("forged")).collect();
        assert!(
            forged.is_empty(),
            "trusting the proxy: {trust}; a client's words in the log: {forged:#?}"
        );
        let (host, scheme) = if trust {
            ("gazette.example".to_string(), "https")
        } else {
            (format!("127.0.0.1:{port}"), "http")
        };
        let hosts = logged_field(&lines, "http.host");
        let schemes = logged_field(&lines, "http.scheme");
        let answered = lines.iter().filter(|l| l.contains("answered")).count();
        assert_eq!(answered, 4, "every request logged: {lines:#?}");
        assert!(
            hosts.len() >= answered && hosts.iter().all(|h| *h == host),
            "{hosts:?}"
        );
        assert!(
            schemes.len() >= answered && schemes.iter().all(|s| *s == scheme),
            "{schemes:?}"
        );
    }
}
