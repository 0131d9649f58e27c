//! Demo articles, so a fresh `cargo run` shows a real-looking publication, pictures included.
//! Each file in `articles/` has a small header (`key: value` lines, then `---`) above a
//! Markdown body; [`parse`] reads that format wherever it comes from (`gazette import` uses it
//! too, and ignores `picture`).
//!
//! Rules:
//! - The demo content is loaded into an empty articles table only, in one transaction that
//!   holds the table's seeding lock: instances starting at once load it once, and a later
//!   start only counts the articles.
//! - Each article's feature image is drawn when the articles are loaded ([`pictures`]) and put
//!   through the media library like an upload, so its variants are in the store before an
//!   article names it. A picture that cannot be made is left out with a warning: the articles
//!   load without it.

pub mod canvas;
pub mod pictures;

use std::collections::HashMap;
use std::time::Instant;

use diesel::prelude::*;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::runtime::Handle;

use crate::db;
use crate::desk::{self, Import, ImportError};
use crate::domain::article::{self, slug_from};
use crate::domain::ids::MediaId;
use crate::media::{MediaLibrary, Upload};
use pictures::Scene;

const SOURCES: [&str; 12] = [
    include_str!("articles/01-quiet-economics-of-night-trains.md"),
    include_str!("articles/02-what-lives-in-sourdough-starter.md"),
    include_str!("articles/03-the-last-watch.md"),
    include_str!("articles/04-why-cities-stay-hot-at-night.md"),
    include_str!("articles/05-four-days-same-work.md"),
    include_str!("articles/06-hidden-network-under-the-forest.md"),
    include_str!("articles/07-in-praise-of-boring-technology.md"),
    include_str!("articles/08-saturday-mornings-nothing-thrown-away.md"),
    include_str!("articles/09-how-a-memory-palace-works.md"),
    include_str!("articles/10-the-crows-are-watching.md"),
    include_str!("articles/11-the-day-of-two-noons.md"),
    include_str!("articles/12-learning-to-see-the-night-sky.md"),
];

#[derive(Debug, PartialEq)]
pub struct DemoArticle {
    pub title: String,
    pub author: String,
    pub published_at: OffsetDateTime,
    pub is_premium: bool,
    pub teaser: String,
    pub body_markdown: String,
    /// What its feature image shows, if it has one.
    pub picture: Option<Scene>,
}

/// Parses one article file; the error names the problem (the files are ours, so a problem is
/// a bug caught by the tests, not something a reader can cause).
pub fn parse(source: &str) -> Result<DemoArticle, String> {
    let (header, body) = source
        .split_once("\n---\n")
        .ok_or("missing the `---` line after the header")?;
    let optional = |name: &str| -> Option<String> {
        header
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
            .map(|value| value.trim().to_string())
            .filter(|value| !value.is_empty())
    };
    let field = |name: &str| optional(name).ok_or_else(|| format!("missing `{name}`"));
    let picture = match optional("picture") {
        None => None,
        Some(name) => {
            Some(Scene::from_name(&name).ok_or_else(|| format!("bad `picture`: {name}"))?)
        }
    };
    for (before, name, _) in body.lines().filter_map(placeholder) {
        if Scene::from_name(name).is_none() {
            return Err(format!("no picture `{name}` to place"));
        }
        // The alt text of a picture in the text is the article's own: publishing needs it.
        if before.trim_start_matches("![").trim().is_empty() {
            return Err(format!("the picture `{name}` has no alt text"));
        }
    }
    Ok(DemoArticle {
        title: field("title")?,
        author: field("author")?,
        published_at: OffsetDateTime::parse(&field("published")?, &Rfc3339)
            .map_err(|e| format!("bad `published`: {e}"))?,
        is_premium: match field("premium")?.as_str() {
            "true" => true,
            "false" => false,
            other => return Err(format!("bad `premium`: {other}")),
        },
        teaser: field("teaser")?,
        body_markdown: body.trim().to_string(),
        picture,
    })
}

pub fn articles() -> Result<Vec<DemoArticle>, String> {
    SOURCES.iter().map(|source| parse(source)).collect()
}

/// What loading the demo content did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Loaded {
    pub articles: usize,
    pub pictures: usize,
}

