//! Money through a processor that keeps a ledger: what is charged, how often, and what
//! becomes of a payment whose answer was lost or whose request stopped half-way.

use std::time::Duration as StdDuration;

use reqwest::StatusCode;
use time::Duration;

use crate::helpers::*;

const QUICK: StdDuration = StdDuration::from_millis(20);

/// Waits (in real time) until `done` holds, for at most `limit`.
async fn eventually(limit: StdDuration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + limit;
    while std::time::Instant::now() < deadline {
        if done() {
            return true;
        }
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    done()
}

#[tokio::test]
async fn two_tabs_subscribing_at_once_are_charged_once_and_make_one_subscription() {
    let processor = FakeProcessor::new(StdDuration::from_millis(400));
    let app = TestApp::builder().gateway(processor.clone()).start().await;
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
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    }
    assert_eq!(processor.charges().len(), 1, "{:?}", processor.charges());
    assert_eq!(subscriptions_of(&app, "double@example.com").len(), 1);
}

#[tokio::test]
async fn a_double_submit_is_charged_once() {
    let processor = FakeProcessor::new(QUICK);
    let app = TestApp::builder().gateway(processor.clone()).start().await;
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
    assert_eq!(processor.charges().len(), 1, "{:?}", processor.charges());
    assert_eq!(current(&app, "once@example.com").len(), 1);
}

#[tokio::test]
async fn a_declined_payment_changes_nothing_and_a_retry_is_a_new_charge() {
    let processor = FakeProcessor::new(QUICK);
    processor.will_answer(&[Answer::Decline]);
    let app = TestApp::builder().gateway(processor.clone()).start().await;
    let reader = Reader::signed_up(&app, "declined@example.com").await;

    let page = reader.subscribe("monthly").await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("The payment was declined"));
    assert!(page.body.contains("You have not been charged"));
    assert!(subscriptions_of(&app, "declined@example.com").is_empty());
    assert_eq!(open_checkouts(&app), 0);

    assert_eq!(
        reader.subscribe("monthly").await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(processor.charge_calls(), 2);
    assert_eq!(processor.amounts(), [800], "only the retry took money");
    assert_eq!(current(&app, "declined@example.com").len(), 1);
}

#[tokio::test]
async fn upgrading_mid_period_is_charged_less_the_unused_part() {
    let processor = FakeProcessor::new(QUICK);
    let app = TestApp::builder().gateway(processor.clone()).start().await;
    let reader = Reader::signed_up(&app, "upgrade@example.com").await;
    reader.subscribe("monthly").await;
    app.clock.advance(Duration::days(10));
    reader.subscribe("yearly").await;

    // 20 of the 30 paid days were unused: $5.33 of credit against $80.00.
    assert_eq!(processor.amounts(), [800, 7467]);
    assert_eq!(current(&app, "upgrade@example.com")[0].plan_code, "yearly");
}

#[tokio::test]
async fn downgrading_keeps_the_paid_year_and_charges_nothing() {
    let processor = FakeProcessor::new(QUICK);
    let app = TestApp::builder().gateway(processor.clone()).start().await;
    let reader = Reader::signed_up(&app, "downgrade@example.com").await;
    reader.subscribe("yearly").await;
    let paid_until = current(&app, "downgrade@example.com")[0].current_period_end;
    app.clock.advance(Duration::days(10));
    assert_eq!(
        reader.subscribe("monthly").await.status,
        StatusCode::SEE_OTHER
    );

    assert_eq!(processor.charges().len(), 1, "only the yearly payment");
    let rows = current(&app, "downgrade@example.com");
    assert_eq!(rows[0].plan_code, "monthly");
    assert_eq!(rows[0].current_period_end, paid_until);
    assert!(
        reader
            .get("/account")
            .await
            .body
            .contains("What you had paid covers it")
    );
}

