use reqwest::StatusCode;
use time::Duration;

use crate::helpers::*;

async fn is_logged_in(reader: &Reader<'_>) -> bool {
    let page = reader.get("/account").await;
    match page.status {
        StatusCode::OK => true,
        StatusCode::SEE_OTHER => {
            assert_eq!(page.location(), Some("/login?next=/account"));
            false
        }
        other => panic!("unexpected {other}"),
    }
}

#[tokio::test]
async fn logging_out_ends_the_session() {
    let app = TestApp::spawn().await;
    let reader = Reader::signed_up(&app, "bye@example.com").await;
    let page = reader.log_out().await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), Some("/"));
    assert!(!is_logged_in(&reader).await);
    assert!(
        reader.get("/").await.body.contains("You are logged out."),
        "a flash message"
    );
}

#[tokio::test]
async fn a_copy_of_the_cookie_stops_working_after_log_out() {
    let app = TestApp::spawn().await;
    let reader = Reader::signed_up(&app, "replay@example.com").await;
    let stolen = reader.copy();
    assert!(
        is_logged_in(&stolen).await,
        "the copy works while the session lives"
    );

    reader.log_out().await;
    assert!(
        !is_logged_in(&stolen).await,
        "the copy is dead once the reader logs out"
    );
}

#[tokio::test]
async fn log_out_is_only_a_post() {
    let app = TestApp::spawn().await;
    let reader = Reader::signed_up(&app, "get@example.com").await;
    let page = reader.get("/logout").await;
    assert!(page.status.is_client_error());
    assert!(is_logged_in(&reader).await);
}

#[tokio::test]
async fn log_out_everywhere_ends_every_device() {
    let app = TestApp::spawn().await;
    let laptop = Reader::signed_up(&app, "everywhere@example.com").await;
    let phone = Reader::new(&app);
    phone.log_in("everywhere@example.com", PASSWORD).await;
    assert!(is_logged_in(&phone).await);

    let token = laptop.csrf_token().await;
    let page = laptop
        .post("/account/sessions/logout-all", &[("csrf_token", &token)])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(
        !is_logged_in(&phone).await,
        "seen from the second cookie jar"
    );
    assert!(!is_logged_in(&laptop).await);
}

#[tokio::test]
async fn the_account_page_lists_devices_and_logs_out_one_of_them() {
    let app = TestApp::spawn().await;
    let laptop = Reader::signed_up(&app, "devices@example.com").await;
    let phone = Reader::new(&app);
    let token = phone.csrf_token().await;
    phone
        .post_with_headers(
            "/login",
            &[("email", "devices@example.com"), ("password", PASSWORD), ("csrf_token", &token)],
            &[("User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Version/17.0 Mobile Safari/604.1")],
        )
        .await;

    let account = laptop.get("/account").await;
    assert!(account.body.contains("Safari on iPhone"));
    assert!(account.body.contains("This device"));
    assert!(account.body.contains("Log out this device"));
    assert!(account.body.contains("Log out everywhere"));
    assert_eq!(
        account.body.matches("/account/sessions/").count(),
        3,
        "two devices and everywhere"
    );

    // The phone's row is the one not marked as this device.
    let phone_form = account
        .body
        .split("<li>")
        .skip(1)
        .find(|item| item.contains("Safari on iPhone") && !item.contains("Log out this device"))
        .and_then(|item| item.split("action=\"").nth(1))
        .and_then(|rest| rest.split('"').next())
        .expect("a form for the other device")
        .to_string();
    let page = laptop
        .post(&phone_form, &[("csrf_token", &account.csrf_token())])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(!is_logged_in(&phone).await);
    assert!(is_logged_in(&laptop).await);
}

#[tokio::test]
async fn a_reader_cannot_log_out_someone_elses_session() {
    let app = TestApp::spawn().await;
    let alice = Reader::signed_up(&app, "alice@example.com").await;
    let bob = Reader::signed_up(&app, "bob@example.com").await;
    let bob_page = bob.get("/account").await;
    let bob_form = bob_page
        .body
        .match_indices("action=\"/account/sessions/")
        .next()
        .map(|(i, _)| &bob_page.body[i..])
        .unwrap();
    let bob_path = bob_form.split('"').nth(1).unwrap().to_string();

    let page = alice
        .post(&bob_path, &[("csrf_token", &alice.csrf_token().await)])
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(is_logged_in(&bob).await);
}

#[tokio::test]
async fn an_idle_session_expires() {
    let app = TestApp::spawn().await;
    let reader = Reader::signed_up(&app, "idle@example.com").await;
    app.clock.advance(Duration::days(13));
    assert!(is_logged_in(&reader).await, "13 idle days are fine");
    app.clock.advance(Duration::days(14) + Duration::minutes(1));
    assert!(!is_logged_in(&reader).await, "14 idle days end it");
}

#[tokio::test]
async fn a_session_ends_after_thirty_days_however_active() {
    let app = TestApp::spawn().await;
    let reader = Reader::signed_up(&app, "busy@example.com").await;
    for _ in 0..3 {
        app.clock.advance(Duration::days(9));
        assert!(is_logged_in(&reader).await);
    }
    app.clock.advance(Duration::days(4));
    assert!(!is_logged_in(&reader).await, "31 days after log-in");
}

