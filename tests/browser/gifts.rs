//! A gifted article's journey: a subscriber gifts an article from its page and copies the
//! link; a second browser, whose free articles are used up, opens the link and reads the whole
//! article, its cookie untouched, on a desktop and on a phone's screen.

use crate::browser::Browser;
use crate::support::TestApp;

const PASSWORD: &str = "velvet lantern orchard 42";
const GIVER: &str = "giver@example.com";
/// Words of the newest premium demo article's body.
const BODY: &str = "Ask an older relative";

#[tokio::test]
async fn a_subscriber_gifts_an_article_that_a_browser_past_its_meter_reads_whole() {
    let app = TestApp::spawn().await;
    let Some(mut giver) = Browser::start("gift-giver", 1280, 900).await else {
        return;
    };
    let premium = app.premium_ids();
    let newest = *premium.last().unwrap();

    // A reader signs up and subscribes.
    giver.goto(&app.url("/signup")).await;
    giver.fill("#email", GIVER).await;
    giver.fill("#password", PASSWORD).await;
    giver.click("form.stacked-form button[type=submit]").await;
    giver.goto(&app.url("/subscribe")).await;
    giver.click("#plan-yearly button[type=submit]").await;
    assert!(
        giver
            .text(".flash")
            .await
            .contains("Thank you for subscribing")
    );

    // Under the article: the gift form and the month's gifts.
    giver.goto(&app.url(&format!("/articles/{newest}"))).await;
    assert!(giver.text(".article-body").await.contains(BODY));
    let offer = giver.text(".gift-article").await;
    assert!(offer.contains("10 of 10 gifts left this month"), "{offer}");
    giver.screenshot("article-with-gift-form").await;
    giver.click(".gift-form button[type=submit]").await;
    assert_eq!(giver.path().await, format!("/articles/{newest}/gift"));
    assert!(giver.text("h1").await.contains("Your gift link"));
    assert!(
        giver
            .text(".gift-answer")
            .await
            .contains("9 of 10 gifts left this month")
    );
    let link = giver
        .execute("return document.querySelector('#gift-link').value")
        .await
        .as_str()
        .expect("the link in its field")
        .to_string();
    assert!(
        link.starts_with(&app.url(&format!("/articles/{newest}/"))) && link.contains("?gift="),
        "{link}"
    );
    giver.screenshot("gift-link").await;
    giver.resize(360, 740).await;
    assert!(fits_a_phone(&giver).await, "the link page on a phone");
    giver.screenshot("gift-link-phone").await;
    giver.close().await;

    // Another browser reads its five free articles and meets the paywall on this one.
    let Some(mut reader) = Browser::start("gift-reader", 1280, 900).await else {
        return;
    };
    for id in &premium[..5] {
        reader.goto(&app.url(&format!("/articles/{id}"))).await;
        assert!(reader.has(".article-body").await, "article {id}");
    }
    reader.goto(&app.url(&format!("/articles/{newest}"))).await;
    assert!(reader.has(".offer").await);
    assert!(!reader.has(".article-body").await);
    reader.screenshot("paywall-before-the-gift").await;
    let cookie_before = session_cookie(&reader).await;

    // The gift link opens the whole article, says a subscriber shared it, and offers more.
    reader.goto(&link).await;
    assert!(reader.text(".article-body").await.contains(BODY));
    let note = reader.text(".gifted-note").await;
    assert!(
        note.contains("A subscriber shared this article with you"),
        "{note}"
    );
    assert!(!note.contains("giver"));
    assert!(reader.has(".gifted-offer a[href^='/signup']").await);
    assert!(reader.has(".gifted-offer a[href^='/subscribe']").await);
    assert!(
        reader
            .text(".meter")
            .await
            .contains("You have read your 5 free articles")
    );
    reader.screenshot("gifted-article").await;
    reader.resize(360, 740).await;
    assert!(fits_a_phone(&reader).await, "the gifted article on a phone");
    reader.screenshot("gifted-article-phone").await;
    assert_eq!(
        session_cookie(&reader).await,
        cookie_before,
        "the cookie is untouched"
    );

    // Without the link, the article is behind the paywall again.
    reader.goto(&app.url(&format!("/articles/{newest}"))).await;
    assert!(reader.has(".offer").await);
    assert!(!reader.has(".article-body").await);
    reader.close().await;
}

/// Nothing on the page is wider than the screen.
async fn fits_a_phone(browser: &Browser) -> bool {
    browser
        .execute("return document.documentElement.scrollWidth <= window.innerWidth")
        .await
        .as_bool()
        .unwrap_or(false)
}

async fn session_cookie(browser: &Browser) -> Option<String> {
    browser
        .client
        .get_all_cookies()
        .await
        .expect("reading cookies over WebDriver")
        .iter()
        .find(|c| c.name() == "gazette_session")
        .map(|c| c.value().to_string())
}
