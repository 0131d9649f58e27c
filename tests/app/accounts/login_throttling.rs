//! Login throttling as an attacker meets it: many guesses, many addresses, bursts, and
//! device cookies that are copied, forged, made up or old.

use reqwest::StatusCode;
use time::Duration;

use crate::helpers::*;

const OWNER: &str = "owner@example.com";

fn count(pages: &[Page], status: StatusCode) -> usize {
    pages.iter().filter(|p| p.status == status).count()
}

fn retry_after(page: &Page) -> u64 {
    page.header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("a 429 says when to retry: {:?}", page.headers))
}

/// `guesses` wrong passwords for `email`, one after another, from `address`.
async fn guess_from(app: &TestApp, email: &str, address: &str, guesses: usize) -> Vec<Page> {
    let guesser = Reader::new(app);
    let mut pages = Vec::new();
    for n in 0..guesses {
        pages.push(
            guesser
                .log_in_from(email, &format!("guess {n} from {address}"), address)
                .await,
        );
    }
    pages
}

/// Twelve addresses guess five times each at once: sixty guesses, more than the account's
/// fifty. Every address stays within its own limits.
async fn wide_attack(app: &TestApp, email: &str) -> Vec<Page> {
    let addresses: Vec<String> = (1..=12).map(|n| format!("198.51.100.{n}")).collect();
    join_all(
        addresses
            .iter()
            .map(|address| guess_from(app, email, address, 5)),
    )
    .await
    .into_iter()
    .flatten()
    .collect()
}

/// `n` wrong guesses sent at the same moment by `reader`, each from `address(i)`.
async fn burst(
    reader: &Reader<'_>,
    email: &str,
    n: usize,
    address: impl Fn(usize) -> String,
) -> Vec<Page> {
    let token = reader.csrf_token().await;
    let guesses: Vec<(String, String)> = (0..n)
        .map(|i| (format!("simultaneous guess {i}"), address(i)))
        .collect();
    join_all(guesses.iter().map(|(password, address)| {
        reader.post_with_headers(
            "/login",
            &[
                ("email", email),
                ("password", password),
                ("csrf_token", &token),
            ],
            &[("X-Forwarded-For", address)],
        )
    }))
    .await
}

async fn proxied_app() -> TestApp {
    TestApp::builder()
        .settings(|s| s.trust_proxy_headers = true)
        .start()
        .await
}

#[tokio::test]
async fn one_guesser_does_not_lock_the_owner_out_from_elsewhere() {
    let app = proxied_app().await;
    Reader::signed_up(&app, OWNER).await;

    let pages = guess_from(&app, OWNER, "198.51.100.7", 55).await;
    assert_eq!(count(&pages[..5], StatusCode::UNAUTHORIZED), 5);
    assert_eq!(count(&pages[5..], StatusCode::TOO_MANY_REQUESTS), 50);
    assert!(
        pages[5..]
            .iter()
            .all(|p| (1..=900).contains(&retry_after(p)))
    );

    // A browser that never logged in before, at another address.
    let owner = Reader::new(&app)
        .log_in_from(OWNER, PASSWORD, "203.0.113.50")
        .await;
    assert_eq!(
        owner.status,
        StatusCode::SEE_OTHER,
        "Retry-After: {:?}",
        owner.header("retry-after")
    );
}

