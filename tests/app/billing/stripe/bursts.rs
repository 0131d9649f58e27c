//! Many readers at once: double clicks, and Stripe's events duplicated and out of order.

use std::collections::HashSet;
use std::time::Duration as StdDuration;

use super::*;

/// The same shuffle every run: a small linear congruential generator.
fn shuffle<T>(items: &mut [T], mut seed: u64) {
    for i in (1..items.len()).rev() {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let j = usize::try_from(seed >> 33).unwrap() % (i + 1);
        items.swap(i, j);
    }
}

#[tokio::test]
async fn many_readers_double_clicking_at_once_each_get_one_customer_and_one_checkout() {
    let (fake, app) = shop_with(|s| s.limits.signups_per_address = 100).await;
    fake.set_latency(StdDuration::from_millis(100));
    let readers = join_all((0..12).map(|n| {
        let app = &app;
        async move { Reader::signed_up(app, &format!("burst{n}@example.com")).await }
    }))
    .await;
    let tokens = join_all(readers.iter().map(Reader::csrf_token)).await;
    let clicks = readers.iter().zip(&tokens).flat_map(|(reader, token)| {
        (0..3).map(move |_| {
            reader.post(
                "/subscribe",
                &[("plan", "monthly"), ("csrf_token", token.as_str())],
            )
        })
    });
    let pages = join_all(clicks).await;
    assert!(
        pages.iter().all(|p| p.status == StatusCode::SEE_OTHER),
        "{:?}",
        pages.iter().map(|p| p.status).collect::<Vec<_>>()
    );
    for (n, clicks) in pages.chunks(3).enumerate() {
        let email = format!("burst{n}@example.com");
        let customers = fake.customers_of(&email);
        assert_eq!(customers.len(), 1, "{email}");
        let sessions = fake.sessions_of(customers[0]["id"].as_str().unwrap());
        assert_eq!(sessions.len(), 1, "{email}");
        for click in clicks {
            assert_eq!(click.location(), sessions[0]["url"].as_str(), "{email}");
        }
    }
    assert_eq!(hosted_checkouts(&app), 12);
}

#[tokio::test]
async fn duplicated_and_shuffled_events_for_many_readers_at_once_apply_once() {
    let (fake, app) = shop_with(|s| s.limits.signups_per_address = 100).await;
    let mut readers = Vec::new();
    for n in 0..10 {
        let reader = Reader::signed_up(&app, &format!("flood{n}@example.com")).await;
        let (_, session) =
            to_checkout(&reader, if n % 2 == 0 { "monthly" } else { "yearly" }, "").await;
        fake.pay(&session);
        readers.push(reader);
    }
    // Half the readers cancel in Stripe's portal straight away.
    for reader in readers.iter().step_by(2) {
        let portal = reader
            .post(
                "/account/billing",
                &[("csrf_token", &reader.csrf_token().await)],
            )
            .await;
        crate::support::http_client()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .post(format!("{}/cancel", portal.location().unwrap()))
            .send()
            .await
            .unwrap();
    }

    // Every event two or three times, in a shuffled order, all at once.
    let mut deliveries: Vec<String> = fake
        .pending()
        .into_iter()
        .flat_map(|id| {
            let times = if id.ends_with(['0', '3', '6']) { 3 } else { 2 };
            std::iter::repeat_n(id, times)
        })
        .collect();
    shuffle(&mut deliveries, 7);
    let statuses = join_all(deliveries.iter().map(|id| fake.deliver(id))).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");

    for n in 0..10 {
        let email = format!("flood{n}@example.com");
        let rows = subscriptions_of(&app, &email);
        assert_eq!(rows.len(), 1, "{email}: one subscription");
        let customer = fake.customers_of(&email)[0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let at_stripe = &fake.subscriptions_of(&customer)[0];
        assert_eq!(rows[0].gateway_reference, at_stripe["id"].as_str().unwrap());
        let expected = if n % 2 == 0 { "canceled" } else { "active" };
        assert_eq!(rows[0].status, expected, "{email}: Stripe's latest state");
        assert_eq!(
            rows[0].plan_code,
            if n % 2 == 0 { "monthly" } else { "yearly" }
        );
    }
    assert_eq!(hosted_checkouts(&app), 0);
    // Each event that concerned a reader is recorded exactly once.
    let kinds_applied: HashSet<String> = fake
        .events()
        .into_iter()
        .filter(|e| e.kind != "customer.created")
        .map(|e| e.id)
        .collect();
    let recorded: Vec<String> = gazette::schema::gateway_events::table
        .select(gazette::schema::gateway_events::event_id)
        .load(&mut app.connect())
        .unwrap();
    let unique: HashSet<String> = recorded.iter().cloned().collect();
    assert_eq!(unique.len(), recorded.len(), "no event twice");
    assert!(unique.is_subset(&kinds_applied));
}
