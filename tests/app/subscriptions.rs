use diesel::prelude::*;
use reqwest::StatusCode;
use time::{Duration, OffsetDateTime};

use gazette::payments::{Charge, ChargeFuture, ChargeRequest, PaymentError, PaymentGateway};

use crate::helpers::*;

#[derive(Debug, Queryable)]
struct Row {
    plan_code: String,
    status: String,
    current_period_end: OffsetDateTime,
}

fn subscriptions_of(app: &TestApp, address: &str) -> Vec<Row> {
    use gazette::schema::{subscriptions, users};
    subscriptions::table
        .inner_join(users::table)
        .filter(users::email.eq(address))
        .order(subscriptions::id)
        .select((
            subscriptions::plan_code,
            subscriptions::status,
            subscriptions::current_period_end,
        ))
        .load(&mut app.connect())
        .unwrap()
}

fn current(app: &TestApp, address: &str) -> Vec<Row> {
    subscriptions_of(app, address)
        .into_iter()
        .filter(|r| r.status != "ended")
        .collect()
}

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
    let app =
        TestApp::spawn_with(|s| s.payment_gateway = gazette::config::GatewayChoice::Disabled).await;
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
    let app = TestApp::spawn_with(|s| s.free_articles_per_month = 1).await;
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
    let app = TestApp::spawn_with(|s| s.free_articles_per_month = 0).await;
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
async fn two_tabs_subscribing_at_once_are_charged_once_and_make_one_subscription() {
    let gateway = RecordingGateway::new(0, std::time::Duration::from_millis(400));
    let app = TestApp::spawn_with_gateway(gateway.clone()).await;
    let reader = Reader::signed_up(&app, "double@example.com").await;
    let token = reader.csrf_token().await;
    let tab = reader.copy();
    let pages = join_all([
        reader.post("/subscribe", &[("plan", "monthly"), ("csrf_token", &token)]),
        tab.post("/subscribe", &[("plan", "yearly"), ("csrf_token", &token)]),
        reader.post("/subscribe", &[("plan", "yearly"), ("csrf_token", &token)]),
    ])
    .await;
    for page in &pages {
        assert_eq!(
            page.status,
            StatusCode::SEE_OTHER,
            "a normal answer: {}",
            page.body
        );
    }
    assert_eq!(gateway.charges().len(), 1, "{:?}", gateway.charges());
    assert_eq!(subscriptions_of(&app, "double@example.com").len(), 1);
}

#[tokio::test]
async fn a_cancelled_subscription_reads_until_the_period_ends_and_not_after() {
    let app = TestApp::spawn_with(|s| s.free_articles_per_month = 0).await;
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
    let app = TestApp::spawn_with(|s| s.free_articles_per_month = 0).await;
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
    let app = TestApp::spawn_with(|s| s.free_articles_per_month = 0).await;
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

/// Records every charge after some latency; fails the first `failures` of them.
struct RecordingGateway {
    charges: std::sync::Mutex<Vec<(String, i32)>>,
    failures: std::sync::atomic::AtomicUsize,
    failure: fn() -> PaymentError,
    latency: std::time::Duration,
}

impl RecordingGateway {
    fn new(declines: usize, latency: std::time::Duration) -> std::sync::Arc<Self> {
        Self::failing(
            declines,
            || PaymentError::Declined("insufficient funds".into()),
            latency,
        )
    }

    fn failing(
        failures: usize,
        failure: fn() -> PaymentError,
        latency: std::time::Duration,
    ) -> std::sync::Arc<Self> {
        std::sync::Arc::new(Self {
            charges: Default::default(),
            failures: failures.into(),
            failure,
            latency,
        })
    }

    fn charges(&self) -> Vec<(String, i32)> {
        self.charges.lock().unwrap().clone()
    }
}

impl PaymentGateway for RecordingGateway {
    fn name(&self) -> &'static str {
        "recording"
    }

    fn is_test(&self) -> bool {
        true
    }

    fn charge(&self, request: ChargeRequest) -> ChargeFuture<'_> {
        Box::pin(async move {
            self.charges
                .lock()
                .unwrap()
                .push((request.idempotency_key.clone(), request.amount_cents));
            tokio::time::sleep(self.latency).await;
            let fails = self
                .failures
                .fetch_update(
                    std::sync::atomic::Ordering::SeqCst,
                    std::sync::atomic::Ordering::SeqCst,
                    |n| n.checked_sub(1),
                )
                .is_ok();
            if fails {
                Err((self.failure)())
            } else {
                Ok(Charge {
                    reference: format!("ref-{}", request.idempotency_key),
                })
            }
        })
    }
}

