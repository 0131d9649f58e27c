//! Retention offers through Stripe: pressing cancel offers the deal once, then cancels at
//! Stripe; taking it puts the offer's coupon on the live Stripe subscription, and Stripe's next
//! renewal is discounted; bursts of identical accepts take one redemption and apply the coupon
//! once per reader; Stripe down on accept gives the redemption back and changes nothing, while
//! a coupon applied whose answer was lost keeps it; a trial is never offered one.

use gazette::clock::Clock;
use gazette::domain::offer::{Deal, Lasting};
use time::Duration;

use super::*;
use crate::billing::retention::{
    fifth_off, keep, kept, plain_offer, redeemed, retention_offer, shown_and_taken, take,
};

const READERS: usize = 8;
const CLICKS: usize = 4;

/// A fake Stripe and an app paying through it, taking many sign-ups from its own addresses.
async fn retention_shop() -> (FakeStripe, TestApp) {
    shop_with(|s| {
        s.trust_proxy_headers = true;
        s.limits.signups_per_address = 100;
        s.database_pool_size = 10;
    })
    .await
}

/// Updates of Stripe subscriptions (cancel at the period's end, coupons).
fn updates(fake: &FakeStripe) -> usize {
    requests_to(fake, "POST", "/v1/subscriptions/")
}

fn coupon_on(fake: &FakeStripe, sub: &str) -> Option<String> {
    fake.subscription(sub)["discount"]["coupon"]["id"]
        .as_str()
        .map(str::to_string)
}

fn invoice_amounts(fake: &FakeStripe, sub: &str) -> Vec<i64> {
    fake.invoices_of(sub)
        .iter()
        .map(|i| i["amount_paid"].as_i64().unwrap())
        .collect()
}

async fn delivered(fake: &FakeStripe) {
    let statuses = fake.deliver_pending().await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
}

#[tokio::test]
async fn pressing_cancel_offers_the_deal_once_then_cancel_cancels_at_stripe() {
    let (fake, app) = retention_shop().await;
    retention_offer(&app, "stay", fifth_off(Lasting::Once), None);
    let (reader, sub) = subscriber(&fake, &app, "stripe-leaving@example.com", "monthly").await;
    app.clock.advance(Duration::days(3));
    let before = updates(&fake);

    let page = reader.cancel_subscription().await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Before you go"), "{}", page.body);
    assert_eq!(fake.subscription(&sub)["cancel_at_period_end"], false);
    assert_eq!(updates(&fake), before, "Stripe was not asked anything");
    assert!(
        kept(&app, "stripe-leaving@example.com")
            .offered_at
            .is_some()
    );

    let page = reader.cancel_subscription().await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(fake.subscription(&sub)["cancel_at_period_end"], true);
    assert_eq!(updates(&fake), before + 1);
    delivered(&fake).await;
    assert_eq!(kept(&app, "stripe-leaving@example.com").status, "canceled");
    // Canceled: the offer is no longer one to take.
    assert_eq!(keep(&reader, "stay").await.status, StatusCode::CONFLICT);
    assert_eq!(coupon_on(&fake, &sub), None);
    assert_eq!(redeemed(&app, "stay"), (0, 0));
    assert_eq!(shown_and_taken(&app), (1, 0));
}

