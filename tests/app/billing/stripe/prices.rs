//! Prices: a recorded subscription followed whatever its price, and plans in currencies
//! without minor units (yen) or with three decimals, shown and checked in their own units.

use std::sync::Arc;

use diesel::prelude::*;
use gazette::clock::ManualClock;
use time::Duration;

use super::*;
use crate::support::logs;
use crate::support::stripe::Price;

/// A monthly price the publisher made after `STRIPE_PRICES` was set: Stripe knows it,
/// Gazette's settings do not.
pub const ROTATED: &str = "price_monthly0002";

pub fn rotated() -> Price {
    Price {
        id: ROTATED,
        unit_amount: 900,
        currency: "usd",
        months: 1,
    }
}

#[tokio::test]
async fn a_subscription_moved_to_a_price_outside_the_plans_is_followed_through_its_renewals() {
    logs::capture();
    let (fake, app) = shop().await;
    let (reader, sub) = subscriber(&fake, &app, "rotated@example.com", "monthly").await;
    fake.add_price(rotated());
    fake.move_to_price(&sub, ROTATED);
    let statuses = fake.deliver_pending().await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");

    // Stripe renews and charges at the new price.
    app.clock.set(MONTH_LATER);
    fake.renew(&sub, Renewal::Paid);
    let statuses = fake.deliver_pending().await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    app.clock.set(MONTH_LATER + Duration::days(2));
    reader.log_in("rotated@example.com", PASSWORD).await;

    let row = &current(&app, "rotated@example.com")[0];
    assert_eq!(
        (row.plan_code.as_str(), row.current_period_end),
        ("monthly", MONTH_LATER + Duration::days(31)),
        "the renewal is recorded, on the plan it was recorded as"
    );
    assert_eq!(
        reader.read_article(app.premium_ids()[0]).await.status,
        StatusCode::OK,
        "the reader paid for this period"
    );
    let user = user_id(&app, "rotated@example.com");
    let flagged = logs::lines_with(&["ERROR", ROTATED, &sub, &format!("user_id={user}")]);
    assert!(
        !flagged.is_empty(),
        "an operator is told the price is no plan"
    );
}

/// Readers made directly in the database: an account and a Stripe subscription row for each
/// of `references`, active until `until`, never re-read.
fn recorded_rows(app: &TestApp, references: &[String], until: time::OffsetDateTime) {
    let mut conn = app.connect();
    for (n, reference) in references.iter().enumerate() {
        let user: i64 = diesel::insert_into(gazette::schema::users::table)
            .values((
                gazette::schema::users::email.eq(format!("batch{n}@example.com")),
                gazette::schema::users::password_hash.eq("$argon2id$v=19$m=19456,t=2,p=1$x$y"),
            ))
            .returning(gazette::schema::users::id)
            .get_result(&mut conn)
            .unwrap();
        diesel::sql_query(
            "INSERT INTO subscriptions (user_id, plan_code, status, current_period_start, \
             current_period_end, gateway, gateway_reference, period_value_cents, renews) \
             VALUES ($1, 'monthly', 'active', $2, $3, 'stripe', $4, 800, TRUE)",
        )
        .bind::<diesel::sql_types::BigInt, _>(user)
        .bind::<diesel::sql_types::Timestamptz, _>(until - Duration::days(30))
        .bind::<diesel::sql_types::Timestamptz, _>(until)
        .bind::<diesel::sql_types::Text, _>(reference)
        .execute(&mut conn)
        .unwrap();
    }
}

#[tokio::test]
async fn reconciliation_gets_past_a_full_batch_of_subscriptions_it_cannot_bring_up_to_date() {
    let (fake, app) = shop().await;
    let (reader, sub) = subscriber(&fake, &app, "patient@example.com", "monthly").await;
    // Well over a batch of recorded subscriptions that re-reading cannot simply apply: on a
    // price `STRIPE_PRICES` no longer names (70), or gone from Stripe altogether (110). Never
    // re-read, they come first.
    fake.add_price(rotated());
    let mut references: Vec<String> = (0..70)
        .map(|n| {
            let customer = fake.new_customer(&format!("batch{n}@example.com"));
            fake.sell_to(&customer, ROTATED)
        })
        .collect();
    references.extend((0..110).map(|n| format!("sub_gone{n:04}")));
    recorded_rows(&app, &references, MONTH_LATER);
    fake.lose_pending();

    // The patient reader's renewal: its events are lost, only re-reading finds it.
    app.clock.set(MONTH_LATER + Duration::minutes(1));
    fake.renew(&sub, Renewal::Paid);
    fake.lose_pending();
    let billing = billing_of(&app, &fake);
    for _ in 0..3 {
        billing.reconcile().await.unwrap();
    }
    assert_eq!(
        current(&app, "patient@example.com")[0].current_period_end,
        MONTH_LATER + Duration::days(31),
        "three passes of a hundred reach every row due"
    );
    use gazette::schema::subscriptions;
    let asked: i64 = subscriptions::table
        .filter(subscriptions::checked_at.is_not_null())
        .count()
        .get_result(&mut app.connect())
        .unwrap();
    assert_eq!(asked, 181, "every row due was asked about");
    reader.log_in("patient@example.com", PASSWORD).await;
    assert_eq!(
        reader.read_article(app.premium_ids()[0]).await.status,
        StatusCode::OK
    );
}

/// The demo plans in yen: ¥800 a month, ¥8,000 a year (amounts in yen, the smallest unit).
fn plans_in_yen(conn: &mut PgConnection) {
    diesel::sql_query("UPDATE plans SET currency = 'JPY'")
        .execute(conn)
        .unwrap();
}

#[tokio::test]
async fn a_plan_in_yen_is_shown_paid_and_owed_in_whole_yen() {
    let clock = Arc::new(ManualClock::new(START));
    let fake = FakeStripe::start_selling(clock, "jpy", 800, 8000).await;
    let app = TestApp::builder()
        .stripe(&fake)
        .prepared(plans_in_yen)
        .settings(|settings| {
            settings.free_articles_per_month = 0;
        })
        .start()
        .await;
    let reader = Reader::signed_up(&app, "yen@example.com").await;
    let plans = reader.get("/subscribe").await;
    assert!(
        plans
            .body
            .contains("<span class=\"amount\">¥800</span> per month"),
        "{}",
        plans.body
    );
    assert!(
        plans
            .body
            .contains("<span class=\"amount\">¥8,000</span> per year")
    );
    assert!(plans.body.contains("That is ¥667 a month."));

    let (_, session) = to_checkout(&reader, "monthly", "").await;
    let checkout = fake
        .sessions()
        .into_iter()
        .find(|s| s["id"] == session)
        .unwrap();
    assert_eq!(checkout["line_items"][0]["price"], MONTHLY);
    fake.pay(&session);
    let statuses = fake.deliver_pending().await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let account = reader.get("/account").await;
    assert!(account.body.contains("Monthly (¥800)"), "{}", account.body);
    assert!(account.body.contains("Switch to yearly (¥8,000 per year)"));

    // A renewal Stripe could not charge: what is owed, in yen.
    let sub = fake.subscriptions()[0]["id"].as_str().unwrap().to_string();
    app.clock.set(MONTH_LATER);
    fake.renew(&sub, Renewal::Declined);
    let statuses = fake.deliver_pending().await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    reader.log_in("yen@example.com", PASSWORD).await;
    let account = reader.get("/account").await;
    assert!(account.body.contains("payment of ¥800 did not go through"));
    assert!(!account.body.contains("8.00"), "{}", account.body);
}
