//! Leaving: deleting an account ends its subscription at once and erases the account, its
//! logins, meter and links, keeping of its payments only what accounting needs, without the
//! e-mail; and the reader's copy of everything kept about them.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

const OWNER: &str = "leaving@example.com";

#[tokio::test]
async fn deleting_ends_the_subscription_erases_the_account_and_lands_on_the_front_page() {
    let app = TestApp::spawn().await;
    let reader = Reader::signed_up(&app, OWNER).await;
    reader.subscribe("monthly").await;
    reader.cancel_subscription().await;
    reader.subscribe("yearly").await;
    assert_eq!(current(&app, OWNER).len(), 1);
    let gifted = reader.gift_article(app.premium_ids()[0]).await;
    assert_eq!(gifted.status, StatusCode::OK);
    let elsewhere = Reader::new(&app);
    elsewhere.log_in(OWNER, PASSWORD).await;
    reader.forgot_password(OWNER).await;
    app.mailbox.wait_for(OWNER, 1).await;
    let user = user_id(&app, OWNER);

    let page = reader.delete_account("Delete my account", PASSWORD).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), Some("/"));
    let front = reader.follow(&page).await;
    assert!(
        front
            .body
            .contains("Your account is deleted, and you are logged out")
    );
    assert!(front.body.contains("href=\"/login\""), "logged out");
    assert_eq!(
        elsewhere.get("/account").await.status,
        StatusCode::SEE_OTHER
    );

    assert_eq!(user_id_of(&app, OWNER), None);
    for table in [
        "user_sessions",
        "subscriptions",
        "checkouts",
        "meter_reads",
        "article_gifts",
        "account_tokens",
    ] {
        assert_eq!(rows_in(&app, table), 0, "{table}");
    }
    // The payments are kept for accounting, with nothing that names the reader.
    assert_eq!(rows_in(&app, "closed_account_payments"), 2);
    let kept = dump_table(&app, "closed_account_payments");
    assert!(!kept.contains(OWNER) && !kept.contains("leaving"), "{kept}");
    assert!(!kept.contains(&format!("\"{user}\"")));

    let notice = app.mailbox.next_for(OWNER, 1).await;
    assert_eq!(notice.subject, "Your Gazette account is deleted");
    assert_eq!(
        Reader::new(&app).log_in(OWNER, PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn deleting_keeps_the_browsers_meter_so_it_gives_no_fresh_articles() {
    let app = TestApp::spawn().await;
    let reader = Reader::signed_up(&app, OWNER).await;
    for id in &app.premium_ids()[..3] {
        assert_eq!(reader.read_article(*id).await.status, StatusCode::OK);
    }
    let page = reader.delete_account("delete my account", PASSWORD).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let front = reader.follow(&page).await;
    assert!(
        front.body.contains("2 of 5 free articles left"),
        "{}",
        front.body
    );
}

#[tokio::test]
async fn deleting_asks_for_the_phrase_and_the_password_at_their_fields() {
    let app = TestApp::spawn().await;
    let reader = Reader::signed_up(&app, OWNER).await;
    for (what, phrase, password, fields) in [
        ("no phrase", "", PASSWORD, vec!["confirmation-error"]),
        (
            "another phrase",
            "yes please",
            PASSWORD,
            vec!["confirmation-error"],
        ),
        (
            "wrong password",
            "delete my account",
            "not it at all",
            vec!["password-error"],
        ),
        (
            "neither",
            "",
            "",
            vec!["confirmation-error", "password-error"],
        ),
    ] {
        let page = reader.delete_account(phrase, password).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{what}");
        for field in fields {
            assert!(
                page.body.contains(&format!("id=\"{field}\"")),
                "{what}: {field}"
            );
        }
    }
    assert!(user_id_of(&app, OWNER).is_some());
    assert_eq!(reader.get("/account").await.status, StatusCode::OK);
}

#[tokio::test]
async fn an_account_whose_payment_is_being_confirmed_is_not_deleted_yet() {
    let app = TestApp::spawn().await;
    let reader = Reader::signed_up(&app, OWNER).await;
    leave_charged_checkout(&app, OWNER);
    let page = reader.delete_account("delete my account", PASSWORD).await;
    assert_eq!(page.status, StatusCode::CONFLICT);
    assert!(page.body.contains("being confirmed"));
    assert!(user_id_of(&app, OWNER).is_some());
    assert_eq!(
        open_checkouts(&app),
        1,
        "the payment is still there to record"
    );
}

#[tokio::test]
async fn the_export_holds_everything_kept_about_the_reader() {
    let app = TestApp::spawn().await;
    let reader = Reader::signed_up(&app, OWNER).await;
    let premium = app.premium_ids();
    reader.read_article(premium[0]).await;
    reader.read_article(premium[1]).await;
    reader.subscribe("monthly").await;
    let gifted = reader.gift_article(premium[2]).await;
    let gift_link = gift_link_in(&gifted.body);
    Reader::new(&app).log_in(OWNER, PASSWORD).await;
    reader.change_email("next@example.com", PASSWORD).await;
    let link = app.mailbox.wait_for("next@example.com", 1).await[0].token();
    Reader::signed_up(&app, "someone.else@example.com").await;

    let page = reader.get("/account/export").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    assert!(
        page.header("content-disposition")
            .unwrap()
            .starts_with("attachment")
    );
    assert_eq!(page.header("cache-control"), Some("no-store"));
    let data: Value = serde_json::from_str(&page.body).expect("JSON");
    assert_eq!(data["account"]["email"], OWNER);
    assert!(!page.body.contains("$argon2"), "no password hash");
    assert_eq!(data["logins"].as_array().unwrap().len(), 2);
    let meter: Vec<i64> = data["meter"]
        .as_array()
        .unwrap()
        .iter()
        .map(|read| read["article_id"].as_i64().unwrap())
        .collect();
    assert_eq!(meter, premium[..2]);
    let gifts = data["articles_gifted"].as_array().unwrap();
    assert_eq!(gifts.len(), 1);
    assert_eq!(gifts[0]["article_id"], premium[2]);
    assert!(
        !page.body.contains(&gift_token_of(&gift_link)),
        "no gift token"
    );
    let subscriptions = data["subscriptions"].as_array().unwrap();
    assert_eq!(subscriptions.len(), 1);
    assert_eq!(subscriptions[0]["plan"], "monthly");
    assert_eq!(subscriptions[0]["paid_through"], "test");
    assert_eq!(data["links_sent"][0]["new_email"], "next@example.com");
    assert!(!page.body.contains("someone.else"), "nobody else's data");
    assert!(!page.body.contains(&link), "no usable token");
}

/// The table's rows as text, to look for what must not be there.
fn dump_table(app: &TestApp, table: &str) -> String {
    use diesel::prelude::*;
    #[derive(diesel::QueryableByName)]
    struct Dump {
        #[diesel(sql_type = diesel::sql_types::Text)]
        rows: String,
    }
    diesel::sql_query(format!(
        "SELECT coalesce(json_agg(t)::text, '') AS rows FROM {table} t"
    ))
    .get_result::<Dump>(&mut app.connect())
    .expect("dumping a table")
    .rows
}
