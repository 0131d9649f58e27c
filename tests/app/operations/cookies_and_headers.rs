use reqwest::StatusCode;

use crate::helpers::*;

/// Reads the allowance to the paywall, then swaps the cookie for `forged` and reads on.
async fn forged_cookie_gives_a_fresh_visitor(app: &TestApp, forge: impl Fn(&str) -> String) {
    let reader = Reader::new(app);
    let premium = app.premium_ids();
    reader.read_article(premium[0]).await;
    assert_eq!(
        reader.read_article(premium[1]).await.status,
        StatusCode::PAYMENT_REQUIRED
    );

    let original = reader.session_cookie().expect("a session cookie");
    reader.set_session_cookie(&forge(&original));
    let page = reader.get("/").await;

    assert_eq!(page.status, StatusCode::OK, "never a 5xx");
    assert!(
        page.body.contains("1 of 1 free article left this month"),
        "served as a fresh visitor"
    );
    let replaced = page.set_cookies();
    assert!(
        replaced
            .iter()
            .any(|c| c.starts_with(&format!("{}=", app.cookie_name()))),
        "a new cookie replaces the bad one"
    );
    assert_ne!(reader.session_cookie().unwrap(), forge(&original));
}

#[tokio::test]
async fn an_edited_cookie_is_ignored_and_replaced() {
    let app = TestApp::builder()
        .settings(|s| s.free_articles_per_month = 1)
        .start()
        .await;
    forged_cookie_gives_a_fresh_visitor(&app, |original| {
        let mut bytes = original.as_bytes().to_vec();
        let middle = bytes.len() / 2;
        bytes[middle] = if bytes[middle] == b'A' { b'B' } else { b'A' };
        String::from_utf8(bytes).unwrap()
    })
    .await;
}

#[tokio::test]
async fn a_truncated_cookie_is_ignored_and_replaced() {
    let app = TestApp::builder()
        .settings(|s| s.free_articles_per_month = 1)
        .start()
        .await;
    forged_cookie_gives_a_fresh_visitor(&app, |original| {
        original[..original.len() / 2].to_string()
    })
    .await;
}

#[tokio::test]
async fn a_garbage_cookie_is_ignored_and_replaced() {
    let app = TestApp::builder()
        .settings(|s| s.free_articles_per_month = 1)
        .start()
        .await;
    forged_cookie_gives_a_fresh_visitor(&app, |_| "hello%20world".to_string()).await;
}

#[tokio::test]
async fn a_plain_json_meter_is_not_accepted_as_a_cookie() {
    let app = TestApp::builder()
        .settings(|s| s.free_articles_per_month = 1)
        .start()
        .await;
    forged_cookie_gives_a_fresh_visitor(&app, |_| {
        r#"{"m":"{\"m\":\"2026-11\",\"a\":[]}"}"#.to_string()
    })
    .await;
}

#[tokio::test]
async fn a_cookie_signed_with_another_key_is_ignored() {
    let app = TestApp::builder()
        .settings(|s| s.free_articles_per_month = 1)
        .start()
        .await;
    let other = TestApp::spawn().await;
    let stranger = Reader::new(&other);
    stranger.get("/").await;
    let foreign = stranger.session_cookie().unwrap();
    forged_cookie_gives_a_fresh_visitor(&app, |_| foreign.clone()).await;
}

#[tokio::test]
async fn hostile_cookie_headers_never_cause_a_server_error() {
    let app = TestApp::spawn().await;
    let client = crate::support::http_client()
        .build()
        .expect("an HTTP client");
    let long = "x".repeat(5000);
    for cookie in [
        format!("{}=", app.cookie_name()),
        format!("{}=%%%%", app.cookie_name()),
        format!("{}={long}", app.cookie_name()),
        format!("{0}=a; {0}=b", app.cookie_name()),
        "=;;;=".to_string(),
    ] {
        let response = client
            .get(app.url("/articles/1"))
            .header("Cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{cookie:.40}: {}",
            response.status()
        );
    }
}

