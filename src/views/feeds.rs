//! What machines read: the Atom feed, the sitemap and robots.txt. Each is the same for every
//! reader, so the handlers let shared caches keep them for a while.
//!
//! Rules: a premium article's entry carries its title, teaser, author, dates and link, never
//! its body (the query does not even read it: `FeedArticle::free_body_html` is empty for
//! premium articles); a free one may carry its full text. An entry with a feature image
//! names it as an `enclosure` link (what feed readers take for the entry's picture) and, when
//! its body is carried, shows it above the body; every picture's address in an entry is
//! absolute, since a feed reader is not on the site.

use atom_syndication::{Category, Content, Entry, Feed, FixedDateTime, Link, Person, Text};
use quick_xml::escape::escape;
use time::OffsetDateTime;

use super::{SHARE_WIDTH, SITE_DESCRIPTION, iso_date};
use crate::markdown::with_absolute_media;
use crate::models::{Feature, FeedArticle, SitemapEntry};

fn atom_time(instant: OffsetDateTime) -> FixedDateTime {
    FixedDateTime::parse_from_rfc3339(&iso_date(instant)).unwrap_or_default()
}

fn link(href: String, rel: &str, mime_type: &str) -> Link {
    Link {
        href,
        rel: rel.to_string(),
        mime_type: Some(mime_type.to_string()),
        ..Link::default()
    }
}

/// The feature image as an entry's `enclosure`: its [`SHARE_WIDTH`] variant (or its widest).
fn enclosure(site_url: &str, feature: &Feature) -> Option<Link> {
    let picture = &feature.picture;
    let variant = picture.variant_for(SHARE_WIDTH)?;
    Some(Link {
        title: (!feature.alt.is_empty()).then(|| feature.alt.clone()),
        ..link(
            format!("{site_url}{}", picture.path_of(variant)),
            "enclosure",
            variant.format.mime_type(),
        )
    })
}

/// A free article's body as its entry carries it: the feature image above it, every address
/// absolute.
fn entry_content(site_url: &str, feature: Option<&Feature>, body_html: &str) -> String {
    let mut html = String::with_capacity(body_html.len() + 400);
    if let Some(feature) = feature {
        let picture = &feature.picture;
        html.push_str(&format!(
            "<p><img src=\"{site_url}{}\" width=\"{}\" height=\"{}\" alt=\"{}\"></p>\n",
            picture.src(),
            picture.width,
            picture.height,
            escape(&feature.alt),
        ));
    }
    html.push_str(&with_absolute_media(body_html, site_url));
    html
}

/// The Atom feed of `articles` (newest first), for a site reached at `site_url`.
pub fn atom_feed(site_url: &str, articles: &[FeedArticle], now: OffsetDateTime) -> String {
    let entries: Vec<Entry> = articles
        .iter()
        .map(|article| {
            let summary = &article.summary;
            let url = format!("{site_url}{}", summary.path());
            Entry {
                title: Text::plain(summary.title.clone()),
                id: url.clone(),
                updated: atom_time(summary.updated_at.max(summary.published_at)),
                published: Some(atom_time(summary.published_at)),
                authors: vec![Person {
                    name: summary.author.clone(),
                    uri: Some(format!("{site_url}/authors/{}", summary.author_slug)),
                    ..Person::default()
                }],
                links: std::iter::once(link(url, "alternate", "text/html"))
                    .chain(
                        summary
                            .feature
                            .as_deref()
                            .and_then(|feature| enclosure(site_url, feature)),
                    )
                    .collect(),
                categories: vec![Category {
                    term: if summary.is_premium {
                        "premium"
                    } else {
                        "free"
                    }
                    .to_string(),
                    ..Category::default()
                }],
                summary: Some(Text::plain(summary.teaser.clone())),
                content: article.free_body_html.as_ref().map(|html| Content {
                    value: Some(entry_content(site_url, summary.feature.as_deref(), html)),
                    content_type: Some("html".to_string()),
                    ..Content::default()
                }),
                ..Entry::default()
            }
        })
        .collect();
    let updated = articles
        .iter()
        .map(|a| a.summary.updated_at.max(a.summary.published_at))
        .max()
        .unwrap_or(now);
    Feed {
        title: Text::plain("Gazette"),
        id: format!("{site_url}/"),
        updated: atom_time(updated),
        subtitle: Some(Text::plain(SITE_DESCRIPTION)),
        links: vec![
            link(
                format!("{site_url}/feed.xml"),
                "self",
                "application/atom+xml",
            ),
            link(format!("{site_url}/"), "alternate", "text/html"),
        ],
        lang: Some("en".to_string()),
        entries,
        ..Feed::default()
    }
    .to_string()
}

/// The sitemap index: where each sitemap file of the site is (`/sitemap/{n}.xml`).
pub fn sitemap_index_xml(site_url: &str, files: &[i64]) -> String {
    let site = escape(site_url);
    let mut xml = String::with_capacity(200 + files.len() * 100);
    xml.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    xml.push_str("<sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n");
    for file in files {
        xml.push_str(&format!(
            "<sitemap><loc>{site}/sitemap/{file}.xml</loc></sitemap>\n"
        ));
    }
    xml.push_str("</sitemapindex>\n");
    xml
}

/// One sitemap file: the front page when asked, then each published article with its last
/// change.
pub fn sitemap_xml(site_url: &str, front_page: bool, entries: &[SitemapEntry]) -> String {
    let site = escape(site_url);
    let mut xml = String::with_capacity(200 + entries.len() * 120);
    xml.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    xml.push_str("<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n");
    if front_page {
        xml.push_str(&format!("<url><loc>{site}/</loc></url>\n"));
    }
    for entry in entries {
        // Ids are digits and slugs are lower-case ASCII words: nothing to escape.
        xml.push_str(&format!(
            "<url><loc>{site}/articles/{}/{}</loc><lastmod>{}</lastmod></url>\n",
            entry.id,
            entry.slug,
            iso_date(entry.updated_at.max(entry.published_at)),
        ));
    }
    xml.push_str("</urlset>\n");
    xml
}

/// robots.txt: everything public may be crawled, the newsroom and accounts not; the sitemap
/// is named.
pub fn robots_txt(site_url: &str) -> String {
    format!(
        "User-agent: *\nDisallow: /editor\nDisallow: /account\n\nSitemap: {site_url}/sitemap.xml\n"
    )
}