#[tokio::test]
async fn switching_back_after_a_downgrade_charges_only_the_difference() {
    let processor = FakeProcessor::new(QUICK);
    let app = TestApp::builder().gateway(processor.clone()).start().await;
    let reader = Reader::signed_up(&app, "backforth@example.com").await;
    reader.subscribe("yearly").await;
    app.clock.advance(Duration::days(10));
    reader.subscribe("monthly").await;
    app.clock.advance(Duration::days(10));
    reader.subscribe("yearly").await;

    let amounts = processor.amounts();
    assert_eq!(amounts.len(), 2, "{amounts:?}");
    assert_eq!(amounts[0], 8000);
    // 20 of 365 days were used: about $4.38 to pay for a fresh year.
    assert!((400..=500).contains(&amounts[1]), "{amounts:?}");
}

#[tokio::test]
async fn a_payment_whose_answer_was_lost_is_recorded_when_the_reader_tries_again_never_charged_twice()
 {
    let processor = FakeProcessor::new(QUICK);
    processor.will_answer(&[Answer::TakeButLoseTheReply]);
    let app = TestApp::builder().gateway(processor.clone()).start().await;
    let reader = Reader::signed_up(&app, "unsure@example.com").await;

    let page = reader.subscribe("yearly").await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(page.body.contains("You will not be charged twice"));
    assert!(
        !page.body.contains("You have not been charged"),
        "nobody knows that"
    );
    assert!(
        reader
            .get("/account")
            .await
            .body
            .contains("is being confirmed"),
        "the account says a payment is being confirmed"
    );

    // Straight away: the first request might still be waiting for its answer.
    reader.subscribe("yearly").await;
    assert!(reader.get("/").await.body.contains("already under way"));

    app.clock.advance(Duration::minutes(3));
    assert_eq!(
        reader.subscribe("yearly").await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        processor.charge_calls(),
        1,
        "asked about, never charged again"
    );
    assert_eq!(processor.amounts(), [8000]);
    assert!(
        reader
            .get("/account")
            .await
            .body
            .contains("Your earlier payment went through")
    );
    let rows = current(&app, "unsure@example.com");
    assert_eq!(rows[0].plan_code, "yearly");
    assert_eq!(
        rows[0].current_period_start,
        START + Duration::minutes(3),
        "the period starts when the payment is confirmed"
    );
    assert_eq!(rows[0].gateway_reference, processor.charges()[0].reference);
}

#[tokio::test]
async fn a_payment_that_never_reached_the_processor_is_released_and_the_next_try_pays_once() {
    let processor = FakeProcessor::new(QUICK);
    processor.will_answer(&[Answer::Unreachable]);
    let app = TestApp::builder().gateway(processor.clone()).start().await;
    let reader = Reader::signed_up(&app, "unreached@example.com").await;

    assert_eq!(
        reader.subscribe("monthly").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    app.clock.advance(Duration::minutes(3));
    assert_eq!(
        reader.subscribe("monthly").await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(processor.charge_calls(), 2);
    assert_eq!(processor.amounts(), [800]);
    let rows = current(&app, "unreached@example.com");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].current_period_start, START + Duration::minutes(3));
}

#[tokio::test]
async fn a_stale_checkout_for_another_plan_is_not_what_a_later_request_pays_for() {
    let processor = FakeProcessor::new(QUICK);
    processor.will_answer(&[Answer::Unreachable]);
    let app = TestApp::builder().gateway(processor.clone()).start().await;
    let reader = Reader::signed_up(&app, "stale@example.com").await;
    reader.subscribe("monthly").await;

    app.clock.advance(Duration::minutes(10));
    let page = reader.subscribe("yearly").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);

    let charges = processor.charges();
    assert_eq!(charges.len(), 1, "{charges:?}");
    assert_eq!(
        (charges[0].plan_code.as_str(), charges[0].amount_cents),
        ("yearly", 8000),
        "the plan asked for now, at its price"
    );
    let rows = current(&app, "stale@example.com");
    assert_eq!(rows[0].plan_code, "yearly");
    assert_eq!(
        rows[0].current_period_end,
        START + Duration::minutes(10) + Duration::days(365)
    );
}

