//! The newsletter through the real binary: the operator's commands, and an instance killed in
//! the middle of a send while another finishes it.

use std::process::{Command, Stdio};
use std::time::Duration;

use super::sending::{SECRET, counts, join, join_many, letters, secret_premium_article};
use crate::helpers::*;

async fn run(app: &TestApp, args: &[&str]) -> (i32, String, String) {
    let url = app.db.url.clone();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        gazette(&url, &args)
    })
    .await
    .unwrap()
}

fn assert_one_line_failure((code, _, stderr): &(i32, String, String), naming: &str) {
    assert_ne!(*code, 0);
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("gazette: "), "{stderr}");
    assert!(stderr.contains(naming), "names {naming}: {stderr}");
}

#[tokio::test]
async fn newsletter_send_queues_once_and_status_counts() {
    let app = TestApp::builder()
        .settings(|s| s.newsletter.rate = 500)
        .start()
        .await;
    let article = secret_premium_article(&app);
    join_many(&mut app.connect(), "cli", 3);
    join(&mut app.connect(), &["suppressed@example.com".to_string()]);
    gazette::db::newsletter_sends::suppress(
        &mut app.connect(),
        "suppressed@example.com",
        "550 mailbox unavailable",
        START,
    )
    .unwrap();
    let id = article.to_string();

    let (code, stdout, stderr) = run(&app, &["newsletter", "send", &id]).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains(&format!(
            "Article {id} is queued for 3 reader(s) (1 skipped as suppressed)"
        )),
        "{stdout}"
    );
    let (code, stdout, _) = run(&app, &["newsletter", "send", &id, "--to", "subscribers"]).await;
    assert_eq!(code, 0);
    assert!(stdout.contains("was already e-mailed"), "{stdout}");
    assert_eq!(rows_in(&app, "newsletter_sends"), 1);

    // The running instance sends it (the command only queues), once the time the command
    // queued it at (the real one) has come on the app's clock.
    app.clock.set(time::OffsetDateTime::now_utc());
    app.mailbox.wait_for("cli-3@example.com", 1).await;
    super::sending::until_done(&app, article, 20).await;
    let (code, stdout, _) = run(&app, &["newsletter", "status", &id]).await;
    assert_eq!(code, 0);
    assert!(stdout.contains("audience 4: 0 queued, 0 sending, 3 sent, 0 failed, 1 skipped as suppressed, 0 uncertain"), "{stdout}");
    assert_eq!(letters(&app.mailbox).len(), 3);
}

#[tokio::test]
async fn newsletter_send_refuses_drafts_unknown_ids_and_bad_audiences_in_one_line() {
    let app = TestApp::spawn().await;
    let draft = app.premium_ids()[0];
    use diesel::prelude::*;
    diesel::sql_query("UPDATE articles SET published_at = NULL WHERE id = $1")
        .bind::<diesel::sql_types::BigInt, _>(draft)
        .execute(&mut app.connect())
        .unwrap();
    let failed = run(&app, &["newsletter", "send", &draft.to_string()]).await;
    assert_one_line_failure(&failed, "not published");
    let failed = run(&app, &["newsletter", "send", "987654"]).await;
    assert_one_line_failure(&failed, "no article has the id 987654");
    let failed = run(&app, &["newsletter", "send", "1", "--to", "friends"]).await;
    assert_one_line_failure(&failed, "subscribers");
    let failed = run(&app, &["newsletter", "status", "987654"]).await;
    assert_one_line_failure(&failed, "never e-mailed");
    assert_eq!(rows_in(&app, "newsletter_sends"), 0);
}

