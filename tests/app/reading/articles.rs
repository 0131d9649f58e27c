use reqwest::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn the_front_page_lists_articles_newest_first_with_their_marks() {
    let app = TestApp::spawn().await;
    let page = Reader::new(&app).get("/").await;

    assert_eq!(page.status, StatusCode::OK);
    let newest = page
        .body
        .find("Learning to See the Night Sky Again")
        .expect("newest article listed");
    let oldest = page
        .body
        .find("The Quiet Economics of Night Trains")
        .expect("oldest article listed");
    assert!(newest < oldest, "newest first");
    assert_eq!(page.body.matches("class=\"card-article").count(), 12);
    assert!(page.body.contains("badge-premium") && page.body.contains("badge-free"));
    assert!(
        page.body
            .contains("By <a href=\"/authors/kofi-mensah\">Kofi Mensah</a>")
    );
    assert!(page.body.contains("24 November 2026"));
}

#[tokio::test]
async fn an_article_is_shown_in_full() {
    let app = TestApp::spawn().await;
    let free = app.free_ids()[0];
    let page = Reader::new(&app).read_article(free).await;

    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains("<h1>What Lives in a Jar of Sourdough Starter</h1>")
    );
    assert!(page.body.contains("microbiologist"), "the body is there");
    assert!(
        page.body.matches("<p>").count() >= 5,
        "several paragraphs rendered from Markdown"
    );
}

#[tokio::test]
async fn articles_not_yet_published_are_not_shown() {
    let app = TestApp::spawn().await;
    app.clock.set(time::macros::datetime!(2026-10-01 0:00 UTC));
    let reader = Reader::new(&app);

    let home = reader.get("/").await;
    assert!(!home.body.contains("Learning to See the Night Sky Again"));
    let newest = *app.premium_ids().last().unwrap();
    assert_eq!(
        reader.read_article(newest).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn unknown_and_malformed_article_ids_are_a_404_page() {
    let app = TestApp::spawn().await;
    let reader = Reader::new(&app);
    for path in [
        "/articles/999999",
        "/articles/abc",
        "/articles/-1",
        "/articles/1.5",
        "/articles/+1",
        "/articles/%201",
        "/articles/99999999999999999999999",
        "/articles/%00",
        "/no-such-page",
    ] {
        let page = reader.get(path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
        assert!(
            page.body.contains("Page not found"),
            "{path} shows the styled page"
        );
        assert!(
            page.header("content-type")
                .unwrap()
                .starts_with("text/html")
        );
    }
}

#[tokio::test]
async fn premium_pages_carry_paywall_structured_data() {
    let app = TestApp::spawn().await;
    let premium = app.premium_ids()[0];
    let page = Reader::new(&app).read_article(premium).await;

    assert_eq!(page.status, StatusCode::OK);
    let start = page
        .body
        .find("<script type=\"application/ld+json\">")
        .expect("JSON-LD present")
        + "<script type=\"application/ld+json\">".len();
    let end = start + page.body[start..].find("</script>").unwrap();
    let data: serde_json::Value =
        serde_json::from_str(&page.body[start..end]).expect("valid JSON-LD");
    assert_eq!(data["isAccessibleForFree"], false);
    assert_eq!(data["hasPart"]["isAccessibleForFree"], false);
    let selector = data["hasPart"]["cssSelector"].as_str().unwrap();
    let class = selector.trim_start_matches('.');
    assert!(
        page.body
            .contains(&format!("class=\"article-body {class}\"")),
        "the selector names the gated element"
    );
}

#[tokio::test]
async fn free_pages_say_they_are_free() {
    let app = TestApp::spawn().await;
    let page = Reader::new(&app).read_article(app.free_ids()[0]).await;
    assert!(page.body.contains("\"isAccessibleForFree\":true"));
    assert!(!page.body.contains("hasPart"));
}

#[tokio::test]
async fn the_stylesheet_is_served_and_cacheable() {
    let app = TestApp::spawn().await;
    let page = Reader::new(&app).get("/static/css/gazette.css").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.header("content-type").unwrap().starts_with("text/css"));
    assert!(page.header("cache-control").unwrap().contains("public"));
}

#[tokio::test]
async fn health_is_ok_while_the_database_answers() {
    let app = TestApp::spawn().await;
    assert_eq!(
        Reader::new(&app).get("/healthz").await.status,
        StatusCode::OK
    );
}