#[tokio::test]
async fn a_stale_checkout_that_was_paid_is_recorded_then_the_new_plan_is_charged_the_difference() {
    let processor = FakeProcessor::new(QUICK);
    processor.will_answer(&[Answer::TakeButLoseTheReply]);
    let app = TestApp::builder().gateway(processor.clone()).start().await;
    let reader = Reader::signed_up(&app, "paidstale@example.com").await;
    reader.subscribe("monthly").await;

    app.clock.advance(Duration::minutes(10));
    assert_eq!(
        reader.subscribe("yearly").await.status,
        StatusCode::SEE_OTHER
    );
    let charges = processor.charges();
    assert_eq!(charges.len(), 2, "{charges:?}");
    assert_eq!(charges[0].plan_code, "monthly");
    assert_eq!(charges[1].plan_code, "yearly");
    // The month was confirmed just now, so nearly all of it is credited.
    assert!(
        (7200..7210).contains(&charges[1].amount_cents),
        "{charges:?}"
    );
    let rows = subscriptions_of(&app, "paidstale@example.com");
    assert_eq!(
        rows.iter()
            .map(|r| (r.plan_code.as_str(), r.status.as_str()))
            .collect::<Vec<_>>(),
        [("monthly", "ended"), ("yearly", "active")]
    );
    assert!(
        reader
            .get("/account")
            .await
            .body
            .contains("Your earlier payment went through. Thank you for subscribing")
    );
}

