//! Managing an account alone, in a real browser, with the links from the mail a real SMTP
//! exchange delivered.

use crate::browser::Browser;
use crate::support::TestApp;

const PASSWORD: &str = "velvet lantern orchard 42";
const NEW_PASSWORD: &str = "copper kettle meadow 77";
const EMAIL: &str = "forgetful@example.com";

async fn sign_up_and_log_out(browser: &Browser, app: &TestApp, email: &str) {
    browser.goto(&app.url("/signup")).await;
    browser.fill("#email", email).await;
    browser.fill("#password", PASSWORD).await;
    browser.click("form.stacked-form button[type=submit]").await;
    assert!(
        browser
            .text(".flash")
            .await
            .contains("Your account is ready")
    );
    browser.click(".account-nav button").await;
    assert!(browser.text(".flash").await.contains("You are logged out"));
}

#[tokio::test]
async fn a_reader_who_forgot_the_password_sets_a_new_one_from_the_mail_and_logs_in_with_it() {
    let app = TestApp::spawn().await;
    let Some(mut browser) = Browser::start("forgot-password", 1280, 900).await else {
        return;
    };
    sign_up_and_log_out(&browser, &app, EMAIL).await;

    browser.goto(&app.url("/login")).await;
    browser.click("#forgot-password").await;
    assert_eq!(browser.path().await, "/password/forgot");
    browser.screenshot("forgot-form").await;
    browser.fill("#email", EMAIL).await;
    browser.click("form.stacked-form button[type=submit]").await;
    assert!(browser.text(".notice").await.contains("Check your inbox"));
    browser.screenshot("check-your-inbox").await;

    let mail = app.mailbox.next_for(EMAIL, 0).await;
    browser.goto(&mail.link()).await;
    assert!(browser.text("h1").await.contains("Choose a new password"));
    browser.fill("#password", "password1234").await;
    browser.click("form.stacked-form button[type=submit]").await;
    assert!(
        browser
            .text("#password-error")
            .await
            .contains("too easy to guess")
    );
    browser.screenshot("new-password-too-weak").await;
    browser.fill("#password", NEW_PASSWORD).await;
    browser.click("form.stacked-form button[type=submit]").await;
    assert_eq!(browser.path().await, "/");
    assert!(
        browser
            .text(".flash")
            .await
            .contains("Your new password is set")
    );
    browser.screenshot("logged-in-with-the-new-password").await;

    // The link is used up.
    browser.goto(&mail.link()).await;
    assert!(
        browser
            .text("h1")
            .await
            .contains("This link no longer works")
    );
    browser.screenshot("link-used-up").await;

    browser.goto(&app.url("/")).await;
    browser.click(".account-nav button").await;
    browser.goto(&app.url("/login")).await;
    browser.fill("#email", EMAIL).await;
    browser.fill("#password", NEW_PASSWORD).await;
    browser.click("form.stacked-form button[type=submit]").await;
    assert!(browser.text(".flash").await.contains("You are logged in"));
    browser.close().await;
}

#[tokio::test]
async fn a_reader_changes_the_address_from_the_mail_then_takes_the_data_and_leaves() {
    let app = TestApp::spawn().await;
    let Some(mut browser) = Browser::start("change-address-and-leave", 1280, 900).await else {
        return;
    };
    sign_up_and_log_out(&browser, &app, "first@example.com").await;
    browser.goto(&app.url("/login")).await;
    browser.fill("#email", "first@example.com").await;
    browser.fill("#password", PASSWORD).await;
    browser.click("form.stacked-form button[type=submit]").await;

    browser.goto(&app.url("/account")).await;
    browser.screenshot("account-page").await;
    browser.click("a[href='/account/email']").await;
    browser.fill("#new_email", "second@example.com").await;
    browser.fill("#password", "not my password").await;
    browser.click("form.stacked-form button[type=submit]").await;
    assert!(
        browser
            .text("#password-error")
            .await
            .contains("not your password")
    );
    browser.screenshot("change-address-wrong-password").await;
    browser.fill("#password", PASSWORD).await;
    browser.click("form.stacked-form button[type=submit]").await;
    assert!(
        browser
            .text(".flash")
            .await
            .contains("We sent a link to second@example.com")
    );

    let mail = app.mailbox.next_for("second@example.com", 0).await;
    browser.goto(&mail.link()).await;
    browser.screenshot("confirm-new-address").await;
    browser.click("form.stacked-form button[type=submit]").await;
    assert!(
        browser
            .text(".flash")
            .await
            .contains("Your e-mail address is now second@example.com")
    );

    browser.click("a[href='/account/password']").await;
    browser.screenshot("change-password").await;
    browser.goto(&app.url("/account/delete")).await;
    browser.fill("#confirmation", "delete my account").await;
    browser.fill("#password", PASSWORD).await;
    browser.screenshot("delete-account").await;
    browser.click("form.stacked-form button[type=submit]").await;
    assert_eq!(browser.path().await, "/");
    assert!(
        browser
            .text(".flash")
            .await
            .contains("Your account is deleted")
    );
    assert!(browser.has(".account-nav a[href='/login']").await);
    browser.screenshot("deleted-on-the-front-page").await;
    browser.close().await;
}
