//! What machines read: the Atom feed, the sitemap and robots.txt; public and cacheable, the
//! same for everyone, and never carrying a premium body.

use atom_syndication::Feed;
use reqwest::StatusCode;

use crate::helpers::*;

fn assert_public_and_cookieless(page: &Page, content_type: &str) {
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with(content_type),
        "{:?}",
        page.header("content-type")
    );
    assert_eq!(page.header("cache-control"), Some("public, max-age=300"));
    assert!(
        page.set_cookies().is_empty(),
        "a shared answer sets no cookie"
    );
}

fn feed_of(page: &Page) -> Feed {
    page.body.parse::<Feed>().expect("a valid Atom feed")
}

#[tokio::test]
async fn the_feed_carries_premium_articles_without_their_bodies_and_free_ones_in_full() {
    let app = TestApp::spawn().await;
    let visitor = Reader::new(&app);
    let page = visitor.get("/feed.xml").await;
    assert_public_and_cookieless(&page, "application/atom+xml");
    let feed = feed_of(&page);

    assert_eq!(feed.title().as_str(), "Gazette");
    assert_eq!(feed.entries().len(), 12);
    let newest = &feed.entries()[0];
    assert_eq!(
        newest.title().as_str(),
        "Learning to See the Night Sky Again"
    );
    assert_eq!(newest.authors()[0].name(), "Kofi Mensah");
    assert_eq!(
        newest.published().unwrap().to_rfc3339(),
        "2026-11-24T20:00:00+00:00"
    );
    let link = &newest.links()[0];
    assert!(link.href().starts_with(&app.address), "{}", link.href());
    assert!(
        link.href().contains("/articles/")
            && link
                .href()
                .ends_with("/learning-to-see-the-night-sky-again")
    );

    let premium_ids = app.premium_ids();
    for entry in feed.entries() {
        let id: i64 = entry.id().split('/').nth_back(1).unwrap().parse().unwrap();
        assert!(
            entry.summary().is_some_and(|s| !s.as_str().is_empty()),
            "teaser"
        );
        let premium = premium_ids.contains(&id);
        assert_eq!(
            entry.content().is_some(),
            !premium,
            "{}",
            entry.title().as_str()
        );
        assert_eq!(
            entry.categories()[0].term(),
            if premium { "premium" } else { "free" }
        );
    }
    // A free article in full: the sourdough one.
    let sourdough = feed
        .entries()
        .iter()
        .find(|e| e.title().as_str().contains("Sourdough"))
        .unwrap();
    assert!(
        sourdough
            .content()
            .unwrap()
            .value()
            .unwrap()
            .contains("microbiologist")
    );
    // No premium body: a phrase of the night-sky article's body is nowhere in the feed.
    assert!(
        !page.body.contains("a faint luminous dome"),
        "premium body text stays out"
    );
}

#[tokio::test]
async fn the_feed_holds_the_newest_twenty_only() {
    let app = TestApp::spawn().await;
    add_archive(&app, 30);
    let feed = feed_of(&Reader::new(&app).get("/feed.xml").await);
    assert_eq!(feed.entries().len(), 20);
    assert!(
        feed.entries()
            .iter()
            .all(|e| !e.title().as_str().contains("number 30"))
    );
}

#[tokio::test]
async fn the_sitemap_lists_every_published_article_with_its_last_change_and_robots_points_to_it() {
    let app = TestApp::spawn().await;
    add_archive(&app, 60);
    let visitor = Reader::new(&app);
    let page = visitor.get("/sitemap.xml").await;
    assert_public_and_cookieless(&page, "application/xml");
    assert!(page.body.starts_with("<?xml"));
    assert_eq!(
        page.body.matches("<url>").count(),
        1 + 12 + 60,
        "the front page and every article"
    );
    assert!(page.body.contains(&format!("<loc>{}/</loc>", app.address)));
    assert!(page.body.contains(
        "/learning-to-see-the-night-sky-again</loc><lastmod>2026-11-24T20:00:00Z</lastmod>"
    ));
    assert!(page.body.contains("/archive-article-60</loc>"));

    let robots = visitor.get("/robots.txt").await;
    assert_public_and_cookieless(&robots, "text/plain");
    assert!(
        robots
            .body
            .contains(&format!("Sitemap: {}/sitemap.xml", app.address))
    );
    assert!(robots.body.contains("Disallow: /editor"));
}

#[tokio::test]
async fn the_public_url_names_the_site_in_feeds_sitemaps_and_canonical_links() {
    let app =
        TestApp::spawn_with(|s| s.public_url = Some("https://news.example".to_string())).await;
    let visitor = Reader::new(&app);
    let feed = visitor.get("/feed.xml").await;
    assert!(feed.body.contains("<id>https://news.example/</id>"));
    assert!(feed.body.contains("href=\"https://news.example/feed.xml\""));
    assert!(
        visitor
            .get("/sitemap.xml")
            .await
            .body
            .contains("<loc>https://news.example/articles/")
    );
    let front = visitor.get("/").await;
    assert_eq!(
        canonical_of(&front.body).as_deref(),
        Some("https://news.example/")
    );
}

#[tokio::test]
async fn every_page_describes_itself_for_search_engines_and_shared_links() {
    let app = TestApp::spawn_with(|s| s.free_articles_per_month = 0).await;
    let visitor = Reader::new(&app);
    let premium = app.premium_ids()[0];
    for path in [
        "/",
        "/signup",
        "/login",
        "/subscribe",
        "/cookies",
        "/page/2",
    ] {
        let page = visitor.get(path).await;
        if path == "/page/2" {
            assert_eq!(
                page.status,
                StatusCode::NOT_FOUND,
                "12 articles fit one page"
            );
            continue;
        }
        for tag in [
            "<meta name=\"description\" content=\"",
            "<meta property=\"og:title\" content=\"",
            "<meta property=\"og:description\" content=\"",
            "<meta property=\"og:site_name\" content=\"Gazette\">",
            "<meta name=\"twitter:card\" content=\"summary\">",
        ] {
            assert!(page.body.contains(tag), "{path} lacks {tag}");
        }
        assert!(
            !page.body.contains("noindex"),
            "{path} is for search engines"
        );
    }
    let paywall = visitor.read_article(premium).await;
    assert_eq!(paywall.status, StatusCode::PAYMENT_REQUIRED);
    let canonical = canonical_of(&paywall.body).unwrap();
    assert!(canonical.starts_with(&format!("{}/articles/{premium}/", app.address)));
    assert!(paywall.body.contains(&format!(
        "<meta property=\"og:url\" content=\"{canonical}\">"
    )));
    assert!(
        paywall
            .body
            .contains("<meta property=\"og:type\" content=\"article\">")
    );
    // The teaser describes an article wherever it is shown or shared.
    for tag in [
        "name=\"description\"",
        "property=\"og:description\"",
        "name=\"twitter:description\"",
    ] {
        assert!(
            paywall.body.contains(&format!(
                "<meta {tag} content=\"Sleeper trains are making a comeback across Europe"
            )),
            "{tag}"
        );
    }
}
