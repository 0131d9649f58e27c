//! The reader's one customer at Stripe: never made twice, even when the answer to making it
//! was lost and Stripe has since forgotten the request's key; and its e-mail address follows
//! the account's, so receipts and invoices go where the reader reads.

use std::time::Duration as StdDuration;

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

#[tokio::test]
async fn a_customer_deleted_at_stripe_before_its_event_arrives_is_made_again_for_the_next_checkout()
{
    let (fake, app) = shop().await;
    let reader = Reader::signed_up(&app, "deleted@example.com").await;
    let (_, monthly) = to_checkout(&reader, "monthly", "").await;
    let gone = fake.customers_of("deleted@example.com")[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // The publisher deletes the customer in Stripe's dashboard; its event never arrives.
    fake.delete_customer(&gone);
    fake.lose_pending();

    // Another plan: the first page is expired, Stripe refuses a page for the deleted customer,
    // and a new customer is made for the new page.
    let (_, yearly) = to_checkout(&reader, "yearly", "").await;
    assert_ne!(monthly, yearly);
    let customers = fake.customers_of("deleted@example.com");
    assert_eq!(customers.len(), 1, "{customers:?}");
    assert_ne!(customers[0]["id"], gone.as_str());
    let opened = fake
        .sessions()
        .into_iter()
        .find(|s| s["id"] == yearly)
        .unwrap();
    assert_eq!(opened["customer"], customers[0]["id"]);

    let back = fake.pay(&yearly);
    reader.get(&local(&app, &back)).await;
    assert_eq!(current(&app, "deleted@example.com")[0].plan_code, "yearly");
    assert_eq!(hosted_checkouts(&app), 0);
}

/// Changes the reader's address to `new`, confirmed from the mail.
async fn change_address(app: &TestApp, reader: &Reader<'_>, new: &str) {
    let page = reader.change_email(new, PASSWORD).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let mail = app.mailbox.next_for(new, 0).await;
    let page = Reader::new(app).confirm_email(&mail.token()).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert!(user_id_of(app, new).is_some());
}

/// The Stripe customer of the subscription `sub`.
fn customer_of(fake: &FakeStripe, sub: &str) -> String {
    fake.subscription(sub)["customer"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_new_address_reaches_the_readers_customer_at_stripe() {
    let (fake, app) = shop().await;
    let (reader, sub) = subscriber(&fake, &app, "before@example.com", "monthly").await;
    let customer = customer_of(&fake, &sub);
    assert_eq!(fake.customer(&customer)["email"], "before@example.com");

    change_address(&app, &reader, "after@example.com").await;
    assert_eq!(fake.customer(&customer)["email"], "after@example.com");
    assert_eq!(fake.customers().len(), 1);
}

#[tokio::test]
async fn a_new_address_reaches_stripe_later_when_stripe_is_down_at_that_moment() {
    let (fake, app) = shop_with(|s| s.housekeeping_interval = StdDuration::from_millis(200)).await;
    let (reader, sub) = subscriber(&fake, &app, "early@example.com", "monthly").await;
    let customer = customer_of(&fake, &sub);

    fake.set_down(true);
    change_address(&app, &reader, "later@example.com").await;
    assert_eq!(
        fake.customer(&customer)["email"],
        "early@example.com",
        "Stripe was down"
    );

    fake.set_down(false);
    eventually("the customer's address follows the account's", || {
        fake.customer(&customer)["email"] == "later@example.com"
    })
    .await;
    // Once it has, housekeeping leaves the customer alone.
    let updates = || requests_to(&fake, "POST", &format!("/v1/customers/{customer}"));
    let sent = updates();
    let listings = || requests_to(&fake, "GET", "/v1/events");
    let passes = listings();
    eventually("two more housekeeping passes", || listings() >= passes + 2).await;
    assert_eq!(updates(), sent, "{:?}", fake.calls());
}

#[tokio::test]
async fn a_reader_who_never_paid_through_stripe_changes_address_without_asking_it() {
    let (fake, app) = shop().await;
    let reader = Reader::signed_up(&app, "never@example.com").await;
    change_address(&app, &reader, "still.never@example.com").await;
    assert_eq!(calls_for_readers(&fake), 0, "{:?}", fake.calls());
}
