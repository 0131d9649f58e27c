//! The reader's one customer at Stripe: never made twice, even when the answer to making it
//! was lost and Stripe has since forgotten the request's key.

use time::Duration;

use super::*;

#[tokio::test]
async fn a_customer_whose_answer_was_lost_is_found_again_after_stripe_forgets_the_key() {
    let (fake, app) = shop().await;
    let reader = Reader::signed_up(&app, "lost@example.com").await;

    // Stripe makes the customer, but its answer never reaches Gazette.
    fake.lose_answers_to(Some("/v1/customers"));
    let page = subscribe_from(&reader, "monthly", "").await;
    assert_eq!(
        page.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        page.body
    );
    assert_eq!(fake.customers_of("lost@example.com").len(), 1);
    fake.lose_answers_to(None);

    // The reader comes back two days later: Stripe no longer knows the request's key.
    app.clock.advance(Duration::hours(49));
    let (_, session) = to_checkout(&reader, "monthly", "").await;
    let customers = fake.customers_of("lost@example.com");
    assert_eq!(customers.len(), 1, "one customer at Stripe: {customers:?}");
    let opened = fake
        .sessions()
        .into_iter()
        .find(|s| s["id"] == session)
        .unwrap();
    assert_eq!(opened["customer"], customers[0]["id"]);

    // And the customer found is the one Gazette keeps using.
    let back = fake.pay(&session);
    reader.get(&local(&app, &back)).await;
    assert_eq!(current(&app, "lost@example.com").len(), 1);
    let page = subscribe_from(&reader, "yearly", "").await;
    assert!(
        page.location().is_some_and(|l| l.contains("/portal/bps_")),
        "{:?}",
        page.location()
    );
    assert_eq!(fake.customers().len(), 1);
}

#[tokio::test]
async fn a_customer_whose_answer_was_lost_moments_ago_is_had_again_by_its_key() {
    let (fake, app) = shop().await;
    let reader = Reader::signed_up(&app, "again@example.com").await;
    fake.lose_answers_to(Some("/v1/customers"));
    let page = subscribe_from(&reader, "monthly", "").await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    fake.lose_answers_to(None);

    // Too soon for Stripe's search to know the customer: the request's key finds it.
    app.clock.advance(Duration::seconds(20));
    to_checkout(&reader, "monthly", "").await;
    assert_eq!(fake.customers_of("again@example.com").len(), 1);
}
