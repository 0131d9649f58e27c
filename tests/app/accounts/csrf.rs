//! Every state-changing form refuses a missing or wrong token and cross-site requests, and
//! changes nothing when it does.

use diesel::prelude::*;
use reqwest::StatusCode;

use crate::helpers::*;

fn user_count(app: &TestApp) -> i64 {
    gazette::schema::users::table
        .count()
        .get_result(&mut app.connect())
        .unwrap()
}

fn current_subscriptions(app: &TestApp) -> Vec<String> {
    use gazette::schema::subscriptions::dsl::*;
    subscriptions
        .filter(status.ne("ended"))
        .select(status)
        .load(&mut app.connect())
        .unwrap()
}

/// The ways a forged request can arrive: no token, a wrong one, or the right one sent by
/// another site.
fn pairs(form: &[(String, String)]) -> Vec<(&str, &str)> {
    form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

async fn forgeries(
    reader: &Reader<'_>,
    path: &str,
    fields: &[(&str, &str)],
) -> Vec<(&'static str, StatusCode)> {
    let token = reader.csrf_token().await;
    let with_token = |token: &str| -> Vec<(String, String)> {
        let mut form: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        form.push(("csrf_token".to_string(), token.to_string()));
        form
    };
    let wrong = with_token("not-the-token");
    let right = with_token(&token);
    vec![
        ("missing token", reader.post(path, fields).await.status),
        (
            "wrong token",
            reader.post(path, &pairs(&wrong)).await.status,
        ),
        (
            "cross-site Origin",
            reader
                .post_with_headers(path, &pairs(&right), &[("Origin", "https://evil.example")])
                .await
                .status,
        ),
        (
            "null Origin",
            reader
                .post_with_headers(path, &pairs(&right), &[("Origin", "null")])
                .await
                .status,
        ),
        (
            "Sec-Fetch-Site: cross-site",
            reader
                .post_with_headers(path, &pairs(&right), &[("Sec-Fetch-Site", "cross-site")])
                .await
                .status,
        ),
    ]
}

fn assert_all_forbidden(path: &str, outcomes: &[(&str, StatusCode)]) {
    for (how, status) in outcomes {
        assert_eq!(*status, StatusCode::FORBIDDEN, "{path} with {how}");
    }
}

#[tokio::test]
async fn sign_up_refuses_forged_requests() {
    let app = TestApp::spawn().await;
    let reader = Reader::new(&app);
    let outcomes = forgeries(
        &reader,
        "/signup",
        &[("email", "forged@example.com"), ("password", PASSWORD)],
    )
    .await;
    assert_all_forbidden("/signup", &outcomes);
    assert_eq!(user_count(&app), 0);
}

#[tokio::test]
async fn log_in_refuses_forged_requests() {
    let app = TestApp::spawn().await;
    Reader::signed_up(&app, "victim@example.com").await;
    let reader = Reader::new(&app);
    let outcomes = forgeries(
        &reader,
        "/login",
        &[("email", "victim@example.com"), ("password", PASSWORD)],
    )
    .await;
    assert_all_forbidden("/login", &outcomes);
    assert_eq!(
        reader.get("/account").await.status,
        StatusCode::SEE_OTHER,
        "not logged in"
    );
}

#[tokio::test]
async fn log_out_refuses_forged_requests() {
    let app = TestApp::spawn().await;
    let reader = Reader::signed_up(&app, "stay@example.com").await;
    let outcomes = forgeries(&reader, "/logout", &[]).await;
    assert_all_forbidden("/logout", &outcomes);
    assert_eq!(
        reader.get("/account").await.status,
        StatusCode::OK,
        "still logged in"
    );
}

#[tokio::test]
async fn log_out_everywhere_refuses_forged_requests() {
    let app = TestApp::spawn().await;
    let reader = Reader::signed_up(&app, "stay2@example.com").await;
    let outcomes = forgeries(&reader, "/account/sessions/logout-all", &[]).await;
    assert_all_forbidden("/account/sessions/logout-all", &outcomes);
    assert_eq!(
        reader.get("/account").await.status,
        StatusCode::OK,
        "still logged in"
    );
}

#[tokio::test]
async fn logging_out_a_device_refuses_forged_requests() {
    let app = TestApp::spawn().await;
    let reader = Reader::signed_up(&app, "stay3@example.com").await;
    let account = reader.get("/account").await;
    let start = account.body.find("action=\"/account/sessions/").unwrap() + "action=\"".len();
    let path = account.body[start..].split('"').next().unwrap().to_string();
    let outcomes = forgeries(&reader, &path, &[]).await;
    assert_all_forbidden(&path, &outcomes);
    assert_eq!(
        reader.get("/account").await.status,
        StatusCode::OK,
        "still logged in"
    );
}

#[tokio::test]
async fn subscribing_refuses_forged_requests() {
    let app = TestApp::spawn().await;
    let reader = Reader::signed_up(&app, "nosub@example.com").await;
    let outcomes = forgeries(&reader, "/subscribe", &[("plan", "monthly")]).await;
    assert_all_forbidden("/subscribe", &outcomes);
    assert!(current_subscriptions(&app).is_empty());
}

#[tokio::test]
async fn cancelling_refuses_forged_requests() {
    let app = TestApp::spawn().await;
    let reader = Reader::signed_up(&app, "keep@example.com").await;
    reader.subscribe("monthly").await;
    let outcomes = forgeries(&reader, "/account/subscription/cancel", &[]).await;
    assert_all_forbidden("/account/subscription/cancel", &outcomes);
    assert_eq!(current_subscriptions(&app), ["active"]);
}

#[tokio::test]
async fn a_same_origin_post_with_the_token_is_accepted() {
    let app = TestApp::spawn().await;
    let reader = Reader::signed_up(&app, "fine@example.com").await;
    let token = reader.csrf_token().await;
    let origin = app.address.clone();
    let page = reader
        .post_with_headers(
            "/logout",
            &[("csrf_token", &token)],
            &[("Origin", &origin), ("Sec-Fetch-Site", "same-origin")],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_forbidden_page_is_a_styled_page() {
    let app = TestApp::spawn().await;
    let page = Reader::new(&app)
        .post("/login", &[("email", "a@example.com"), ("password", "x")])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.body.contains("This form has expired"));
}

#[tokio::test]
async fn the_account_forms_refuse_forged_requests_and_change_nothing() {
    let app = TestApp::spawn().await;
    let owner = Reader::signed_up(&app, "mine@example.com").await;
    let new = "copper kettle meadow 77";
    owner.forgot_password("mine@example.com").await;
    let reset = app.mailbox.next_for("mine@example.com", 0).await.token();
    owner.change_email("moved@example.com", PASSWORD).await;
    let confirm = app.mailbox.next_for("moved@example.com", 0).await.token();
    let forms: [(&str, Vec<(&str, &str)>); 6] = [
        ("/password/forgot", vec![("email", "mine@example.com")]),
        (
            "/password/reset",
            vec![("token", &reset), ("password", new)],
        ),
        (
            "/account/password",
            vec![("current_password", PASSWORD), ("new_password", new)],
        ),
        (
            "/account/email",
            vec![
                ("new_email", "elsewhere@example.com"),
                ("password", PASSWORD),
            ],
        ),
        ("/account/email/confirm", vec![("token", &confirm)]),
        (
            "/account/delete",
            vec![
                ("confirmation", "delete my account"),
                ("password", PASSWORD),
            ],
        ),
    ];
    for (path, fields) in &forms {
        let outcomes = forgeries(&owner, path, fields).await;
        assert_all_forbidden(path, &outcomes);
    }
    assert_eq!(user_count(&app), 1, "not deleted");
    assert_eq!(owner.get("/account").await.status, StatusCode::OK);
    assert!(
        owner
            .get("/account")
            .await
            .body
            .contains("mine@example.com")
    );
    assert_eq!(
        Reader::new(&app)
            .log_in("mine@example.com", PASSWORD)
            .await
            .status,
        StatusCode::SEE_OTHER,
        "the password is unchanged"
    );
    // Two mails asked for above; the forged asks added none.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app.mailbox.delivered().len(), 2);
    assert_eq!(
        owner
            .get(&format!("/password/reset?token={reset}"))
            .await
            .status,
        StatusCode::OK,
        "the reset link still works"
    );
}
