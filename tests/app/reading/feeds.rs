//! What machines read: the Atom feed, the sitemap and robots.txt; public and cacheable, the
//! same for everyone, and never carrying a premium body.

use std::collections::HashMap;

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
    let index = visitor.get("/sitemap.xml").await;
    assert_public_and_cookieless(&index, "application/xml");
    assert_eq!(
        read_xml(&index.body),
        (
            "sitemapindex".to_string(),
            vec![format!("{}/sitemap/1.xml", app.address)]
        ),
        "one file holds a small archive"
    );
    let page = visitor.get("/sitemap/1.xml").await;
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
    let app = TestApp::builder()
        .settings(|s| s.public_url = Some("https://news.example".to_string()))
        .start()
        .await;
    let visitor = Reader::new(&app);
    let feed = visitor.get("/feed.xml").await;
    assert!(feed.body.contains("<id>https://news.example/</id>"));
    assert!(feed.body.contains("href=\"https://news.example/feed.xml\""));
    assert!(
        visitor
            .get("/sitemap.xml")
            .await
            .body
            .contains("<loc>https://news.example/sitemap/1.xml</loc>")
    );
    assert!(
        visitor
            .get("/sitemap/1.xml")
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
    let app = TestApp::builder()
        .settings(|s| s.free_articles_per_month = 0)
        .start()
        .await;
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

/// The root element's name and the text of every `<loc>` of an XML document, which must be
/// well formed: one root element, every element closed in order, only space outside it.
fn read_xml(xml: &str) -> (String, Vec<String>) {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let (mut root, mut depth, mut in_loc, mut locs) = (None, 0usize, false, Vec::new());
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(element) => {
                let name = String::from_utf8_lossy(element.local_name().as_ref()).into_owned();
                if depth == 0 {
                    assert!(root.is_none(), "a second root element: {name}");
                    root = Some(name.clone());
                }
                depth += 1;
                in_loc = name == "loc";
            }
            Event::End(_) => {
                depth = depth
                    .checked_sub(1)
                    .expect("an end tag closes an open element");
                in_loc = false;
            }
            Event::Empty(_) => assert!(depth > 0, "an element outside the root"),
            Event::Text(text) => {
                let text = text.decode().expect("UTF-8 text");
                if in_loc {
                    locs.push(text.into_owned());
                } else if depth == 0 {
                    assert!(text.trim().is_empty(), "text outside the root: {text:?}");
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(depth, 0, "every element is closed");
    (root.expect("a root element"), locs)
}

/// Every published article's canonical address, as the sitemap must name it.
fn published_addresses(app: &TestApp) -> Vec<String> {
    use diesel::prelude::*;
    use gazette::schema::articles;
    articles::table
        .filter(articles::published_at.le(START))
        .select((articles::id, articles::slug))
        .load::<(i64, String)>(&mut app.connect())
        .expect("reading the published articles")
        .into_iter()
        .map(|(id, slug)| format!("{}/articles/{id}/{slug}", app.address))
        .collect()
}

/// The sitemaps protocol: at most 50,000 addresses and 50 MB in one file.
const MOST_URLS_PER_FILE: usize = 50_000;
const MOST_BYTES_PER_FILE: usize = 50 * 1024 * 1024;

#[tokio::test]
async fn past_fifty_thousand_articles_the_sitemap_is_an_index_of_files_within_the_protocols_limits()
{
    let app = TestApp::spawn().await;
    add_archive(&app, 60_000);
    let newsroom = editor(&app, "editor@example.com").await;
    newsroom
        .write_article(&ArticleFields::free("Still a Draft", "Unseen."), "save")
        .await;
    // A file whose ids hold no published article is left out, and the files go on after it.
    skip_article_ids_to(&app, 150_000);
    let far = newsroom
        .write_article(&ArticleFields::free("Far Along", "Seen."), "publish")
        .await;
    assert_eq!(far, 150_000);
    let expected = published_addresses(&app);
    assert!(expected.len() > MOST_URLS_PER_FILE);
    let visitor = Reader::new(&app);

    let index = visitor.get("/sitemap.xml").await;
    assert_public_and_cookieless(&index, "application/xml");
    let (root, files) = read_xml(&index.body);
    assert_eq!(root, "sitemapindex", "/sitemap.xml is an index");
    assert!(files.len() >= 2, "{files:?}");
    let numbers: Vec<&str> = files
        .iter()
        .map(|file| {
            file.trim_start_matches(&format!("{}/sitemap/", app.address))
                .trim_end_matches(".xml")
        })
        .collect();
    assert_eq!(numbers, ["1", "2", "4"], "{files:?}");

    let mut seen: HashMap<String, usize> = HashMap::new();
    for file in &files {
        let path = file
            .strip_prefix(&app.address)
            .expect("a file on the site itself");
        let page = visitor.get(path).await;
        assert_public_and_cookieless(&page, "application/xml");
        assert!(page.body.len() <= MOST_BYTES_PER_FILE, "{path}");
        let (root, urls) = read_xml(&page.body);
        assert_eq!(root, "urlset", "{path}");
        assert!(!urls.is_empty(), "{path} lists something");
        assert!(
            urls.len() <= MOST_URLS_PER_FILE,
            "{path} has {} addresses",
            urls.len()
        );
        for url in urls {
            *seen.entry(url).or_default() += 1;
        }
    }
    assert_eq!(
        seen.remove(&format!("{}/", app.address)),
        Some(1),
        "the front page"
    );
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).take(5).collect();
    assert!(twice.is_empty(), "listed more than once: {twice:?}");
    let missing: Vec<_> = expected
        .iter()
        .filter(|url| !seen.contains_key(*url))
        .take(5)
        .collect();
    assert!(missing.is_empty(), "published but not listed: {missing:?}");
    assert_eq!(seen.len(), expected.len(), "nothing but published articles");

    let robots = visitor.get("/robots.txt").await;
    assert!(
        robots
            .body
            .contains(&format!("Sitemap: {}/sitemap.xml", app.address))
    );
    for path in [
        "/sitemap/0.xml".to_string(),
        "/sitemap/3.xml".to_string(),
        "/sitemap/5.xml".to_string(),
        "/sitemap/x.xml".to_string(),
        "/sitemap/-1.xml".to_string(),
        "/sitemap/1.xml%0D%0A".to_string(),
        "/sitemap/99999999999999999999.xml".to_string(),
    ] {
        assert_eq!(
            visitor.get(&path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
}
