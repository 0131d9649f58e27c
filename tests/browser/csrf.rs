//! A form on another origin that posts to Gazette: the browser sends the reader's cookie
//! (both sites are on 127.0.0.1), and Gazette must still refuse.

use actix_web::{App, HttpResponse, HttpServer, web};

use crate::browser::Browser;
use crate::support::TestApp;

/// Serves one page whose button posts to `action` with `token` as the CSRF token.
async fn hostile_site(action: String, token: String) -> String {
    let page = format!(
        "<!doctype html><title>Win a prize</title><h1>Claim your prize</h1>\
         <form method='post' action='{action}'><input type='hidden' name='csrf_token' value='{token}'>\
         <button id='claim'>Claim</button></form>"
    );
    let server = HttpServer::new(move || {
        let page = page.clone();
        App::new().route(
            "/",
            web::get().to(move || {
                let page = page.clone();
                async move { HttpResponse::Ok().content_type("text/html").body(page) }
            }),
        )
    })
    .workers(1)
    .bind(("127.0.0.1", 0))
    .expect("binding the hostile site");
    let port = server.addrs()[0].port();
    tokio::spawn(server.run());
    format!("http://127.0.0.1:{port}/")
}

#[tokio::test]
async fn a_form_posted_from_another_origin_is_refused() {
    let app = TestApp::spawn().await;
    let Some(mut browser) = Browser::start("cross-origin-form", 1280, 900).await else {
        return;
    };

    browser.goto(&app.url("/signup")).await;
    browser.fill("#email", "target@example.com").await;
    browser.fill("#password", "velvet lantern orchard 42").await;
    browser.click("form.stacked-form button[type=submit]").await;
    assert!(browser.has(".account-nav form").await, "logged in");

    // Even holding the reader's real token (say, leaked), a post from another origin is
    // refused: the browser's Origin header gives it away. Without the token, doubly so.
    let token = browser
        .execute("return document.querySelector('input[name=csrf_token]').value")
        .await
        .as_str()
        .expect("the page has a token")
        .to_string();
    for (label, token) in [
        ("with-the-real-token", token),
        ("with-a-guessed-token", "guessed".to_string()),
    ] {
        let hostile = hostile_site(app.url("/account/sessions/logout-all"), token).await;
        browser.goto(&hostile).await;
        browser.screenshot(&format!("hostile-page-{label}")).await;
        browser.click("#claim").await;
        assert!(
            browser.text("h1").await.contains("This form has expired"),
            "{label}"
        );
        browser.screenshot(&format!("refused-{label}")).await;
    }

    browser.goto(&app.url("/account")).await;
    assert_eq!(browser.path().await, "/account", "still logged in");
    assert!(
        browser
            .text(".account")
            .await
            .contains("target@example.com")
    );
    browser.close().await;
}
