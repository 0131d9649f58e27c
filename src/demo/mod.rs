//! Demo articles, so a fresh `cargo run` shows a real-looking publication. Each file in
//! `articles/` has a small header (`key: value` lines, then `---`) above a Markdown body;
//! [`parse`] reads that format wherever it comes from (`gazette import` uses it too).

use diesel::prelude::*;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::db;
use crate::domain::article::{author_slug, slug_from};
use crate::markdown::to_safe_html;
use crate::models::NewArticle;

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
}

/// Parses one article file; the error names the problem (the files are ours, so a problem is
/// a bug caught by the tests, not something a reader can cause).
pub fn parse(source: &str) -> Result<DemoArticle, String> {
    let (header, body) = source
        .split_once("\n---\n")
        .ok_or("missing the `---` line after the header")?;
    let field = |name: &str| -> Result<String, String> {
        header
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
            .map(|value| value.trim().to_string())
            .filter(|value| !value.is_empty())
            .ok_or_else(|| format!("missing `{name}`"))
    };
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
    })
}

pub fn articles() -> Result<Vec<DemoArticle>, String> {
    SOURCES.iter().map(|source| parse(source)).collect()
}

/// Loads the demo articles when the articles table is empty; does nothing otherwise, so it is
/// safe to run at every start (and from several instances: it runs in one transaction that
/// takes a table lock).
pub fn load_if_empty(conn: &mut PgConnection) -> Result<usize, String> {
    let articles = articles()?;
    conn.transaction(|conn| {
        db::articles::lock_for_seeding(conn)?;
        if db::articles::count(conn)? > 0 {
            return Ok(0);
        }
        let made: Vec<(String, String, String)> = articles
            .iter()
            .map(|a| {
                (
                    to_safe_html(&a.body_markdown),
                    slug_from(&a.title, "article"),
                    author_slug(&a.author),
                )
            })
            .collect();
        let rows: Vec<NewArticle<'_>> = articles
            .iter()
            .zip(&made)
            .map(|(a, (body_html, slug, byline_slug))| NewArticle {
                title: &a.title,
                slug,
                author: &a.author,
                author_slug: byline_slug,
                teaser: &a.teaser,
                body_markdown: &a.body_markdown,
                body_html,
                is_premium: a.is_premium,
                published_at: Some(a.published_at),
                first_published_at: Some(a.published_at),
                updated_at: a.published_at,
                version: 1,
            })
            .collect();
        db::articles::insert_all(conn, &rows)
    })
    .map_err(|e: diesel::result::Error| format!("loading demo articles failed: {e}"))
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
}
