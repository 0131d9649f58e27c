//! Money under concurrency: bursts of identical requests (double clicks, several tabs) for
//! many readers at once, and requests that wait on another transaction holding the reader.
//! Every test counts what the processor actually took.

use std::time::Duration as StdDuration;

use diesel::prelude::*;
use reqwest::StatusCode;
use time::Duration;

use crate::helpers::*;

const READERS: usize = 12;
const CLICKS: usize = 12;

async fn subscribers<'a>(app: &'a TestApp, count: usize) -> Vec<(Reader<'a>, String)> {
    super::readers(app, count, "reader", 0).await
}

/// Every reader sends `clicks` requests at once, all readers together; every answer's status.
async fn burst(
    readers: &[(Reader<'_>, String)],
    clicks: usize,
    requests: impl Fn(usize) -> (&'static str, Vec<(&'static str, &'static str)>),
) -> Vec<StatusCode> {
    super::burst(readers, clicks, requests)
        .await
        .into_iter()
        .map(|page| page.status)
        .collect()
}

fn plans_of(app: &TestApp, email: &str) -> Vec<(String, String)> {
    subscriptions_of(app, email)
        .into_iter()
        .map(|row| (row.plan_code, row.status))
        .collect()
}

fn pairs(rows: &[(&str, &str)]) -> Vec<(String, String)> {
    rows.iter()
        .map(|(plan, status)| (plan.to_string(), status.to_string()))
        .collect()
}

async fn app_with(processor: std::sync::Arc<FakeProcessor>) -> TestApp {
    TestApp::builder()
        .gateway(processor)
        .settings(|s| {
            s.trust_proxy_headers = true;
            s.database_pool_size = 10;
        })
        .start()
        .await
}

#[tokio::test]
async fn bursts_of_identical_switches_charge_each_reader_once_per_change() {
    let processor = FakeProcessor::new(StdDuration::from_millis(5));
    let app = app_with(processor.clone()).await;
    let readers = subscribers(&app, READERS).await;

    let first = burst(&readers, 3, |_| ("/subscribe", vec![("plan", "monthly")])).await;
    assert!(
        first.iter().all(|s| *s == StatusCode::SEE_OTHER),
        "{first:?}"
    );

    app.clock.advance(Duration::days(5));
    let upgrade = burst(&readers, CLICKS, |_| {
        ("/subscribe", vec![("plan", "yearly")])
    })
    .await;
    assert!(
        upgrade.iter().all(|s| *s == StatusCode::SEE_OTHER),
        "{upgrade:?}"
    );

    app.clock.advance(Duration::days(5));
    let downgrade = burst(&readers, CLICKS, |_| {
        ("/subscribe", vec![("plan", "monthly")])
    })
    .await;
    assert!(downgrade.iter().all(|s| *s == StatusCode::SEE_OTHER));

    app.clock.advance(Duration::days(5));
    let upgrade_again = burst(&readers, CLICKS, |_| {
        ("/subscribe", vec![("plan", "yearly")])
    })
    .await;
    assert!(upgrade_again.iter().all(|s| *s == StatusCode::SEE_OTHER));

    for (_, email) in &readers {
        let taken: Vec<(String, i32)> = processor
            .charges_of(user_id(&app, email))
            .into_iter()
            .map(|t| (t.plan_code, t.amount_cents))
            .collect();
        assert_eq!(taken.len(), 3, "{email}: {taken:?}");
        assert_eq!(taken[0], ("monthly".to_string(), 800), "{email}");
        // 25 of 30 days unused: $6.66 of credit.
        assert_eq!(taken[1], ("yearly".to_string(), 7334), "{email}");
        // Back to yearly: only the part of the year used since is paid for again.
        assert_eq!(taken[2].0, "yearly", "{email}");
        assert!((200..300).contains(&taken[2].1), "{email}: {taken:?}");
        assert_eq!(
            plans_of(&app, email),
            pairs(&[
                ("monthly", "ended"),
                ("yearly", "ended"),
                ("monthly", "ended"),
                ("yearly", "active"),
            ]),
            "{email}"
        );
    }
    assert_eq!(open_checkouts(&app), 0);
}

#[tokio::test]
async fn first_subscriptions_double_clicked_are_one_charge_per_reader() {
    let processor = FakeProcessor::new(StdDuration::from_millis(30));
    let app = app_with(processor.clone()).await;
    let readers = subscribers(&app, READERS).await;

    let statuses = burst(&readers, CLICKS, |_| {
        ("/subscribe", vec![("plan", "yearly")])
    })
    .await;
    assert!(statuses.iter().all(|s| *s == StatusCode::SEE_OTHER));
    for (_, email) in &readers {
        let taken = processor.charges_of(user_id(&app, email));
        assert_eq!(taken.len(), 1, "{email}: {taken:?}");
        let rows = subscriptions_of(&app, email);
        assert_eq!(rows.len(), 1, "{email}");
        assert_eq!(rows[0].gateway_reference, taken[0].reference, "{email}");
    }
}

#[tokio::test]
async fn tabs_asking_for_different_plans_at_once_pay_for_exactly_what_is_recorded() {
    let processor = FakeProcessor::new(StdDuration::from_millis(30));
    let app = app_with(processor.clone()).await;
    let readers = subscribers(&app, READERS).await;

    let statuses = burst(&readers, CLICKS, |click| {
        let plan = if click % 2 == 0 { "monthly" } else { "yearly" };
        ("/subscribe", vec![("plan", plan)])
    })
    .await;
    assert!(statuses.iter().all(|s| *s == StatusCode::SEE_OTHER));
    for (_, email) in &readers {
        // Which plan wins depends on the order the tabs arrive in; either way every payment
        // taken is recorded once, and nothing is recorded that was not paid for.
        let taken = processor.charges_of(user_id(&app, email));
        let rows = subscriptions_of(&app, email);
        let paid: Vec<&String> = rows
            .iter()
            .filter(|row| row.gateway != "credit")
            .map(|row| &row.gateway_reference)
            .collect();
        let charged: Vec<&String> = taken.iter().map(|t| &t.reference).collect();
        assert_eq!(paid, charged, "{email}");
        assert_eq!(current(&app, email).len(), 1, "{email}");
    }
    assert_eq!(open_checkouts(&app), 0);
}

#[tokio::test]
async fn bursts_of_cancels_and_resumes_leave_one_subscription_and_take_no_money() {
    let processor = FakeProcessor::new(StdDuration::from_millis(5));
    let app = app_with(processor.clone()).await;
    let readers = subscribers(&app, READERS).await;
    burst(&readers, 1, |_| ("/subscribe", vec![("plan", "monthly")])).await;

    for _ in 0..2 {
        let statuses = burst(&readers, CLICKS, |click| {
            if click % 2 == 0 {
                ("/account/subscription/cancel", vec![])
            } else {
                ("/subscribe", vec![("plan", "monthly")])
            }
        })
        .await;
        assert!(statuses.iter().all(|s| *s == StatusCode::SEE_OTHER));
    }
    // A last burst of cancels alone: each reader ends up cancelled, once.
    let statuses = burst(&readers, CLICKS, |_| {
        ("/account/subscription/cancel", vec![])
    })
    .await;
    assert!(statuses.iter().all(|s| *s == StatusCode::SEE_OTHER));

    assert_eq!(
        processor.charges().len(),
        READERS,
        "only the first payments"
    );
    for (reader, email) in &readers {
        assert_eq!(
            plans_of(&app, email),
            pairs(&[("monthly", "canceled")]),
            "{email}"
        );
        let account = reader.get("/account").await;
        assert!(
            !account.body.contains("You have no subscription to cancel"),
            "{email}"
        );
    }
}

#[tokio::test]
async fn a_switch_that_waited_on_another_tabs_payment_is_decided_on_what_that_payment_recorded() {
    let processor = FakeProcessor::new(StdDuration::from_millis(5));
    let app = app_with(processor.clone()).await;
    let reader = Reader::signed_up(&app, "waited@example.com").await;
    reader.subscribe("monthly").await;
    let id = user_id(&app, "waited@example.com");
    app.clock.advance(Duration::days(10));
    let token = reader.csrf_token().await;
    let tab = reader.copy();

    // Another tab's yearly payment is being recorded: it holds the reader and the current
    // subscription, ends the month and starts the year.
    let switched_at = START + Duration::days(10);
    let pages = while_held(
        &app,
        2,
        move |conn| record_a_year_paid_in_another_tab(conn, id, switched_at),
        join_all([
            reader.post("/subscribe", &[("plan", "yearly"), ("csrf_token", &token)]),
            tab.post("/subscribe", &[("plan", "yearly"), ("csrf_token", &token)]),
        ]),
    )
    .await;

    for page in &pages {
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    }
    assert_eq!(
        processor.amounts(),
        [800],
        "the year the other tab paid is not charged again"
    );
    assert_eq!(
        plans_of(&app, "waited@example.com"),
        pairs(&[("monthly", "ended"), ("yearly", "active")])
    );
    assert!(reader.get("/").await.body.contains("already subscribe"));
}

#[tokio::test]
async fn switches_waiting_on_the_reader_are_charged_once_with_the_credit_of_the_moment() {
    let processor = FakeProcessor::new(StdDuration::from_millis(5));
    let app = app_with(processor.clone()).await;
    let reader = Reader::signed_up(&app, "credit@example.com").await;
    reader.subscribe("monthly").await;
    let id = user_id(&app, "credit@example.com");
    app.clock.advance(Duration::days(10));
    let token = reader.csrf_token().await;
    let tabs = [reader.copy(), reader.copy(), reader.copy()];

    let pages = while_held(
        &app,
        3,
        move |conn| {
            diesel::sql_query("SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE")
                .bind::<diesel::sql_types::BigInt, _>(id)
                .execute(conn)
                .unwrap();
        },
        join_all(
            tabs.iter()
                .map(|tab| tab.post("/subscribe", &[("plan", "yearly"), ("csrf_token", &token)])),
        ),
    )
    .await;
    assert!(pages.iter().all(|p| p.status == StatusCode::SEE_OTHER));
    assert_eq!(processor.amounts(), [800, 7467]);
    let rows = current(&app, "credit@example.com");
    assert_eq!(rows[0].plan_code, "yearly");
    assert_eq!(
        rows[0].current_period_end,
        START + Duration::days(10) + Duration::days(365)
    );
}

#[tokio::test]
async fn a_cancel_that_waited_on_a_switch_cancels_the_new_subscription() {
    let processor = FakeProcessor::new(StdDuration::from_millis(5));
    let app = app_with(processor.clone()).await;
    let reader = Reader::signed_up(&app, "cancelwait@example.com").await;
    reader.subscribe("monthly").await;
    let id = user_id(&app, "cancelwait@example.com");
    app.clock.advance(Duration::days(10));
    let token = reader.csrf_token().await;

    let switched_at = START + Duration::days(10);
    let page = while_held(
        &app,
        1,
        move |conn| record_a_year_paid_in_another_tab(conn, id, switched_at),
        reader.post("/account/subscription/cancel", &[("csrf_token", &token)]),
    )
    .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let account = reader.get("/account").await;
    assert!(
        account.body.contains("Your subscription is cancelled"),
        "the cancel saw the year the other tab recorded"
    );
    assert_eq!(
        plans_of(&app, "cancelwait@example.com"),
        pairs(&[("monthly", "ended"), ("yearly", "canceled")])
    );
}
