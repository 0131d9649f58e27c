//! Readers joining and leaving the newsletter's list: the double opt-in over real SMTP, the
//! one answer whatever the address, the limits at scale, forged and replayed links, one-click
//! leaving without a cookie, the preferences page, sign-up and the account page, what the
//! export says and what deleting the account and housekeeping remove.

use diesel::prelude::*;
use gazette::domain::ids::{SignupId, UserId};
use gazette::domain::newsletter::{Member, NewsletterLinks};
use reqwest::StatusCode;
use time::{Duration, OffsetDateTime};

use crate::helpers::*;

const READER: &str = "reader@example.com";

fn count(pages: &[Page], status: StatusCode) -> usize {
    pages.iter().filter(|p| p.status == status).count()
}

/// The links as the app signs them.
fn links(app: &TestApp) -> NewsletterLinks {
    NewsletterLinks::new(app.settings.session_key.master())
}

/// Asks for the newsletter at `email` with the form on the front page.
async fn ask(reader: &Reader<'_>, email: &str) -> Page {
    let token = reader.get("/").await.csrf_token();
    reader
        .post("/newsletter", &[("email", email), ("csrf_token", &token)])
        .await
}

/// As [`ask`], from client `address` (seen by an app that trusts proxy headers).
async fn ask_from(reader: &Reader<'_>, email: &str, address: &str) -> Page {
    let token = reader.csrf_token().await;
    reader
        .post_with_headers(
            "/newsletter",
            &[("email", email), ("csrf_token", &token)],
            &[("X-Forwarded-For", address)],
        )
        .await
}

/// Presses the confirmation page's button for `token`.
async fn confirm(reader: &Reader<'_>, token: &str) -> Page {
    let csrf = reader.csrf_token().await;
    reader
        .post(
            "/newsletter/confirm",
            &[("token", token), ("csrf_token", &csrf)],
        )
        .await
}

/// Presses a button of the preferences page for `token`.
/// Signs up `email` with the newsletter box ticked, as the form sends it.
async fn sign_up_ticked(reader: &Reader<'_>, email: &str) -> Page {
    let token = reader.csrf_token().await;
    reader
        .post(
            "/signup",
            &[
                ("email", email),
                ("password", PASSWORD),
                ("newsletter", "yes"),
                ("csrf_token", &token),
            ],
        )
        .await
}

async fn choose(reader: &Reader<'_>, token: &str, choice: &str) -> Page {
    let csrf = reader.csrf_token().await;
    reader
        .post(
            "/newsletter/preferences",
            &[("token", token), ("choice", choice), ("csrf_token", &csrf)],
        )
        .await
}