#[tokio::test]
async fn newsletter_suppressions_lists_and_lifts() {
    let app = TestApp::spawn().await;
    let (code, stdout, _) = run(&app, &["newsletter", "suppressions"]).await;
    assert_eq!((code, stdout.trim()), (0, "No address is suppressed."));
    for email in ["one@example.com", "two@example.com"] {
        gazette::db::newsletter_sends::suppress(
            &mut app.connect(),
            email,
            "550 5.1.1 no such\nmailbox",
            START,
        )
        .unwrap();
    }
    let (code, stdout, _) = run(&app, &["newsletter", "suppressions"]).await;
    assert_eq!(code, 0);
    assert_eq!(stdout.lines().count(), 2, "one line each: {stdout}");
    assert!(stdout.contains("one@example.com") && stdout.contains("550 5.1.1 no such mailbox"));

    let (code, stdout, _) = run(
        &app,
        &["newsletter", "suppressions", "--lift", "One@Example.com"],
    )
    .await;
    assert_eq!(code, 0);
    assert!(
        stdout.contains("one@example.com is no longer suppressed"),
        "{stdout}"
    );
    assert_eq!(rows_in(&app, "newsletter_suppressions"), 1);
    let failed = run(
        &app,
        &["newsletter", "suppressions", "--lift", "one@example.com"],
    )
    .await;
    assert_one_line_failure(&failed, "is not suppressed");
}

/// A `gazette` serving `app`'s database and sending its newsletters to `app`'s mailbox.
fn serve(app: &TestApp) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_gazette"))
        .env_clear()
        .env("DATABASE_URL", &app.db.url)
        .env("PORT", "0")
        .env("SMTP_URL", app.mailbox.url())
        .env("NEWSLETTER_RATE", "50")
        .env("NEWSLETTER_CONNECTIONS", "4")
        .env("RUST_LOG", "off")
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting gazette")
}

#[tokio::test]
async fn an_instance_killed_mid_send_leaves_no_reader_a_second_copy_and_another_finishes() {
    // This app's clock stays behind the real one, so it sends nothing until the test moves it:
    // the real process sends first.
    let app = TestApp::spawn().await;
    let article = secret_premium_article(&app);
    join_many(&mut app.connect(), "killed", 120);
    app.mailbox.hold(Duration::from_millis(300));
    let mut process = serve(&app);

    let (code, _, stderr) = run(&app, &["newsletter", "send", &article.to_string()]).await;
    assert_eq!(code, 0, "{stderr}");
    app.mailbox.wait_for_count(15, 30).await;
    process.kill().expect("SIGKILL");
    process.wait().unwrap();
    let at_kill = counts(&app, article);
    eprintln!("at the kill: {at_kill:?}");
    assert!(at_kill.waiting() > 0, "killed mid-send: {at_kill:?}");
    assert!(at_kill.sent > 0, "{at_kill:?}");
    app.mailbox.hold(Duration::ZERO);

    // Past every lease the killed instance held: rows it was handing over become uncertain,
    // the rest are sent by this instance.
    app.clock.set(
        time::OffsetDateTime::now_utc()
            + gazette::newsletter::sender::LEASE
            + time::Duration::minutes(1),
    );
    let done = super::sending::until_done(&app, article, 60).await;
    eprintln!("at the end: {done:?}");
    assert_eq!(
        done.audience(),
        done.sent + done.failed + done.suppressed + done.uncertain
    );
    assert_eq!(done.audience(), 120);
    // What the killed instance was handing over is uncertain, never sent again.
    assert!(done.uncertain >= at_kill.sending, "{done:?}");
    assert!(
        done.sent > at_kill.sent,
        "the other instance sent the rest: {done:?}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = letters(&app.mailbox);
    let mut seen = std::collections::HashMap::new();
    for mail in &got {
        for to in &mail.to {
            *seen.entry(to.clone()).or_insert(0) += 1;
        }
    }
    assert!(seen.values().all(|n| *n == 1), "a reader got two copies");
    // Every reader the database calls sent got their letter; the uncertain ones got at most one.
    assert!(got.len() as i64 >= done.sent && got.len() as i64 <= done.sent + done.uncertain);
    assert!(
        got.iter().all(|m| !m.text.contains(SECRET)),
        "the free letter"
    );
}
