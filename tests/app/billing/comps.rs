//! Complimentary access: given by an admin on the command line or the desk, read at once on
//! every page (and by every instance), shown on the account page, ended by time alone or by
//! removing it; editors and readers cannot give it.

use diesel::prelude::*;
use gazette::clock::Clock;
use gazette::domain::role::Role;
use reqwest::StatusCode;
use time::{Duration, OffsetDateTime};

use crate::helpers::*;

/// An app where every premium article is behind the paywall for readers without access.
async fn paywalled_app() -> TestApp {
    TestApp::builder()
        .settings(|s| s.free_articles_per_month = 0)
        .start()
        .await
}

async fn admin<'a>(app: &'a TestApp, address: &str) -> Reader<'a> {
    let admin = Reader::signed_up(app, address).await;
    give_role(app, address, Role::Admin);
    assert!(answers_within_a_second(&admin, "/editor/comps", StatusCode::OK).await);
    admin
}

async fn give(admin: &Reader<'_>, address: &str, until: &str) -> Page {
    let token = admin.csrf_token().await;
    admin
        .post(
            "/editor/comps",
            &[("csrf_token", &token), ("email", address), ("until", until)],
        )
        .await
}

async fn remove(admin: &Reader<'_>, address: &str) -> Page {
    let token = admin.csrf_token().await;
    admin
        .post(
            "/editor/comps/remove",
            &[("csrf_token", &token), ("email", address)],
        )
        .await
}

fn comp_rows(app: &TestApp, address: &str) -> Vec<(OffsetDateTime, OffsetDateTime)> {
    use gazette::schema::{access_grants, users};
    access_grants::table
        .inner_join(users::table.on(users::id.eq(access_grants::user_id)))
        .filter(users::email.eq(address))
        .filter(access_grants::kind.eq("comp"))
        .select((access_grants::starts_at, access_grants::ends_at))
        .load(&mut app.connect())
        .unwrap()
}

fn day(instant: OffsetDateTime) -> String {
    instant.date().to_string()
}

#[tokio::test]
async fn a_comp_given_on_the_desk_opens_everything_until_the_end_of_its_day_then_ends_by_itself() {
    let app = paywalled_app().await;
    let premium = *app.premium_ids().last().unwrap();
    let admin = admin(&app, "admin@example.com").await;
    let reader = Reader::signed_up(&app, "friend@example.com").await;
    assert_eq!(
        reader.read_article(premium).await.status,
        StatusCode::PAYMENT_REQUIRED
    );

    // START is 2026-11-26 12:00 UTC: until the 27th means through the whole of the 27th.
    let given = give(&admin, " Friend@Example.com ", "2026-11-27").await;
    assert_eq!(given.status, StatusCode::SEE_OTHER, "{}", given.body);
    let desk = admin.get("/editor/comps").await;
    assert!(
        desk.body
            .contains("friend@example.com has complimentary access until 27 November 2026.")
    );
    assert!(
        desk.body
            .contains("friend@example.com · until <strong>27 November 2026</strong>")
    );

    // At once, on the reader's existing login.
    let page = reader.read_article(premium).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("article-body"));
    let account = reader.get("/account").await;
    assert!(
        account
            .body
            .contains("Complimentary access until 27 November 2026"),
        "{}",
        account.body
    );

    app.clock.set(time::macros::datetime!(2026-11-27 23:59 UTC));
    assert_eq!(reader.read_article(premium).await.status, StatusCode::OK);

    app.clock.set(time::macros::datetime!(2026-11-28 0:00 UTC));
    let after = reader.read_article(premium).await;
    assert_eq!(after.status, StatusCode::PAYMENT_REQUIRED);
    let account = reader.get("/account").await;
    assert_eq!(account.status, StatusCode::OK, "still logged in");
    assert!(!account.body.contains("Complimentary access"));
    assert!(
        !admin
            .get("/editor/comps")
            .await
            .body
            .contains("friend@example.com ·")
    );
}