/// RFC 8058's one-click, as a mail provider sends it: no cookie, no CSRF token.
async fn one_click(app: &TestApp, token: &str) -> Page {
    let client = crate::support::http_client()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = client
        .post(app.url(&format!(
            "/newsletter/unsubscribe?token={}",
            urlencode(token)
        )))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .expect("POST");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.text().await.unwrap();
    Page {
        status,
        headers,
        body,
    }
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `(confirmed_at, opted_in_at)` of the sign-up row of `email`, if there is one.
fn signup_row(
    app: &TestApp,
    email: &str,
) -> Option<(i64, Option<OffsetDateTime>, Option<OffsetDateTime>)> {
    use gazette::schema::newsletter_signups as s;
    s::table
        .filter(s::email.eq(email))
        .select((s::id, s::confirmed_at, s::opted_in_at))
        .first(&mut app.connect())
        .optional()
        .unwrap()
}

/// `(email_confirmed_at, newsletter_opted_in_at)` of the account of `email`.
fn account_row(app: &TestApp, email: &str) -> (Option<OffsetDateTime>, Option<OffsetDateTime>) {
    use gazette::schema::users as u;
    u::table
        .filter(u::email.eq(email))
        .select((u::email_confirmed_at, u::newsletter_opted_in_at))
        .first(&mut app.connect())
        .unwrap()
}

fn on_list_as_signup(app: &TestApp, email: &str) -> bool {
    matches!(signup_row(app, email), Some((_, Some(_), Some(_))))
}

fn on_list_as_account(app: &TestApp, email: &str) -> bool {
    matches!(account_row(app, email), (Some(_), Some(_)))
}

fn signup_member(app: &TestApp, email: &str) -> Member {
    let (id, _, _) = signup_row(app, email).expect("a sign-up row");
    Member::Signup(SignupId::new(id))
}

fn account_member(app: &TestApp, email: &str) -> Member {
    Member::Account(UserId::new(user_id(app, email)))
}

/// Waits until the sender has dealt with everything in the outbox.
async fn outbox_done(app: &TestApp) {
    eventually("the outbox empties", || outbox(app).is_empty()).await;
}

/// Joins by address and confirms; returns the confirmation link's token.
async fn joined_by_address(app: &TestApp, email: &str) -> String {
    let browser = Reader::new(app);
    let before = app.mailbox.delivered_to(email).len();
    assert_eq!(ask(&browser, email).await.status, StatusCode::OK);
    let token = app.mailbox.next_for(email, before).await.token();
    assert_eq!(confirm(&browser, &token).await.status, StatusCode::OK);
    assert!(on_list_as_signup(app, email));
    token
}

/// A send of the article `title` with one delivery to the account `user`, as the sending side
/// records it.
fn delivered_to_account(app: &TestApp, user: i64, email: &str) -> String {
    let conn = &mut app.connect();
    let title: String = gazette::schema::articles::table
        .select(gazette::schema::articles::title)
        .order(gazette::schema::articles::id)
        .first(conn)
        .unwrap();
    let article: i64 = gazette::schema::articles::table
        .select(gazette::schema::articles::id)
        .order(gazette::schema::articles::id)
        .first(conn)
        .unwrap();
    diesel::sql_query(
        "WITH send AS (INSERT INTO newsletter_sends (article_id, audience, started_at) \
         VALUES ($1, 'all', $2) RETURNING id) \
         INSERT INTO newsletter_deliveries (send_id, email, user_id, whole, state, \
         next_attempt_at, finished_at) SELECT id, $3, $4, true, 'sent', $2, $2 FROM send",
    )
    .bind::<diesel::sql_types::BigInt, _>(article)
    .bind::<diesel::sql_types::Timestamptz, _>(START)
    .bind::<diesel::sql_types::Text, _>(email)
    .bind::<diesel::sql_types::BigInt, _>(user)
    .execute(conn)
    .unwrap();
    title
}

#[tokio::test]
async fn an_address_joins_only_once_the_button_of_its_mailed_link_is_pressed() {
    let app = TestApp::spawn().await;
    let browser = Reader::new(&app);
    let page = ask(&browser, READER).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Check your inbox"));

    let mail = app.mailbox.next_for(READER, 0).await;
    assert_eq!(mail.subject, "Confirm that you want the Gazette newsletter");
    assert!(
        mail.link()
            .starts_with(&format!("{}/newsletter/confirm?token=", app.address))
    );
    assert!(mail.text.contains("You get this mail because"));
    assert!(!mail.html.contains("<img"), "no pixel in the mail");
    assert!(matches!(signup_row(&app, READER), Some((_, None, None))));
    outbox_done(&app).await;
    assert_eq!(app.mailbox.delivered_to(READER).len(), 1, "one mail");

    // A scanner opening the link (no cookie, no button) confirms nothing.
    let scanner = Reader::new(&app);
    let page = scanner.get(&mail.link_path()).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(READER) && page.body.contains("name=\"token\""));
    assert!(matches!(signup_row(&app, READER), Some((_, None, None))));

    let done = confirm(&browser, &mail.token()).await;
    assert_eq!(done.status, StatusCode::OK);
    assert!(done.body.contains("You are on the newsletter"));
    let (_, confirmed, opted_in) = signup_row(&app, READER).unwrap();
    assert_eq!(confirmed, Some(START));
    assert_eq!(opted_in, Some(START));
}

