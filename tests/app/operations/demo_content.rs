//! The demo content on a fresh database: twelve articles, each with a feature image of its own
//! made at the first start and served like any library picture, and one more picture placed in
//! an article's text; loaded once however many instances start at once, and never again.

use diesel::prelude::*;
use gazette::config::Settings;
use gazette::domain::media::{Format, VariantName};
use gazette::startup::Application;

use crate::support::{http_client, server_url};

#[derive(QueryableByName, Debug)]
struct Featured {
    #[diesel(sql_type = diesel::sql_types::Text)]
    slug: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    feature_alt: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    feature_credit: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    library_alt: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    hash: String,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    width: i32,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    height: i32,
}

#[derive(QueryableByName)]
struct Variant {
    #[diesel(sql_type = diesel::sql_types::Text)]
    hash: String,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    width: i32,
    #[diesel(sql_type = diesel::sql_types::Text)]
    format: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

async fn query<T: QueryableByName<diesel::pg::Pg> + Send + 'static>(
    url: &str,
    sql: &str,
) -> Vec<T> {
    let (url, sql) = (url.to_string(), sql.to_string());
    tokio::task::spawn_blocking(move || {
        let mut conn = PgConnection::establish(&url).unwrap();
        diesel::sql_query(sql).load(&mut conn).unwrap()
    })
    .await
    .unwrap()
}

async fn start(url: &str) -> Application {
    let mut settings = Settings::for_database(url);
    settings.demo_content = true;
    Application::build(settings, Default::default())
        .await
        .expect("starts with the demo content")
}

#[tokio::test]
async fn the_demo_articles_come_with_pictures_made_once_and_served_in_every_width() {
    let name = format!("gazette_demo_pictures_{}", std::process::id());
    let url = format!("{}/{name}", server_url());
    // The database exists (migrated, empty) before two instances start on it at once.
    tokio::task::spawn_blocking({
        let url = url.clone();
        move || gazette::db::prepare(&url).unwrap()
    })
    .await
    .unwrap();
    let (first, second) = tokio::join!(start(&url), start(&url));
    let port = first.port();
    tokio::spawn(first.run_until_stopped());
    tokio::spawn(second.run_until_stopped());

    let featured: Vec<Featured> = query(
        &url,
        "SELECT a.slug, a.feature_alt, a.feature_credit, m.alt AS library_alt, m.hash, \
         m.width, m.height FROM articles a JOIN media m ON m.id = a.feature_media_id",
    )
    .await;
    assert_eq!(featured.len(), 12, "every demo article has a feature image");
    let mut hashes: Vec<&str> = featured.iter().map(|f| f.hash.as_str()).collect();
    hashes.sort_unstable();
    hashes.dedup();
    assert_eq!(hashes.len(), 12, "each a picture of its own");
    for picture in &featured {
        assert_eq!(picture.feature_credit, "Illustration: Gazette demo");
        assert!(picture.feature_alt.len() > 60, "{}", picture.slug);
        assert_eq!(picture.feature_alt, picture.library_alt);
        assert_eq!((picture.width, picture.height), (1600, 900));
    }
    let media: Vec<Count> = query(&url, "SELECT count(*) AS n FROM media").await;
    assert_eq!(media[0].n, 13, "two instances made each picture once");

    // The crows article places the picture of a crow on a street lamp in its text.
    #[derive(QueryableByName)]
    struct Placed {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
        #[diesel(sql_type = diesel::sql_types::Text)]
        slug: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        hash: String,
    }
    let placed: Vec<Placed> = query(
        &url,
        "SELECT a.id, a.slug, m.hash FROM article_media p JOIN articles a ON a.id = p.article_id \
         JOIN media m ON m.id = p.media_id",
    )
    .await;
    assert_eq!(placed.len(), 1);
    let crows = &placed[0];
    assert!(crows.slug.contains("crows"), "{}", crows.slug);
    let page = http_client()
        .build()
        .unwrap()
        .get(format!(
            "http://127.0.0.1:{port}/articles/{}/{}",
            crows.id, crows.slug
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let feature = featured.iter().find(|f| f.slug == crows.slug).unwrap();
    for hash in [&feature.hash, &crows.hash] {
        assert!(
            page.contains(&format!("/media/{hash}-")),
            "{hash} on the page"
        );
    }
    assert!(page.contains("A crow perched on top of a glowing street lamp"));

    let variants: Vec<Variant> = query(
        &url,
        "SELECT m.hash, v.width, v.format FROM media_variants v JOIN media m ON m.id = v.media_id",
    )
    .await;
    let widths = gazette::domain::media::variant_widths(1600);
    assert!(widths.contains(&800));
    assert_eq!(variants.len(), 13 * widths.len(), "every width of each");
    let client = http_client().build().unwrap();
    for variant in &variants {
        let format = Format::from_name(&variant.format).unwrap();
        let path = VariantName {
            hash: variant.hash.clone(),
            width: u32::try_from(variant.width).unwrap(),
            format,
        }
        .path();
        let response = client
            .get(format!("http://127.0.0.1:{port}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["content-type"], format.mime_type());
        let bytes = response.bytes().await.unwrap();
        let image = image::load_from_memory(&bytes).unwrap();
        assert_eq!(image.width(), u32::try_from(variant.width).unwrap());
    }

    // A restart finds the articles there and makes nothing.
    start(&url).await;
    let media: Vec<Count> = query(&url, "SELECT count(*) AS n FROM media").await;
    assert_eq!(media[0].n, 13);
    let articles: Vec<Count> = query(&url, "SELECT count(*) AS n FROM articles").await;
    assert_eq!(articles[0].n, 12);

    tokio::task::spawn_blocking(move || {
        let mut admin = PgConnection::establish(&format!("{}/postgres", server_url())).unwrap();
        diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .execute(&mut admin)
            .unwrap();
    })
    .await
    .unwrap();
}