/// Loads the demo articles, without pictures, when the articles table is empty; does nothing
/// otherwise, so it is safe to run at every start. For the tests' template database.
pub fn load_if_empty(conn: &mut PgConnection) -> Result<usize, String> {
    load(conn, None).map(|loaded| loaded.articles)
}

/// Loads the demo articles with their feature images when the articles table is empty; does
/// nothing otherwise. Blocking: call it from the blocking pool of the runtime `runtime`
/// (the media library's work is awaited on it).
pub fn load_with_pictures(
    conn: &mut PgConnection,
    media: &MediaLibrary,
    runtime: &Handle,
) -> Result<Loaded, String> {
    load(conn, Some((media, runtime)))
}

fn load(
    conn: &mut PgConnection,
    library: Option<(&MediaLibrary, &Handle)>,
) -> Result<Loaded, String> {
    let articles = articles()?;
    let slugs: Vec<String> = articles
        .iter()
        .map(|a| slug_from(&a.title, "article"))
        .collect();
    conn.transaction(|conn| {
        db::articles::lock_for_seeding(conn)?;
        if db::articles::count(conn)? > 0 {
            return Ok(Loaded::default());
        }
        // Made before the articles are written, while the lock keeps other instances waiting.
        let made = match library {
            Some((media, runtime)) => {
                let wanted: Vec<(Scene, &str)> = articles
                    .iter()
                    .zip(&slugs)
                    .flat_map(|(a, slug)| {
                        a.picture
                            .into_iter()
                            .chain(placed_scenes(&a.body_markdown))
                            .map(move |scene| (scene, slug.as_str()))
                    })
                    .collect();
                make_pictures(&wanted, media, runtime)
            }
            None => HashMap::new(),
        };
        let imports = articles
            .iter()
            .enumerate()
            .map(|(index, a)| {
                let feature = a.picture.and_then(|scene| Some((made.get(&scene)?, scene)));
                let fields = article::Fields {
                    title: a.title.clone(),
                    slug: String::new(),
                    byline: a.author.clone(),
                    teaser: a.teaser.clone(),
                    body: with_placed_pictures(&a.body_markdown, &made),
                    premium: a.is_premium,
                    feature_media_id: feature.map_or_else(String::new, |(id, _)| id.to_string()),
                    feature_alt: feature.map_or("", |(_, scene)| scene.alt()).to_string(),
                    feature_credit: feature.map_or("", |_| pictures::CREDIT).to_string(),
                };
                let draft = article::check(&fields).map_err(|errors| ImportError::Refused {
                    index,
                    message: format!("{errors:?}"),
                })?;
                Ok(Import {
                    draft,
                    published_at: a.published_at,
                })
            })
            .collect::<Result<Vec<Import>, ImportError>>()?;
        let imported = desk::import(conn, &imports, OffsetDateTime::now_utc())?;
        Ok(Loaded {
            articles: imported.len(),
            pictures: made.len(),
        })
    })
    .map_err(|e: ImportError| format!("loading demo articles failed: {e}"))
}

/// The pictures an article's body places with `![alt](picture:<scene>)` lines.
fn placed_scenes(markdown: &str) -> impl Iterator<Item = Scene> + '_ {
    markdown
        .lines()
        .filter_map(|line| placeholder(line).and_then(|(_, name, _)| Scene::from_name(name)))
}

/// A line placing a demo picture, `![alt](picture:<scene>)`, cut around the scene's name.
fn placeholder(line: &str) -> Option<(&str, &str, &str)> {
    let line = line.trim();
    let (before, rest) = line.split_once("](picture:")?;
    let (name, after) = rest.split_once(')')?;
    (before.starts_with("![") && after.is_empty()).then_some((before, name, after))
}

