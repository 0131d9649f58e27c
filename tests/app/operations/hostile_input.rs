//! Whatever a client sends, the answer is never a server error.

use crate::helpers::*;

const VALUES: [&str; 8] = [
    "a\u{0}b@example.com",
    "\u{0}",
    "'; DROP TABLE users; --",
    "<script>alert(1)</script>",
    "%%%%",
    "ünïcødé@例え.jp",
    "                                                      ",
    "\u{202e}\u{feff}\r\n",
];

#[tokio::test]
async fn hostile_form_fields_never_cause_a_server_error() {
    let app = TestApp::spawn().await;
    let member = Reader::signed_up(&app, "member@example.com").await;
    let visitor = Reader::new(&app);
    for reader in [&visitor, &member] {
        for path in [
            "/login",
            "/signup",
            "/subscribe",
            "/logout",
            "/account/sessions/logout-all",
            "/account/subscription/cancel",
        ] {
            for value in VALUES {
                let token = reader.csrf_token().await;
                let page = reader
                    .post(
                        path,
                        &[
                            ("email", value),
                            ("password", value),
                            ("plan", value),
                            ("next", value),
                            ("csrf_token", &token),
                        ],
                    )
                    .await;
                assert!(
                    !page.status.is_server_error(),
                    "{path} with {value:?}: {}",
                    page.status
                );
            }
        }
    }
}

#[tokio::test]
async fn hostile_addresses_and_queries_never_cause_a_server_error() {
    let app = TestApp::spawn().await;
    let reader = Reader::new(&app);
    for path in [
        "/login?next=%00",
        "/signup?next=%2F%2F%00evil",
        "/subscribe?next=%FF%FE",
        "/login?next=a&next=b",
        "/articles/1?x=%00",
        "/account/sessions/%00/logout",
        "/static/..%2F..%2FCargo.toml",
        "/static/%00",
    ] {
        let page = reader.get(path).await;
        assert!(!page.status.is_server_error(), "{path}: {}", page.status);
    }
    let token = reader.csrf_token().await;
    let page = reader
        .post("/account/sessions/%00/logout", &[("csrf_token", &token)])
        .await;
    assert!(!page.status.is_server_error());
}

#[tokio::test]
async fn a_post_that_is_not_a_form_gets_a_403() {
    let app = TestApp::spawn().await;
    let response = crate::support::http_client()
        .build()
        .expect("an HTTP client")
        .post(app.url("/login"))
        .header("Content-Type", "application/json")
        .body(r#"{"email":"a@b.co"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::FORBIDDEN);
}