#[tokio::test]
async fn asking_answers_the_same_page_for_new_listed_unknown_and_account_addresses() {
    let app = TestApp::spawn().await;
    let listed = "listed@example.com";
    let account = "account@example.com";
    let listed_account = "listed-account@example.com";
    joined_by_address(&app, listed).await;
    Reader::signed_up(&app, account).await;
    // An account on the list: its address confirmed, its choice made.
    let owner = Reader::new(&app);
    sign_up_ticked(&owner, listed_account).await;
    let link = app.mailbox.next_for(listed_account, 0).await.token();
    confirm(&owner, &link).await;
    assert!(on_list_as_account(&app, listed_account));
    outbox_done(&app).await;
    let mails_before = app.mailbox.delivered().len();

    let browser = Reader::new(&app);
    let mut bodies = Vec::new();
    for email in [
        "new@example.com",
        listed,
        account,
        listed_account,
        "new@example.com",
    ] {
        let page = ask(&browser, email).await;
        assert_eq!(page.status, StatusCode::OK, "{email}");
        bodies.push(page.body.replace(email, "EMAIL"));
    }
    for body in &bodies[1..] {
        assert_eq!(body, &bodies[0], "identical pages apart from the address");
    }

    // The new address and the account get a link; those on the list already get nothing.
    let new = app.mailbox.wait_for("new@example.com", 2).await;
    assert!(new.iter().all(|m| m.subject.contains("Confirm")));
    let to_account = app.mailbox.next_for(account, 0).await;
    assert!(to_account.subject.contains("Confirm"));
    outbox_done(&app).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app.mailbox.delivered().len(), mails_before + 3);
    assert_eq!(app.mailbox.delivered_to(listed).len(), 1);
    assert_eq!(app.mailbox.delivered_to(listed_account).len(), 1);
    assert_eq!(
        rows_in(&app, "newsletter_signups"),
        2,
        "no row for an account"
    );

    // The account's link puts the account on the list, not a row of its own.
    let done = confirm(&browser, &to_account.token()).await;
    assert_eq!(done.status, StatusCode::OK);
    assert!(on_list_as_account(&app, account));
}

#[tokio::test]
async fn an_address_that_left_gets_its_settings_link_and_only_its_button_brings_it_back() {
    let app = TestApp::spawn().await;
    let first_link = joined_by_address(&app, READER).await;
    let member = signup_member(&app, READER);
    let token = links(&app).unsubscribe_token(member);
    assert_eq!(one_click(&app, &token).await.status, StatusCode::OK);
    assert!(!on_list_as_signup(&app, READER));

    // The replayed confirmation does not silently put it back.
    let browser = Reader::new(&app);
    let replay = confirm(&browser, &first_link).await;
    assert_eq!(replay.status, StatusCode::OK);
    assert!(replay.body.contains("Nothing to confirm"));
    assert!(!on_list_as_signup(&app, READER));

    // Asking again mails the settings link, whose button brings it back without a new
    // confirmation.
    ask(&browser, READER).await;
    let mail = app.mailbox.next_for(READER, 1).await;
    assert_eq!(mail.subject, "Your Gazette newsletter settings");
    assert!(mail.link().contains("/newsletter/preferences?token="));
    let page = browser.get(&mail.link_path()).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!on_list_as_signup(&app, READER), "opening changes nothing");
    assert!(page.body.contains("value=\"return\""));
    let back = choose(&browser, &mail.token(), "return").await;
    assert_eq!(back.status, StatusCode::OK);
    assert!(on_list_as_signup(&app, READER));
    outbox_done(&app).await;
    assert_eq!(app.mailbox.delivered_to(READER).len(), 2);
}

#[tokio::test]
async fn a_confirmation_link_older_than_a_week_is_refused() {
    let app = TestApp::spawn().await;
    let browser = Reader::new(&app);
    ask(&browser, READER).await;
    let mail = app.mailbox.next_for(READER, 0).await;
    app.clock.advance(Duration::days(7) + Duration::minutes(1));
    assert_eq!(
        browser.get(&mail.link_path()).await.status,
        StatusCode::GONE
    );
    let page = confirm(&browser, &mail.token()).await;
    assert_eq!(page.status, StatusCode::GONE);
    assert!(matches!(signup_row(&app, READER), Some((_, None, None))));
}