#[tokio::test]
async fn while_the_processor_cannot_say_what_became_of_a_payment_nothing_new_is_charged() {
    let processor = FakeProcessor::new(QUICK);
    processor.will_answer(&[Answer::TakeButLoseTheReply]);
    let app = TestApp::builder().gateway(processor.clone()).start().await;
    let reader = Reader::signed_up(&app, "down@example.com").await;
    reader.subscribe("monthly").await;
    processor.set_outcome_unavailable(true);
    app.clock.advance(Duration::minutes(10));

    let page = reader.subscribe("yearly").await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(page.body.contains("still confirming an earlier payment"));
    let cancel = reader.cancel_subscription().await;
    assert_eq!(cancel.status, StatusCode::SEE_OTHER);
    assert!(
        reader
            .get("/account")
            .await
            .body
            .contains("is being confirmed")
    );
    assert_eq!(processor.charge_calls(), 1);

    processor.set_outcome_unavailable(false);
    assert_eq!(
        reader.subscribe("monthly").await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(processor.amounts(), [800]);
    assert_eq!(current(&app, "down@example.com")[0].plan_code, "monthly");
}

#[tokio::test]
async fn cancelling_while_a_change_of_plan_is_being_paid_waits_for_it() {
    let processor = FakeProcessor::new(QUICK);
    let app = TestApp::builder().gateway(processor.clone()).start().await;
    let reader = Reader::signed_up(&app, "waitcancel@example.com").await;
    reader.subscribe("monthly").await;
    processor.will_answer(&[Answer::Unreachable]);
    reader.subscribe("yearly").await;

    reader.cancel_subscription().await;
    let account = reader.get("/account").await;
    assert!(account.body.contains("Please try again in a few minutes"));
    assert_eq!(current(&app, "waitcancel@example.com")[0].status, "active");
}

#[tokio::test]
async fn housekeeping_settles_a_payment_whose_answer_was_lost_without_the_reader_doing_anything() {
    let processor = FakeProcessor::new(QUICK);
    processor.will_answer(&[Answer::TakeButLoseTheReply]);
    let app = TestApp::builder()
        .gateway(processor.clone())
        .settings(|s| s.housekeeping_interval = StdDuration::from_millis(200))
        .start()
        .await;
    let reader = Reader::signed_up(&app, "settled@example.com").await;
    assert_eq!(
        reader.subscribe("monthly").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    tokio::time::sleep(StdDuration::from_millis(600)).await;
    assert!(
        current(&app, "settled@example.com").is_empty(),
        "not while its request may still be waiting"
    );

    app.clock.advance(Duration::minutes(3));
    assert!(
        eventually(StdDuration::from_secs(10), || !current(
            &app,
            "settled@example.com"
        )
        .is_empty())
        .await,
        "housekeeping recorded the payment"
    );
    assert_eq!(processor.charge_calls(), 1);
    assert_eq!(open_checkouts(&app), 0);
    let account = reader.get("/account").await;
    assert!(account.body.contains("Monthly ($8.00)"));
    assert!(!account.body.contains("is being confirmed"));
}

#[tokio::test]
async fn housekeeping_releases_a_payment_the_processor_never_took() {
    let processor = FakeProcessor::new(QUICK);
    processor.will_answer(&[Answer::Unreachable]);
    let app = TestApp::builder()
        .gateway(processor.clone())
        .settings(|s| s.housekeeping_interval = StdDuration::from_millis(200))
        .start()
        .await;
    let reader = Reader::signed_up(&app, "released@example.com").await;
    reader.subscribe("monthly").await;
    assert_eq!(open_checkouts(&app), 1);

    app.clock.advance(Duration::minutes(3));
    assert!(eventually(StdDuration::from_secs(10), || open_checkouts(&app) == 0).await);
    assert!(subscriptions_of(&app, "released@example.com").is_empty());
    assert!(processor.charges().is_empty());
}

#[tokio::test]
async fn a_database_fault_between_charge_and_record_loses_nothing() {
    let processor = FakeProcessor::new(QUICK);
    let app = TestApp::builder()
        .gateway(processor.clone())
        .settings(|s| s.housekeeping_interval = StdDuration::from_millis(300))
        .start()
        .await;
    let reader = Reader::signed_up(&app, "fault@example.com").await;
    // While the money is being taken, another session locks the checkouts table long enough
    // for saving the proof of payment to hit the statement timeout.
    let url = app.db.url.clone();
    processor.while_charging(move || hold_lock_on_checkouts(&url, StdDuration::from_secs(7)));

    let page = reader.subscribe("monthly").await;
    assert_eq!(
        page.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        page.body
    );
    assert_eq!(processor.amounts(), [800], "the money was taken");
    assert!(current(&app, "fault@example.com").is_empty());

    app.clock.advance(Duration::minutes(3));
    assert!(
        eventually(StdDuration::from_secs(15), || !current(
            &app,
            "fault@example.com"
        )
        .is_empty())
        .await,
        "housekeeping recorded the payment"
    );
    assert_eq!(processor.charge_calls(), 1);
    let rows = current(&app, "fault@example.com");
    assert_eq!(rows[0].gateway_reference, processor.charges()[0].reference);
}

#[tokio::test]
async fn a_payment_taken_but_not_recorded_is_recorded_on_the_next_try_not_charged_again() {
    let processor = FakeProcessor::new(QUICK);
    let app = TestApp::builder().gateway(processor.clone()).start().await;
    let reader = Reader::signed_up(&app, "lost@example.com").await;
    leave_charged_checkout(&app, "lost@example.com");

    assert_eq!(
        reader.subscribe("monthly").await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(processor.charge_calls(), 0, "no new charge");
    assert!(
        reader
            .get("/")
            .await
            .body
            .contains("Your earlier payment went through")
    );
    let rows = current(&app, "lost@example.com");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].gateway_reference, "ref-left-behind");
}

#[tokio::test]
async fn housekeeping_records_a_payment_left_unrecorded() {
    let processor = FakeProcessor::new(QUICK);
    let app = TestApp::builder()
        .gateway(processor.clone())
        .settings(|s| s.housekeeping_interval = StdDuration::from_millis(200))
        .start()
        .await;
    Reader::signed_up(&app, "swept@example.com").await;
    leave_charged_checkout(&app, "swept@example.com");
    app.clock.advance(Duration::minutes(3));
    assert!(
        eventually(StdDuration::from_secs(10), || !current(
            &app,
            "swept@example.com"
        )
        .is_empty())
        .await
    );
    tokio::time::sleep(StdDuration::from_millis(600)).await;
    let rows = subscriptions_of(&app, "swept@example.com");
    assert_eq!(rows.len(), 1, "recorded once, however many passes ran");
    assert_eq!(
        rows[0].current_period_start, START,
        "paid when it was charged"
    );
    assert_eq!(processor.charge_calls(), 0);
}
