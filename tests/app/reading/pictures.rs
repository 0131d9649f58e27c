//! Pictures as readers meet them: the feature image above an article (fetched first, with every
//! width and its size), on the cards of the front page and the author's page, in shared links
//! (Open Graph, Twitter) and in the feed; the paywall shows the feature image and never a
//! picture of the body; and a change of picture reaches every instance. (The newsletter's
//! pictures are tested with the newsletter.)

use std::time::{Duration as StdDuration, Instant};

use diesel::prelude::*;
use reqwest::StatusCode;

use crate::helpers::*;

/// Words only a premium article's body holds.
const BODY_SECRET: &str = "Cormorant ledger of the night shift";

/// Published articles, newest first.
fn newest_first(app: &TestApp) -> Vec<(i64, String)> {
    use gazette::schema::articles;
    articles::table
        .filter(articles::published_at.is_not_null())
        .order(articles::published_at.desc())
        .select((articles::id, articles::author_slug))
        .load(&mut app.connect())
        .unwrap()
}

/// The `<meta>` tags of a page's head that name `property`, as `content` values.
fn meta(page: &Page, property: &str) -> Option<String> {
    let marker = format!("=\"{property}\" content=\"");
    let start = page.body.find(&marker)? + marker.len();
    let end = page.body[start..].find('"')? + start;
    Some(unescape(&page.body[start..end]))
}

#[tokio::test]
async fn an_article_shows_its_feature_image_first_and_shares_it_with_its_size() {
    let app = TestApp::spawn().await;
    let harbour = add_picture(&app, "harbour.jpg", "Library words", 3000, 2000);
    let article = app.free_ids()[0];
    set_feature(
        &app,
        article,
        Some(harbour.id),
        "Fishing boats & nets at dawn",
        "Photo: Ada Editor / Gazette",
    );
    let page = Reader::new(&app).read_article(article).await;
    assert_eq!(page.status, StatusCode::OK);

    let figure = &page.body[page
        .body
        .find("<figure class=\"feature-picture\">")
        .unwrap()..];
    let img = &figure[figure.find("<img").unwrap()..];
    let img = &img[..img.find('>').unwrap()];
    assert!(
        img.contains(&format!("src=\"{}\"", harbour.variant(800))),
        "{img}"
    );
    for width in harbour.widths() {
        assert!(
            img.contains(&format!("{} {width}w", harbour.variant(width))),
            "{img}"
        );
    }
    for attribute in [
        "sizes=\"(max-width: 800px) 100vw, 800px\"",
        "width=\"3000\"",
        "height=\"2000\"",
        "alt=\"Fishing boats &#38; nets at dawn\"",
        "fetchpriority=\"high\"",
    ] {
        assert!(img.contains(attribute), "{attribute}: {img}");
    }
    // The largest thing on the page: never left to load lazily.
    assert!(!img.contains("loading="));
    assert!(figure.contains("<figcaption>Photo: Ada Editor / Gazette</figcaption>"));
    assert!(
        page.body.find("feature-picture") < page.body.find("article-body"),
        "above the body"
    );

    // Shared links show it, by an absolute address, with its size and its words.
    let shared = format!("{}{}", app.address, harbour.variant(1200));
    assert_eq!(meta(&page, "og:image"), Some(shared.clone()));
    assert_eq!(meta(&page, "og:image:width").as_deref(), Some("1200"));
    assert_eq!(meta(&page, "og:image:height").as_deref(), Some("800"));
    assert_eq!(
        meta(&page, "og:image:alt").as_deref(),
        Some("Fishing boats & nets at dawn")
    );
    assert_eq!(
        meta(&page, "twitter:card").as_deref(),
        Some("summary_large_image")
    );
    assert!(
        page.body.contains(&format!("\"image\":\"{shared}\"")),
        "JSON-LD"
    );

    // An article without one shares no picture.
    let plain = Reader::new(&app).read_article(app.free_ids()[1]).await;
    assert_eq!(meta(&plain, "og:image"), None);
    assert_eq!(meta(&plain, "twitter:card").as_deref(), Some("summary"));
    assert!(!plain.body.contains("<figure"));

    // Narrower than the widest share size: the widest it has, at its own size.
    let small = add_picture(&app, "small.png", "A small one", 1000, 500);
    set_feature(&app, article, Some(small.id), "", "");
    let page = Reader::new(&app).read_article(article).await;
    assert_eq!(
        meta(&page, "og:image"),
        Some(format!("{}{}", app.address, small.variant(1000)))
    );
    assert_eq!(meta(&page, "og:image:height").as_deref(), Some("500"));
    // No alt text of its own: the library's. No credit: no caption.
    assert_eq!(meta(&page, "og:image:alt").as_deref(), Some("A small one"));
    assert!(!page.body.contains("<figcaption"));
}