#[tokio::test]
async fn giving_again_moves_the_date_and_removing_ends_it_now() {
    let app = paywalled_app().await;
    let premium = *app.premium_ids().last().unwrap();
    let admin = admin(&app, "admin@example.com").await;
    let reader = Reader::signed_up(&app, "friend@example.com").await;

    assert_eq!(
        give(&admin, "friend@example.com", "2026-12-31")
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        give(&admin, "friend@example.com", "2027-03-03")
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let rows = comp_rows(&app, "friend@example.com");
    assert_eq!(rows.len(), 1, "one comp per reader");
    assert_eq!(rows[0].1, time::macros::datetime!(2027-03-04 0:00 UTC));
    assert!(
        reader
            .get("/account")
            .await
            .body
            .contains("Complimentary access until 3 March 2027")
    );
    // Moved earlier too: the admin's latest word holds.
    give(&admin, "friend@example.com", "2027-01-15").await;
    assert_eq!(
        comp_rows(&app, "friend@example.com")[0].1,
        time::macros::datetime!(2027-01-16 0:00 UTC)
    );

    let export = reader.get("/account/export").await;
    let data: serde_json::Value = serde_json::from_str(&export.body).unwrap();
    assert_eq!(data["access_grants"][0]["kind"], "comp");
    assert_eq!(data["access_grants"][0]["ends_at"], "2027-01-16T00:00:00Z");

    let removed = remove(&admin, "friend@example.com").await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    assert!(
        admin
            .get("/editor/comps")
            .await
            .body
            .contains("friend@example.com no longer has complimentary access.")
    );
    assert_eq!(
        reader.read_article(premium).await.status,
        StatusCode::PAYMENT_REQUIRED
    );
    assert!(
        !reader
            .get("/account")
            .await
            .body
            .contains("Complimentary access")
    );
    let again = remove(&admin, "friend@example.com").await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert!(
        admin
            .get("/editor/comps")
            .await
            .body
            .contains("friend@example.com had no complimentary access running.")
    );

    // A comp over starts again from now when given again.
    app.clock.advance(Duration::hours(1));
    give(&admin, "friend@example.com", "2026-12-01").await;
    let rows = comp_rows(&app, "friend@example.com");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].0, app.clock.now());
    assert_eq!(reader.read_article(premium).await.status, StatusCode::OK);
}