/// The body with each demo picture's line made a library picture (`media:<id>`), or left out
/// when the picture was not made.
fn with_placed_pictures(markdown: &str, made: &HashMap<Scene, MediaId>) -> String {
    markdown
        .lines()
        .filter_map(|line| match placeholder(line) {
            None => Some(line.to_string()),
            Some((before, name, _)) => {
                let id = Scene::from_name(name).and_then(|scene| made.get(&scene))?;
                Some(format!("{before}](media:{id})"))
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Draws each wanted picture (a scene, seeded by its article's slug) and adds it to the media
/// library. Drawing the next picture overlaps the library's processing of the last (one thread
/// more, at first start only). The first picture that cannot be made stops the rest, with a
/// warning.
fn make_pictures(
    wanted: &[(Scene, &str)],
    media: &MediaLibrary,
    runtime: &Handle,
) -> HashMap<Scene, MediaId> {
    let started = Instant::now();
    let mut made = HashMap::new();
    std::thread::scope(|scope| {
        let (drawn, receive) = std::sync::mpsc::sync_channel(1);
        scope.spawn(move || {
            for &(scene, seed) in wanted {
                let bytes = scene.jpeg(seed).map_err(|e| e.to_string());
                if drawn.send((scene, bytes)).is_err() {
                    return;
                }
            }
        });
        for (scene, bytes) in receive {
            let added = bytes.and_then(|bytes| {
                let upload = Upload {
                    bytes,
                    original_name: format!("{}.jpg", scene.name()),
                    alt: scene.alt().to_string(),
                    uploader: None,
                };
                runtime
                    .block_on(media.add(upload))
                    .map_err(|e| e.to_string())
            });
            match added {
                Ok(added) => {
                    made.insert(scene, added.picture.id);
                }
                Err(error) => {
                    tracing::warn!(
                        %error,
                        picture = scene.name(),
                        "a demo picture could not be made; the demo articles load without pictures"
                    );
                    // Dropping the receiver stops the drawing thread.
                    break;
                }
            }
        }
    });
    if !made.is_empty() {
        tracing::info!(
            pictures = made.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "made the demo pictures"
        );
    }
    made
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_demo_article_parses_with_real_content() {
        let articles = articles().expect("demo articles parse");
        assert_eq!(articles.len(), 12);
        assert!(articles.iter().filter(|a| a.is_premium).count() >= 8);
        assert!(articles.iter().filter(|a| !a.is_premium).count() >= 2);
        for article in &articles {
            let paragraphs = article.body_markdown.split("\n\n").count();
            assert!(
                paragraphs >= 4,
                "{} has {paragraphs} paragraphs",
                article.title
            );
        }
    }

    #[test]
    fn a_header_without_separator_is_an_error() {
        assert!(parse("title: x\nauthor: y\n").is_err());
    }

    #[test]
    fn every_demo_article_has_a_picture_of_its_own() {
        let mut scenes: Vec<Scene> = articles()
            .expect("demo articles parse")
            .iter()
            .map(|a| a.picture.expect("every demo article names its picture"))
            .collect();
        scenes.sort_by_key(|scene| scene.name());
        scenes.dedup();
        assert_eq!(scenes.len(), 12);
    }

    #[test]
    fn a_picture_is_optional_but_must_be_known() {
        let source = |picture: &str| {
            format!(
                "title: T\nauthor: A\npublished: 2026-01-01T00:00:00Z\npremium: false\n\
                 teaser: t\n{picture}---\nBody.\n"
            )
        };
        assert_eq!(parse(&source("")).unwrap().picture, None);
        assert_eq!(
            parse(&source("picture: crows\n")).unwrap().picture,
            Some(Scene::Crows)
        );
        assert!(parse(&source("picture: a-photo-from-the-web\n")).is_err());
    }

    #[test]
    fn a_placed_picture_becomes_the_librarys_or_is_left_out() {
        let body = "Before.\n\n![A crow](picture:lamppost)\n\nAfter.";
        assert_eq!(placed_scenes(body).collect::<Vec<_>>(), [Scene::Lamppost]);
        let made = HashMap::from([(Scene::Lamppost, MediaId::new(7))]);
        assert_eq!(
            with_placed_pictures(body, &made),
            "Before.\n\n![A crow](media:7)\n\nAfter."
        );
        assert_eq!(
            with_placed_pictures(body, &HashMap::new()),
            "Before.\n\n\nAfter."
        );
        let with_body = |body: &str| {
            format!(
                "title: T\nauthor: A\npublished: 2026-01-01T00:00:00Z\npremium: false\n\
                 teaser: t\n---\n{body}\n"
            )
        };
        assert!(parse(&with_body("![A crow](picture:lamppost)")).is_ok());
        assert!(parse(&with_body("![A photo](picture:a-photo)")).is_err());
        assert!(
            parse(&with_body("![](picture:lamppost)")).is_err(),
            "no alt text"
        );
    }
}