#[tokio::test]
async fn one_client_asking_for_sixty_addresses_is_stopped_after_ten() {
    let app = TestApp::builder()
        .settings(|s| s.trust_proxy_headers = true)
        .start()
        .await;
    let attacker = Reader::new(&app);
    let mut pages = Vec::new();
    for n in 0..60 {
        pages.push(ask_from(&attacker, &format!("victim{n}@example.com"), "198.51.100.7").await);
    }
    assert_eq!(count(&pages[..10], StatusCode::OK), 10);
    assert_eq!(count(&pages[10..], StatusCode::TOO_MANY_REQUESTS), 50);
    assert!(pages[10].header("retry-after").is_some());
    assert_eq!(
        rows_in(&app, "newsletter_signups"),
        10,
        "refusals store nothing"
    );
    app.mailbox.wait_for("victim9@example.com", 1).await;
    outbox_done(&app).await;
    assert_eq!(app.mailbox.delivered().len(), 10);
    // Someone else, elsewhere, is not held up.
    let page = ask_from(&Reader::new(&app), "someone@example.com", "203.0.113.9").await;
    assert_eq!(page.status, StatusCode::OK);
}

#[tokio::test]
async fn sixty_clients_asking_for_one_inbox_send_it_three_mails() {
    let app = TestApp::builder()
        .settings(|s| s.trust_proxy_headers = true)
        .start()
        .await;
    let pages = join_all((0..60).map(|n| {
        let app = &app;
        async move { ask_from(&Reader::new(app), READER, &format!("198.51.100.{n}")).await }
    }))
    .await;
    assert_eq!(
        (
            count(&pages, StatusCode::OK),
            count(&pages, StatusCode::TOO_MANY_REQUESTS)
        ),
        (3, 57)
    );
    app.mailbox.wait_for(READER, 3).await;
    outbox_done(&app).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app.mailbox.delivered_to(READER).len(), 3);
    assert_eq!(rows_in(&app, "newsletter_signups"), 1);

    // An account's address is limited alike, so the limit tells nothing.
    Reader::signed_up(&app, "owner@example.com").await;
    let pages = join_all((0..10).map(|n| {
        let app = &app;
        async move {
            ask_from(
                &Reader::new(app),
                "owner@example.com",
                &format!("203.0.113.{n}"),
            )
            .await
        }
    }))
    .await;
    assert_eq!(count(&pages, StatusCode::OK), 3);
    assert_eq!(count(&pages, StatusCode::TOO_MANY_REQUESTS), 7);
}

#[tokio::test]
async fn forged_changed_and_foreign_tokens_confirm_nothing() {
    let app = TestApp::spawn().await;
    let browser = Reader::new(&app);
    ask(&browser, READER).await;
    let real = app.mailbox.next_for(READER, 0).await.token();
    let member = signup_member(&app, READER);
    let other_site = NewsletterLinks::new(b"another site's secret entirely, long too");
    let mut flipped = real.clone().into_bytes();
    flipped[3] = if flipped[3] == b'A' { b'B' } else { b'A' };
    let mut forgeries = vec![
        String::from_utf8(flipped).unwrap(),
        "made-up".to_string(),
        String::new(),
        "x".repeat(5000),
        links(&app).unsubscribe_token(member),
        other_site.confirmation_token(member, READER, START),
        real.replace('.', ""),
    ];
    // Sixty guesses at other ids with the real signature.
    let (_, tag) = real.split_once('.').unwrap();
    for n in 0..60 {
        forgeries.push(format!("{n}.{tag}"));
    }
    for forged in &forgeries {
        let get = browser
            .get(&format!("/newsletter/confirm?token={}", urlencode(forged)))
            .await;
        assert_eq!(
            get.status,
            StatusCode::GONE,
            "{}",
            &forged[..forged.len().min(40)]
        );
        let post = confirm(&browser, forged).await;
        assert_eq!(post.status, StatusCode::GONE);
    }
    assert!(matches!(signup_row(&app, READER), Some((_, None, None))));
    assert_eq!(confirm(&browser, &real).await.status, StatusCode::OK);
    assert!(on_list_as_signup(&app, READER));
}

#[tokio::test]
async fn a_confirmation_for_an_address_the_account_no_longer_has_confirms_nothing() {
    let app = TestApp::spawn().await;
    let reader = Reader::new(&app);
    sign_up_ticked(&reader, READER).await;
    let link = app.mailbox.next_for(READER, 0).await.token();
    // The account's address is another one now, not confirmed.
    diesel::update(gazette::schema::users::table)
        .filter(gazette::schema::users::email.eq(READER))
        .set(gazette::schema::users::email.eq("moved@example.com"))
        .execute(&mut app.connect())
        .unwrap();
    let page = confirm(&reader, &link).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Nothing to confirm"));
    assert_eq!(account_row(&app, "moved@example.com").0, None);
}

