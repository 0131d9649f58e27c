//! The growth journey: a visitor opens an offer's link, creates an account from it, starts
//! the free trial, and, reading everything during it, gifts an article that a second browser,
//! its free articles used up, reads whole.

use crate::browser::Browser;
use crate::support::TestApp;

const PASSWORD: &str = "velvet lantern orchard 42";
const READER: &str = "trial@example.com";
/// Words of the newest premium demo article's body.
const BODY: &str = "Ask an older relative";

/// Runs `gazette` with `args` against the app's database, as an operator would.
fn gazette(app: &TestApp, args: &[&str]) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_gazette"))
        .args(args)
        .env_clear()
        .env("DATABASE_URL", &app.db.url)
        .env("RUST_LOG", "off")
        .current_dir(std::env::temp_dir())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("running the binary");
    assert!(
        output.status.success(),
        "gazette {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn a_visitor_takes_a_trial_offer_then_gifts_an_article_another_browser_reads() {
    let app = TestApp::spawn().await;
    let Some(mut visitor) = Browser::start("growth-trial", 1280, 900).await else {
        return;
    };
    gazette(
        &app,
        &[
            "offer",
            "create",
            "--code",
            "try-14",
            "--plan",
            "monthly",
            "--trial-days",
            "14",
        ],
    );
    let newest = *app.premium_ids().last().unwrap();

    // The offer's link, opened by a visitor: the deal, and the way to take it.
    visitor.goto(&app.url("/offer/TRY-14")).await;
    let deal = visitor.text("h1").await;
    assert!(deal.contains("14 days"), "{deal}");
    visitor.screenshot("offer").await;
    visitor.click("a.button[href^='/signup']").await;
    assert_eq!(visitor.path().await, "/signup?next=%2Foffer%2Ftry-14");
    visitor.fill("#email", READER).await;
    visitor.fill("#password", PASSWORD).await;
    visitor.click("form.stacked-form button[type=submit]").await;

    // Back on the offer, now with its button: the trial starts, and the account says so.
    assert_eq!(visitor.path().await, "/offer/try-14");
    visitor
        .click("form[action='/offer/try-14'] button[type=submit]")
        .await;
    assert_eq!(visitor.path().await, "/account");
    let flash = visitor.text(".flash").await;
    assert!(flash.contains("Your free trial has started"), "{flash}");
    let account = visitor.text("main").await;
    assert!(account.contains("Free until"), "{account}");
    assert!(account.contains("Free trial until"), "{account}");
    assert!(!account.contains("Paid until"), "{account}");
    visitor.screenshot("account-in-trial").await;

    // In the trial the reader reads everything, and gifts the newest premium article.
    visitor.goto(&app.url(&format!("/articles/{newest}"))).await;
    assert!(visitor.text(".article-body").await.contains(BODY));
    visitor.click(".gift-form button[type=submit]").await;
    let link = visitor
        .execute("return document.querySelector('#gift-link').value")
        .await
        .as_str()
        .expect("the link in its field")
        .to_string();
    visitor.screenshot("gift-link").await;
    visitor.close().await;

    // A second browser, its five free articles read, meets the paywall, then reads the gift.
    let Some(mut friend) = Browser::start("growth-friend", 390, 844).await else {
        return;
    };
    for id in &app.premium_ids()[..5] {
        friend.goto(&app.url(&format!("/articles/{id}"))).await;
        assert!(friend.has(".article-body").await, "article {id}");
    }
    friend.goto(&app.url(&format!("/articles/{newest}"))).await;
    assert!(!friend.has(".article-body").await, "the paywall first");
    friend.goto(&link).await;
    assert!(friend.text(".article-body").await.contains(BODY));
    assert!(
        friend
            .text(".gifted-note")
            .await
            .contains("A subscriber shared this article with you")
    );
    friend.screenshot("gifted-article").await;
    friend.close().await;
}