#[tokio::test]
async fn accepting_puts_the_coupon_on_the_stripe_subscription_and_the_next_renewal_is_discounted() {
    let (fake, app) = retention_shop().await;
    retention_offer(&app, "stay", fifth_off(Lasting::Once), None);
    let email = "stripe-staying@example.com";
    let (reader, sub) = subscriber(&fake, &app, email, "monthly").await;
    app.clock.advance(Duration::days(3));
    assert_eq!(reader.cancel_subscription().await.status, StatusCode::OK);
    let before = updates(&fake);

    let page = keep(&reader, "stay").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location(), Some("/account"));
    assert_eq!(coupon_on(&fake, &sub).as_deref(), Some("gazette-stay"));
    assert_eq!(fake.coupons().len(), 1);
    assert_eq!(updates(&fake), before + 1, "one update of the subscription");
    let stripe_sub = fake.subscription(&sub);
    assert_eq!(stripe_sub["cancel_at_period_end"], false);
    assert_eq!(redeemed(&app, "stay"), (1, 1));
    let row = kept(&app, email);
    assert_eq!(row.status, "active");
    assert_eq!(row.offer_code.as_deref(), Some("stay"));
    assert_eq!(row.discount_from, Some(row.period_end));
    assert_eq!(row.period_end, MONTH_LATER);
    let account = reader.get("/account").await;
    assert!(
        account.body.contains("Thank you for staying"),
        "{}",
        account.body
    );
    assert!(account.body.contains("20 % off from"), "{}", account.body);

    // A second click: the same answer, Stripe not asked again, nothing more taken.
    let page = keep(&reader, "stay").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(updates(&fake), before + 1);
    assert_eq!(redeemed(&app, "stay"), (1, 1));

    // Stripe's event of the update is applied; the discount stays noted.
    delivered(&fake).await;
    let row = kept(&app, email);
    assert_eq!(row.offer_code.as_deref(), Some("stay"));
    assert_eq!(row.discount_from, Some(MONTH_LATER));

    // The next renewal is charged 20 % off, the one after in full.
    app.clock.advance(MONTH_LATER - app.clock.now());
    fake.renew(&sub, Renewal::Paid);
    delivered(&fake).await;
    assert_eq!(invoice_amounts(&fake, &sub), vec![800, 640]);
    app.clock.advance(Duration::days(31));
    fake.renew(&sub, Renewal::Paid);
    delivered(&fake).await;
    assert_eq!(invoice_amounts(&fake, &sub), vec![800, 640, 800]);
    let row = kept(&app, email);
    assert_eq!(row.status, "active");
    // Still noted as taken: a later press of cancel makes no second offer.
    assert_eq!(row.offer_code.as_deref(), Some("stay"));
    assert_eq!(redeemed(&app, "stay"), (1, 1));
}

#[tokio::test]
async fn bursts_of_identical_accepts_take_one_redemption_and_apply_the_coupon_once_per_reader() {
    let (fake, app) = retention_shop().await;
    retention_offer(&app, "stay", fifth_off(Lasting::Months(3)), None);
    let readers = crate::billing::readers(&app, READERS, "stripe-stay", 11).await;
    let mut subs = Vec::new();
    for (reader, _) in &readers {
        let (_, session) = to_checkout(reader, "monthly", "").await;
        fake.pay(&session);
        delivered(&fake).await;
        let sub = fake
            .sessions()
            .into_iter()
            .find(|s| s["id"] == session.as_str())
            .unwrap()["subscription"]
            .as_str()
            .unwrap()
            .to_string();
        subs.push(sub);
    }
    app.clock.advance(Duration::days(3));
    for (reader, email) in &readers {
        let page = reader.cancel_subscription().await;
        assert_eq!(page.status, StatusCode::OK, "{email}: {}", page.body);
    }
    let before = updates(&fake);
    fake.set_latency(std::time::Duration::from_millis(100));

    let answers = crate::billing::burst(&readers, CLICKS, |_| {
        ("/account/subscription/retain", vec![("offer", "stay")])
    })
    .await;
    for page in &answers {
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        assert_eq!(page.location(), Some("/account"));
    }
    assert_eq!(
        updates(&fake) - before,
        READERS,
        "one coupon applied per reader"
    );
    assert_eq!(fake.coupons().len(), 1, "one coupon for the offer");
    assert_eq!(redeemed(&app, "stay"), (READERS as i32, READERS as i64));
    for ((_, email), sub) in readers.iter().zip(&subs) {
        assert_eq!(
            coupon_on(&fake, sub).as_deref(),
            Some("gazette-stay"),
            "{email}"
        );
        let row = kept(&app, email);
        assert_eq!(row.offer_code.as_deref(), Some("stay"), "{email}");
        assert_eq!(row.discount_from, Some(row.period_end), "{email}");
    }
    assert_eq!(shown_and_taken(&app), (READERS as i64, READERS as i64));
    // Every first invoice was paid in full; nothing more charged.
    assert!(fake.invoices().iter().all(|i| i["amount_paid"] == 800));
    assert_eq!(fake.invoices().len(), READERS);
    println!(
        "stripe retention burst: {READERS} readers x {CLICKS} clicks -> {} redemptions, {} coupon \
         applications",
        redeemed(&app, "stay").0,
        updates(&fake) - before
    );
}

