use argon2::password_hash::PasswordHasher;
use diesel::prelude::*;
use reqwest::StatusCode;
use time::Duration;

use crate::helpers::*;

#[tokio::test]
async fn logging_in_redirects_to_a_local_next() {
    let app = TestApp::spawn().await;
    Reader::signed_up(&app, "next@example.com").await;
    let page = Reader::new(&app)
        .log_in_then("next@example.com", PASSWORD, "/articles/3")
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), Some("/articles/3"));
}

#[tokio::test]
async fn next_never_leads_off_the_site() {
    let app = TestApp::spawn().await;
    Reader::signed_up(&app, "open@example.com").await;
    for next in [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
        "http:/evil.example",
        "javascript:alert(1)",
        " /x",
    ] {
        let page = Reader::new(&app)
            .log_in_then("open@example.com", PASSWORD, next)
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{next}");
        assert_eq!(page.location(), Some("/"), "{next}");
    }
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_answer() {
    let app = TestApp::spawn().await;
    Reader::signed_up(&app, "known@example.com").await;
    let reader = Reader::new(&app);

    let wrong_password = reader
        .log_in("known@example.com", "not the right one at all")
        .await;
    let unknown_email = reader
        .log_in("nobody@example.com", "not the right one at all")
        .await;

    assert_eq!(wrong_password.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown_email.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        wrong_password.body.replace("known@example.com", "EMAIL"),
        unknown_email.body.replace("nobody@example.com", "EMAIL"),
        "identical pages apart from the refilled e-mail"
    );
    assert!(
        wrong_password
            .body
            .contains("That e-mail and password do not match an account.")
    );
    assert!(!wrong_password.body.contains("not the right one at all"));
}

#[tokio::test]
async fn an_over_long_password_is_just_a_failed_login() {
    let app = TestApp::spawn().await;
    Reader::signed_up(&app, "long@example.com").await;
    let page = Reader::new(&app)
        .log_in("long@example.com", &"y".repeat(5000))
        .await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_cookie_captured_before_log_in_never_carries_the_user() {
    let app = TestApp::spawn().await;
    Reader::signed_up(&app, "fixation@example.com").await;
    let victim = Reader::new(&app);
    victim.get("/").await;
    let planted = victim.copy();
    let before = victim.session_cookie().unwrap();

    assert_eq!(
        victim.log_in("fixation@example.com", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    assert_ne!(
        victim.session_cookie().unwrap(),
        before,
        "log-in issues a new cookie"
    );
    assert_eq!(victim.get("/account").await.status, StatusCode::OK);

    let attacker = planted.get("/account").await;
    assert_eq!(attacker.status, StatusCode::SEE_OTHER);
    assert_eq!(attacker.location(), Some("/login?next=/account"));
}

#[tokio::test]
async fn the_csrf_token_changes_at_log_in() {
    let app = TestApp::spawn().await;
    Reader::signed_up(&app, "rotate@example.com").await;
    let reader = Reader::new(&app);
    let before = reader.csrf_token().await;
    reader.log_in("rotate@example.com", PASSWORD).await;
    let after = reader.get("/account").await.csrf_token();
    assert_ne!(before, after);
    // The old token no longer works.
    let stale = reader.post("/logout", &[("csrf_token", &before)]).await;
    assert_eq!(stale.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn hashes_with_older_parameters_are_upgraded_at_log_in() {
    let app = TestApp::spawn().await;
    Reader::signed_up(&app, "old@example.com").await;
    let weak = argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon2::Params::new(8192, 1, 1, None).unwrap(),
    );
    let old_hash = weak.hash_password(PASSWORD.as_bytes()).unwrap().to_string();
    let stored = || -> String {
        use gazette::schema::users::dsl::*;
        users
            .filter(email.eq("old@example.com"))
            .select(password_hash)
            .first(&mut app.connect())
            .unwrap()
    };
    {
        use gazette::schema::users::dsl::*;
        diesel::update(users.filter(email.eq("old@example.com")))
            .set(password_hash.eq(&old_hash))
            .execute(&mut app.connect())
            .unwrap();
    }

    assert_eq!(
        Reader::new(&app)
            .log_in("old@example.com", PASSWORD)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let upgraded = stored();
    assert!(
        upgraded.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{upgraded}"
    );
    assert_eq!(
        Reader::new(&app)
            .log_in("old@example.com", PASSWORD)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn repeated_failures_for_one_account_are_refused_with_429_for_a_while() {
    let app = TestApp::spawn().await;
    Reader::signed_up(&app, "target@example.com").await;
    let attacker = Reader::new(&app);
    attacker.guess_wrong("target@example.com", 5).await;
    let refused = attacker
        .log_in("target@example.com", "guess number 6")
        .await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry_after), "{retry_after}");

    // Even the right password waits, from another browser too.
    let owner = Reader::new(&app);
    assert_eq!(
        owner.log_in("target@example.com", PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );

    app.clock.advance(Duration::minutes(16));
    assert_eq!(
        owner.log_in("target@example.com", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn repeated_failures_from_one_address_are_refused() {
    let app = TestApp::spawn().await;
    let attacker = Reader::new(&app);
    for n in 0..20 {
        let page = attacker
            .log_in(&format!("victim{n}@example.com"), "a guessed password")
            .await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED, "attempt {n}");
    }
    let page = attacker
        .log_in("victim99@example.com", "a guessed password")
        .await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(page.header("retry-after").is_some());
}

#[tokio::test]
async fn throttling_is_shared_by_every_instance() {
    let first = TestApp::spawn().await;
    let second = TestApp::builder().sharing(&first).start().await;
    Reader::signed_up(&first, "shared@example.com").await;
    let attacker = Reader::new(&first);
    attacker.guess_wrong("shared@example.com", 5).await;
    let elsewhere = Reader::new(&second)
        .log_in("shared@example.com", PASSWORD)
        .await;
    assert_eq!(elsewhere.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_successful_log_in_clears_the_account_failures() {
    let app = TestApp::spawn().await;
    Reader::signed_up(&app, "forgetful@example.com").await;
    let reader = Reader::new(&app);
    reader.guess_wrong("forgetful@example.com", 4).await;
    assert_eq!(
        reader
            .log_in("forgetful@example.com", PASSWORD)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let other = Reader::new(&app);
    other.guess_wrong("forgetful@example.com", 4).await;
}

#[tokio::test]
async fn parallel_guesses_are_counted_before_any_is_answered() {
    let app = TestApp::spawn().await;
    Reader::signed_up(&app, "burst@example.com").await;
    let attacker = Reader::new(&app);
    let token = attacker.csrf_token().await;
    let guesses: Vec<String> = (0..12).map(|n| format!("parallel guess {n}")).collect();
    let pages = join_all(guesses.iter().map(|guess| {
        attacker.post(
            "/login",
            &[
                ("email", "burst@example.com"),
                ("password", guess),
                ("csrf_token", &token),
            ],
        )
    }))
    .await;
    let answered = pages
        .iter()
        .filter(|p| p.status == StatusCode::UNAUTHORIZED)
        .count();
    let refused = pages
        .iter()
        .filter(|p| p.status == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((answered, refused), (5, 7));
}

#[tokio::test]
async fn sign_ups_from_one_address_are_limited() {
    let app = TestApp::spawn().await;
    let reader = Reader::new(&app);
    for n in 0..10 {
        let page = reader
            .sign_up(&format!("probe{n}@example.com"), "short")
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "attempt {n}");
    }
    let page = reader.sign_up("probe10@example.com", PASSWORD).await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(page.header("retry-after").is_some());
}

#[tokio::test]
async fn behind_a_proxy_the_address_is_the_one_the_proxy_saw() {
    let app = TestApp::builder()
        .settings(|s| s.trust_proxy_headers = true)
        .start()
        .await;
    let attacker = Reader::new(&app);
    // The client writes whatever it likes before the proxy's own entry.
    for n in 0..20 {
        let forged = format!("198.51.100.{n}, 203.0.113.9");
        let page = attacker
            .log_in_via_proxy(&format!("victim{n}@example.com"), "a guess", &[&forged])
            .await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    }
    let page = attacker
        .log_in_via_proxy(
            "victim99@example.com",
            "a guess",
            &["198.51.100.99, 203.0.113.9"],
        )
        .await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);

    // Another client behind the same proxy is not affected.
    let other = Reader::new(&app);
    let page = other
        .log_in_via_proxy("someone@example.com", "a guess", &["203.0.113.10"])
        .await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn successful_logins_do_not_use_up_the_address_allowance() {
    let app = TestApp::spawn().await;
    Reader::signed_up(&app, "regular@example.com").await;
    for _ in 0..25 {
        let page = Reader::new(&app)
            .log_in("regular@example.com", PASSWORD)
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
    }
    let typo = Reader::new(&app)
        .log_in("regular@example.com", "velvet lantern orchard 24")
        .await;
    assert_eq!(typo.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_guesser_elsewhere_does_not_lock_the_owner_out() {
    let app = TestApp::builder()
        .settings(|s| s.trust_proxy_headers = true)
        .start()
        .await;
    Reader::signed_up(&app, "owner@example.com").await;
    let guesser = Reader::new(&app);
    for n in 0..6 {
        guesser
            .log_in_via_proxy(
                "owner@example.com",
                &format!("guess {n}"),
                &["198.51.100.7"],
            )
            .await;
    }
    let page = Reader::new(&app)
        .log_in_via_proxy("owner@example.com", PASSWORD, &["203.0.113.50"])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn an_extra_forwarded_for_line_from_the_client_is_not_believed() {
    let app = TestApp::builder()
        .settings(|s| s.trust_proxy_headers = true)
        .start()
        .await;
    let attacker = Reader::new(&app);
    for n in 0..21 {
        let forged = format!("198.51.100.{n}");
        // The client's own line first; the proxy appends its line last.
        let page = attacker
            .log_in_via_proxy(
                &format!("v{n}@example.com"),
                "a guess",
                &[&forged, "203.0.113.9"],
            )
            .await;
        let expected = if n < 20 {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::TOO_MANY_REQUESTS
        };
        assert_eq!(page.status, expected, "attempt {n}");
    }
}