#[tokio::test]
async fn logging_out_does_not_hand_out_a_fresh_meter() {
    let app = TestApp::builder()
        .settings(|s| s.free_articles_per_month = 3)
        .start()
        .await;
    let premium = app.premium_ids();
    let reader = Reader::signed_up(&app, "meter@example.com").await;
    reader.read_article(premium[0]).await;
    reader.read_article(premium[1]).await;
    reader.log_out().await;

    let home = reader.get("/").await;
    assert!(
        home.body.contains("1 of 3 free articles left this month"),
        "the account's meter stays with the browser"
    );
    assert_eq!(reader.read_article(premium[2]).await.status, StatusCode::OK);
    assert_eq!(
        reader.read_article(premium[3]).await.status,
        StatusCode::PAYMENT_REQUIRED
    );
    assert_eq!(
        reader.read_article(premium[0]).await.status,
        StatusCode::OK,
        "already opened this month"
    );
}

#[tokio::test]
async fn articles_read_anonymously_join_the_account_meter_at_log_in() {
    let app = TestApp::builder()
        .settings(|s| s.free_articles_per_month = 4)
        .start()
        .await;
    let premium = app.premium_ids();
    let phone = Reader::signed_up(&app, "carry@example.com").await;
    phone.read_article(premium[0]).await;

    let laptop = Reader::new(&app);
    laptop.read_article(premium[1]).await;
    laptop.read_article(premium[2]).await;
    laptop.log_in("carry@example.com", PASSWORD).await;

    let account = laptop.get("/account").await;
    assert!(
        account
            .body
            .contains("1 of 4 free articles left this month"),
        "1 + 2 opened"
    );
    let phone_home = phone.get("/").await;
    assert!(
        phone_home
            .body
            .contains("1 of 4 free articles left this month"),
        "the meter is the account's, on every device"
    );
    assert_eq!(
        phone.read_article(premium[2]).await.status,
        StatusCode::OK,
        "opened on the laptop: free to re-read"
    );
}

#[tokio::test]
async fn the_account_meter_survives_clearing_cookies() {
    let app = TestApp::builder()
        .settings(|s| s.free_articles_per_month = 2)
        .start()
        .await;
    let premium = app.premium_ids();
    let reader = Reader::signed_up(&app, "clear@example.com").await;
    reader.read_article(premium[0]).await;
    reader.read_article(premium[1]).await;
    assert_eq!(
        reader.read_article(premium[2]).await.status,
        StatusCode::PAYMENT_REQUIRED
    );

    let fresh_browser = Reader::new(&app);
    fresh_browser.log_in("clear@example.com", PASSWORD).await;
    assert_eq!(
        fresh_browser.read_article(premium[2]).await.status,
        StatusCode::PAYMENT_REQUIRED
    );
}

#[tokio::test]
async fn tabs_opened_at_once_cannot_share_out_the_last_free_article() {
    let app = TestApp::builder()
        .settings(|s| s.free_articles_per_month = 1)
        .start()
        .await;
    let premium = app.premium_ids();
    // A race shows only sometimes: several readers, each opening every article at once.
    for n in 0..3 {
        let reader = Reader::signed_up(&app, &format!("tabs{n}@example.com")).await;
        let tabs: Vec<Reader> = premium.iter().map(|_| reader.copy()).collect();
        let pages = join_all(
            tabs.iter()
                .zip(&premium)
                .map(|(tab, id)| tab.read_article(*id)),
        )
        .await;
        let opened = pages.iter().filter(|p| p.status == StatusCode::OK).count();
        assert_eq!(
            opened,
            1,
            "{:?}",
            pages.iter().map(|p| p.status).collect::<Vec<_>>()
        );
    }
}

#[tokio::test]
async fn the_account_page_asks_logged_out_readers_to_log_in() {
    let app = TestApp::spawn().await;
    let page = Reader::new(&app).get("/account").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), Some("/login?next=/account"));
}

#[tokio::test]
async fn a_login_ended_elsewhere_leaves_this_browser_with_the_accounts_meter() {
    let app = TestApp::builder()
        .settings(|s| s.free_articles_per_month = 2)
        .start()
        .await;
    let premium = app.premium_ids();
    let laptop = Reader::signed_up(&app, "elsewhere@example.com").await;
    laptop.read_article(premium[0]).await;
    laptop.read_article(premium[1]).await;
    let phone = Reader::new(&app);
    phone.log_in("elsewhere@example.com", PASSWORD).await;

    let token = laptop.csrf_token().await;
    laptop
        .post("/account/sessions/logout-all", &[("csrf_token", &token)])
        .await;

    let home = phone.get("/").await;
    assert!(
        home.body
            .contains("You have read your 2 free articles this month"),
        "not a fresh meter"
    );
    assert_eq!(
        phone.read_article(premium[2]).await.status,
        StatusCode::PAYMENT_REQUIRED
    );
    assert_eq!(
        phone.read_article(premium[0]).await.status,
        StatusCode::OK,
        "opened this month"
    );
}

#[tokio::test]
async fn an_expired_login_leaves_the_browser_with_the_accounts_meter() {
    let app = TestApp::builder()
        .settings(|s| s.free_articles_per_month = 2)
        .start()
        .await;
    app.clock.set(time::macros::datetime!(2026-11-02 9:00 UTC));
    let premium = app.premium_ids();
    let reader = Reader::signed_up(&app, "expired@example.com").await;
    let fresh_browser = Reader::new(&app);
    fresh_browser.log_in("expired@example.com", PASSWORD).await;
    reader.read_article(premium[0]).await;
    reader.read_article(premium[1]).await;

    app.clock.advance(Duration::days(15));
    let home = fresh_browser.get("/").await;
    assert!(home.body.contains("Log in"), "the idle login has ended");
    assert!(
        home.body
            .contains("You have read your 2 free articles this month")
    );
}
