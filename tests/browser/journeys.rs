use crate::browser::Browser;
use crate::support::TestApp;

const PASSWORD: &str = "velvet lantern orchard 42";

/// The whole reader's story: the meter, the paywall, signing up, subscribing, logging out
/// and back in.
#[tokio::test]
async fn a_visitor_reads_five_articles_meets_the_paywall_subscribes_and_keeps_reading() {
    let app = TestApp::spawn().await;
    let Some(mut browser) = Browser::start("reader-journey", 1280, 900).await else {
        return;
    };
    let premium = app.premium_ids();

    browser.goto(&app.url("/")).await;
    assert_eq!(browser.title().await, "Gazette");
    assert!(
        browser
            .text(".meter")
            .await
            .contains("5 of 5 free articles left")
    );
    browser.screenshot("front-page-first-visit").await;

    // Five premium articles on the meter, the first one reached by clicking its headline.
    browser
        .click(&format!("a[href^='/articles/{}/']", premium[0]))
        .await;
    assert!(browser.has(".article-body").await);
    browser.screenshot("premium-article").await;
    for id in &premium[1..5] {
        browser.goto(&app.url(&format!("/articles/{id}"))).await;
        assert!(
            browser.has(".article-body").await,
            "article {id} is readable"
        );
    }
    assert!(
        browser
            .text(".meter")
            .await
            .contains("You have read your 5 free articles")
    );

    // The sixth is behind the paywall.
    let stopped_at = premium[5];
    browser
        .goto(&app.url(&format!("/articles/{stopped_at}")))
        .await;
    assert!(browser.has(".offer").await);
    assert!(!browser.has(".article-body").await);
    browser.screenshot("paywall").await;

    // Sign up from the paywall, subscribe, and land on that article in full.
    browser.click(".offer a.button").await;
    assert!(browser.path().await.starts_with("/signup"));
    browser.fill("#email", "reader@example.com").await;
    browser.fill("#password", PASSWORD).await;
    browser.screenshot("sign-up-form").await;
    browser.click("form.stacked-form button[type=submit]").await;
    assert!(browser.path().await.starts_with("/subscribe"));
    assert!(
        browser
            .text(".flash")
            .await
            .contains("Your account is ready")
    );
    browser.screenshot("plans-after-sign-up").await;

    browser.click("#plan-yearly button[type=submit]").await;
    assert_eq!(browser.path().await, format!("/articles/{stopped_at}"));
    assert!(browser.has(".article-body").await, "the article in full");
    assert!(
        browser
            .text(".flash")
            .await
            .contains("Thank you for subscribing")
    );
    assert!(!browser.has(".meter").await, "subscribers have no meter");
    browser.screenshot("article-after-subscribing").await;

    browser.goto(&app.url("/account")).await;
    assert!(browser.text(".account").await.contains("Yearly"));
    browser.screenshot("account-subscribed").await;

    // Logged out, the article is behind the paywall again: the meter was used up.
    browser.click(".account-nav button").await;
    assert!(browser.text(".flash").await.contains("You are logged out"));
    browser
        .goto(&app.url(&format!("/articles/{stopped_at}")))
        .await;
    assert!(browser.has(".offer").await, "paywalled once logged out");
    assert!(!browser.has(".article-body").await);
    browser.screenshot("paywall-after-log-out").await;

    // Log back in from the paywall: straight back to the article.
    browser.click(".offer-secondary a[href^='/login']").await;
    browser.fill("#email", "reader@example.com").await;
    browser.fill("#password", PASSWORD).await;
    browser.click("form.stacked-form button[type=submit]").await;
    assert_eq!(browser.path().await, format!("/articles/{stopped_at}"));
    assert!(browser.text(".flash").await.contains("You are logged in"));
    assert!(browser.has(".article-body").await);
    browser.screenshot("article-after-logging-back-in").await;

    // Cancel: access continues, and the page says until when.
    browser.goto(&app.url("/account")).await;
    browser
        .click("form[action='/account/subscription/cancel'] button")
        .await;
    assert!(
        browser
            .text(".flash")
            .await
            .contains("You can keep reading everything until")
    );
    browser.screenshot("account-cancelled").await;

    browser.close().await;
}

#[tokio::test]
async fn the_session_cookie_is_invisible_to_page_script() {
    let app = TestApp::spawn().await;
    let Some(browser) = Browser::start("cookie-not-scriptable", 1280, 900).await else {
        return;
    };
    browser.goto(&app.url("/")).await;

    let cookies = browser
        .client
        .get_all_cookies()
        .await
        .expect("reading cookies over WebDriver");
    let session = cookies
        .iter()
        .find(|c| c.name() == "gazette_session")
        .expect("the browser holds the cookie");
    assert_eq!(session.http_only(), Some(true));

    let from_script = browser.execute("return document.cookie").await;
    assert!(
        !from_script
            .as_str()
            .unwrap_or_default()
            .contains("gazette_session"),
        "{from_script}"
    );
    browser.close().await;
}

/// Paying through Stripe: from the paywall to Stripe's checkout page (here the test stand-in
/// for it), paying there, and back to the article in full.
#[tokio::test]
async fn a_reader_pays_on_stripes_checkout_page_and_comes_back_to_the_article_in_full() {
    let clock = std::sync::Arc::new(gazette::clock::ManualClock::new(crate::support::START));
    let fake = crate::support::stripe::FakeStripe::start(clock).await;
    fake.deliver_automatically(true);
    let app = TestApp::builder()
        .stripe(&fake)
        .settings(|s| s.free_articles_per_month = 0)
        .start()
        .await;
    let Some(mut browser) = Browser::start("stripe-checkout", 1280, 900).await else {
        return;
    };
    let article = app.premium_ids()[4];

    browser
        .goto(&app.url(&format!("/articles/{article}")))
        .await;
    assert!(browser.has(".offer").await);
    browser.click(".offer a.button").await;
    browser.fill("#email", "card@example.com").await;
    browser.fill("#password", PASSWORD).await;
    browser.click("form.stacked-form button[type=submit]").await;
    assert!(browser.path().await.starts_with("/subscribe"));
    assert!(
        browser
            .text(".test-mode")
            .await
            .contains("4242 4242 4242 4242")
    );
    browser.screenshot("plans-in-stripe-test-mode").await;

    // Subscribe: the browser is taken to Stripe's hosted checkout page.
    browser.click("#plan-monthly button[type=submit]").await;
    let at = browser.client.current_url().await.unwrap().to_string();
    assert!(
        at.starts_with(&format!("{}/pay/cs_test_", fake.url)),
        "{at}"
    );
    assert!(browser.text("#amount").await.contains("8.00 USD"));
    browser.screenshot("stripe-checkout-page").await;

    // Pay, and come back to the article, in full.
    browser.click("#pay").await;
    assert_eq!(browser.path().await, format!("/articles/{article}"));
    assert!(browser.has(".article-body").await, "the article in full");
    assert!(
        browser
            .text(".flash")
            .await
            .contains("Thank you for subscribing! Your subscription renews on")
    );
    browser.screenshot("article-after-paying").await;

    browser.goto(&app.url("/account")).await;
    let account = browser.text(".account").await;
    assert!(account.contains("Renews on"), "{account}");
    assert!(!account.contains("Paid until"));
    assert!(browser.has("form[action='/account/billing'] button").await);
    browser.screenshot("account-with-stripe").await;

    browser.close().await;
}
