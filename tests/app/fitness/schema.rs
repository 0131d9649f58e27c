//! `src/schema.rs` must describe exactly the tables the migrations create.

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::Text;
use gazette::schema::*;

use crate::helpers::*;

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    column_name: String,
}

fn database_columns(conn: &mut PgConnection, table: &str) -> Vec<String> {
    let mut names: Vec<String> = diesel::sql_query(
        "SELECT column_name::text FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1",
    )
    .bind::<Text, _>(table)
    .load::<Column>(conn)
    .unwrap()
    .into_iter()
    .map(|c| c.column_name)
    .collect();
    names.sort();
    names
}

/// Column names diesel selects for `query` (`SELECT "t"."a", "t"."b" FROM ...`).
fn diesel_columns<Q: diesel::query_builder::QueryFragment<Pg>>(query: Q) -> Vec<String> {
    let sql = diesel::debug_query::<Pg, _>(&query).to_string();
    let list = sql
        .trim_start_matches("SELECT ")
        .split(" FROM ")
        .next()
        .unwrap()
        .to_string();
    let mut names: Vec<String> = list
        .split(", ")
        .map(|c| c.rsplit('.').next().unwrap().trim_matches('"').to_string())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn schema_matches_the_migrations() {
    let app = TestApp::spawn().await;
    let mut conn = app.connect();
    let tables = [
        (
            "access_grants",
            diesel_columns(access_grants::table.select(access_grants::all_columns)),
        ),
        (
            "media",
            diesel_columns(media::table.select(media::all_columns)),
        ),
        (
            "media_variants",
            diesel_columns(media_variants::table.select(media_variants::all_columns)),
        ),
        (
            "media_blobs",
            diesel_columns(media_blobs::table.select(media_blobs::all_columns)),
        ),
        (
            "article_media",
            diesel_columns(article_media::table.select(article_media::all_columns)),
        ),
        (
            "articles",
            diesel_columns(articles::table.select(articles::all_columns)),
        ),
        (
            "users",
            diesel_columns(users::table.select(users::all_columns)),
        ),
        (
            "plans",
            diesel_columns(plans::table.select(plans::all_columns)),
        ),
        (
            "subscriptions",
            diesel_columns(subscriptions::table.select(subscriptions::all_columns)),
        ),
        (
            "user_sessions",
            diesel_columns(user_sessions::table.select(user_sessions::all_columns)),
        ),
        (
            "meter_reads",
            diesel_columns(meter_reads::table.select(meter_reads::all_columns)),
        ),
        (
            "article_gifts",
            diesel_columns(article_gifts::table.select(article_gifts::all_columns)),
        ),
        (
            "login_throttle",
            diesel_columns(login_throttle::table.select(login_throttle::all_columns)),
        ),
        (
            "checkouts",
            diesel_columns(checkouts::table.select(checkouts::all_columns)),
        ),
        (
            "account_tokens",
            diesel_columns(account_tokens::table.select(account_tokens::all_columns)),
        ),
        (
            "mail_outbox",
            diesel_columns(mail_outbox::table.select(mail_outbox::all_columns)),
        ),
        (
            "closed_account_payments",
            diesel_columns(
                closed_account_payments::table.select(closed_account_payments::all_columns),
            ),
        ),
        (
            "gateway_customers",
            diesel_columns(gateway_customers::table.select(gateway_customers::all_columns)),
        ),
        (
            "hosted_checkouts",
            diesel_columns(hosted_checkouts::table.select(hosted_checkouts::all_columns)),
        ),
        (
            "gateway_events",
            diesel_columns(gateway_events::table.select(gateway_events::all_columns)),
        ),
        (
            "newsletter_signups",
            diesel_columns(newsletter_signups::table.select(newsletter_signups::all_columns)),
        ),
        (
            "newsletter_suppressions",
            diesel_columns(
                newsletter_suppressions::table.select(newsletter_suppressions::all_columns),
            ),
        ),
        (
            "newsletter_sends",
            diesel_columns(newsletter_sends::table.select(newsletter_sends::all_columns)),
        ),
        (
            "newsletter_deliveries",
            diesel_columns(newsletter_deliveries::table.select(newsletter_deliveries::all_columns)),
        ),
        (
            "newsletter_pace",
            diesel_columns(newsletter_pace::table.select(newsletter_pace::all_columns)),
        ),
        (
            "offers",
            diesel_columns(offers::table.select(offers::all_columns)),
        ),
        (
            "offer_redemptions",
            diesel_columns(offer_redemptions::table.select(offer_redemptions::all_columns)),
        ),
        (
            "gift_subscriptions",
            diesel_columns(gift_subscriptions::table.select(gift_subscriptions::all_columns)),
        ),
    ];
    for (table, columns) in &tables {
        assert_eq!(&database_columns(&mut conn, table), columns, "{table}");
    }

    #[derive(QueryableByName)]
    struct Table {
        #[diesel(sql_type = Text)]
        table_name: String,
    }
    let mut in_database: Vec<String> = diesel::sql_query(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'",
    )
    .load::<Table>(&mut conn)
    .unwrap()
    .into_iter()
    .map(|t| t.table_name)
    .collect();
    in_database.sort();
    let mut described: Vec<String> = tables.iter().map(|(t, _)| t.to_string()).collect();
    described.sort();
    assert_eq!(in_database, described, "every table is in schema.rs");
}

#[tokio::test]
async fn the_database_refuses_a_second_current_subscription() {
    let app = TestApp::spawn().await;
    Reader::signed_up(&app, "twice@example.com").await;
    let mut conn = app.connect();
    let insert = "INSERT INTO subscriptions (user_id, plan_code, status, current_period_start, current_period_end, gateway, gateway_reference, period_value_cents) \
                  SELECT id, 'monthly', 'active', now(), now() + interval '1 month', 'test', 'x', 800 FROM users";
    diesel::sql_query(insert).execute(&mut conn).unwrap();
    let second = diesel::sql_query(insert).execute(&mut conn);
    assert!(
        second
            .unwrap_err()
            .to_string()
            .contains("subscriptions_one_current_per_user")
    );
}

#[tokio::test]
async fn the_database_refuses_a_duplicate_email_and_dangling_references() {
    let app = TestApp::spawn().await;
    let mut conn = app.connect();
    let user = "INSERT INTO users (email, password_hash) VALUES ('x@example.com', '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA')";
    diesel::sql_query(user).execute(&mut conn).unwrap();
    assert!(
        diesel::sql_query(user).execute(&mut conn).is_err(),
        "unique e-mail"
    );
    let orphan = "INSERT INTO meter_reads (user_id, month, article_id, opened_at) VALUES (999999, '2026-11-01', 1, now())";
    assert!(
        diesel::sql_query(orphan).execute(&mut conn).is_err(),
        "foreign key"
    );
    let mid_month = "INSERT INTO meter_reads (user_id, month, article_id, opened_at) SELECT id, '2026-11-15', 1, now() FROM users";
    assert!(
        diesel::sql_query(mid_month).execute(&mut conn).is_err(),
        "months start on day 1"
    );
    let free_plan = "INSERT INTO plans (code, name, price_cents, currency, period_months) VALUES ('free', 'Free', 0, 'USD', 1)";
    assert!(
        diesel::sql_query(free_plan).execute(&mut conn).is_err(),
        "prices are positive"
    );
}

#[tokio::test]
async fn a_reader_has_at_most_one_checkout() {
    let app = TestApp::spawn().await;
    Reader::signed_up(&app, "checkout@example.com").await;
    let mut conn = app.connect();
    let user_id: gazette::domain::ids::UserId = gazette::schema::users::table
        .select(gazette::schema::users::id)
        .first(&mut conn)
        .unwrap();
    let new = gazette::models::NewCheckout {
        user_id,
        plan_code: "monthly",
        amount_cents: 800,
        period_value_cents: 800,
        period_months: 1,
        period_end_at_least: START + time::Duration::days(30),
        payment_key: "checkout-0123456789abcdef",
        started_at: START,
        offer_code: None,
        discount_from: None,
    };
    let first = gazette::db::checkouts::open(&mut conn, &new).unwrap();
    assert!(first.is_some());
    let other_key = gazette::models::NewCheckout {
        payment_key: "checkout-fedcba9876543210",
        ..new
    };
    let second = gazette::db::checkouts::open(&mut conn, &other_key).unwrap();
    assert!(
        second.is_none(),
        "a second checkout is refused, not merged into the first"
    );
}
