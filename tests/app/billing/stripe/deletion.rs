//! Deleting an account paid through Stripe while Stripe's side is in an odd state: the
//! subscription ended there (or its customer was deleted, or it is gone) and the webhook
//! saying so has not arrived; the subscription moved to a price `STRIPE_PRICES` does not name.

use super::*;

const PHRASE: &str = "delete my account";

#[tokio::test]
async fn deleting_an_account_whose_subscription_stripe_already_ended_deletes_it() {
    let (fake, app) = shop().await;
    let cases = [
        ("ended-at-stripe@example.com", "monthly"),
        ("customer-deleted@example.com", "monthly"),
        ("subscription-gone@example.com", "yearly"),
    ];
    let mut readers = Vec::new();
    for (email, plan) in cases {
        readers.push(subscriber(&fake, &app, email, plan).await);
    }
    // Stripe's side is over in three ways; the events saying so are still on their way.
    fake.end_subscription(&readers[0].1);
    fake.delete_customer(&customer_of(&fake, &readers[1].1));
    fake.forget_subscription(&readers[2].1);

    for ((email, _), (reader, _)) in cases.iter().zip(&readers) {
        assert_eq!(current(&app, email).len(), 1, "{email}: still active here");
        let page = reader.delete_account(PHRASE, PASSWORD).await;
        assert_eq!(
            (page.status, page.location()),
            (StatusCode::SEE_OTHER, Some("/")),
            "{email}: deleting answered {}",
            page.status
        );
        assert_eq!(user_id_of(&app, email), None, "{email}: deleted");
    }
    assert_eq!(rows_in(&app, "subscriptions"), 0);
    // The events arrive afterwards and find nothing of Gazette's to change.
    let statuses = fake.deliver_pending().await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
}

#[tokio::test]
async fn deleting_an_account_cancels_its_subscription_on_a_price_outside_the_plans() {
    let (fake, app) = shop().await;
    let (reader, sub) = subscriber(&fake, &app, "moved@example.com", "monthly").await;
    fake.add_price(super::prices::rotated());
    fake.move_to_price(&sub, super::prices::ROTATED);
    let statuses = fake.deliver_pending().await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");

    let page = reader.delete_account(PHRASE, PASSWORD).await;
    assert_eq!(
        page.status,
        StatusCode::SEE_OTHER,
        "deleting answered {}",
        page.status
    );
    assert_eq!(user_id_of(&app, "moved@example.com"), None);
    let at_stripe = fake.subscription(&sub);
    assert_eq!(at_stripe["status"], "canceled", "nothing more is charged");
    assert_eq!(at_stripe["ended_at"], fake.now());
}
