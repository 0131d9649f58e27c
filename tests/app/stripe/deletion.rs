//! Deleting an account paid through Stripe while Stripe's side is in an odd state: the
//! subscription ended there (or its customer was deleted, or it is gone) and the webhook
//! saying so has not arrived.

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
