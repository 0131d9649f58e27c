//! Renewals, failed payments, cancelling (Gazette's button and Stripe's portal), and ending a
//! subscription at once.

use std::sync::Arc;

use gazette::billing::{Billing, EndedNow};
use gazette::domain::ids::UserId;
use gazette::payments::Gateway;
use time::Duration;

use super::*;

#[tokio::test]
async fn a_paid_renewal_extends_the_period() {
    let (fake, app) = shop().await;
    let (reader, sub) = subscriber(&fake, &app, "renews@example.com", "monthly").await;
    app.clock.set(MONTH_LATER);
    fake.renew(&sub, Renewal::Paid);
    assert!(fake.deliver_pending().await.iter().all(|s| *s == 200));
    // A month on, the login has expired: the reader logs in again.
    reader.log_in("renews@example.com", PASSWORD).await;

    let row = &current(&app, "renews@example.com")[0];
    assert_eq!(row.current_period_start, MONTH_LATER);
    assert_eq!(row.current_period_end, MONTH_LATER + Duration::days(31));
    let account = reader.get("/account").await;
    assert!(
        account.body.contains("Renews on</dt><dd>26 January 2027"),
        "{}",
        account.body
    );
    assert_eq!(
        reader.read_article(app.premium_ids()[0]).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_failed_renewal_keeps_the_reader_reading_with_a_notice_and_a_link_to_pay() {
    let (fake, app) = shop().await;
    let (reader, sub) = subscriber(&fake, &app, "declined@example.com", "monthly").await;
    let article = app.premium_ids()[0];
    app.clock.set(MONTH_LATER + Duration::minutes(5));
    fake.renew(&sub, Renewal::Declined);
    let kinds: Vec<String> = fake.events().into_iter().map(|e| e.kind).collect();
    assert!(kinds.contains(&"invoice.payment_failed".to_string()));
    assert!(fake.deliver_pending().await.iter().all(|s| *s == 200));
    reader.log_in("declined@example.com", PASSWORD).await;

    // While Stripe tries again, the reader reads on, told to fix the payment.
    assert_eq!(
        reader.read_article(article).await.status,
        StatusCode::OK,
        "access carries on while Stripe retries"
    );
    let front = reader.get("/").await;
    assert!(
        front.body.contains("class=\"payment-notice\""),
        "a banner on every page: {}",
        front.body
    );
    let account = reader.get("/account").await;
    assert!(account.body.contains("Payment failed"), "{}", account.body);
    assert!(
        account.body.contains(
            "Your renewal payment of $8.00 did not go through. You can keep reading while the \
             payment processor tries again"
        ),
        "{}",
        account.body
    );
    let invoice = fake.subscription(&sub)["latest_invoice"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        account
            .body
            .contains(&format!("href=\"{}/invoice/{invoice}\"", fake.url)),
        "a link to pay it"
    );
    assert!(
        account.body.contains("action=\"/account/billing\""),
        "and to change the card"
    );
    assert!(!account.body.contains("Renews on"));
    // Subscribing again leads to paying what is due, never to a second subscription.
    let again = subscribe_from(&reader, "monthly", "").await;
    assert_eq!(
        again.location(),
        Some(format!("{}/invoice/{invoice}", fake.url).as_str())
    );

    fake.pay_invoice(&invoice);
    assert!(fake.deliver_pending().await.iter().all(|s| *s == 200));
    assert_eq!(reader.read_article(article).await.status, StatusCode::OK);
    let account = reader.get("/account").await;
    assert!(!account.body.contains("Payment failed"));
    assert!(!account.body.contains("payment-notice"));
    assert!(account.body.contains("Renews on</dt><dd>26 January 2027"));
}

#[tokio::test]
async fn access_ends_when_stripe_gives_up_on_a_failed_renewal() {
    let (fake, app) = shop().await;
    let article = app.premium_ids()[0];
    let mut readers = Vec::new();
    for email in ["marked-unpaid@example.com", "cancelled-unpaid@example.com"] {
        readers.push((email, subscriber(&fake, &app, email, "monthly").await));
    }
    app.clock.set(MONTH_LATER + Duration::minutes(5));
    for (_, (_, sub)) in &readers {
        fake.renew(sub, Renewal::Declined);
    }
    assert!(fake.deliver_pending().await.iter().all(|s| *s == 200));
    for (email, (reader, _)) in &readers {
        reader.log_in(email, PASSWORD).await;
        assert_eq!(
            reader.read_article(article).await.status,
            StatusCode::OK,
            "{email}: Stripe still retries"
        );
    }

    // Its retries over, Stripe marks one subscription unpaid and cancels the other, as the
    // account's settings say.
    app.clock.set(MONTH_LATER + Duration::days(14));
    fake.mark_unpaid(&readers[0].1.1);
    fake.end_subscription(&readers[1].1.1);
    assert!(fake.deliver_pending().await.iter().all(|s| *s == 200));
    for (email, (reader, _)) in &readers {
        assert_eq!(
            reader.read_article(article).await.status,
            StatusCode::PAYMENT_REQUIRED,
            "{email}: the paywall once Stripe gave up"
        );
    }
    let unpaid = readers[0].1.0.get("/account").await;
    assert!(
        unpaid
            .body
            .contains("did not go through, so reading everything is paused"),
        "{}",
        unpaid.body
    );
    assert!(unpaid.body.contains("Paid until</dt><dd>26 December 2026"));
    let cancelled = readers[1].1.0.get("/account").await;
    assert!(
        cancelled.body.contains("You do not subscribe yet"),
        "{}",
        cancelled.body
    );
    assert!(!cancelled.body.contains("payment-notice"));
}

#[tokio::test]
async fn cancelling_in_the_portal_comes_back_by_webhook_and_access_ends_when_stripe_ends_it() {
    let (fake, app) = shop().await;
    let (reader, sub) = subscriber(&fake, &app, "portal@example.com", "monthly").await;
    let article = app.premium_ids()[0];
    let portal = reader
        .post(
            "/account/billing",
            &[("csrf_token", &reader.csrf_token().await)],
        )
        .await;
    assert_eq!(portal.status, StatusCode::SEE_OTHER);
    let portal = portal.location().unwrap().to_string();
    assert!(
        portal.starts_with(&format!("{}/portal/bps_", fake.url)),
        "{portal}"
    );
    let portal_request = fake
        .requests()
        .into_iter()
        .find(|r| r.path == "/v1/billing_portal/sessions")
        .unwrap();
    assert!(portal_request.authorized);

    // The reader cancels on Stripe's page, which sends them back to the account page.
    let cancelled = crate::support::http_client()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{portal}/cancel"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        cancelled.headers()["location"].to_str().unwrap(),
        app.url("/account")
    );
    assert!(fake.deliver_pending().await.iter().all(|s| *s == 200));
    let account = reader.get("/account").await;
    assert!(account.body.contains("Cancelled"), "{}", account.body);
    assert!(
        account
            .body
            .contains("Access until</dt><dd>26 December 2026")
    );
    assert_eq!(reader.read_article(article).await.status, StatusCode::OK);

    // At the period's end Stripe ends it: access ends then.
    app.clock.set(MONTH_LATER);
    fake.end_subscription(&sub);
    assert!(fake.deliver_pending().await.iter().all(|s| *s == 200));
    reader.log_in("portal@example.com", PASSWORD).await;
    assert!(current(&app, "portal@example.com").is_empty());
    assert_eq!(
        subscriptions_of(&app, "portal@example.com")[0].status,
        "ended"
    );
    assert_eq!(
        reader.read_article(article).await.status,
        StatusCode::PAYMENT_REQUIRED
    );
}

#[tokio::test]
async fn a_subscription_deleted_at_stripe_mid_period_ends_access_then() {
    let (fake, app) = shop().await;
    let (reader, sub) = subscriber(&fake, &app, "refunded@example.com", "yearly").await;
    app.clock.advance(Duration::days(3));
    // The publisher cancels it at once from Stripe's dashboard.
    fake.end_subscription(&sub);
    assert!(fake.deliver_pending().await.iter().all(|s| *s == 200));
    let row = &subscriptions_of(&app, "refunded@example.com")[0];
    assert_eq!(row.status, "ended");
    assert_eq!(row.current_period_end, START + Duration::days(3));
    assert_eq!(
        reader.read_article(app.premium_ids()[0]).await.status,
        StatusCode::PAYMENT_REQUIRED
    );
}

#[tokio::test]
async fn gazettes_own_cancel_button_cancels_at_the_period_end_through_stripe() {
    let (fake, app) = shop().await;
    let (reader, sub) = subscriber(&fake, &app, "button@example.com", "monthly").await;
    let page = reader.cancel_subscription().await;
    assert_eq!(page.location(), Some("/account"));
    assert_eq!(fake.subscription(&sub)["cancel_at_period_end"], true);
    let account = reader.get("/account").await;
    assert!(
        account
            .body
            .contains("keep reading everything until 26 December 2026")
    );
    assert!(
        account
            .body
            .contains("Access until</dt><dd>26 December 2026")
    );
    assert_eq!(current(&app, "button@example.com")[0].status, "canceled");

    // Subscribing to the same plan again takes the cancellation back, at Stripe too.
    let resumed = subscribe_from(&reader, "monthly", "").await;
    assert_eq!(resumed.location(), Some("/account"));
    assert!(
        reader
            .get("/account")
            .await
            .body
            .contains("is active again")
    );
    assert_eq!(fake.subscription(&sub)["cancel_at_period_end"], false);
    assert_eq!(current(&app, "button@example.com")[0].status, "active");
    // Stripe's events about both changes arrive later and change nothing more.
    assert!(fake.deliver_pending().await.iter().all(|s| *s == 200));
    assert_eq!(current(&app, "button@example.com")[0].status, "active");
}

#[tokio::test]
async fn cancelling_while_stripe_is_down_says_so_and_changes_nothing() {
    let (fake, app) = shop().await;
    let (reader, sub) = subscriber(&fake, &app, "down@example.com", "monthly").await;
    fake.set_down(true);
    reader.cancel_subscription().await;
    assert!(
        reader
            .get("/account")
            .await
            .body
            .contains("could not reach the payment processor")
    );
    assert_eq!(fake.subscription(&sub)["cancel_at_period_end"], false);
    assert_eq!(current(&app, "down@example.com")[0].status, "active");
}

#[tokio::test]
async fn ending_a_subscription_now_cancels_it_at_stripe_at_once_with_no_further_charge() {
    let (fake, app) = shop().await;
    let (reader, sub) = subscriber(&fake, &app, "leaving@example.com", "monthly").await;
    let billing = billing_of(&app, &fake);
    let id = UserId::new(user_id(&app, "leaving@example.com"));
    assert_eq!(billing.end_now(id).await.unwrap(), EndedNow::Ended);
    let at_stripe = fake.subscription(&sub);
    assert_eq!(at_stripe["status"], "canceled");
    assert_eq!(at_stripe["ended_at"], fake.now());
    assert!(current(&app, "leaving@example.com").is_empty());
    assert_eq!(
        reader.read_article(app.premium_ids()[0]).await.status,
        StatusCode::PAYMENT_REQUIRED
    );
    // Twice is harmless.
    assert_eq!(billing.end_now(id).await.unwrap(), EndedNow::NothingToEnd);
}

#[tokio::test]
async fn ending_now_expires_an_open_checkout_so_it_can_no_longer_be_paid() {
    let (fake, app) = shop().await;
    let reader = Reader::signed_up(&app, "midway@example.com").await;
    let (_, session) = to_checkout(&reader, "monthly", "").await;
    let billing = billing_of(&app, &fake);
    let id = UserId::new(user_id(&app, "midway@example.com"));
    assert_eq!(billing.end_now(id).await.unwrap(), EndedNow::Ended);
    let page = fake
        .sessions()
        .into_iter()
        .find(|s| s["id"] == session)
        .unwrap();
    assert_eq!(page["status"], "expired");
    assert_eq!(hosted_checkouts(&app), 0);
}

#[tokio::test]
async fn ending_now_cancels_every_live_gazette_subscription_the_reader_has_at_stripe() {
    let (fake, app) = shop().await;
    let (_, sub) = subscriber(&fake, &app, "two@example.com", "monthly").await;
    let customer = fake.subscription(&sub)["customer"]
        .as_str()
        .unwrap()
        .to_string();
    // One Gazette never heard of (made in Stripe's dashboard), and another product's.
    let unknown = fake.sell_to(&customer, YEARLY);
    let other = fake.sell_another_product_to(&customer);
    let billing = billing_of(&app, &fake);
    billing
        .end_now(UserId::new(user_id(&app, "two@example.com")))
        .await
        .unwrap();
    assert_eq!(fake.subscription(&sub)["status"], "canceled");
    assert_eq!(fake.subscription(&unknown)["status"], "canceled");
    assert_eq!(
        fake.subscription(&other)["status"],
        "active",
        "not Gazette's to end"
    );
    assert!(current(&app, "two@example.com").is_empty());
}

#[tokio::test]
async fn ending_now_while_stripe_is_down_is_an_error_so_the_account_is_not_deleted_blindly() {
    let (fake, app) = shop().await;
    let (_, sub) = subscriber(&fake, &app, "stuck@example.com", "monthly").await;
    fake.set_down(true);
    let billing = billing_of(&app, &fake);
    let id = UserId::new(user_id(&app, "stuck@example.com"));
    assert!(billing.end_now(id).await.is_err());
    assert_eq!(fake.subscription(&sub)["status"], "active");
    assert_eq!(
        current(&app, "stuck@example.com").len(),
        1,
        "nothing ended here either"
    );
}

#[tokio::test]
async fn ending_now_a_subscription_gazette_runs_itself_ends_it_here() {
    let app = TestApp::spawn().await;
    let reader = Reader::signed_up(&app, "local@example.com").await;
    reader.subscribe("yearly").await;
    let pool = gazette::db::pool(&app.db.url, 2);
    let gateway = Gateway::ChargesNow(Arc::new(gazette::payments::TestGateway::default()));
    let billing = Billing::new(pool, app.clock.clone(), Some(gateway));
    let id = UserId::new(user_id(&app, "local@example.com"));
    assert_eq!(billing.end_now(id).await.unwrap(), EndedNow::Ended);
    assert!(current(&app, "local@example.com").is_empty());
    assert_eq!(billing.end_now(id).await.unwrap(), EndedNow::NothingToEnd);
}