#[tokio::test]
async fn cards_on_the_front_page_and_the_authors_page_show_feature_images() {
    let app = TestApp::spawn().await;
    let newest = newest_first(&app);
    let (lead, _) = newest[0].clone();
    let (second, second_author) = newest[1].clone();
    let lead_picture = add_picture(&app, "lead.jpg", "The lead's picture", 2000, 1000);
    let card_picture = add_picture(&app, "card.jpg", "A card's picture", 1200, 900);
    set_feature(&app, lead, Some(lead_picture.id), "", "");
    set_feature(&app, second, Some(card_picture.id), "", "");

    let front = Reader::new(&app).get("/").await;
    assert_eq!(front.status, StatusCode::OK);
    assert_eq!(front.body.matches("<img class=\"card-picture\"").count(), 2);
    let card = |page: &Page, picture: &LibraryPicture| -> String {
        let at = page
            .body
            .find(&format!("src=\"{}\"", picture.variant(800)))
            .expect("the card's picture");
        let start = page.body[..at].rfind("<img").unwrap();
        let end = page.body[at..].find('>').unwrap() + at;
        page.body[start..end].to_string()
    };
    let lead_img = card(&front, &lead_picture);
    assert!(
        lead_img.contains("width=\"2000\" height=\"1000\""),
        "{lead_img}"
    );
    assert!(lead_img.contains("sizes=\"(max-width: 48rem) 100vw, 38rem\""));
    // The first thing on the front page is fetched at once.
    assert!(lead_img.contains("fetchpriority=\"high\"") && !lead_img.contains("lazy"));
    let second_img = card(&front, &card_picture);
    for attribute in [
        "width=\"1200\" height=\"900\"",
        "alt=\"A card&#39;s picture\"",
        "loading=\"lazy\"",
        "sizes=\"(max-width: 40rem) 100vw, (max-width: 64rem) 50vw, 20rem\"",
    ] {
        assert!(second_img.contains(attribute), "{attribute}: {second_img}");
    }
    for width in card_picture.widths() {
        assert!(second_img.contains(&format!("{} {width}w", card_picture.variant(width))));
    }
    assert!(front.body.contains("lead-story has-picture"));
    // Cards without a picture stay as they were.
    assert_eq!(front.body.matches("class=\"card-article\"").count(), 10);

    let author = Reader::new(&app)
        .get(&format!("/authors/{second_author}"))
        .await;
    assert_eq!(author.status, StatusCode::OK);
    let author_img = card(&author, &card_picture);
    assert!(author_img.contains("loading=\"lazy\"") && author_img.contains("width=\"1200\""));
}

#[tokio::test]
async fn the_feed_names_each_feature_image_and_shows_it_with_a_free_body() {
    let app = TestApp::spawn().await;
    let free = app.free_ids()[0];
    let premium = app.premium_ids()[0];
    let feature = add_picture(&app, "free.jpg", "A free article's picture", 1600, 1200);
    let placed = add_picture(&app, "placed.jpg", "Placed in a body", 900, 600);
    let secret = add_picture(&app, "secret.jpg", "Placed in a premium body", 900, 600);
    set_feature(&app, free, Some(feature.id), "", "");
    set_feature(
        &app,
        premium,
        Some(feature.id),
        "The premium one's words",
        "",
    );
    set_body_with_pictures(
        &app,
        free,
        &format!("Open words.\n\n![In the body](media:{})", placed.id),
    );
    set_body_with_pictures(
        &app,
        premium,
        &format!("{BODY_SECRET}.\n\n![Secret](media:{})", secret.id),
    );

    let feed = Reader::new(&app).get("/feed.xml").await;
    assert_eq!(feed.status, StatusCode::OK);
    let absolute = format!("{}{}", app.address, feature.variant(1200));
    let enclosures: Vec<&str> = feed
        .body
        .split("<link")
        .filter(|link| link.contains("rel=\"enclosure\""))
        .map(|link| &link[..link.find("/>").unwrap()])
        .collect();
    assert_eq!(enclosures.len(), 2, "{}", feed.body);
    for link in &enclosures {
        assert!(link.contains(&format!("href=\"{absolute}\"")), "{link}");
        assert!(link.contains("type=\"image/jpeg\""), "{link}");
    }
    // The free body, with its pictures at absolute addresses.
    assert!(
        feed.body
            .contains(&format!("{}{}", app.address, placed.variant(800)))
    );
    assert!(
        feed.body
            .contains(&format!("{}{}", app.address, feature.variant(800)))
    );
    assert_eq!(
        feed.body.matches("/media/").count(),
        feed.body
            .matches(&format!("{}/media/", app.address))
            .count(),
        "every picture's address is absolute"
    );
    // The premium body is not in the feed, nor any picture of it.
    assert!(!feed.body.contains(BODY_SECRET));
    assert!(!feed.body.contains(&secret.hash));
}

