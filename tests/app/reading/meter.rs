use reqwest::StatusCode;
use time::macros::datetime;

use crate::helpers::*;

#[tokio::test]
async fn sixth_distinct_premium_article_is_paywalled() {
    let app = TestApp::spawn().await;
    let reader = Reader::new(&app);
    let premium = app.premium_ids();

    for (n, id) in premium[..5].iter().enumerate() {
        let page = reader.read_article(*id).await;
        assert_eq!(page.status, StatusCode::OK, "article {} of 5", n + 1);
        let left = 4 - n;
        assert!(
            page.body
                .contains(&format!("{left} of 5 free articles left this month"))
                || (left == 0
                    && page
                        .body
                        .contains("You have read your 5 free articles this month"))
        );
    }
    let sixth = reader.read_article(premium[5]).await;
    assert_eq!(sixth.status, StatusCode::PAYMENT_REQUIRED);
    assert!(sixth.body.contains("Subscribe"));
    assert!(sixth.body.contains("/login"));
}

#[tokio::test]
async fn the_paywall_shows_the_teaser_but_never_the_body() {
    let app = TestApp::builder()
        .settings(|s| s.free_articles_per_month = 0)
        .start()
        .await;
    let reader = Reader::new(&app);
    let newest = *app.premium_ids().last().unwrap();

    let page = reader.read_article(newest).await;
    assert_eq!(page.status, StatusCode::PAYMENT_REQUIRED);
    assert!(page.body.contains("Learning to See the Night Sky Again"));
    assert!(
        page.body
            .contains("The Milky Way is hidden from more than a third of humanity"),
        "teaser"
    );
    assert!(
        !page.body.contains("Ask an older relative"),
        "first line of the body"
    );
    assert!(
        !page.body.contains("A brightening world"),
        "a subheading of the body"
    );
    assert!(!page.body.contains("article-body"));
}

#[tokio::test]
async fn free_articles_never_count() {
    let app = TestApp::builder()
        .settings(|s| s.free_articles_per_month = 1)
        .start()
        .await;
    let reader = Reader::new(&app);
    for id in app.free_ids() {
        assert_eq!(reader.read_article(id).await.status, StatusCode::OK);
        assert_eq!(reader.read_article(id).await.status, StatusCode::OK);
    }
    assert_eq!(
        reader.read_article(app.premium_ids()[0]).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn re_reading_an_article_costs_nothing_even_after_the_allowance_is_used() {
    let app = TestApp::builder()
        .settings(|s| s.free_articles_per_month = 2)
        .start()
        .await;
    let reader = Reader::new(&app);
    let premium = app.premium_ids();

    for _ in 0..3 {
        assert_eq!(reader.read_article(premium[0]).await.status, StatusCode::OK);
    }
    assert_eq!(reader.read_article(premium[1]).await.status, StatusCode::OK);
    assert_eq!(
        reader.read_article(premium[0]).await.status,
        StatusCode::OK,
        "still readable"
    );
    assert_eq!(
        reader.read_article(premium[1]).await.status,
        StatusCode::OK,
        "still readable"
    );
    assert_eq!(
        reader.read_article(premium[2]).await.status,
        StatusCode::PAYMENT_REQUIRED
    );
}

#[tokio::test]
async fn a_new_visitor_has_a_fresh_meter() {
    let app = TestApp::builder()
        .settings(|s| s.free_articles_per_month = 1)
        .start()
        .await;
    let premium = app.premium_ids();
    let first = Reader::new(&app);
    first.read_article(premium[0]).await;
    assert_eq!(
        first.read_article(premium[1]).await.status,
        StatusCode::PAYMENT_REQUIRED
    );

    let second = Reader::new(&app);
    let home = second.get("/").await;
    assert!(home.body.contains("1 of 1 free article left this month"));
    assert_eq!(second.read_article(premium[1]).await.status, StatusCode::OK);
}

#[tokio::test]
async fn the_meter_resets_at_the_start_of_each_calendar_month() {
    let app = TestApp::builder()
        .settings(|s| s.free_articles_per_month = 2)
        .start()
        .await;
    app.clock.set(datetime!(2026-11-30 23:59 UTC));
    let reader = Reader::new(&app);
    let premium = app.premium_ids();
    reader.read_article(premium[0]).await;
    reader.read_article(premium[1]).await;
    assert_eq!(
        reader.read_article(premium[2]).await.status,
        StatusCode::PAYMENT_REQUIRED
    );

    app.clock.set(datetime!(2026-12-01 0:00 UTC));
    let home = reader.get("/").await;
    assert!(home.body.contains("2 of 2 free articles left this month"));
    assert_eq!(reader.read_article(premium[2]).await.status, StatusCode::OK);
    assert_eq!(reader.read_article(premium[3]).await.status, StatusCode::OK);
    assert_eq!(
        reader.read_article(premium[4]).await.status,
        StatusCode::PAYMENT_REQUIRED
    );
}

#[tokio::test]
async fn the_session_cookie_stays_under_4096_bytes_at_the_largest_meter() {
    use diesel::RunQueryDsl;
    let allowance = gazette::config::MAX_FREE_ARTICLES_PER_MONTH;
    let app = TestApp::builder()
        .settings(|s| s.free_articles_per_month = allowance)
        .start()
        .await;
    // The widest possible ids, so the meter is as long as it can ever be.
    let first = i64::MAX - i64::from(allowance) - 10;
    diesel::sql_query(format!(
        "INSERT INTO articles (id, title, slug, author, author_slug, teaser, body_markdown, body_html, \
           is_premium, published_at, first_published_at) \
         SELECT g, 'T' || g, 't-' || g, 'A', 'a', 'Teaser', 'Body', '<p>Body</p>', true, \
           '2026-11-01', '2026-11-01' \
         FROM generate_series({first}::bigint, {}::bigint) g",
        first + i64::from(allowance) + 5
    ))
    .execute(&mut app.connect())
    .unwrap();

    let reader = Reader::new(&app);
    let mut largest = 0;
    for id in first..=first + i64::from(allowance) {
        let page = reader.read_article(id).await;
        largest = page
            .set_cookies()
            .iter()
            .map(String::len)
            .max()
            .unwrap_or(0)
            .max(largest);
    }
    assert_eq!(
        reader
            .read_article(first + i64::from(allowance))
            .await
            .status,
        StatusCode::PAYMENT_REQUIRED
    );
    assert!(
        largest > 1000,
        "the meter really is in the cookie ({largest} bytes)"
    );
    assert!(largest < 4096, "Set-Cookie of {largest} bytes");
}
