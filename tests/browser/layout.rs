//! The pages on a 360 px phone: nothing wider than the screen, everything reachable.

use crate::browser::Browser;
use crate::support::TestApp;

async fn fits_the_screen(browser: &Browser) -> bool {
    browser
        .execute("return document.documentElement.scrollWidth <= window.innerWidth")
        .await
        .as_bool()
        .unwrap_or(false)
}

#[tokio::test]
async fn every_page_fits_a_phone_screen() {
    let app = TestApp::builder()
        .settings(|s| s.free_articles_per_month = 1)
        .start()
        .await;
    let Some(mut browser) = Browser::start("phone", 360, 740).await else {
        return;
    };
    let premium = app.premium_ids();

    for (path, label) in [
        ("/".to_string(), "front-page"),
        (format!("/articles/{}", premium[0]), "article"),
        (format!("/articles/{}", premium[1]), "paywall"),
        ("/signup".to_string(), "sign-up"),
        ("/subscribe".to_string(), "plans"),
        ("/cookies".to_string(), "cookies"),
        ("/articles/999999".to_string(), "not-found"),
    ] {
        browser.goto(&app.url(&path)).await;
        assert!(
            fits_the_screen(&browser).await,
            "{path} is wider than 360 px"
        );
        browser.screenshot(label).await;
    }

    // A form with errors, tied to their fields.
    browser.goto(&app.url("/signup")).await;
    // Passes the browser's own check of type=email, not ours.
    browser.fill("#email", "reader@localhost").await;
    browser.fill("#password", "short").await;
    browser.click("form.stacked-form button[type=submit]").await;
    assert!(
        browser
            .text("#email-error")
            .await
            .contains("e-mail address")
    );
    assert!(browser.text("#password-error").await.contains("at least 8"));
    assert!(fits_the_screen(&browser).await);
    browser.screenshot("sign-up-errors").await;

    browser.fill("#email", "phone@example.com").await;
    browser.fill("#password", "velvet lantern orchard 42").await;
    browser.click("form.stacked-form button[type=submit]").await;
    browser.goto(&app.url("/account")).await;
    assert!(fits_the_screen(&browser).await);
    browser.screenshot("account").await;
    browser.close().await;
}