#[tokio::test]
async fn a_wide_attack_stops_new_browsers_but_not_the_owners_own() {
    let app = proxied_app().await;
    let owner = Reader::signed_up(&app, OWNER).await;
    owner.log_out().await;
    assert!(
        owner.device_cookie().is_some(),
        "signing up leaves a device cookie"
    );

    let pages = wide_attack(&app, OWNER).await;
    assert_eq!(
        (
            count(&pages, StatusCode::UNAUTHORIZED),
            count(&pages, StatusCode::TOO_MANY_REQUESTS)
        ),
        (50, 10),
        "the account allows fifty failures, then refuses"
    );

    let stranger = Reader::new(&app)
        .log_in_from(OWNER, PASSWORD, "203.0.113.77")
        .await;
    assert_eq!(stranger.status, StatusCode::TOO_MANY_REQUESTS);
    assert!((1..=900).contains(&retry_after(&stranger)));

    // The owner's browser, from an address the attack also used: a typo is just a typo, and
    // the right password logs in.
    let typo = owner
        .log_in_from(OWNER, "velvet lantern orchard 24", "198.51.100.1")
        .await;
    assert_eq!(typo.status, StatusCode::UNAUTHORIZED);
    let page = owner.log_in_from(OWNER, PASSWORD, "198.51.100.1").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(owner.get("/account").await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_device_cookie_vouches_for_its_own_account_only() {
    let app = proxied_app().await;
    let owner = Reader::signed_up(&app, OWNER).await;
    let attacker = Reader::signed_up(&app, "attacker@example.com").await;
    let name = app.settings.device_cookie_name();
    let attackers_own = attacker
        .device_cookie()
        .expect("the attacker's device cookie");
    let owners = owner.device_cookie().expect("the owner's device cookie");
    let session_value = owner.session_cookie().expect("a session cookie");

    wide_attack(&app, OWNER).await;

    // What a valid cookie holds once decrypted, sent as it is (cookie values travel
    // percent-encoded).
    let claim = format!(
        r#"{{"account":"{}","user_id":{},"generation":0,"nonce":"n","issued":{}}}"#,
        gazette::auth::account_key(OWNER),
        user_id(&app, OWNER),
        START.unix_timestamp()
    );
    let plain: String = url::form_urlencoded::byte_serialize(claim.as_bytes()).collect();
    // A cookie of the format before it named the account's id and login generation, sealed
    // with the app's own key: it is read as nothing, not as an error.
    let earlier = format!(
        r#"{{"account":"{}","nonce":"n","issued":{}}}"#,
        gazette::auth::account_key(OWNER),
        START.unix_timestamp()
    );
    let mut jar = actix_web::cookie::CookieJar::new();
    jar.private_mut(&app.settings.session_key)
        .add(actix_web::cookie::Cookie::new(name, earlier));
    let earlier_format = jar.get(name).expect("sealed").value().to_string();
    let mut flipped = owners.clone().into_bytes();
    let middle = flipped.len() / 2;
    flipped[middle] = if flipped[middle] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    for (what, value) in [
        ("another account's device cookie", attackers_own.as_str()),
        (
            "a session cookie under the device cookie's name",
            &session_value,
        ),
        (
            "the owner's device cookie with one character changed",
            &flipped,
        ),
        ("a plain-text claim", &plain),
        ("a cookie of the earlier format", &earlier_format),
        ("garbage", "hello%20world"),
        ("an empty value", ""),
    ] {
        let browser = Reader::new(&app);
        browser.set_cookie(name, value);
        let page = browser.log_in_from(OWNER, PASSWORD, "203.0.113.5").await;
        assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS, "{what}");
    }

    // The owner's own cookie, copied into a fresh browser, still vouches.
    let copy = Reader::new(&app);
    copy.set_cookie(name, &owners);
    let page = copy.log_in_from(OWNER, PASSWORD, "203.0.113.5").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn an_old_device_cookie_counts_for_nothing() {
    let app = proxied_app().await;
    let old = Reader::signed_up(&app, OWNER).await;
    app.clock.advance(Duration::days(181));
    let recent = Reader::new(&app);
    assert_eq!(
        recent.log_in(OWNER, PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );

    wide_attack(&app, OWNER).await;

    let page = old.log_in_from(OWNER, PASSWORD, "203.0.113.5").await;
    assert_eq!(
        page.status,
        StatusCode::TOO_MANY_REQUESTS,
        "issued 181 days ago"
    );
    let page = recent.log_in_from(OWNER, PASSWORD, "203.0.113.5").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "issued today");
}

#[tokio::test]
async fn a_burst_of_guesses_is_refused_exactly_past_the_limit() {
    let app = TestApp::builder()
        .settings(|s| {
            s.trust_proxy_headers = true;
            s.database_pool_size = 16;
        })
        .start()
        .await;
    Reader::signed_up(&app, OWNER).await;
    // One guess first, so the burst meets counters that exist (creating a row makes
    // simultaneous attempts wait for each other anyway).
    guess_from(&app, OWNER, "198.51.100.9", 1).await;
    let pages = burst(&Reader::new(&app), OWNER, 30, |_| {
        "198.51.100.9".to_string()
    })
    .await;
    assert_eq!(
        (
            count(&pages, StatusCode::UNAUTHORIZED),
            count(&pages, StatusCode::TOO_MANY_REQUESTS)
        ),
        (4, 26)
    );
}

#[tokio::test]
async fn a_burst_from_many_addresses_is_refused_exactly_past_the_account_limit() {
    let app = TestApp::builder()
        .settings(|s| {
            s.trust_proxy_headers = true;
            s.database_pool_size = 16;
            s.limits.account = 20;
        })
        .start()
        .await;
    Reader::signed_up(&app, OWNER).await;
    guess_from(&app, OWNER, "203.0.113.1", 1).await;
    let pages = burst(&Reader::new(&app), OWNER, 40, |i| format!("198.51.100.{i}")).await;
    assert_eq!(
        (
            count(&pages, StatusCode::UNAUTHORIZED),
            count(&pages, StatusCode::TOO_MANY_REQUESTS)
        ),
        (19, 21)
    );
}

#[tokio::test]
async fn a_device_cookie_gives_a_few_guesses_of_its_own_then_none() {
    let app = proxied_app().await;
    let owner = Reader::signed_up(&app, OWNER).await;
    owner.log_out().await;
    // Someone with a copy of the owner's browser cookie guesses all at once: five count
    // against the device cookie, then five against the address like any other browser.
    let pages = burst(&owner, OWNER, 30, |_| "198.51.100.9".to_string()).await;
    assert_eq!(
        (
            count(&pages, StatusCode::UNAUTHORIZED),
            count(&pages, StatusCode::TOO_MANY_REQUESTS)
        ),
        (10, 20)
    );
    let page = owner.log_in_from(OWNER, PASSWORD, "198.51.100.9").await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    // Elsewhere the account is not locked: five failures at one address are far from fifty.
    let page = Reader::new(&app)
        .log_in_from(OWNER, PASSWORD, "203.0.113.5")
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_device_cookie_is_http_only_lax_long_lived_and_encrypted() {
    let app = TestApp::spawn().await;
    Reader::signed_up(&app, OWNER).await;
    let page = Reader::new(&app).log_in(OWNER, PASSWORD).await;
    let cookie = page
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("gazette_device="))
        .expect("logging in sets a device cookie");
    assert!(cookie.contains("HttpOnly"));
    assert!(cookie.contains("SameSite=Lax"));
    assert!(cookie.contains("Path=/"));
    assert!(cookie.contains("Max-Age=15552000"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http in development");
    assert!(
        !cookie.contains("owner"),
        "the e-mail is not readable: {cookie}"
    );

    let secure = TestApp::builder()
        .settings(|s| s.cookie_secure = true)
        .start()
        .await;
    Reader::signed_up(&secure, OWNER).await;
    let page = Reader::new(&secure).log_in(OWNER, PASSWORD).await;
    let cookie = page
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("__Host-gazette_device="))
        .expect("a __Host- device cookie");
    assert!(cookie.contains("Secure"));
    assert!(!cookie.contains("Domain="));
}

#[tokio::test]
async fn failed_logins_leave_no_device_cookie() {
    let app = TestApp::spawn().await;
    Reader::signed_up(&app, OWNER).await;
    let guesser = Reader::new(&app);
    let page = guesser.log_in(OWNER, "not the password at all").await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(
        !page
            .set_cookies()
            .iter()
            .any(|c| c.starts_with("gazette_device="))
    );
    assert_eq!(guesser.device_cookie(), None);
}

#[tokio::test]
async fn a_campus_can_raise_the_sign_up_limit() {
    let app = TestApp::builder()
        .settings(|s| s.limits.signups_per_address = 25)
        .start()
        .await;
    let reader = Reader::new(&app);
    for n in 0..25 {
        let page = reader
            .sign_up(&format!("student{n}@example.com"), "short")
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "attempt {n}");
    }
    let page = reader.sign_up("student25@example.com", PASSWORD).await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn the_cookies_page_names_the_device_cookie() {
    let app = TestApp::spawn().await;
    let page = Reader::new(&app).get("/cookies").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<code>gazette_session</code>"));
    assert!(page.body.contains("<code>gazette_device</code>"));
}

/// Ends every login of the reader's account from its page.
async fn log_out_everywhere(reader: &Reader<'_>) {
    let token = reader.csrf_token().await;
    let page = reader
        .post("/account/sessions/logout-all", &[("csrf_token", &token)])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_device_cookie_copied_before_logging_out_everywhere_no_longer_lifts_the_lock() {
    let app = proxied_app().await;
    let owner = Reader::signed_up(&app, OWNER).await;
    let copied = owner.device_cookie().expect("the owner's device cookie");
    log_out_everywhere(&owner).await;
    // The owner logs in again afterwards: this browser is trusted anew.
    assert_eq!(
        owner.log_in(OWNER, PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    owner.log_out().await;
    assert_ne!(owner.device_cookie(), Some(copied.clone()));

    wide_attack(&app, OWNER).await;

    let thief = Reader::new(&app);
    thief.set_cookie(app.settings.device_cookie_name(), &copied);
    let pages = guess_from_browser(&thief, OWNER, "203.0.113.5", 5).await;
    assert_eq!(
        count(&pages, StatusCode::TOO_MANY_REQUESTS),
        5,
        "a device cookie issued before logging out everywhere still lets guesses through"
    );
    let page = thief.log_in_from(OWNER, PASSWORD, "203.0.113.5").await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);

    let page = owner.log_in_from(OWNER, PASSWORD, "203.0.113.6").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "issued after it");
}

#[tokio::test]
async fn a_new_password_ends_the_trust_of_device_cookies_issued_before_it() {
    let app = proxied_app().await;
    let owner = Reader::signed_up(&app, OWNER).await;
    let before_change = owner.device_cookie().expect("a device cookie");
    let page = owner
        .change_password(PASSWORD, "copper kettle meadow 77")
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let before_reset = owner.device_cookie().expect("a device cookie");
    assert_ne!(
        before_reset, before_change,
        "the browser that changed the password is trusted anew"
    );
    owner.log_out().await;

    let browser = Reader::new(&app);
    browser.forgot_password(OWNER).await;
    let mail = app.mailbox.next_for(OWNER, 1).await;
    let page = browser
        .reset_password(&mail.token(), "tangerine harbour violin 8")
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    browser.log_out().await;

    wide_attack(&app, OWNER).await;

    for (what, cookie) in [
        ("issued before the password was changed", &before_change),
        ("kept by the browser that changed it", &before_reset),
    ] {
        let thief = Reader::new(&app);
        thief.set_cookie(app.settings.device_cookie_name(), cookie);
        let page = thief
            .log_in_from(OWNER, "a guess at the new one 1", "203.0.113.5")
            .await;
        assert_eq!(
            page.status,
            StatusCode::TOO_MANY_REQUESTS,
            "a device cookie {what} survives the reset"
        );
    }
    // The browser that reset the password was given a cookie of the new password's time.
    let page = browser
        .log_in_from(OWNER, "tangerine harbour violin 8", "203.0.113.6")
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_device_cookie_stays_with_the_address_and_account_it_was_issued_for() {
    let app = proxied_app().await;
    let owner = Reader::signed_up(&app, OWNER).await;
    let old = owner.device_cookie().expect("a device cookie");
    owner.change_email("moved@example.com", PASSWORD).await;
    let link = app.mailbox.next_for("moved@example.com", 0).await;
    assert_eq!(
        owner.confirm_email(&link.token()).await.status,
        StatusCode::SEE_OTHER
    );
    owner.log_out().await;
    // Someone else opens an account with the address the owner left.
    let newcomer = Reader::signed_up_with(&app, OWNER, "saffron glacier tuba 31").await;
    newcomer.log_out().await;

    let name = app.settings.device_cookie_name();
    for address in ["moved@example.com", OWNER] {
        wide_attack(&app, address).await;
        let holder = Reader::new(&app);
        holder.set_cookie(name, &old);
        let pages = guess_from_browser(&holder, address, "203.0.113.5", 5).await;
        assert_eq!(
            count(&pages, StatusCode::TOO_MANY_REQUESTS),
            5,
            "a device cookie of {OWNER}'s former account lets guesses at {address} through"
        );
    }
    // The newcomer's own browser is trusted at the address.
    let page = newcomer
        .log_in_from(OWNER, "saffron glacier tuba 31", "203.0.113.6")
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
}

/// `guesses` wrong passwords for `email` from `browser` (with its cookies), from `address`.
async fn guess_from_browser(
    browser: &Reader<'_>,
    email: &str,
    address: &str,
    guesses: usize,
) -> Vec<Page> {
    let mut pages = Vec::new();
    for n in 0..guesses {
        pages.push(
            browser
                .log_in_from(email, &format!("browser guess {n}"), address)
                .await,
        );
    }
    pages
}