const QUICK: std::time::Duration = std::time::Duration::from_millis(50);

#[tokio::test]
async fn a_double_submit_is_charged_once() {
    let gateway = RecordingGateway::new(0, QUICK);
    let app = TestApp::spawn_with_gateway(gateway.clone()).await;
    let reader = Reader::signed_up(&app, "once@example.com").await;
    let token = reader.csrf_token().await;
    let tab = reader.copy();
    let pages = join_all([
        reader.post("/subscribe", &[("plan", "monthly"), ("csrf_token", &token)]),
        tab.post("/subscribe", &[("plan", "monthly"), ("csrf_token", &token)]),
        reader.post("/subscribe", &[("plan", "monthly"), ("csrf_token", &token)]),
    ])
    .await;
    assert!(pages.iter().all(|p| p.status == StatusCode::SEE_OTHER));
    assert_eq!(gateway.charges().len(), 1, "{:?}", gateway.charges());
    assert_eq!(current(&app, "once@example.com").len(), 1);
}

#[tokio::test]
async fn a_declined_payment_changes_nothing_and_a_retry_is_a_new_charge() {
    let gateway = RecordingGateway::new(1, QUICK);
    let app = TestApp::spawn_with_gateway(gateway.clone()).await;
    let reader = Reader::signed_up(&app, "declined@example.com").await;

    let page = reader.subscribe("monthly").await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("The payment was declined"));
    assert!(page.body.contains("You have not been charged"));
    assert!(subscriptions_of(&app, "declined@example.com").is_empty());

    assert_eq!(
        reader.subscribe("monthly").await.status,
        StatusCode::SEE_OTHER
    );
    let charges = gateway.charges();
    assert_eq!(charges.len(), 2);
    assert_ne!(
        charges[0].0, charges[1].0,
        "the retry is not mistaken for the declined attempt"
    );
    assert_eq!(current(&app, "declined@example.com").len(), 1);
}

#[tokio::test]
async fn upgrading_mid_period_is_charged_less_the_unused_part() {
    let gateway = RecordingGateway::new(0, QUICK);
    let app = TestApp::spawn_with_gateway(gateway.clone()).await;
    let reader = Reader::signed_up(&app, "upgrade@example.com").await;
    reader.subscribe("monthly").await;
    app.clock.advance(Duration::days(10));
    reader.subscribe("yearly").await;

    // 20 of the 30 paid days were unused: $5.33 of credit against $80.00.
    let amounts: Vec<i32> = gateway
        .charges()
        .iter()
        .map(|(_, amount)| *amount)
        .collect();
    assert_eq!(amounts, [800, 7467]);
    let rows = current(&app, "upgrade@example.com");
    assert_eq!(rows[0].plan_code, "yearly");
}

#[tokio::test]
async fn downgrading_keeps_the_paid_year_and_charges_nothing() {
    let gateway = RecordingGateway::new(0, QUICK);
    let app = TestApp::spawn_with_gateway(gateway.clone()).await;
    let reader = Reader::signed_up(&app, "downgrade@example.com").await;
    reader.subscribe("yearly").await;
    let paid_until = current(&app, "downgrade@example.com")[0].current_period_end;
    app.clock.advance(Duration::days(10));
    assert_eq!(
        reader.subscribe("monthly").await.status,
        StatusCode::SEE_OTHER
    );

    assert_eq!(gateway.charges().len(), 1, "only the yearly payment");
    let rows = current(&app, "downgrade@example.com");
    assert_eq!(rows[0].plan_code, "monthly");
    assert_eq!(rows[0].current_period_end, paid_until);
}

