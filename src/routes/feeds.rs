//! What machines read: `/feed.xml` (Atom), the sitemap (`/sitemap.xml`, an index of the files
//! `/sitemap/{n}.xml`) and `/robots.txt`.
//!
//! Rules: these answers are the same for every reader (they never read the session, so they
//! never set a cookie), so unlike the pages they may be kept by shared caches, briefly: a new
//! publication reaches them within [`MAX_AGE_SECONDS`]. Only published articles appear. The
//! sitemap's files split the archive by article id, [`SITEMAP_IDS`] ids a file, so an article
//! stays in the same file as others are published, each file keeps within the sitemaps
//! protocol's 50,000 addresses, and no answer reads more than one file's rows (never a body).

use std::ops::Range;

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{HttpResponse, web};

use crate::db;
use crate::domain::ids::ArticleId;
use crate::error::AppError;
use crate::state::AppState;
use crate::views::{atom_feed, robots_txt, sitemap_index_xml, sitemap_xml};

/// How long shared caches and feed readers may keep an answer.
pub const MAX_AGE_SECONDS: u32 = 300;
/// Entries in the feed: the newest articles.
pub const FEED_ENTRIES: i64 = 20;
/// Article ids one sitemap file covers: file `n` holds the articles with ids from
/// `(n - 1) * SITEMAP_IDS` up to `n * SITEMAP_IDS` (not included). Ids start at 1, so the
/// first file has room for the front page: no file names more than 50,000 addresses, the
/// sitemaps protocol's limit (and at a few hundred bytes an address, far less than its 50 MB).
pub const SITEMAP_IDS: i64 = 50_000;
/// Sitemap files beyond this are not served (50 billion article ids).
const LAST_SITEMAP_FILE: i64 = 999_999;

fn public(content_type: &'static str, body: String) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, content_type))
        .insert_header((CACHE_CONTROL, format!("public, max-age={MAX_AGE_SECONDS}")))
        .body(body)
}

pub async fn feed(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let now = state.clock.now();
    let articles = db::run(&state.pool, "listing the feed's articles", move |conn| {
        db::articles::feed(conn, now, FEED_ENTRIES)
    })
    .await?;
    Ok(public(
        "application/atom+xml; charset=utf-8",
        atom_feed(&state.public_url, &articles, now),
    ))
}

/// `/sitemap.xml`: the index of the sitemap's files, every one that lists something (the
/// first always does: it names the front page).
pub async fn sitemap_index(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let now = state.clock.now();
    let files = db::run(&state.pool, "finding the sitemap's files", move |conn| {
        let last = db::articles::last_published_id(conn, now)?;
        let mut files = vec![1];
        for file in 2..=file_count(last) {
            if db::articles::any_published(conn, now, ids_of(file))? {
                files.push(file);
            }
        }
        Ok(files)
    })
    .await?;
    Ok(public(
        "application/xml; charset=utf-8",
        sitemap_index_xml(&state.public_url, &files),
    ))
}

/// `/sitemap/{n}.xml`: one file of the sitemap; a 404 for one that lists nothing.
pub async fn sitemap_file(
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let file = file_number(&path).ok_or(AppError::NotFound)?;
    let now = state.clock.now();
    let entries = db::run(
        &state.pool,
        "listing a sitemap file's articles",
        move |conn| db::articles::sitemap(conn, now, ids_of(file)),
    )
    .await?;
    let front_page = file == 1;
    if entries.is_empty() && !front_page {
        return Err(AppError::NotFound);
    }
    Ok(public(
        "application/xml; charset=utf-8",
        sitemap_xml(&state.public_url, front_page, &entries),
    ))
}

/// The article ids sitemap file `file` covers.
fn ids_of(file: i64) -> Range<ArticleId> {
    ArticleId::new(((file - 1) * SITEMAP_IDS).max(1))..ArticleId::new(file * SITEMAP_IDS)
}

/// How many files reach the last published id (one, for the front page, when none is).
fn file_count(last_published_id: Option<ArticleId>) -> i64 {
    last_published_id.map_or(1, |id| id.get() / SITEMAP_IDS + 1)
}

/// A file number as written in its address: digits, 1 to [`LAST_SITEMAP_FILE`].
fn file_number(text: &str) -> Option<i64> {
    if text.is_empty() || text.len() > 6 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse()
        .ok()
        .filter(|n| (1..=LAST_SITEMAP_FILE).contains(n))
}

pub async fn robots(state: web::Data<AppState>) -> HttpResponse {
    public("text/plain; charset=utf-8", robots_txt(&state.public_url))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The numbers of the ids file `file` covers.
    fn numbers_of(file: i64) -> Range<i64> {
        let ids = ids_of(file);
        ids.start.get()..ids.end.get()
    }

    fn id(number: i64) -> Option<ArticleId> {
        Some(ArticleId::new(number))
    }

    #[test]
    fn each_file_covers_its_own_ids_and_none_names_more_than_fifty_thousand_addresses() {
        assert_eq!(numbers_of(1), 1..50_000);
        assert_eq!(numbers_of(2), 50_000..100_000);
        assert_eq!(ids_of(3).start, ids_of(2).end);
        // The first file's articles and the front page; every other file's articles.
        assert_eq!(numbers_of(1).end - numbers_of(1).start + 1, 50_000);
        assert_eq!(numbers_of(7).end - numbers_of(7).start, 50_000);
    }

    #[test]
    fn the_files_reach_the_last_published_article() {
        assert_eq!(file_count(None), 1);
        assert_eq!(file_count(id(1)), 1);
        assert_eq!(file_count(id(49_999)), 1);
        assert_eq!(file_count(id(50_000)), 2);
        assert_eq!(file_count(id(60_012)), 2);
        assert!(ids_of(file_count(id(123_456))).contains(&ArticleId::new(123_456)));
    }

    #[test]
    fn file_numbers_are_plain_digits() {
        assert_eq!(file_number("1"), Some(1));
        assert_eq!(file_number("999999"), Some(LAST_SITEMAP_FILE));
        for bad in [
            "",
            "0",
            "-1",
            "+1",
            "1.0",
            "1000000",
            "99999999999999999999",
            "x",
        ] {
            assert_eq!(file_number(bad), None, "{bad:?}");
        }
    }
}