#[tokio::test]
async fn forged_and_foreign_tokens_leave_and_change_nothing() {
    let app = TestApp::spawn().await;
    joined_by_address(&app, READER).await;
    let member = signup_member(&app, READER);
    let real = links(&app).unsubscribe_token(member);
    let other_site = NewsletterLinks::new(b"another site's secret entirely, long too");
    let mut flipped = real.clone().into_bytes();
    flipped[1] = if flipped[1] == b'A' { b'B' } else { b'A' };
    let (_, tag) = real.split_once('.').unwrap();
    let mut forgeries = vec![
        String::from_utf8(flipped).unwrap(),
        "made-up".to_string(),
        String::new(),
        links(&app).confirmation_token(member, READER, START),
        other_site.unsubscribe_token(member),
        "s:1".to_string(),
    ];
    for n in 0..60 {
        forgeries.push(format!("{n}.{tag}"));
    }
    let browser = Reader::new(&app);
    for forged in &forgeries {
        let quoted = urlencode(forged);
        let short = &forged[..forged.len().min(40)];
        let post = one_click(&app, forged).await;
        assert_eq!(post.status, StatusCode::BAD_REQUEST, "{short}");
        assert!(post.body.contains("This link does not work"));
        let get = browser
            .get(&format!("/newsletter/unsubscribe?token={quoted}"))
            .await;
        assert_eq!(get.status, StatusCode::BAD_REQUEST, "{short}");
        let get = browser
            .get(&format!("/newsletter/preferences?token={quoted}"))
            .await;
        assert_eq!(get.status, StatusCode::BAD_REQUEST, "{short}");
        for choice in ["leave", "forget"] {
            let post = choose(&browser, forged, choice).await;
            assert_eq!(post.status, StatusCode::BAD_REQUEST, "{short}");
        }
    }
    assert!(on_list_as_signup(&app, READER));
    assert_eq!(rows_in(&app, "newsletter_signups"), 1);
}

#[tokio::test]
async fn one_click_leaves_at_once_without_a_cookie_and_opening_the_link_changes_nothing() {
    let app = TestApp::spawn().await;
    joined_by_address(&app, READER).await;
    let token = links(&app).unsubscribe_token(signup_member(&app, READER));

    let scanner = Reader::new(&app);
    let page = scanner
        .get(&format!(
            "/newsletter/unsubscribe?token={}",
            urlencode(&token)
        ))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("List-Unsubscribe") && page.body.contains("One-Click"));
    assert!(on_list_as_signup(&app, READER), "a GET changes nothing");

    let left = one_click(&app, &token).await;
    assert_eq!(left.status, StatusCode::OK);
    assert!(left.body.contains("You have left the newsletter"));
    assert!(
        left.set_cookies().is_empty(),
        "no cookie: {:?}",
        left.set_cookies()
    );
    assert!(!on_list_as_signup(&app, READER));

    let again = one_click(&app, &token).await;
    assert_eq!(again.status, StatusCode::OK);
    assert!(again.set_cookies().is_empty());
    assert!(!on_list_as_signup(&app, READER));
}

