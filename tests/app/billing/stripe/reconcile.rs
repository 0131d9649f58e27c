//! Reconciliation: what Stripe's events did not bring is caught up by housekeeping.

use std::time::Duration as StdDuration;

use time::Duration;

use super::*;

/// Waits (a few seconds at most) until `done` holds; housekeeping runs in the background.
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..100 {
        if done() {
            return;
        }
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    panic!("{what} did not happen");
}

/// An address where nothing listens: Gazette is down.
fn nowhere() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}/webhooks/stripe")
}

#[tokio::test]
async fn a_webhook_lost_while_gazette_was_down_is_applied_by_reconciliation() {
    let (fake, app) = shop().await;
    let reader = Reader::signed_up(&app, "offline@example.com").await;
    let (_, session) = to_checkout(&reader, "monthly", "").await;

    // Gazette goes down; the reader pays and closes the tab; Stripe's deliveries fail.
    fake.send_webhooks_to(&nowhere());
    fake.pay(&session);
    let statuses = fake.deliver_pending().await;
    assert!(statuses.iter().all(|s| *s == 0), "{statuses:?}");
    assert!(subscriptions_of(&app, "offline@example.com").is_empty());

    // Gazette is back (another instance on the same database); its housekeeping lists the
    // events Stripe could not deliver and applies them. The checkout is too recent to be
    // asked about, so only the events can bring the payment.
    let back = TestApp::builder()
        .sharing(&app)
        .stripe(&fake)
        .settings(|s| {
            s.housekeeping_interval = StdDuration::from_millis(200);
        })
        .start()
        .await;
    eventually("the payment recorded", || {
        current(&back, "offline@example.com").len() == 1
    })
    .await;
    let listings = || {
        fake.requests()
            .into_iter()
            .filter(|r| r.path == "/v1/events")
            .count()
    };
    let listed = listings();
    assert!(listed >= 1, "the events API was asked");
    assert_eq!(hosted_checkouts(&back), 0);
    // The first instance hears of the payment through the database's notification, a moment
    // after the second recorded it.
    let deadline = std::time::Instant::now() + StdDuration::from_secs(10);
    while reader.read_article(app.premium_ids()[0]).await.status != StatusCode::OK {
        assert!(
            std::time::Instant::now() < deadline,
            "the reader never read as a subscriber"
        );
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }

    // When Stripe retries the deliveries later, they are known already. The pass that
    // recorded the payment may still be applying the events after it; passes run one after
    // another, so once the next one has asked for the list, it is done.
    eventually("the next reconciliation pass", || listings() > listed).await;
    fake.send_webhooks_to(&back.url("/webhooks/stripe"));
    let applied = events_applied(&back);
    assert!(fake.deliver_pending().await.iter().all(|s| *s == 200));
    assert_eq!(events_applied(&back), applied);
}

#[tokio::test]
async fn a_checkout_paid_while_its_events_were_lost_is_recorded_once_it_is_quiet() {
    let (fake, app) = shop_with(|s| s.housekeeping_interval = StdDuration::from_millis(200)).await;
    let reader = Reader::signed_up(&app, "lost@example.com").await;
    let (_, session) = to_checkout(&reader, "yearly", "").await;
    fake.pay(&session);
    fake.lose_pending();
    tokio::time::sleep(StdDuration::from_millis(600)).await;
    assert!(
        subscriptions_of(&app, "lost@example.com").is_empty(),
        "a fresh checkout is left to its events"
    );
    app.clock.advance(Duration::minutes(11));
    eventually("the checkout settled", || {
        current(&app, "lost@example.com").len() == 1
    })
    .await;
    assert_eq!(current(&app, "lost@example.com")[0].plan_code, "yearly");
    assert_eq!(hosted_checkouts(&app), 0);
}

#[tokio::test]
async fn for_a_reader_with_an_open_checkout_stripes_subscriptions_are_compared_with_gazettes() {
    let (fake, app) = shop_with(|s| s.housekeeping_interval = StdDuration::from_millis(200)).await;
    let reader = Reader::signed_up(&app, "dashboard@example.com").await;
    to_checkout(&reader, "monthly", "").await;
    // The reader does not pay on the page; the publisher subscribes them in Stripe's
    // dashboard instead, and those events are lost.
    let customer = fake.customers_of("dashboard@example.com")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let sub = fake.sell_to(&customer, YEARLY);
    fake.lose_pending();
    app.clock.advance(Duration::minutes(11));
    eventually("the subscription found", || {
        current(&app, "dashboard@example.com")
            .first()
            .is_some_and(|row| row.gateway_reference == sub && row.plan_code == "yearly")
    })
    .await;
}

#[tokio::test]
async fn an_abandoned_checkout_is_closed_once_stripe_expires_it() {
    let (fake, app) = shop_with(|s| s.housekeeping_interval = StdDuration::from_millis(200)).await;
    let reader = Reader::signed_up(&app, "abandoned@example.com").await;
    to_checkout(&reader, "monthly", "").await;
    app.clock.advance(Duration::hours(2));
    tokio::time::sleep(StdDuration::from_millis(600)).await;
    assert_eq!(hosted_checkouts(&app), 1, "still payable: kept");
    app.clock.advance(Duration::hours(23));
    eventually("the checkout closed", || hosted_checkouts(&app) == 0).await;
    assert!(subscriptions_of(&app, "abandoned@example.com").is_empty());
    // The reader can start again: a new page.
    let (_, again) = to_checkout(&reader, "monthly", "").await;
    assert_eq!(fake.sessions().len(), 2);
    assert!(
        fake.sessions()
            .iter()
            .any(|s| s["id"] == again && s["status"] == "open")
    );
}

#[tokio::test]
async fn a_renewal_whose_events_were_lost_is_found_as_the_period_ends() {
    let (fake, app) = shop_with(|s| s.housekeeping_interval = StdDuration::from_millis(200)).await;
    let (reader, sub) = subscriber(&fake, &app, "renewal@example.com", "monthly").await;
    let renewed_at = START + Duration::days(30);
    app.clock.set(renewed_at + Duration::minutes(1));
    fake.renew(&sub, Renewal::Paid);
    fake.lose_pending();
    eventually("the renewal found", || {
        current(&app, "renewal@example.com")
            .first()
            .is_some_and(|row| row.current_period_end == renewed_at + Duration::days(31))
    })
    .await;
    reader.log_in("renewal@example.com", PASSWORD).await;
    assert_eq!(
        reader.read_article(app.premium_ids()[0]).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn reconciliation_while_stripe_is_down_changes_nothing_and_tries_again_later() {
    let (fake, app) = shop_with(|s| s.housekeeping_interval = StdDuration::from_millis(200)).await;
    let reader = Reader::signed_up(&app, "patient@example.com").await;
    let (_, session) = to_checkout(&reader, "monthly", "").await;
    fake.pay(&session);
    fake.lose_pending();
    fake.set_down(true);
    app.clock.advance(Duration::minutes(11));
    tokio::time::sleep(StdDuration::from_millis(800)).await;
    assert!(subscriptions_of(&app, "patient@example.com").is_empty());
    assert_eq!(hosted_checkouts(&app), 1);
    fake.set_down(false);
    app.clock.advance(Duration::minutes(11));
    eventually("the payment recorded", || {
        current(&app, "patient@example.com").len() == 1
    })
    .await;
}