#[tokio::test]
async fn an_unconfirmed_payment_is_asked_again_with_the_same_key_never_charged_twice() {
    let gateway =
        RecordingGateway::failing(1, || PaymentError::Unavailable("timed out".into()), QUICK);
    let app = TestApp::spawn_with_gateway(gateway.clone()).await;
    let reader = Reader::signed_up(&app, "unsure@example.com").await;

    let page = reader.subscribe("yearly").await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(page.body.contains("you will not be charged twice"));
    assert!(
        !page.body.contains("You have not been charged"),
        "nobody knows that"
    );

    // Straight away: the first attempt might still be under way.
    reader.subscribe("yearly").await;
    assert_eq!(gateway.charges().len(), 1);
    assert!(reader.get("/").await.body.contains("already under way"));

    app.clock.advance(Duration::minutes(3));
    assert_eq!(
        reader.subscribe("yearly").await.status,
        StatusCode::SEE_OTHER
    );
    let keys: Vec<String> = gateway.charges().into_iter().map(|(key, _)| key).collect();
    assert_eq!(keys.len(), 2);
    assert_eq!(
        keys[0], keys[1],
        "the processor sees the same checkout, so it cannot charge twice"
    );
    assert_eq!(current(&app, "unsure@example.com")[0].plan_code, "yearly");
}

/// A payment the processor took, whose request stopped before recording it.
fn leave_paid_checkout(app: &TestApp, address: &str) {
    diesel::sql_query(
        "INSERT INTO checkouts (user_id, plan_code, amount_cents, period_value_cents, period_end, gateway, gateway_reference, started_at) \
         SELECT id, 'monthly', 800, 800, $1 + interval '1 month', 'test', 'test-lost', $1 FROM users WHERE email = $2",
    )
    .bind::<diesel::sql_types::Timestamptz, _>(START)
    .bind::<diesel::sql_types::Text, _>(address)
    .execute(&mut app.connect())
    .unwrap();
}

#[tokio::test]
async fn a_payment_taken_but_not_recorded_is_recorded_on_the_next_try_not_charged_again() {
    let gateway = RecordingGateway::new(0, QUICK);
    let app = TestApp::spawn_with_gateway(gateway.clone()).await;
    let reader = Reader::signed_up(&app, "lost@example.com").await;
    leave_paid_checkout(&app, "lost@example.com");

    assert_eq!(
        reader.subscribe("monthly").await.status,
        StatusCode::SEE_OTHER
    );
    assert!(gateway.charges().is_empty(), "no new charge");
    assert!(
        reader
            .get("/")
            .await
            .body
            .contains("Your earlier payment went through")
    );
    assert_eq!(current(&app, "lost@example.com").len(), 1);
}

#[tokio::test]
async fn housekeeping_records_a_payment_left_unrecorded() {
    let app = TestApp::spawn().await;
    Reader::signed_up(&app, "swept@example.com").await;
    leave_paid_checkout(&app, "swept@example.com");
    let mut conn = app.connect();
    assert_eq!(
        gazette::housekeeping::record_paid_checkouts(&mut conn, START + Duration::minutes(5))
            .unwrap(),
        1
    );
    assert_eq!(
        gazette::housekeeping::record_paid_checkouts(&mut conn, START + Duration::minutes(5))
            .unwrap(),
        0
    );
    let rows = current(&app, "swept@example.com");
    assert_eq!((rows.len(), rows[0].plan_code.as_str()), (1, "monthly"));
}

#[tokio::test]
async fn switching_back_after_a_downgrade_charges_only_the_difference() {
    let gateway = RecordingGateway::new(0, QUICK);
    let app = TestApp::spawn_with_gateway(gateway.clone()).await;
    let reader = Reader::signed_up(&app, "backforth@example.com").await;
    reader.subscribe("yearly").await;
    app.clock.advance(Duration::days(10));
    reader.subscribe("monthly").await;
    app.clock.advance(Duration::days(10));
    reader.subscribe("yearly").await;

    let amounts: Vec<i32> = gateway
        .charges()
        .iter()
        .map(|(_, amount)| *amount)
        .collect();
    assert_eq!(amounts.len(), 2, "{amounts:?}");
    assert_eq!(amounts[0], 8000);
    // 20 of 365 days were used: about $4.38 to pay for a fresh year.
    assert!((400..=500).contains(&amounts[1]), "{amounts:?}");
}
