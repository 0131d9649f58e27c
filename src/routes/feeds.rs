//! What machines read: `/feed.xml` (Atom), `/sitemap.xml` and `/robots.txt`.
//!
//! Rules: these answers are the same for every reader (they never read the session, so they
//! never set a cookie), so unlike the pages they may be kept by shared caches, briefly: a new
//! publication reaches them within [`MAX_AGE_SECONDS`]. Only published articles appear.

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{HttpResponse, web};

use crate::db;
use crate::error::AppError;
use crate::state::AppState;
use crate::views::{atom_feed, robots_txt, sitemap_xml};

/// How long shared caches and feed readers may keep an answer.
pub const MAX_AGE_SECONDS: u32 = 300;
/// Entries in the feed: the newest articles.
pub const FEED_ENTRIES: i64 = 20;
/// The most addresses one sitemap file may hold.
pub const SITEMAP_MOST: i64 = 50_000;

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

pub async fn sitemap(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let now = state.clock.now();
    let entries = db::run(&state.pool, "listing the sitemap's articles", move |conn| {
        db::articles::sitemap(conn, now, SITEMAP_MOST)
    })
    .await?;
    Ok(public(
        "application/xml; charset=utf-8",
        sitemap_xml(&state.public_url, &entries),
    ))
}

pub async fn robots(state: web::Data<AppState>) -> HttpResponse {
    public("text/plain; charset=utf-8", robots_txt(&state.public_url))
}