#[tokio::test]
async fn stripe_down_on_accept_gives_the_redemption_back_and_changes_nothing() {
    let (fake, app) = retention_shop().await;
    retention_offer(&app, "stay", fifth_off(Lasting::Forever), Some(1));
    let email = "stripe-down@example.com";
    let (reader, sub) = subscriber(&fake, &app, email, "monthly").await;
    app.clock.advance(Duration::days(3));
    assert_eq!(reader.cancel_subscription().await.status, StatusCode::OK);

    fake.set_down(true);
    let page = keep(&reader, "stay").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    fake.set_down(false);
    let account = reader.get("/account").await;
    assert!(
        account.body.contains("the offer was not applied"),
        "{}",
        account.body
    );
    assert!(!account.body.contains("20 % off"), "{}", account.body);
    assert_eq!(redeemed(&app, "stay"), (0, 0), "the redemption given back");
    let row = kept(&app, email);
    assert_eq!((row.offer_code, row.discount_from), (None, None));
    assert_eq!(coupon_on(&fake, &sub), None);
    assert_eq!(fake.subscription(&sub)["cancel_at_period_end"], false);

    // Stripe back: the offer (limit 1) can still be taken, once.
    let page = keep(&reader, "stay").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(coupon_on(&fake, &sub).as_deref(), Some("gazette-stay"));
    assert_eq!(redeemed(&app, "stay"), (1, 1));
    assert!(reader.get("/account").await.body.contains("20 % off"));
}

#[tokio::test]
async fn a_trial_at_stripe_is_never_offered_one() {
    let (fake, app) = retention_shop().await;
    retention_offer(&app, "stay", fifth_off(Lasting::Once), None);
    plain_offer(&app, "try", Deal::Trial { days: 14 });
    let email = "stripe-trying@example.com";
    let reader = Reader::signed_up(&app, email).await;
    let page = take(&reader, "try").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let session = FakeStripe::session_of_page(page.location().unwrap());
    fake.pay(&session);
    delivered(&fake).await;
    let sub = fake
        .sessions()
        .into_iter()
        .find(|s| s["id"] == session.as_str())
        .unwrap()["subscription"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(fake.subscription(&sub)["status"], "trialing");
    app.clock.advance(Duration::days(3));

    let page = reader.cancel_subscription().await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(fake.subscription(&sub)["cancel_at_period_end"], true);
    assert_eq!(keep(&reader, "stay").await.status, StatusCode::CONFLICT);
    assert_eq!(coupon_on(&fake, &sub), None);
    assert_eq!(redeemed(&app, "stay"), (0, 0));
    assert_eq!(shown_and_taken(&app), (0, 0));
}

#[tokio::test]
async fn a_coupon_applied_whose_answer_is_lost_keeps_its_redemption() {
    let (fake, app) = retention_shop().await;
    retention_offer(&app, "stay", fifth_off(Lasting::Once), Some(5));
    let email = "stripe-lost@example.com";
    let (reader, sub) = subscriber(&fake, &app, email, "monthly").await;
    app.clock.advance(Duration::days(3));
    assert_eq!(reader.cancel_subscription().await.status, StatusCode::OK);

    // Stripe applies the coupon, but its answers to the update never arrive.
    fake.lose_answers_to(Some("POST /v1/subscriptions/"));
    let page = keep(&reader, "stay").await;
    fake.lose_answers_to(None);
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(coupon_on(&fake, &sub).as_deref(), Some("gazette-stay"));
    assert_eq!(
        redeemed(&app, "stay"),
        (1, 1),
        "the coupon applied keeps it"
    );
    let row = kept(&app, email);
    assert_eq!(row.offer_code.as_deref(), Some("stay"));
    assert_eq!(row.discount_from, Some(MONTH_LATER));
    let account = reader.get("/account").await;
    assert!(
        account.body.contains("Thank you for staying"),
        "{}",
        account.body
    );
}
