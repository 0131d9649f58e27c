//! Plans and the life of a subscription through the built-in test gateway: subscribing,
//! cancelling, resuming, lapsing and switching plans.

use reqwest::StatusCode;
use time::Duration;

use crate::helpers::*;

#[tokio::test]
async fn the_plans_are_shown_with_prices_and_the_test_gateway_says_so() {
    let app = TestApp::spawn().await;
    let page = Reader::new(&app).get("/subscribe").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Monthly") && page.body.contains("$8.00"));
    assert!(page.body.contains("Yearly") && page.body.contains("$80.00"));
    assert!(page.body.contains("nothing is charged"));
}

#[tokio::test]
async fn in_production_without_a_gateway_subscribing_is_explained_not_taken() {
    let app = TestApp::builder()
        .settings(|s| s.payment_gateway = gazette::config::GatewayChoice::Disabled)
        .start()
        .await;
    let reader = Reader::signed_up(&app, "early@example.com").await;
    let page = reader.get("/subscribe").await;
    assert!(page.body.contains("Payments are not set up"));
    assert!(!page.body.contains("action=\"/subscribe\""));
    let attempt = reader.subscribe("monthly").await;
    assert_eq!(attempt.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(subscriptions_of(&app, "early@example.com").is_empty());
}

#[tokio::test]
async fn subscribing_while_logged_out_leads_to_log_in() {
    let app = TestApp::spawn().await;
    let page = Reader::new(&app).subscribe("monthly").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), Some("/login?next=/subscribe"));
}

#[tokio::test]
async fn subscribing_lifts_the_paywall_at_once() {
    let app = TestApp::builder()
        .settings(|s| s.free_articles_per_month = 1)
        .start()
        .await;
    let premium = app.premium_ids();
    let reader = Reader::signed_up(&app, "sub@example.com").await;
    reader.read_article(premium[0]).await;
    assert_eq!(
        reader.read_article(premium[1]).await.status,
        StatusCode::PAYMENT_REQUIRED
    );

    let page = reader.subscribe("monthly").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), Some("/account"));
    let account = reader.get("/account").await;
    assert!(
        account.body.contains("Thank you for subscribing"),
        "a flash message"
    );
    assert!(account.body.contains("Monthly ($8.00)"));
    assert!(account.body.contains("Active"));
    assert!(account.body.contains("Paid until</dt><dd>26 December 2026"));

    for id in &premium {
        let page = reader.read_article(*id).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            !page.body.contains("free articles"),
            "no meter for subscribers"
        );
    }
    assert_eq!(
        current(&app, "sub@example.com")[0].current_period_end,
        START + Duration::days(30)
    );
}

#[tokio::test]
async fn from_the_paywall_a_visitor_signs_up_subscribes_and_lands_on_the_article() {
    let app = TestApp::builder()
        .settings(|s| s.free_articles_per_month = 0)
        .start()
        .await;
    let article = app.premium_ids()[3];
    let reader = Reader::new(&app);
    let paywall = reader.read_article(article).await;
    assert_eq!(paywall.status, StatusCode::PAYMENT_REQUIRED);

    // Follow the paywall's sign-up link, which carries where to go next.
    let start = paywall.body.find("href=\"/signup?next=").unwrap() + "href=\"/signup?next=".len();
    let encoded = &paywall.body[start..start + paywall.body[start..].find('"').unwrap()];
    let next: String = url::form_urlencoded::parse(format!("n={encoded}").as_bytes())
        .next()
        .unwrap()
        .1
        .into_owned();
    assert_eq!(next, format!("/subscribe?next=%2Farticles%2F{article}"));

    let form = reader.get(&format!("/signup?next={encoded}")).await;
    let token = form.csrf_token();
    let next_field = hidden_value(&form.body, "next")
        .unwrap()
        .replace("&#x3d;", "=")
        .replace("&#x2f;", "/")
        .replace("&#61;", "=");
    let signed_up = reader
        .post(
            "/signup",
            &[
                ("email", "paywall@example.com"),
                ("password", PASSWORD),
                ("csrf_token", &token),
                ("next", &next),
            ],
        )
        .await;
    assert_eq!(
        signed_up.location(),
        Some(next.as_str()),
        "hidden next was {next_field}"
    );

    let plans = reader.get(signed_up.location().unwrap()).await;
    assert_eq!(
        hidden_value(&plans.body, "next").as_deref().map(unescape),
        Some(format!("/articles/{article}"))
    );
    let subscribed = reader
        .post(
            "/subscribe",
            &[
                ("plan", "yearly"),
                ("csrf_token", &plans.csrf_token()),
                ("next", &format!("/articles/{article}")),
            ],
        )
        .await;
    assert_eq!(
        subscribed.location(),
        Some(format!("/articles/{article}").as_str())
    );
    assert_eq!(reader.read_article(article).await.status, StatusCode::OK);
}

fn unescape(html: &str) -> String {
    html.replace("&#x2f;", "/")
        .replace("&#47;", "/")
        .replace("&#x3d;", "=")
        .replace("&#61;", "=")
}

