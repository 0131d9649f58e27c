//! Gift subscriptions paid on Stripe's page (Checkout in payment mode): one page however often
//! the form is sent, the gift paid once whether the event, the buyer's return or housekeeping
//! says so first (its recipient mailed once), a page left unpaid leaving no gift, and forged
//! events changing nothing.

use serde_json::Value;
use time::Duration;

use super::*;
use crate::billing::gift_subscriptions::{
    buy, form_of, gift_grants, gifts_in, mailed_link, redeem,
};

fn gift_reference(app: &TestApp) -> Option<String> {
    use gazette::schema::gift_subscriptions;
    gift_subscriptions::table
        .select(gift_subscriptions::gateway_reference)
        .first(&mut app.connect())
        .unwrap()
}

#[tokio::test]
async fn a_gift_is_paid_on_stripes_page_once_and_its_recipient_mailed_once() {
    let (fake, app) = shop().await;
    let buyer = Reader::signed_up(&app, "giver@example.com").await;
    let (key, csrf) = form_of(&buyer).await;
    let form = [
        ("months", "3"),
        ("recipient", "friend@example.com"),
        ("from", "Ann"),
        ("message", ""),
        ("form_key", key.as_str()),
        ("csrf_token", csrf.as_str()),
    ];
    // A burst of the same form: one page, one gift.
    let pages = join_all((0..6).map(|_| buyer.post("/gift", &form))).await;
    let sessions: Vec<Value> = pages.iter().map(|page| session_of(&fake, page)).collect();
    assert!(
        sessions.iter().all(|s| s["id"] == sessions[0]["id"]),
        "one page"
    );
    let payment_sessions: Vec<Value> = fake
        .sessions()
        .into_iter()
        .filter(|s| s["mode"] == "payment")
        .collect();
    assert_eq!(payment_sessions.len(), 1);
    let session = &payment_sessions[0];
    assert_eq!(session["amount_total"], 2400);
    assert_eq!(session["currency"], "usd");
    assert_eq!(session["customer_email"], "giver@example.com");
    assert!(session["subscription_data"].is_null(), "no subscription");
    assert_eq!(gifts_in(&app, "pending"), 1);
    assert!(fake.subscriptions().is_empty());

    // Paid: the event marks it, once, however often it is delivered.
    let id = session["id"].as_str().unwrap().to_string();
    fake.pay(&id);
    let events = fake.pending();
    let statuses = fake.deliver_pending().await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(gifts_in(&app, "paid"), 1);
    assert_eq!(gift_reference(&app).as_deref(), Some(id.as_str()));
    for event in &events {
        assert_eq!(
            fake.deliver(event).await,
            200,
            "a duplicate is acknowledged"
        );
    }
    let link = mailed_link(&app, "friend@example.com").await;
    // The buyer's return finds it done.
    let back = buyer.get(&format!("/gift/complete?checkout={id}")).await;
    assert_eq!(back.location(), Some("/account#gifts-title"));
    let account = buyer.follow(&back).await;
    assert!(
        account.body.contains("your gift is paid"),
        "{}",
        account.body
    );
    assert!(account.body.contains("Paid, waiting to be redeemed"));
    // The same form again leads nowhere new.
    let again = buyer.post("/gift", &form).await;
    assert_eq!(again.location(), Some("/account#gifts-title"));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app.mailbox.delivered_to("friend@example.com").len(), 1);

    // Redeemed like any gift.
    let friend = Reader::signed_up(&app, "friend@example.com").await;
    assert_eq!(redeem(&friend, &link).await.location(), Some("/account"));
    assert_eq!(gift_grants(&app).len(), 1);

    // Another reader's return with this page's id, and forged events, change nothing.
    let stranger = Reader::signed_up(&app, "stranger@example.com").await;
    let theirs = stranger.get(&format!("/gift/complete?checkout={id}")).await;
    assert!(
        stranger
            .follow(&theirs)
            .await
            .body
            .contains("not one of your gifts")
    );
    let body = fake.body_of(&events[0]);
    assert_eq!(fake.post_raw(&body, Some("t=1,v1=00")).await, 400);
    assert_eq!(fake.post_raw(&body, None).await, 400);
}

#[tokio::test]
async fn the_buyers_return_or_housekeeping_settles_a_gift_whose_event_is_lost_and_an_unpaid_page_leaves_no_gift()
 {
    let (fake, app) = shop().await;
    let buyer = Reader::signed_up(&app, "giver@example.com").await;

    // Paid, the event lost: the return records it.
    let page = buy(&buyer, "1", "first@example.com", "").await;
    let first = session_of(&fake, &page)["id"].as_str().unwrap().to_string();
    fake.pay(&first);
    fake.lose_pending();
    let back = buyer.get(&format!("/gift/complete?checkout={first}")).await;
    assert_eq!(back.location(), Some("/account#gifts-title"));
    assert_eq!(gifts_in(&app, "paid"), 1);
    mailed_link(&app, "first@example.com").await;

    // Paid, the event lost and the buyer gone off: housekeeping asks Stripe.
    let page = buy(&buyer, "6", "second@example.com", "").await;
    let second = session_of(&fake, &page)["id"].as_str().unwrap().to_string();
    // Left unpaid: Stripe expires its page after a day.
    let page = buy(&buyer, "12", "third@example.com", "").await;
    let third = session_of(&fake, &page)["id"].as_str().unwrap().to_string();
    fake.pay(&second);
    fake.lose_pending();
    let billing = billing_of(&app, &fake);
    app.clock.advance(Duration::minutes(3));
    let settled = billing.settle_gifts().await.unwrap();
    assert_eq!(settled, 1, "the paid one; the open one waits");
    assert_eq!(gifts_in(&app, "paid"), 2);
    assert_eq!(gifts_in(&app, "pending"), 1);

    app.clock.advance(Duration::hours(25));
    fake.expire_due_sessions();
    let statuses = fake.deliver_pending().await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(gifts_in(&app, "unpaid"), 1, "the expired page's gift");
    assert_eq!(gifts_in(&app, "pending"), 0);
    let late = buyer.get(&format!("/gift/complete?checkout={third}")).await;
    assert!(buyer.follow(&late).await.body.contains("Payment declined"));
    // Settling again changes nothing, and no mail went to the unpaid gift's recipient.
    assert_eq!(billing.settle_gifts().await.unwrap(), 0);
    Reader::new(&app).forgot_password("giver@example.com").await;
    mailed_link(&app, "second@example.com").await;
    assert!(app.mailbox.delivered_to("third@example.com").is_empty());
}