#[tokio::test]
async fn the_paywall_shows_the_feature_image_and_never_a_picture_of_the_body() {
    let app = TestApp::builder()
        .settings(|s| s.free_articles_per_month = 0)
        .start()
        .await;
    let premium = app.premium_ids()[0];
    let feature = add_picture(&app, "teaser.jpg", "The teaser's picture", 1600, 900);
    let inside = add_picture(&app, "inside.jpg", "Inside the article", 1200, 800);
    set_feature(&app, premium, Some(feature.id), "", "Photo: Bea");
    set_body_with_pictures(
        &app,
        premium,
        &format!(
            "{BODY_SECRET}, first.\n\n![Inside](media:{})\n\nAnd more.",
            inside.id
        ),
    );

    let paywall = Reader::new(&app).read_article(premium).await;
    assert_eq!(paywall.status, StatusCode::PAYMENT_REQUIRED);
    assert!(
        paywall
            .body
            .contains(&format!("src=\"{}\"", feature.variant(800)))
    );
    assert!(paywall.body.contains("<figcaption>Photo: Bea</figcaption>"));
    assert!(
        !paywall.body.contains(&inside.hash),
        "a picture of the body"
    );
    assert!(!paywall.body.contains(BODY_SECRET));

    let reader = subscriber(&app, "paying@example.com").await;
    let whole = reader.read_article(premium).await;
    assert_eq!(whole.status, StatusCode::OK);
    assert!(whole.body.contains(BODY_SECRET));
    assert!(
        whole
            .body
            .contains(&format!("src=\"{}\"", inside.variant(800)))
    );
    assert!(
        whole
            .body
            .contains(&format!("src=\"{}\"", feature.variant(800)))
    );
}

/// Asks `path` of both instances until `shows` holds on both, for at most a second.
async fn on_both(readers: [&Reader<'_>; 2], path: &str, shows: impl Fn(&Page) -> bool) -> bool {
    let started = Instant::now();
    loop {
        let mut seen = true;
        for reader in readers {
            seen &= shows(&reader.get(path).await);
        }
        if seen {
            return true;
        }
        if started.elapsed() > StdDuration::from_secs(1) {
            return false;
        }
        tokio::time::sleep(StdDuration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_change_of_picture_reaches_every_instance() {
    let one = TestApp::spawn().await;
    let two = TestApp::builder().sharing(&one).start().await;
    one.wait_until_listening(2).await;
    let readers = [&Reader::new(&one), &Reader::new(&two)];
    let (lead, _) = newest_first(&one)[0].clone();
    let article = format!("/articles/{lead}");
    let first = add_picture(&one, "first.jpg", "The first picture", 1200, 800);
    let second = add_picture(&one, "second.jpg", "The second picture", 1200, 800);

    set_feature(&one, lead, Some(first.id), "", "");
    for path in ["/", article.as_str()] {
        assert!(
            on_both(readers, path, |page| page.body.contains(&first.hash)).await,
            "{path}: the first picture"
        );
    }
    // Kept in memory on both; an editor chooses another picture.
    set_feature(&one, lead, Some(second.id), "", "");
    for path in ["/", article.as_str()] {
        assert!(
            on_both(readers, path, |page| page.body.contains(&second.hash)
                && !page.body.contains(&first.hash))
            .await,
            "{path}: the second picture"
        );
    }
    // The library's alt text changes: the article shows the new words.
    diesel::sql_query("UPDATE media SET alt = 'Renamed in the library' WHERE id = $1")
        .bind::<diesel::sql_types::BigInt, _>(second.id)
        .execute(&mut one.connect())
        .unwrap();
    for path in ["/", article.as_str()] {
        assert!(
            on_both(readers, path, |page| page
                .body
                .contains("alt=\"Renamed in the library\""))
            .await,
            "{path}: the library's new alt text"
        );
    }
}