#[tokio::test]
async fn the_desk_refuses_a_past_or_unreadable_date_and_an_unknown_account_with_a_message() {
    let app = paywalled_app().await;
    let admin = admin(&app, "admin@example.com").await;
    Reader::signed_up(&app, "friend@example.com").await;

    for (address, until, message) in [
        (
            "friend@example.com",
            "2026-11-25",
            "The date is in the past",
        ),
        (
            "friend@example.com",
            "2020-01-01",
            "The date is in the past",
        ),
        (
            "friend@example.com",
            "26/11/2027",
            "Write the date as YYYY-MM-DD",
        ),
        (
            "friend@example.com",
            "2027-02-30",
            "Write the date as YYYY-MM-DD",
        ),
        ("friend@example.com", "", "Write the date as YYYY-MM-DD"),
        (
            "nobody@example.com",
            "2027-01-01",
            "No account has this e-mail",
        ),
    ] {
        let page = give(&admin, address, until).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{until}");
        assert!(page.body.contains(message), "{until}: {}", page.body);
        assert!(page.body.contains(&format!("value=\"{address}\"")));
    }
    assert_eq!(rows_in(&app, "access_grants"), 0);
    // Today is allowed: the rest of the day.
    assert_eq!(
        give(&admin, "friend@example.com", "2026-11-26")
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(rows_in(&app, "access_grants"), 1);
}

#[tokio::test]
async fn only_admins_give_or_remove_a_comp() {
    let app = paywalled_app().await;
    let premium = *app.premium_ids().last().unwrap();
    let newsroom = editor(&app, "editor@example.com").await;
    let reader = Reader::signed_up(&app, "reader@example.com").await;
    let subscribed = subscriber(&app, "subscriber@example.com").await;
    let visitor = Reader::new(&app);

    for who in [&newsroom, &reader, &subscribed] {
        assert_eq!(who.get("/editor/comps").await.status, StatusCode::FORBIDDEN);
        for _ in 0..20 {
            assert_eq!(
                give(who, "reader@example.com", "2027-01-01").await.status,
                StatusCode::FORBIDDEN
            );
        }
        assert_eq!(
            remove(who, "reader@example.com").await.status,
            StatusCode::FORBIDDEN
        );
    }
    let page = visitor.get("/editor/comps").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(page.location().unwrap().starts_with("/login"));
    let token = visitor.csrf_token().await;
    let sent = visitor
        .post(
            "/editor/comps",
            &[
                ("csrf_token", &token),
                ("email", "reader@example.com"),
                ("until", "2027-01-01"),
            ],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    assert!(sent.location().unwrap().starts_with("/login"));

    // Without the CSRF token, even an admin's form is refused.
    let admin = admin(&app, "admin@example.com").await;
    let forged = admin
        .post(
            "/editor/comps",
            &[("email", "reader@example.com"), ("until", "2027-01-01")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    assert_eq!(rows_in(&app, "access_grants"), 0);
    assert_eq!(
        reader.read_article(premium).await.status,
        StatusCode::PAYMENT_REQUIRED
    );
}

#[tokio::test]
async fn bursts_of_identical_comp_forms_for_many_readers_leave_one_comp_each() {
    let app = paywalled_app().await;
    let premium = *app.premium_ids().last().unwrap();
    let admin = admin(&app, "admin@example.com").await;
    let mut readers = Vec::new();
    for n in 0..6 {
        readers.push(Reader::signed_up(&app, &format!("friend{n}@example.com")).await);
    }
    let token = admin.csrf_token().await;
    let addresses: Vec<String> = (0..6).map(|n| format!("friend{n}@example.com")).collect();
    let pages = join_all(addresses.iter().flat_map(|address| {
        let token = token.clone();
        let admin = &admin;
        (0..8).map(move |_| {
            admin.post(
                "/editor/comps",
                &[
                    ("csrf_token", &token),
                    ("email", address),
                    ("until", "2027-01-31"),
                ],
            )
        })
    }))
    .await;
    assert_eq!(pages.len(), 48);
    for page in &pages {
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    }
    assert_eq!(rows_in(&app, "access_grants"), 6, "one comp per reader");
    for (address, reader) in addresses.iter().zip(&readers) {
        assert_eq!(comp_rows(&app, address).len(), 1);
        assert_eq!(reader.read_article(premium).await.status, StatusCode::OK);
    }
}

#[tokio::test]
async fn the_command_line_gives_moves_and_removes_a_comp_and_every_instance_hears_it() {
    // The command line reads the real time; the app's clock stands a minute after it, so
    // what the command gives has begun for the app.
    let app = TestApp::builder()
        .settings(|s| s.free_articles_per_month = 0)
        .start()
        .await;
    app.clock
        .set(OffsetDateTime::now_utc() + Duration::minutes(1));
    let premium = *app.premium_ids().last().unwrap();
    let reader = Reader::signed_up(&app, "friend@example.com").await;
    assert_eq!(
        reader.read_article(premium).await.status,
        StatusCode::PAYMENT_REQUIRED
    );
    let soon = OffsetDateTime::now_utc() + Duration::days(10);
    let later = OffsetDateTime::now_utc() + Duration::days(40);

    let run = |args: Vec<String>| {
        let url = app.db.url.clone();
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            gazette(&url, &args)
        })
    };
    let comp = |address: &str, until: &str| {
        run(vec![
            "user".into(),
            "comp".into(),
            address.into(),
            "--until".into(),
            until.into(),
        ])
    };

    let (code, stdout, stderr) = comp("Friend@Example.com", &day(soon)).await.unwrap();
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout.trim(),
        format!(
            "friend@example.com has complimentary access until {} (UTC).",
            day(soon)
        )
    );
    // Written from outside the app: the change reaches its caches through the notification.
    assert!(
        answers_within_a_second(&reader, &format!("/articles/{premium}"), StatusCode::OK).await
    );

    let (code, stdout, _) = comp("friend@example.com", &day(later)).await.unwrap();
    assert_eq!(code, 0);
    assert!(stdout.contains("moved from the earlier date"), "{stdout}");
    assert_eq!(comp_rows(&app, "friend@example.com").len(), 1);

    for (address, until, naming) in [
        (
            "friend@example.com",
            "2020-01-01".to_string(),
            "the date is in the past",
        ),
        ("friend@example.com", "next week".to_string(), "YYYY-MM-DD"),
        (
            "nobody@example.com",
            day(later),
            "no account has this e-mail",
        ),
    ] {
        let (code, _, stderr) = comp(address, &until).await.unwrap();
        assert_ne!(code, 0);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with("gazette: "), "{stderr}");
        assert!(stderr.contains(naming), "{stderr}");
    }
    let (code, _, stderr) = run(vec![
        "user".into(),
        "comp".into(),
        "friend@example.com".into(),
    ])
    .await
    .unwrap();
    assert_ne!(code, 0);
    assert!(stderr.contains("--until"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    let (code, stdout, _) = run(vec![
        "user".into(),
        "comp".into(),
        "friend@example.com".into(),
        "--remove".into(),
    ])
    .await
    .unwrap();
    assert_eq!(code, 0);
    assert_eq!(
        stdout.trim(),
        "friend@example.com no longer has complimentary access."
    );
    assert!(
        answers_within_a_second(
            &reader,
            &format!("/articles/{premium}"),
            StatusCode::PAYMENT_REQUIRED
        )
        .await
    );
}

fn reminders_queued(app: &TestApp) -> i64 {
    use gazette::schema::mail_outbox;
    mail_outbox::table
        .filter(mail_outbox::kind.eq("access_ending"))
        .count()
        .get_result(&mut app.connect())
        .unwrap()
}

#[tokio::test]
async fn readers_are_invited_to_subscribe_once_a_week_before_the_end_even_with_housekeeping_twice_at_once()
 {
    let app = paywalled_app().await;
    let admin = admin(&app, "admin@example.com").await;
    let addresses: Vec<String> = (0..6).map(|n| format!("friend{n}@example.com")).collect();
    for address in &addresses {
        Reader::signed_up(&app, address).await;
        // START is 26 November: access through 5 December, so the invitation is due from
        // the 29th at midnight (a week before it ends).
        give(&admin, address, "2026-12-05").await;
    }
    let queue = |now: OffsetDateTime| {
        let url = app.db.url.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = PgConnection::establish(&url).unwrap();
            gazette::billing::grants::queue_reminders(&mut conn, now).unwrap()
        })
    };
    assert_eq!(queue(START).await.unwrap(), 0, "not due yet");
    assert_eq!(
        queue(time::macros::datetime!(2026-11-28 23:59 UTC))
            .await
            .unwrap(),
        0
    );

    let due = time::macros::datetime!(2026-11-30 9:00 UTC);
    app.clock.set(due);
    let runs = join_all((0..4).map(|_| queue(due))).await;
    let queued: usize = runs.into_iter().map(Result::unwrap).sum();
    assert_eq!(queued, 6, "one invitation per grant across the runs");
    assert_eq!(reminders_queued(&app), 6);
    assert_eq!(queue(due).await.unwrap(), 0, "never twice");

    // The sender sends it with the next mail it is woken for.
    let reader = Reader::new(&app);
    reader.forgot_password("friend0@example.com").await;
    let mails = app.mailbox.wait_for("friend0@example.com", 2).await;
    let invitation = mails
        .iter()
        .find(|mail| mail.subject.contains("access ends"))
        .expect("the invitation");
    assert_eq!(
        invitation.subject,
        "Your Gazette access ends on 5 December 2026"
    );
    assert!(
        invitation.text.contains("/subscribe"),
        "{}",
        invitation.text
    );

    // Moved to a later date, the invitation is due again for that date, and only then.
    give(&admin, "friend1@example.com", "2027-01-31").await;
    assert_eq!(queue(due).await.unwrap(), 0);
    assert_eq!(
        queue(time::macros::datetime!(2027-01-25 0:00 UTC))
            .await
            .unwrap(),
        1
    );
    // Once over, a grant is never invited.
    give(&admin, "friend2@example.com", "2026-12-01").await;
    assert_eq!(
        queue(time::macros::datetime!(2026-12-02 0:00 UTC))
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn a_comp_given_or_removed_on_one_instance_reaches_the_reader_on_another_within_a_second() {
    let app = paywalled_app().await;
    let other = TestApp::builder().sharing(&app).start().await;
    let premium = format!("/articles/{}", app.premium_ids().last().unwrap());
    let admin = admin(&app, "admin@example.com").await;
    let reader = Reader::signed_up(&app, "friend@example.com").await;
    let elsewhere = reader.via(&other);
    // The other instance keeps what it read of the reader.
    assert_eq!(
        elsewhere.get(&premium).await.status,
        StatusCode::PAYMENT_REQUIRED
    );

    give(&admin, "friend@example.com", "2027-01-31").await;
    assert!(answers_within_a_second(&elsewhere, &premium, StatusCode::OK).await);
    remove(&admin, "friend@example.com").await;
    assert!(answers_within_a_second(&elsewhere, &premium, StatusCode::PAYMENT_REQUIRED).await);
}
