//! A premium article's body reaches only those who may read it. A sentence planted in one is
//! looked for in every answer a non-subscriber can get, as an attacker would look: every
//! listing and page of the archive, the feed, the sitemap, the article by every address and
//! a few invented ones (forged gift links too), its preview, its form on the desk, error pages, HEAD requests, with
//! and without a login.

use reqwest::StatusCode;

use crate::helpers::*;

/// No apostrophes or quotes: Markdown's smart punctuation would change them.
const SECRET: &str = "The lighthouse ledger lists nineteen ships that never existed.";

/// Everything a visitor could ask for about article `id` (slug `slug`), and the site around it.
fn addresses(id: i64, slug: &str) -> Vec<String> {
    let mut paths = vec![
        "/".to_string(),
        "/page/2".to_string(),
        "/page/3".to_string(),
        "/feed.xml".to_string(),
        "/sitemap.xml".to_string(),
        "/sitemap/1.xml".to_string(),
        "/robots.txt".to_string(),
        "/authors/ada-editor".to_string(),
        "/authors/ada-editor/page/2".to_string(),
        "/subscribe".to_string(),
        format!("/subscribe?next=/articles/{id}"),
        format!("/login?next=/articles/{id}"),
        format!("/signup?next=/articles/{id}"),
        "/account".to_string(),
        format!("/articles/{id}"),
        format!("/articles/{id}/{slug}"),
        format!("/articles/{id}/{slug}?preview=1&as=subscriber"),
        format!("/articles/{id}?gift="),
        format!("/articles/{id}/{slug}?gift=forged.token"),
        format!("/articles/{id}/wrong-slug?gift=forged.token"),
        format!("/articles/{id}/wrong-slug"),
        format!("/articles/{id}/{slug}/more"),
        format!("/articles/{id}.xml"),
        format!("/articles/0{id}"),
        format!("/editor/articles/{id}"),
        format!("/editor/articles/{id}/preview"),
        format!("/editor/articles/{id}/preview/paywall"),
        "/editor".to_string(),
        "/no-such-page".to_string(),
        "/static/../articles".to_string(),
    ];
    paths.extend((1..=id + 2).map(|other| format!("/articles/{other}")));
    paths
}

async fn look_everywhere(app: &TestApp, reader: &Reader<'_>, who: &str, id: i64, slug: &str) {
    for path in addresses(id, slug) {
        for _ in 0..2 {
            let page = reader.get(&path).await;
            assert!(page.status.as_u16() < 500, "{who} {path}: {}", page.status);
            assert!(
                !page.body.contains(SECRET) && !page.body.contains("nineteen ships"),
                "{who} read the premium body at {path} ({})",
                page.status
            );
        }
    }
    let head = crate::support::http_client()
        .build()
        .expect("an HTTP client")
        .head(app.url(&format!("/articles/{id}/{slug}")))
        .send()
        .await
        .unwrap();
    let body = head.text().await.unwrap();
    assert!(!body.contains(SECRET), "{who}: HEAD");
}

#[tokio::test]
async fn a_sentence_in_a_premium_body_reaches_no_one_who_has_not_paid_for_it() {
    let app = TestApp::builder()
        .settings(|s| s.free_articles_per_month = 2)
        .start()
        .await;
    add_archive(&app, 30);
    let newsroom = editor(&app, "editor@example.com").await;
    let id = newsroom
        .write_article(
            &ArticleFields::premium("The Keeper's Ledger", &format!("An opening.\n\n{SECRET}")),
            "publish",
        )
        .await;
    let slug = "the-keeper-s-ledger";

    // Control: whoever may read it does see the sentence, so the search below can find it.
    let paying = subscriber(&app, "paying@example.com").await;
    assert!(paying.read_article(id).await.body.contains(SECRET));
    assert!(
        newsroom
            .get(&format!("/editor/articles/{id}/preview"))
            .await
            .body
            .contains(SECRET)
    );

    // A visitor whose free articles are used up, on other premium articles.
    let visitor = Reader::new(&app);
    for other in app.premium_ids().iter().take(2) {
        assert_eq!(visitor.read_article(*other).await.status, StatusCode::OK);
    }
    let paywall = visitor.read_article(id).await;
    assert_eq!(paywall.status, StatusCode::PAYMENT_REQUIRED);
    look_everywhere(&app, &visitor, "a visitor past the meter", id, slug).await;

    // A logged-in reader past the meter, and one who logged out.
    let reader = Reader::signed_up(&app, "reader@example.com").await;
    for other in app.premium_ids().iter().take(2) {
        reader.read_article(*other).await;
    }
    look_everywhere(&app, &reader, "a reader past the meter", id, slug).await;
    reader.log_out().await;
    look_everywhere(&app, &reader, "a reader logged out", id, slug).await;

    // A subscriber whose subscription has lapsed, past the meter.
    paying.cancel_subscription().await;
    app.clock.advance(time::Duration::days(40));
    for other in app.premium_ids().iter().take(2) {
        assert_eq!(paying.read_article(*other).await.status, StatusCode::OK);
    }
    look_everywhere(
        &app,
        &paying,
        "a lapsed subscriber past the meter",
        id,
        slug,
    )
    .await;
    let lapsed = paying.read_article(id).await;
    assert!(!lapsed.body.contains(SECRET));
}

#[tokio::test]
async fn with_no_free_articles_a_premium_body_never_reaches_a_visitor() {
    let app = TestApp::builder()
        .settings(|s| s.free_articles_per_month = 0)
        .start()
        .await;
    let newsroom = editor(&app, "editor@example.com").await;
    let id = newsroom
        .write_article(
            &ArticleFields::premium("The Keeper's Ledger", &format!("An opening.\n\n{SECRET}")),
            "publish",
        )
        .await;
    let visitor = Reader::new(&app);
    look_everywhere(&app, &visitor, "a visitor", id, "the-keeper-s-ledger").await;
    let paywall = visitor.read_article(id).await;
    assert_eq!(paywall.status, StatusCode::PAYMENT_REQUIRED);
    assert!(paywall.body.contains("This article is for subscribers"));
}