#[tokio::test]
async fn the_preferences_page_leaves_comes_back_and_forgets_an_address_without_an_account() {
    let app = TestApp::spawn().await;
    joined_by_address(&app, READER).await;
    let token = links(&app).unsubscribe_token(signup_member(&app, READER));
    let browser = Reader::new(&app);
    let path = format!("/newsletter/preferences?token={}", urlencode(&token));
    let page = browser.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(READER) && page.body.contains("Sent to this address"));
    assert!(page.body.contains("value=\"forget\""));

    // The page's form needs its CSRF token: another site cannot press its buttons.
    let forged = browser
        .post(
            "/newsletter/preferences",
            &[("token", token.as_str()), ("choice", "leave")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(on_list_as_signup(&app, READER));

    assert_eq!(
        choose(&browser, &token, "leave").await.status,
        StatusCode::OK
    );
    assert!(!on_list_as_signup(&app, READER));
    assert_eq!(
        choose(&browser, &token, "return").await.status,
        StatusCode::OK
    );
    assert!(on_list_as_signup(&app, READER));
    let forgotten = choose(&browser, &token, "forget").await;
    assert_eq!(forgotten.status, StatusCode::OK);
    assert!(forgotten.body.contains("Address forgotten"));
    assert_eq!(signup_row(&app, READER), None);
    assert_eq!(browser.get(&path).await.status, StatusCode::NOT_FOUND);
    assert_eq!(one_click(&app, &token).await.status, StatusCode::OK);
    outbox_done(&app).await;
    assert_eq!(
        app.mailbox.delivered_to(READER).len(),
        1,
        "no new confirmation"
    );
}

#[tokio::test]
async fn an_account_cannot_be_forgotten_from_the_preferences_page_and_leaves_by_one_click() {
    let app = TestApp::spawn().await;
    let reader = Reader::new(&app);
    sign_up_ticked(&reader, READER).await;
    let link = app.mailbox.next_for(READER, 0).await.token();
    confirm(&reader, &link).await;
    let token = links(&app).unsubscribe_token(account_member(&app, READER));
    let page = choose(&Reader::new(&app), &token, "forget").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("value=\"forget\""));
    assert!(on_list_as_account(&app, READER));
    assert_eq!(one_click(&app, &token).await.status, StatusCode::OK);
    assert!(!on_list_as_account(&app, READER));
    assert!(account_row(&app, READER).0.is_some(), "still confirmed");
    assert!(
        reader
            .get("/account")
            .await
            .body
            .contains("Not sent to you")
    );
}

#[tokio::test]
async fn signing_up_with_the_box_ticked_mails_a_confirmation_and_unticked_nothing() {
    let app = TestApp::spawn().await;
    let ticked = Reader::new(&app);
    let page = sign_up_ticked(&ticked, READER).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let (confirmed, opted_in) = account_row(&app, READER);
    assert_eq!((confirmed, opted_in.is_some()), (None, true));
    let mail = app.mailbox.next_for(READER, 0).await;
    assert!(mail.subject.contains("Confirm"));
    let account = ticked.get("/account").await;
    assert!(account.body.contains("waiting for you to confirm"));
    assert_eq!(confirm(&ticked, &mail.token()).await.status, StatusCode::OK);
    assert!(on_list_as_account(&app, READER));
    assert!(
        ticked
            .get("/account")
            .await
            .body
            .contains(&format!("Sent to {READER}"))
    );

    let signup_form = Reader::new(&app).get("/signup").await;
    assert!(signup_form.body.contains("type=\"checkbox\""));
    assert!(!signup_form.body.contains("checked"), "unticked by default");
    Reader::signed_up(&app, "unticked@example.com").await;
    assert_eq!(account_row(&app, "unticked@example.com"), (None, None));
    outbox_done(&app).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(app.mailbox.delivered_to("unticked@example.com").is_empty());
}

#[tokio::test]
async fn an_account_whose_address_is_confirmed_joins_from_its_page_without_a_mail() {
    let app = TestApp::spawn().await;
    let reader = Reader::signed_up(&app, "old@example.com").await;
    // Confirming a new address through the account proves it.
    reader.change_email(READER, PASSWORD).await;
    let link = app.mailbox.next_for(READER, 0).await.token();
    reader.confirm_email(&link).await;
    assert!(account_row(&app, READER).0.is_some());
    outbox_done(&app).await;
    let mails = app.mailbox.delivered_to(READER).len();

    let page = reader.get("/account").await;
    assert!(page.body.contains("Not sent to you") && page.body.contains("value=\"join\""));
    let token = page.csrf_token();
    let joined = reader
        .post(
            "/account/newsletter",
            &[("choice", "join"), ("csrf_token", &token)],
        )
        .await;
    assert_eq!(joined.status, StatusCode::SEE_OTHER);
    assert!(
        reader
            .follow(&joined)
            .await
            .body
            .contains("You are on the newsletter.")
    );
    assert!(on_list_as_account(&app, READER));
    outbox_done(&app).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app.mailbox.delivered_to(READER).len(), mails, "no mail");

    let left = reader
        .post(
            "/account/newsletter",
            &[("choice", "leave"), ("csrf_token", &token)],
        )
        .await;
    assert_eq!(left.status, StatusCode::SEE_OTHER);
    assert!(!on_list_as_account(&app, READER));
}

