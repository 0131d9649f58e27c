//! The newsletter's journey: a visitor joins with an address alone and confirms it from the
//! mail; an editor publishes an article and e-mails it; the letter arrives with its one-click
//! header, and the reader leaves with one click on its link.

use crate::browser::Browser;
use crate::support::TestApp;

const PASSWORD: &str = "velvet lantern orchard 42";
const VISITOR: &str = "lantern.reader@example.com";
const EDITOR: &str = "editor@example.com";
const TITLE: &str = "The Tide Tables";

/// Whether the address is on the list: confirmed and opted in.
fn on_the_list(app: &TestApp, email: &str) -> bool {
    use diesel::prelude::*;
    use gazette::schema::newsletter_signups::dsl as s;
    let mut conn = app.connect();
    s::newsletter_signups
        .filter(s::email.eq(email))
        .filter(s::confirmed_at.is_not_null())
        .filter(s::opted_in_at.is_not_null())
        .count()
        .get_result::<i64>(&mut conn)
        .unwrap()
        == 1
}

#[tokio::test]
async fn a_visitor_joins_confirms_receives_an_article_and_leaves_with_one_click() {
    let app = TestApp::spawn().await;
    let Some(mut browser) = Browser::start("newsletter", 1280, 900).await else {
        return;
    };

    // A visitor joins from the front page with an address alone.
    browser.goto(&app.url("/")).await;
    browser.fill("#newsletter-email", VISITOR).await;
    browser.screenshot("front-page-form").await;
    browser
        .click(".newsletter-signup button[type=submit]")
        .await;
    assert!(browser.title().await.contains("Check your inbox"));
    browser.screenshot("check-your-inbox").await;
    assert!(!on_the_list(&app, VISITOR));

    // Opening the mailed link, as a scanner would, confirms nothing; the button does.
    let confirmation = app.mailbox.next_for(VISITOR, 0).await;
    browser.goto(&confirmation.link()).await;
    assert!(browser.text("h1").await.contains("Confirm the newsletter"));
    browser.screenshot("confirm-page").await;
    assert!(!on_the_list(&app, VISITOR));
    browser.click("main form button[type=submit]").await;
    assert!(
        browser
            .text("h1")
            .await
            .contains("You are on the newsletter")
    );
    browser.screenshot("confirmed").await;
    assert!(on_the_list(&app, VISITOR));

    // An editor writes an article and publishes it with "Publish and e-mail".
    crate::browser::sign_up_as_editor(&browser, &app, EDITOR, PASSWORD).await;
    browser.goto(&app.url("/editor/articles/new")).await;
    browser.fill("#title", TITLE).await;
    browser.fill("#byline", "Ada Editor").await;
    browser
        .fill("#teaser", "When the harbour floods, and why.")
        .await;
    browser
        .fill(
            "#body",
            "The moon pulls twice a day.\n\n## Spring tides\n\nThey come at new and full moon.\n",
        )
        .await;
    browser.screenshot("desk-before-publish-and-email").await;
    browser.click("button[value=publish_email]").await;
    assert!(
        browser.path().await.ends_with("/newsletter"),
        "publishing and e-mailing leads to the progress page, not {}",
        browser.path().await
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        if browser.text("#count-sent").await.trim() == "1" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the letter was never sent: {}",
            browser.text(".newsletter-counts").await
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        browser.execute("location.reload(); return true").await;
    }
    assert_eq!(browser.text("#count-audience").await.trim(), "1");
    browser.screenshot("progress-page").await;

    // The letter arrives, with the one-click header and a visible link to leave.
    let letter = app.mailbox.next_for(VISITOR, 1).await;
    assert!(letter.subject.contains(TITLE), "{}", letter.subject);
    assert!(
        letter
            .raw
            .contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
        "{}",
        letter.raw
    );
    let leave = letter
        .text
        .split_whitespace()
        .find(|word| word.contains("/newsletter/unsubscribe?token="))
        .unwrap_or_else(|| panic!("an unsubscribe link at the foot: {}", letter.text))
        .to_string();

    // The reader opens it, logged in nowhere (nothing changes), and leaves with one click.
    browser.click(".account-nav button").await;
    browser.goto(&leave).await;
    assert!(browser.text("h1").await.contains("Leave the newsletter"));
    browser.screenshot("leave-page").await;
    assert!(on_the_list(&app, VISITOR));
    browser.click("main form button[type=submit]").await;
    assert!(
        browser
            .text("h1")
            .await
            .contains("You have left the newsletter")
    );
    browser.screenshot("left").await;
    assert!(!on_the_list(&app, VISITOR));
    browser.close().await;
}
