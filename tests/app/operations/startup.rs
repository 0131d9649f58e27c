//! Start-up as an operator sees it: the real binary, bad configuration, one clear line.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::server_url;

/// Runs the binary with exactly these variables (and no `.env`), expecting it to stop.
fn start_with(vars: &[(&str, &str)]) -> (i32, String) {
    let dir = std::env::temp_dir();
    let mut command = Command::new(env!("CARGO_BIN_EXE_gazette"));
    command
        .env_clear()
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command.env("RUST_LOG", "off");
    for (name, value) in vars {
        command.env(name, value);
    }
    let mut child = command.spawn().expect("starting the binary");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().expect("waiting for the binary") {
            let output = child.wait_with_output().expect("reading stderr");
            return (
                status.code().unwrap_or(-1),
                String::from_utf8_lossy(&output.stderr).to_string(),
            );
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the binary did not stop on bad configuration");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn assert_one_clear_line(vars: &[(&str, &str)], variable: &str) {
    let (code, stderr) = start_with(vars);
    assert_ne!(code, 0, "{vars:?}");
    let lines: Vec<_> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line, got: {stderr}");
    assert!(
        lines[0].starts_with(&format!("gazette: {variable}")),
        "names {variable}: {stderr}"
    );
    assert!(!stderr.contains("panicked") && !stderr.contains("backtrace"));
}

#[test]
fn a_port_that_is_not_a_number_stops_start_up_with_one_line() {
    assert_one_clear_line(&[("PORT", "eighty")], "PORT");
}

#[test]
fn a_short_session_key_stops_start_up_with_one_line() {
    assert_one_clear_line(&[("SESSION_KEY", "too-short")], "SESSION_KEY");
}

#[test]
fn production_without_a_session_key_stops_start_up() {
    assert_one_clear_line(&[("APP_ENV", "production")], "SESSION_KEY");
}

#[test]
fn an_unreachable_database_stops_start_up_with_one_line() {
    // Port 1 on loopback: nothing listens there.
    assert_one_clear_line(
        &[
            ("DATABASE_URL", "postgres://postgres@127.0.0.1:1/gazette"),
            ("PORT", "0"),
        ],
        "DATABASE_URL",
    );
}

#[test]
fn a_database_password_never_appears_in_the_error() {
    let (_, stderr) = start_with(&[
        (
            "DATABASE_URL",
            "postgres://postgres:hunter2secret@127.0.0.1:1/gazette",
        ),
        ("PORT", "0"),
    ]);
    assert!(stderr.contains("DATABASE_URL"));
    assert!(!stderr.contains("hunter2secret"), "{stderr}");
}

#[tokio::test]
async fn a_missing_database_is_created_and_migrated() {
    let name = format!("gazette_fresh_{}", std::process::id());
    let url = format!("{}/{name}", server_url());
    let mut settings = gazette::config::Settings::for_database(&url);
    settings.demo_content = true;
    let app = gazette::startup::Application::build(settings, Default::default())
        .await
        .expect("starts on a missing database");
    let port = app.port();
    tokio::spawn(app.run_until_stopped());
    let body = reqwest::get(format!("http://127.0.0.1:{port}/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        body.contains("Learning to See the Night Sky Again"),
        "demo articles loaded"
    );

    // Starting again on the same database changes nothing and loads nothing twice.
    let mut again = gazette::config::Settings::for_database(&url);
    again.demo_content = true;
    gazette::startup::Application::build(again, Default::default())
        .await
        .expect("restarts");
    let count: i64 = tokio::task::spawn_blocking(move || {
        use diesel::prelude::*;
        let mut conn = PgConnection::establish(&url).unwrap();
        gazette::schema::articles::table
            .count()
            .get_result(&mut conn)
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(count, 12);

    tokio::task::spawn_blocking(move || {
        use diesel::prelude::*;
        let mut admin = PgConnection::establish(&format!("{}/postgres", server_url())).unwrap();
        diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .execute(&mut admin)
            .unwrap();
    })
    .await
    .unwrap();
}

#[test]
fn stripe_without_its_secret_key_stops_start_up_with_one_line() {
    assert_one_clear_line(
        &[("PAYMENT_GATEWAY", "stripe"), ("PORT", "0")],
        "STRIPE_SECRET_KEY",
    );
}

#[test]
fn a_malformed_stripe_price_list_stops_start_up_with_one_line() {
    assert_one_clear_line(
        &[
            ("PAYMENT_GATEWAY", "stripe"),
            ("STRIPE_SECRET_KEY", "sk_test_0123456789abcdef"),
            ("STRIPE_WEBHOOK_SECRET", "whsec_0123456789abcdef"),
            ("STRIPE_PRICES", "monthly:price_123"),
            ("PORT", "0"),
        ],
        "STRIPE_PRICES",
    );
}

/// Runs the binary against a fake Stripe whose prices are given as `prices`.
async fn start_against_stripe(prices: &str, secret_key: &str) -> (i32, String) {
    let clock = std::sync::Arc::new(gazette::clock::ManualClock::new(crate::support::START));
    let fake = crate::support::stripe::FakeStripe::start(clock).await;
    start_against(&fake, "", prices, secret_key).await
}

/// Runs the binary against `fake`, on a database where `sql` was run first.
async fn start_against(
    fake: &crate::support::stripe::FakeStripe,
    sql: &'static str,
    prices: &str,
    secret_key: &str,
) -> (i32, String) {
    let db = tokio::task::spawn_blocking(move || {
        let db = crate::support::TestDatabase::create();
        if !sql.is_empty() {
            diesel::RunQueryDsl::execute(diesel::sql_query(sql), &mut db.connect()).unwrap();
        }
        db
    })
    .await
    .unwrap();
    let (url, api, prices, key) = (
        db.url.clone(),
        fake.url.clone(),
        prices.to_string(),
        secret_key.to_string(),
    );
    let result = tokio::task::spawn_blocking(move || {
        start_with(&[
            ("DATABASE_URL", &url),
            ("PAYMENT_GATEWAY", "stripe"),
            ("STRIPE_SECRET_KEY", &key),
            (
                "STRIPE_WEBHOOK_SECRET",
                crate::support::stripe::WEBHOOK_SECRET,
            ),
            ("STRIPE_PRICES", &prices),
            ("STRIPE_API_BASE", &api),
            ("PORT", "0"),
        ])
    })
    .await
    .unwrap();
    drop(db);
    result
}

#[tokio::test]
async fn stripe_prices_that_differ_from_the_plans_stop_start_up_with_one_line() {
    use crate::support::stripe::{MONTHLY, SECRET_KEY, YEARLY};
    // Swapped: the monthly plan would be charged the yearly price.
    let (code, stderr) =
        start_against_stripe(&format!("monthly={YEARLY},yearly={MONTHLY}"), SECRET_KEY).await;
    assert_ne!(code, 0);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "gazette: STRIPE_PRICES: price `{YEARLY}` is $80.00 every 12 month(s), but plan `monthly` is $8.00 every 1 month(s)"
        )),
        "{stderr}"
    );
    let (_, missing) = start_against_stripe(&format!("monthly={MONTHLY}"), SECRET_KEY).await;
    assert!(
        missing.starts_with("gazette: STRIPE_PRICES: no price for plan `yearly`"),
        "{missing}"
    );
    let (_, unknown) = start_against_stripe(
        &format!("monthly={MONTHLY},yearly=price_nowhere"),
        SECRET_KEY,
    )
    .await;
    assert!(
        unknown.starts_with("gazette: STRIPE_PRICES: Stripe has no price `price_nowhere`"),
        "{unknown}"
    );
    let (_, refused) = start_against_stripe(
        &format!("monthly={MONTHLY},yearly={YEARLY}"),
        "sk_test_not_the_accounts_key",
    )
    .await;
    assert!(
        refused.starts_with("gazette: STRIPE_SECRET_KEY: Stripe refused the key"),
        "{refused}"
    );
    assert!(
        !refused.contains("sk_test_not_the_accounts_key"),
        "{refused}"
    );
}

#[tokio::test]
async fn a_price_check_names_amounts_in_the_currencys_own_units() {
    use crate::support::stripe::{FakeStripe, MONTHLY, SECRET_KEY, YEARLY};
    let clock = std::sync::Arc::new(gazette::clock::ManualClock::new(crate::support::START));
    // Stripe sells ¥800 and ¥8,000; the plans were written as if yen had cents.
    let fake = FakeStripe::start_selling(clock, "jpy", 800, 8000).await;
    let prices = format!("monthly={MONTHLY},yearly={YEARLY}");
    let (code, stderr) = start_against(
        &fake,
        "UPDATE plans SET currency = 'JPY', price_cents = price_cents * 100",
        &prices,
        SECRET_KEY,
    )
    .await;
    assert_ne!(code, 0);
    assert_eq!(
        stderr.trim_end(),
        format!(
            "gazette: STRIPE_PRICES: price `{MONTHLY}` is ¥800 every 1 month(s), but plan `monthly` is ¥80,000 every 1 month(s)"
        )
    );
}