#[tokio::test]
async fn an_unconfirmed_account_joining_from_its_page_is_mailed_a_confirmation() {
    let app = TestApp::spawn().await;
    let reader = Reader::signed_up(&app, READER).await;
    let token = reader.get("/account").await.csrf_token();
    let joined = reader
        .post(
            "/account/newsletter",
            &[("choice", "join"), ("csrf_token", &token)],
        )
        .await;
    assert_eq!(joined.status, StatusCode::SEE_OTHER);
    assert!(!on_list_as_account(&app, READER));
    let mail = app.mailbox.next_for(READER, 0).await;
    assert_eq!(confirm(&reader, &mail.token()).await.status, StatusCode::OK);
    assert!(on_list_as_account(&app, READER));
}

#[tokio::test]
async fn an_address_on_the_list_that_signs_up_becomes_the_account_keeping_its_choice() {
    let app = TestApp::spawn().await;
    joined_by_address(&app, READER).await;
    let (_, confirmed, opted_in) = signup_row(&app, READER).unwrap();
    app.clock.advance(Duration::days(2));
    // Unticked: the choice made before stays.
    let reader = Reader::signed_up(&app, READER).await;
    assert_eq!(account_row(&app, READER), (confirmed, opted_in));
    assert_eq!(signup_row(&app, READER), None);
    assert_eq!(rows_in(&app, "newsletter_signups"), 0);
    assert!(
        reader
            .get("/account")
            .await
            .body
            .contains(&format!("Sent to {READER}"))
    );
    outbox_done(&app).await;
    assert_eq!(
        app.mailbox.delivered_to(READER).len(),
        1,
        "no new confirmation"
    );

    // An address that never confirmed becomes the account without a choice.
    ask(&Reader::new(&app), "pending@example.com").await;
    app.mailbox.next_for("pending@example.com", 0).await;
    Reader::signed_up(&app, "pending@example.com").await;
    assert_eq!(account_row(&app, "pending@example.com"), (None, None));
    assert_eq!(rows_in(&app, "newsletter_signups"), 0);
}

#[tokio::test]
async fn an_address_that_left_gives_whoever_signs_up_with_it_no_way_back_onto_the_list() {
    let app = TestApp::spawn().await;
    joined_by_address(&app, READER).await;
    let member = signup_member(&app, READER);
    let token = links(&app).unsubscribe_token(member);
    assert_eq!(one_click(&app, &token).await.status, StatusCode::OK);
    outbox_done(&app).await;
    let mailed = app.mailbox.delivered_to(READER).len();

    // Someone else signs up with the address: sign-up does not prove it, so the address's
    // old confirmation does not come along, and joining takes a new one sent to its inbox.
    let stranger = Reader::signed_up(&app, READER).await;
    assert_eq!(account_row(&app, READER), (None, None));
    assert_eq!(rows_in(&app, "newsletter_signups"), 0);
    let csrf = stranger.get("/account").await.csrf_token();
    stranger
        .post(
            "/account/newsletter",
            &[("choice", "join"), ("csrf_token", &csrf)],
        )
        .await;
    assert!(!on_list_as_account(&app, READER));
    let mail = app.mailbox.next_for(READER, mailed).await;
    assert!(
        mail.link().contains("/newsletter/confirm?token="),
        "{}",
        mail.text
    );
}