#[tokio::test]
async fn the_session_cookie_is_http_only_lax_and_site_wide() {
    let app = TestApp::spawn().await;
    let page = Reader::new(&app).get("/").await;
    let cookie = page
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("gazette_session="))
        .expect("the session cookie is set");
    assert!(cookie.contains("HttpOnly"));
    assert!(cookie.contains("SameSite=Lax"));
    assert!(cookie.contains("Path=/"));
    assert!(cookie.contains("Max-Age="));
    assert!(!cookie.contains("Secure"), "plain http in development");
    assert!(!cookie.contains("Domain="));
}

#[tokio::test]
async fn with_secure_cookies_the_cookie_is_secure_and_host_prefixed() {
    let app = TestApp::builder()
        .settings(|s| s.cookie_secure = true)
        .start()
        .await;
    let page = Reader::new(&app).get("/").await;
    let cookie = page
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("__Host-gazette_session="))
        .expect("the __Host- cookie is set");
    assert!(cookie.contains("Secure"));
    assert!(cookie.contains("Path=/"));
    assert!(!cookie.contains("Domain="));
}

#[tokio::test]
async fn pages_carry_security_headers_and_are_not_publicly_cacheable() {
    let app = TestApp::spawn().await;
    let reader = Reader::new(&app);
    let premium = app.premium_ids()[0];
    for path in [
        "/".to_string(),
        format!("/articles/{premium}"),
        "/login".to_string(),
        "/signup".to_string(),
        "/subscribe".to_string(),
        "/cookies".to_string(),
        "/nope".to_string(),
    ] {
        let page = reader.get(&path).await;
        let csp = page.header("content-security-policy").unwrap_or_default();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{path}: {csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{path}");
        assert_eq!(
            page.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(page.header("x-frame-options"), Some("DENY"), "{path}");
        assert!(page.header("referrer-policy").is_some(), "{path}");
        assert_eq!(page.header("cache-control"), Some("no-store"), "{path}");
    }
}

#[tokio::test]
async fn pages_have_no_inline_script() {
    let app = TestApp::spawn().await;
    let reader = Reader::new(&app);
    let page = reader.read_article(app.premium_ids()[0]).await;
    let scripts: Vec<_> = page.body.match_indices("<script").collect();
    assert_eq!(scripts.len(), 1, "only the JSON-LD data block");
    assert!(page.body.contains("<script type=\"application/ld+json\">"));
}

#[tokio::test]
async fn the_cookie_page_lists_the_session_cookie_and_every_page_links_to_it() {
    let app = TestApp::spawn().await;
    let reader = Reader::new(&app);
    let first = reader.get("/").await;
    assert!(
        first.body.contains("class=\"cookie-notice\""),
        "notice on the first visit"
    );
    assert!(first.body.contains("href=\"/cookies\""));
    let second = reader.get("/").await;
    assert!(
        !second.body.contains("class=\"cookie-notice\""),
        "only once"
    );
    assert!(
        second.body.contains("href=\"/cookies\""),
        "footer link on every page"
    );

    let cookies = reader.get("/cookies").await;
    assert_eq!(cookies.status, StatusCode::OK);
    assert!(cookies.body.contains("<code>gazette_session</code>"));
    assert!(cookies.body.contains("32 days"));
}

#[tokio::test]
async fn https_only_sites_send_strict_transport_security() {
    let secure = TestApp::builder()
        .settings(|s| s.cookie_secure = true)
        .start()
        .await;
    let page = Reader::new(&secure).get("/").await;
    assert!(
        page.header("strict-transport-security")
            .unwrap()
            .contains("max-age=")
    );
    let plain = TestApp::spawn().await;
    assert!(
        Reader::new(&plain)
            .get("/")
            .await
            .header("strict-transport-security")
            .is_none()
    );
}
