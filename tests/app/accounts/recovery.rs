//! A forgotten password, as its owner and as an attacker meet it: the mail that a real SMTP
//! exchange delivers, the link in it, what it ends and what it cannot be made to tell.

use reqwest::StatusCode;
use time::Duration;

use crate::helpers::*;

const OWNER: &str = "owner@example.com";
const NEW_PASSWORD: &str = "copper kettle meadow 77";

fn count(pages: &[Page], status: StatusCode) -> usize {
    pages.iter().filter(|p| p.status == status).count()
}

#[tokio::test]
async fn a_forgotten_password_is_reset_through_the_mailed_link_and_logs_this_browser_in() {
    let app = TestApp::spawn().await;
    let elsewhere = Reader::signed_up(&app, OWNER).await;

    let browser = Reader::new(&app);
    let page = browser.forgot_password(OWNER).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Check your inbox"));

    let mail = app.mailbox.next_for(OWNER, 0).await;
    assert_eq!(
        mail.subject,
        "Choose a new password for your Gazette account"
    );
    assert!(mail.text.contains("30 minutes") && mail.text.contains("Gazette"));
    assert!(mail.text.contains("You get this mail because"));
    assert!(mail.html.contains(&format!("href=\"{}\"", mail.link())));
    assert!(mail.link().starts_with(&app.address));

    let form = browser.get(&mail.link_path()).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains(OWNER) && form.body.contains("name=\"password\""));

    let done = browser.reset_password(&mail.token(), NEW_PASSWORD).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(done.location(), Some("/"));
    let front = browser.follow(&done).await;
    assert!(front.body.contains("Your new password is set"));
    assert_eq!(browser.get("/account").await.status, StatusCode::OK);
    assert!(
        browser.device_cookie().is_some(),
        "a login leaves a device cookie"
    );

    // The browser that was logged in elsewhere is not any more.
    let page = elsewhere.get("/account").await;
    assert_eq!(
        page.status,
        StatusCode::SEE_OTHER,
        "another browser's login ended"
    );

    let notice = app.mailbox.next_for(OWNER, 1).await;
    assert_eq!(notice.subject, "Your Gazette password was changed");

    let old = Reader::new(&app).log_in(OWNER, PASSWORD).await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    let new = Reader::new(&app).log_in(OWNER, NEW_PASSWORD).await;
    assert_eq!(new.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn asking_for_a_reset_answers_alike_and_does_alike_for_known_and_unknown_addresses() {
    let app = TestApp::spawn().await;
    Reader::signed_up(&app, OWNER).await;
    let browser = Reader::new(&app);
    browser.csrf_token().await;

    // While nothing may read the accounts table, both requests are answered at once: neither
    // looks the address up. Each leaves the same trace, one mail asked for by address alone.
    let (known, unknown) = {
        let _locked = lock_users_table(&app);
        let known = browser.forgot_password(OWNER).await;
        let unknown = browser.forgot_password("nobody@example.com").await;
        assert_eq!(
            outbox(&app),
            vec![
                ("password_reset".to_string(), OWNER.to_string(), None),
                (
                    "password_reset".to_string(),
                    "nobody@example.com".to_string(),
                    None
                ),
            ]
        );
        (known, unknown)
    };
    assert_eq!(known.status, StatusCode::OK);
    assert_eq!(unknown.status, StatusCode::OK);
    assert_eq!(
        known.body.replace(OWNER, "EMAIL"),
        unknown.body.replace("nobody@example.com", "EMAIL"),
        "identical pages apart from the address typed in"
    );

    // Only then does the sender look: the account gets its link, the stranger nothing.
    app.mailbox.wait_for(OWNER, 1).await;
    eventually("the outbox empties", || outbox(&app).is_empty()).await;
    assert!(app.mailbox.delivered_to("nobody@example.com").is_empty());
    assert_eq!(rows_in(&app, "account_tokens"), 1);
}

#[tokio::test]
async fn a_reset_link_works_once_and_using_one_kills_every_other() {
    let app = TestApp::spawn().await;
    Reader::signed_up(&app, OWNER).await;
    let browser = Reader::new(&app);
    browser.forgot_password(OWNER).await;
    let first = app.mailbox.next_for(OWNER, 0).await;
    browser.forgot_password(OWNER).await;
    let second = app.mailbox.next_for(OWNER, 1).await;
    assert_ne!(first.token(), second.token());

    let used = browser.reset_password(&second.token(), NEW_PASSWORD).await;
    assert_eq!(used.status, StatusCode::SEE_OTHER);

    for (which, token) in [("used", second.token()), ("other", first.token())] {
        let page = Reader::new(&app)
            .get(&format!("/password/reset?token={token}"))
            .await;
        assert_eq!(page.status, StatusCode::GONE, "{which} link, opened");
        let page = Reader::new(&app)
            .reset_password(&token, "another fine passphrase 9")
            .await;
        assert_eq!(page.status, StatusCode::GONE, "{which} link, sent");
        assert!(page.body.contains("href=\"/password/forgot\""));
    }
    assert_eq!(rows_in(&app, "account_tokens"), 0);
    let page = Reader::new(&app).log_in(OWNER, NEW_PASSWORD).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_reset_link_expires_after_thirty_minutes() {
    let app = TestApp::spawn().await;
    Reader::signed_up(&app, OWNER).await;
    let browser = Reader::new(&app);
    browser.forgot_password(OWNER).await;
    let mail = app.mailbox.next_for(OWNER, 0).await;

    app.clock.advance(Duration::minutes(29));
    assert_eq!(browser.get(&mail.link_path()).await.status, StatusCode::OK);
    app.clock.advance(Duration::minutes(1));
    let page = browser.get(&mail.link_path()).await;
    assert_eq!(page.status, StatusCode::GONE);
    assert!(page.body.contains("This link no longer works"));
    let page = browser.reset_password(&mail.token(), NEW_PASSWORD).await;
    assert_eq!(page.status, StatusCode::GONE);
    assert_eq!(
        Reader::new(&app).log_in(OWNER, PASSWORD).await.status,
        StatusCode::SEE_OTHER,
        "the password is unchanged"
    );
}

#[tokio::test]
async fn made_up_and_mangled_links_get_a_clear_page_with_a_way_to_ask_again() {
    let app = TestApp::spawn().await;
    Reader::signed_up(&app, OWNER).await;
    let browser = Reader::new(&app);
    browser.forgot_password(OWNER).await;
    let real = app.mailbox.next_for(OWNER, 0).await.token();
    let mut flipped = real.clone().into_bytes();
    flipped[10] = if flipped[10] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    for path in [
        "/password/reset".to_string(),
        "/password/reset?token=".to_string(),
        "/password/reset?token=made-up".to_string(),
        format!("/password/reset?token={flipped}"),
        format!("/password/reset?token={}", "x".repeat(5000)),
        "/password/reset?token=%FF%00".to_string(),
    ] {
        let page = browser.get(&path).await;
        assert_eq!(
            page.status,
            StatusCode::GONE,
            "{}",
            &path[..path.len().min(60)]
        );
        assert!(page.body.contains("Send me a new link"));
    }
    let page = browser.reset_password(&flipped, NEW_PASSWORD).await;
    assert_eq!(page.status, StatusCode::GONE);
    assert_eq!(
        browser
            .get(&format!("/password/reset?token={real}"))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_weak_new_password_is_refused_at_its_field_and_the_link_still_works() {
    let app = TestApp::spawn().await;
    Reader::signed_up(&app, OWNER).await;
    let browser = Reader::new(&app);
    browser.forgot_password(OWNER).await;
    let token = app.mailbox.next_for(OWNER, 0).await.token();

    for weak in ["short", "password1234", "owner@example.com"] {
        let page = browser.reset_password(&token, weak).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{weak}");
        assert!(page.body.contains("id=\"password-error\""), "{weak}");
        assert!(page.body.contains("aria-invalid=\"true\""));
        assert!(
            !page.body.contains(weak) || weak == OWNER,
            "the password is not echoed"
        );
    }
    let page = browser.reset_password(&token, NEW_PASSWORD).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn an_address_that_is_not_one_is_refused_at_its_field() {
    let app = TestApp::spawn().await;
    let page = Reader::new(&app).forgot_password("not an address").await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("id=\"email-error\""));
    assert!(outbox(&app).is_empty());
}

#[tokio::test]
async fn the_log_in_form_and_its_failure_page_lead_to_a_new_password() {
    let app = TestApp::spawn().await;
    let reader = Reader::new(&app);
    assert!(
        reader
            .get("/login")
            .await
            .body
            .contains("href=\"/password/forgot\"")
    );
    let failed = reader.log_in(OWNER, "not the password at all").await;
    assert_eq!(failed.status, StatusCode::UNAUTHORIZED);
    assert!(failed.body.contains("href=\"/password/forgot\""));
    assert_eq!(reader.get("/password/forgot").await.status, StatusCode::OK);
}

#[tokio::test]
async fn one_address_asking_for_sixty_accounts_is_stopped_after_ten() {
    let app = TestApp::builder()
        .settings(|s| s.trust_proxy_headers = true)
        .start()
        .await;
    for n in 0..3 {
        Reader::signed_up(&app, &format!("reader{n}@example.com")).await;
    }
    let attacker = Reader::new(&app);
    let mut pages = Vec::new();
    for n in 0..60 {
        pages.push(
            attacker
                .forgot_password_from(&format!("reader{n}@example.com"), "198.51.100.7")
                .await,
        );
    }
    assert_eq!(count(&pages[..10], StatusCode::OK), 10);
    assert_eq!(count(&pages[10..], StatusCode::TOO_MANY_REQUESTS), 50);
    assert!(pages[10].header("retry-after").is_some());
    // Someone else, elsewhere, is not held up.
    let page = Reader::new(&app)
        .forgot_password_from("reader0@example.com", "203.0.113.9")
        .await;
    assert_eq!(page.status, StatusCode::OK);
}

#[tokio::test]
async fn sixty_addresses_asking_for_one_inbox_send_it_three_mails() {
    let app = TestApp::builder()
        .settings(|s| s.trust_proxy_headers = true)
        .start()
        .await;
    Reader::signed_up(&app, OWNER).await;
    let pages = join_all((0..60).map(|n| {
        let app = &app;
        async move {
            Reader::new(app)
                .forgot_password_from(OWNER, &format!("198.51.100.{n}"))
                .await
        }
    }))
    .await;
    assert_eq!(
        (
            count(&pages, StatusCode::OK),
            count(&pages, StatusCode::TOO_MANY_REQUESTS)
        ),
        (3, 57)
    );
    app.mailbox.wait_for(OWNER, 3).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app.mailbox.delivered_to(OWNER).len(), 3);

    // An address without an account is limited alike, so the limit tells nothing.
    let pages = join_all((0..10).map(|n| {
        let app = &app;
        async move {
            Reader::new(app)
                .forgot_password_from("nobody@example.com", &format!("203.0.113.{n}"))
                .await
        }
    }))
    .await;
    assert_eq!(count(&pages, StatusCode::OK), 3);
    assert_eq!(count(&pages, StatusCode::TOO_MANY_REQUESTS), 7);
}

#[tokio::test]
async fn a_reset_mail_the_server_turns_away_is_sent_again_within_seconds() {
    let app = TestApp::spawn().await;
    Reader::signed_up(&app, OWNER).await;
    app.mailbox.turn_away(1);
    let browser = Reader::new(&app);
    assert_eq!(browser.forgot_password(OWNER).await.status, StatusCode::OK);
    app.mailbox.wait_turned_away(1).await;
    assert!(app.mailbox.delivered_to(OWNER).is_empty());
    // The link made for the mail that did not go is gone with it.
    eventually("the unsent link is deleted", || {
        rows_in(&app, "account_tokens") == 0
    })
    .await;

    app.clock.advance(Duration::seconds(2));
    let mail = app.mailbox.next_for(OWNER, 0).await;
    let page = browser.reset_password(&mail.token(), NEW_PASSWORD).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_reset_mail_still_undelivered_after_thirty_minutes_is_dropped() {
    let app = TestApp::spawn().await;
    Reader::signed_up(&app, OWNER).await;
    app.mailbox.turn_away(1);
    Reader::new(&app).forgot_password(OWNER).await;
    app.mailbox.wait_turned_away(1).await;
    eventually("the failure is recorded", || outbox_errors(&app).len() == 1).await;
    app.clock.advance(Duration::minutes(31));
    eventually("the mail is dropped", || outbox(&app).is_empty()).await;
    assert!(app.mailbox.delivered_to(OWNER).is_empty());
}

#[tokio::test]
async fn development_writes_each_mail_to_a_folder() {
    let dir = std::env::temp_dir().join(format!("gazette-mail-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let folder = dir.clone();
    let app = TestApp::builder()
        .settings(move |s| s.mail = gazette::config::MailTransport::Folder { dir: folder })
        .start()
        .await;
    Reader::signed_up(&app, OWNER).await;
    Reader::new(&app).forgot_password(OWNER).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let text = loop {
        let found = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.path())
            .find(|path| path.extension().is_some_and(|e| e == "txt"));
        if let Some(path) = found {
            break std::fs::read_to_string(path).unwrap();
        }
        assert!(std::time::Instant::now() < deadline, "a mail in {dir:?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(text.starts_with(&format!("To: {OWNER}\nSubject: Choose a new password")));
    assert!(text.contains(&format!("{}/password/reset?token=", app.address)));
    assert!(app.mailbox.delivered().is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}
