//! The front page stays small as the archive grows: the newest twenty, then older pages of
//! twenty with their own addresses, and a page per author.

use reqwest::StatusCode;

use crate::helpers::*;
use crate::support::queries;

fn cards(page: &Page) -> usize {
    page.body.matches("class=\"card-article").count()
}

#[tokio::test]
async fn the_front_page_shows_the_newest_twenty_and_older_pages_follow_with_their_own_addresses() {
    let app = TestApp::spawn().await;
    add_archive(&app, 45);
    let visitor = Reader::new(&app);

    let front = visitor.get("/").await;
    assert_eq!(cards(&front), 20);
    assert!(
        front.body.contains("Learning to See the Night Sky Again"),
        "newest first"
    );
    assert!(front.body.contains("href=\"/page/2\" rel=\"next\""));
    assert!(!front.body.contains("rel=\"prev\""));
    assert_eq!(canonical_of(&front.body), Some(format!("{}/", app.address)));

    let second = visitor.get("/page/2").await;
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(cards(&second), 20);
    assert!(second.body.contains("href=\"/\" rel=\"prev\""));
    assert!(second.body.contains("href=\"/page/3\" rel=\"next\""));
    assert_eq!(
        canonical_of(&second.body),
        Some(format!("{}/page/2", app.address))
    );
    // 12 demo articles and 45 more: the third page holds the last 17.
    let third = visitor.get("/page/3").await;
    assert_eq!(cards(&third), 17);
    assert!(third.body.contains("Archive article number 45"));
    assert!(!third.body.contains("rel=\"next\""));

    // No article appears on two pages.
    for n in 1..=45 {
        let title = format!("Archive article number {n}<");
        let seen = [&front, &second, &third]
            .iter()
            .filter(|p| p.body.contains(&title))
            .count();
        assert_eq!(seen, 1, "{title}");
    }

    assert_eq!(visitor.get("/page/4").await.status, StatusCode::NOT_FOUND);
    let first = visitor.get("/page/1").await;
    assert_eq!(first.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(first.location(), Some("/"));
    for path in [
        "/page/0",
        "/page/-1",
        "/page/x",
        "/page/99999999999999999999",
        "/page/100001",
    ] {
        assert_eq!(
            visitor.get(path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
}

#[tokio::test]
async fn an_author_has_a_page_of_their_own() {
    let app = TestApp::spawn().await;
    add_archive(&app, 25);
    let visitor = Reader::new(&app);

    let maren = visitor.get("/authors/maren-holt").await;
    assert_eq!(maren.status, StatusCode::OK);
    assert_eq!(cards(&maren), 2);
    assert!(
        maren
            .body
            .contains("<h1 class=\"archive-heading\">Maren Holt</h1>")
    );
    assert!(maren.body.contains("How a Memory Palace Works"));
    assert!(!maren.body.contains("Night Sky"));
    assert_eq!(
        canonical_of(&maren.body),
        Some(format!("{}/authors/maren-holt", app.address))
    );
    // Bylines with accents have plain addresses.
    assert_eq!(
        visitor.get("/authors/lucia-ferrer").await.status,
        StatusCode::OK
    );

    let archive = visitor.get("/authors/archive-writer").await;
    assert_eq!(cards(&archive), 20);
    assert!(
        archive
            .body
            .contains("href=\"/authors/archive-writer/page/2\" rel=\"next\"")
    );
    let older = visitor.get("/authors/archive-writer/page/2").await;
    assert_eq!(cards(&older), 5);
    assert_eq!(
        visitor
            .get("/authors/archive-writer/page/1")
            .await
            .location(),
        Some("/authors/archive-writer")
    );
    for path in [
        "/authors/nobody-at-all",
        "/authors/Maren%20Holt",
        "/authors/archive-writer/page/3",
        "/authors/%00",
    ] {
        assert_eq!(
            visitor.get(path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
}

/// Statements the app sends and bytes it answers for an anonymous view of `path`: the first
/// view after the archive changed (nothing of it in memory yet: what the database is asked),
/// then the fewest over the next three (what a warm instance asks).
async fn cost_of(app: &TestApp, visitor: &Reader<'_>, path: &str) -> (u64, u64, usize) {
    let sent = || queries::sent_to(&app.db.name);
    let before = sent();
    let page = visitor.get(path).await;
    assert_eq!(page.status, StatusCode::OK, "{path}");
    let cold = sent() - before;
    let mut warm = u64::MAX;
    for _ in 0..3 {
        let before = sent();
        assert_eq!(visitor.get(path).await.status, StatusCode::OK, "{path}");
        warm = warm.min(sent() - before);
    }
    (cold, warm, page.body.len())
}

/// Lets every instance hear of the rows just written (each one is announced).
async fn let_the_changes_arrive() {
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
}

/// What it measures: the statements diesel sends to the test's database while the front page
/// (and an older page, and the feed) is answered, counted by diesel's instrumentation, on the
/// first view after the archive changed and on warm views after it; and the size of the
/// answer. Neither may grow when the archive grows from 1,000 to 6,000 articles.
/// (Rows read inside PostgreSQL are not counted here; the queries are bounded by `LIMIT` on
/// the `published_at` index, see `db::articles`.)
#[tokio::test]
async fn the_front_page_costs_the_same_with_thousands_of_articles() {
    let app = TestApp::spawn().await;
    let visitor = Reader::new(&app);
    // The cookie is set on the first view; count views after it.
    visitor.get("/").await;

    add_archive(&app, 1_000);
    let_the_changes_arrive().await;
    let small = [
        cost_of(&app, &visitor, "/").await,
        cost_of(&app, &visitor, "/page/3").await,
        cost_of(&app, &visitor, "/feed.xml").await,
    ];
    {
        use diesel::prelude::*;
        diesel::sql_query("DELETE FROM articles WHERE author_slug = 'archive-writer'")
            .execute(&mut app.connect())
            .unwrap();
    }
    add_archive(&app, 6_000);
    let_the_changes_arrive().await;
    let large = [
        cost_of(&app, &visitor, "/").await,
        cost_of(&app, &visitor, "/page/3").await,
        cost_of(&app, &visitor, "/feed.xml").await,
    ];

    for ((small_queries, _, small_bytes), (large_queries, large_warm, large_bytes)) in
        small.iter().zip(&large)
    {
        assert_eq!(small_queries, large_queries, "statements per view");
        assert!(*large_queries <= 4, "a few statements, got {large_queries}");
        assert!(large_warm <= large_queries, "a warm view asks no more");
        // Titles number 1,000 and 6,000 differ by a digit or so per card.
        assert!(
            large_bytes.abs_diff(*small_bytes) < 200,
            "{small_bytes} bytes, then {large_bytes}"
        );
    }
    eprintln!(
        "views (statements cold, warm, bytes): 1,000 articles {small:?}; 6,000 articles {large:?}"
    );
    let (_, _, front_bytes) = large[0];
    assert!(
        front_bytes < 40_000,
        "the front page is {front_bytes} bytes"
    );
    assert_eq!(cards(&visitor.get("/").await), 20);
}

/// A page the app styled: the site's masthead around the error, never a bare status.
fn assert_styled_404(page: &Page, path: &str) {
    assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
    assert_eq!(page.location(), None, "{path} redirects nowhere");
    assert!(
        page.body.contains("class=\"masthead\"") && page.body.contains("Page not found"),
        "{path} is the site's own 404 page: {}",
        page.body
    );
}

#[tokio::test]
async fn only_an_existing_authors_first_page_redirects_and_nothing_sent_reaches_the_location() {
    let app = TestApp::spawn().await;
    let visitor = Reader::new(&app);

    let long = "a".repeat(4_000);
    let hostile = [
        "x%0D%0ALocation:%20https://evil.example".to_string(),
        "%0d%0aSet-Cookie:%20gazette=stolen".to_string(),
        "maren-holt%0D%0A".to_string(),
        "%0A".to_string(),
        "%E2%80%AE%FF%FE".to_string(),
        "%2F%2Fevil.example".to_string(),
        "..%2F..%2Faccount".to_string(),
        "Maren%20Holt".to_string(),
        "MAREN-HOLT".to_string(),
        "%00".to_string(),
        long.clone(),
        format!("maren-{long}"),
        "nobody-at-all".to_string(),
        "maren-holt-2".to_string(),
    ];
    for slug in &hostile {
        for path in [
            format!("/authors/{slug}/page/1"),
            format!("/authors/{slug}/page/2"),
            format!("/authors/{slug}"),
        ] {
            assert_styled_404(&visitor.get(&path).await, &path);
        }
    }

    // An author who exists: page 1 is the author's own address, written by the app.
    let first = visitor.get("/authors/maren-holt/page/1").await;
    assert_eq!(first.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(first.location(), Some("/authors/maren-holt"));

    // The front page's own first page and an article's wrong slug redirect only to
    // addresses the app makes itself.
    for path in ["/page/1%0D%0A", "/page/%0D%0A1", "/page/1%00", "/page/1/x"] {
        assert_styled_404(&visitor.get(path).await, path);
    }
    let front = visitor.get("/page/1").await;
    assert_eq!(front.location(), Some("/"));
    let id = app.premium_ids()[0];
    let canonical = visitor.read_article(id).await;
    let canonical = canonical_of(&canonical.body)
        .expect("an article names its address")
        .trim_start_matches(&app.address)
        .to_string();
    for slug in [
        "x%0D%0ALocation:%20evil",
        "%0d%0aSet-Cookie:%20gazette=stolen",
        "%2F%2Fevil.example",
        "%E2%80%AE",
        long.as_str(),
    ] {
        let path = format!("/articles/{id}/{slug}");
        let page = visitor.get(&path).await;
        assert_eq!(page.status, StatusCode::MOVED_PERMANENTLY, "{path}");
        assert_eq!(page.location(), Some(canonical.as_str()), "{path}");
        for unknown in [
            format!("/articles/999999/{slug}"),
            format!("/articles/{id}%0D%0A/{slug}"),
        ] {
            assert_styled_404(&visitor.get(&unknown).await, &unknown);
        }
    }
}