#[tokio::test]
async fn a_cancelled_subscription_reads_until_the_period_ends_and_not_after() {
    let app = TestApp::builder()
        .settings(|s| s.free_articles_per_month = 0)
        .start()
        .await;
    let article = app.premium_ids()[0];
    let reader = Reader::signed_up(&app, "cancel@example.com").await;
    reader.subscribe("monthly").await;

    let page = reader.cancel_subscription().await;
    assert_eq!(page.location(), Some("/account"));
    let account = reader.get("/account").await;
    assert!(
        account
            .body
            .contains("You can keep reading everything until 26 December 2026")
    );
    assert!(account.body.contains("Cancelled"));
    assert!(
        account
            .body
            .contains("Access until</dt><dd>26 December 2026")
    );

    // A month later the login itself has long expired: the reader logs in again.
    app.clock.advance(Duration::days(29));
    let reader = Reader::new(&app);
    reader.log_in("cancel@example.com", PASSWORD).await;
    assert_eq!(
        reader.read_article(article).await.status,
        StatusCode::OK,
        "the last day of the period"
    );
    app.clock.advance(Duration::days(1));
    assert_eq!(
        reader.read_article(article).await.status,
        StatusCode::PAYMENT_REQUIRED,
        "the period is over"
    );
    let account = reader.get("/account").await;
    assert!(account.body.contains("Ended on</dt><dd>26 December 2026"));
    assert!(
        account.body.contains("Subscribe monthly"),
        "and can subscribe again"
    );
}

#[tokio::test]
async fn an_uncancelled_subscription_without_renewal_lapses_at_the_period_end() {
    let app = TestApp::builder()
        .settings(|s| s.free_articles_per_month = 0)
        .start()
        .await;
    let article = app.premium_ids()[0];
    let reader = Reader::signed_up(&app, "lapse@example.com").await;
    reader.subscribe("monthly").await;
    app.clock.advance(Duration::days(31));
    let reader = Reader::new(&app);
    reader.log_in("lapse@example.com", PASSWORD).await;
    assert_eq!(
        reader.read_article(article).await.status,
        StatusCode::PAYMENT_REQUIRED
    );

    // Subscribing again starts a new period.
    assert_eq!(
        reader.subscribe("monthly").await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(reader.read_article(article).await.status, StatusCode::OK);
    let rows = subscriptions_of(&app, "lapse@example.com");
    assert_eq!(
        rows.iter().map(|r| r.status.as_str()).collect::<Vec<_>>(),
        ["ended", "active"]
    );
}

#[tokio::test]
async fn resubscribing_before_the_period_ends_resumes_the_same_subscription() {
    let app = TestApp::spawn().await;
    let reader = Reader::signed_up(&app, "resume@example.com").await;
    reader.subscribe("monthly").await;
    reader.cancel_subscription().await;
    assert_eq!(
        reader.subscribe("monthly").await.status,
        StatusCode::SEE_OTHER
    );

    let rows = subscriptions_of(&app, "resume@example.com");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].status, "active");
    assert!(reader.get("/account").await.body.contains("Paid until"));
}

#[tokio::test]
async fn switching_from_monthly_to_yearly_starts_a_yearly_period() {
    let app = TestApp::spawn().await;
    let reader = Reader::signed_up(&app, "switch@example.com").await;
    reader.subscribe("monthly").await;
    let account = reader.get("/account").await;
    assert!(account.body.contains("Switch to yearly"));

    app.clock.advance(Duration::days(3));
    assert_eq!(
        reader.subscribe("yearly").await.status,
        StatusCode::SEE_OTHER
    );
    let now = START + Duration::days(3);
    let rows = current(&app, "switch@example.com");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].plan_code, "yearly");
    assert_eq!(rows[0].current_period_end, now + Duration::days(365));
    assert!(
        reader
            .get("/account")
            .await
            .body
            .contains("Switch to monthly")
    );
}

#[tokio::test]
async fn subscribing_twice_to_the_same_plan_changes_nothing() {
    let app = TestApp::spawn().await;
    let reader = Reader::signed_up(&app, "twice@example.com").await;
    reader.subscribe("monthly").await;
    reader.subscribe("monthly").await;
    assert_eq!(subscriptions_of(&app, "twice@example.com").len(), 1);
    assert!(reader.get("/").await.body.contains("already subscribe"));
}

#[tokio::test]
async fn an_unknown_plan_is_refused_with_a_message() {
    let app = TestApp::spawn().await;
    let reader = Reader::signed_up(&app, "plan@example.com").await;
    let page = reader.subscribe("lifetime").await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("Choose one of the plans"));
    assert!(subscriptions_of(&app, "plan@example.com").is_empty());
}

#[tokio::test]
async fn the_paywall_invites_members_to_subscribe_and_visitors_to_log_in_or_sign_up() {
    let app = TestApp::builder()
        .settings(|s| s.free_articles_per_month = 0)
        .start()
        .await;
    let article = app.premium_ids()[0];
    let visitor = Reader::new(&app).read_article(article).await;
    assert!(visitor.body.contains("href=\"/login?next="));
    assert!(visitor.body.contains("href=\"/signup?next="));

    let member = Reader::signed_up(&app, "member@example.com").await;
    let page = member.read_article(article).await;
    assert_eq!(page.status, StatusCode::PAYMENT_REQUIRED);
    assert!(
        page.body
            .contains(&format!("href=\"/subscribe?next=%2Farticles%2F{article}\""))
    );
    assert!(!page.body.contains("href=\"/signup?next="));
}