#[tokio::test]
async fn the_export_lists_the_newsletter_and_deleting_the_account_removes_all_of_it() {
    let app = TestApp::spawn().await;
    let reader = Reader::new(&app);
    sign_up_ticked(&reader, READER).await;
    let link = app.mailbox.next_for(READER, 0).await.token();
    confirm(&reader, &link).await;
    let user = user_id(&app, READER);
    let title = delivered_to_account(&app, user, READER);

    let export = reader.get("/account/export").await;
    assert_eq!(export.status, StatusCode::OK);
    let json: serde_json::Value = serde_json::from_str(&export.body).unwrap();
    let newsletter = &json["newsletter"];
    assert_eq!(newsletter["email"], READER);
    assert!(newsletter["email_confirmed_at"].is_string(), "{newsletter}");
    assert!(newsletter["opted_in_at"].is_string(), "{newsletter}");
    assert_eq!(newsletter["sent"][0]["article"], title.as_str());
    assert_eq!(newsletter["sent"][0]["state"], "sent");
    assert!(newsletter["sent"][0]["started_at"].is_string());

    let page = reader.delete_account("Delete my account", PASSWORD).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(user_id_of(&app, READER), None);
    assert_eq!(rows_in(&app, "newsletter_deliveries"), 0);
    assert_eq!(rows_in(&app, "newsletter_signups"), 0);
}

#[tokio::test]
async fn what_was_sent_to_an_address_stays_with_the_account_it_becomes() {
    let app = TestApp::spawn().await;
    joined_by_address(&app, READER).await;
    let (id, _, _) = signup_row(&app, READER).unwrap();
    diesel::sql_query(
        "WITH send AS (INSERT INTO newsletter_sends (article_id, audience, started_at) \
         SELECT min(id), 'all', $1 FROM articles RETURNING id) \
         INSERT INTO newsletter_deliveries (send_id, email, signup_id, whole, state, \
         next_attempt_at) SELECT id, $2, $3, false, 'sent', $1 FROM send",
    )
    .bind::<diesel::sql_types::Timestamptz, _>(START)
    .bind::<diesel::sql_types::Text, _>(READER)
    .bind::<diesel::sql_types::BigInt, _>(id)
    .execute(&mut app.connect())
    .unwrap();
    let reader = Reader::signed_up(&app, READER).await;
    assert_eq!(rows_in(&app, "newsletter_deliveries"), 1);
    let export = reader.get("/account/export").await;
    let json: serde_json::Value = serde_json::from_str(&export.body).unwrap();
    assert_eq!(json["newsletter"]["sent"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn housekeeping_deletes_addresses_never_confirmed_within_a_week_and_keeps_the_rest() {
    let app = TestApp::spawn().await;
    joined_by_address(&app, "kept@example.com").await;
    ask(&Reader::new(&app), "stale@example.com").await;
    app.mailbox.next_for("stale@example.com", 0).await;
    app.clock.advance(Duration::days(6));
    ask(&Reader::new(&app), "fresh@example.com").await;
    app.mailbox.next_for("fresh@example.com", 0).await;
    app.clock.advance(Duration::days(1) + Duration::minutes(1));

    let pool = gazette::db::pool(&app.db.url, 2);
    let clock: std::sync::Arc<dyn gazette::clock::Clock> = app.clock.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let housekeeping = crate::helpers::housekeeping(pool, clock, gazette::domain::throttle::WINDOW)
        .spawn(std::time::Duration::from_secs(600), async move {
            let _ = stopped.await;
        });
    eventually("the stale address is deleted", || {
        signup_row(&app, "stale@example.com").is_none()
    })
    .await;
    let _ = stop.send(());
    housekeeping.await.unwrap();
    assert!(signup_row(&app, "fresh@example.com").is_some());
    assert!(on_list_as_signup(&app, "kept@example.com"));
}

#[tokio::test]
async fn the_form_is_on_the_front_page_and_under_articles_and_the_cookies_page_tells_of_it() {
    let app = TestApp::spawn().await;
    let reader = Reader::new(&app);
    let free = app.free_ids()[0];
    for path in ["/".to_string(), format!("/articles/{free}")] {
        let page = reader.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(
            page.body.contains("action=\"/newsletter\"")
                && page.body.contains("<label for=\"newsletter-email\">")
                && page.body.contains("id=\"newsletter-email\""),
            "{path}"
        );
    }
    let cookies = reader.get("/cookies").await;
    assert!(cookies.body.contains("newsletter"));
    assert!(cookies.body.contains("no tracking pixel"));

    let page = ask(&reader, "not an address").await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(rows_in(&app, "newsletter_signups"), 0);
    let no_token = reader.post("/newsletter", &[("email", READER)]).await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    assert_eq!(rows_in(&app, "newsletter_signups"), 0);
}
