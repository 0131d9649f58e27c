//! The front page and the archive behind it: the newest articles, then older pages of the
//! same size (`/page/2`, ...), and each author's page (`/authors/{slug}`).
//!
//! Rules: every list is one query for a page of [`PAGE_SIZE`] articles (one more is asked
//! for, to know whether an older page exists), so a page costs the same however large the
//! archive grows; each page has its own canonical address; a page past the end is a 404.
//! A first page asked for by number (`/page/1`, `/authors/{slug}/page/1`) is a 301 to its own
//! address only once the list is known to exist, and the `Location` is written by the app
//! from what it stored, never from the bytes of the request.

use actix_web::http::StatusCode;
use actix_web::http::header::LOCATION;
use std::sync::Arc;

use actix_web::{HttpResponse, web};
use askama::Template;

use super::visit::Visit;
use crate::cache::articles::ListingKey;
use crate::domain::article::is_slug;
use crate::error::AppError;
use crate::models::ArticleSummary;
use crate::state::AppState;
use crate::views::{ArticleCard, AuthorPage, FrontCards, HomePage, Pager, render};

/// Articles on one page of a list.
pub const PAGE_SIZE: i64 = 20;
/// Pages beyond this are not served (100,000 pages of 20 is more than any archive).
const LAST_PAGE: i64 = 100_000;

pub async fn index(state: web::Data<AppState>, visit: Visit) -> Result<HttpResponse, AppError> {
    front_page(&state, &visit, 1).await
}

/// `/page/{n}`: older articles. `/page/1` is the front page, under its own address.
pub async fn page(
    path: web::Path<String>,
    state: web::Data<AppState>,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    let page = page_number(&path).ok_or(AppError::NotFound)?;
    if page == 1 {
        return Ok(moved_permanently("/"));
    }
    front_page(&state, &visit, page).await
}

/// Page `page` of the published articles (all, or one byline's), and whether older ones exist.
async fn listing(
    state: &AppState,
    author_slug: Option<String>,
    page: i64,
) -> Result<(Vec<ArticleSummary>, bool), AppError> {
    let (offset, limit) = window(page);
    let key = ListingKey {
        author_slug,
        offset,
        limit,
    };
    let now = state.clock.now();
    let listed = state.caches.published_list(&state.pool, key, now).await?;
    let mut articles = listed.articles.clone();
    let has_older = trim_to_page(&mut articles);
    Ok((articles, has_older))
}

async fn front_page(state: &AppState, visit: &Visit, page: i64) -> Result<HttpResponse, AppError> {
    let (offset, limit) = window(page);
    let key = ListingKey {
        author_slug: None,
        offset,
        limit,
    };
    let listed = (state.caches)
        .published_list(&state.pool, key, state.clock.now())
        .await?;
    let on_page = usize::try_from(PAGE_SIZE).unwrap_or(usize::MAX);
    let has_older = listed.articles.len() > on_page;
    if listed.articles.is_empty() && page > 1 {
        return Err(AppError::NotFound);
    }
    let cards = match listed.rendered.get() {
        Some(cards) => cards.clone(),
        None => {
            let made: Arc<str> = FrontCards {
                page,
                articles: listed
                    .articles
                    .iter()
                    .take(on_page)
                    .map(ArticleCard::from)
                    .collect(),
            }
            .render()?
            .into();
            listed.rendered.get_or_init(|| made).clone()
        }
    };
    let canonical = if page == 1 {
        "/".to_string()
    } else {
        format!("/page/{page}")
    };
    let title = if page == 1 {
        "Gazette".to_string()
    } else {
        format!("Older articles, page {page}")
    };
    let page_view = HomePage {
        layout: visit.layout(title)?.canonical(&canonical),
        page,
        cards,
        pager: pager(page, has_older, |n| {
            if n == 1 {
                "/".to_string()
            } else {
                format!("/page/{n}")
            }
        }),
    };
    Ok(render(StatusCode::OK, &page_view)?)
}

pub async fn author(
    path: web::Path<String>,
    state: web::Data<AppState>,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    let slug = path.into_inner();
    let listed = author_listing(&state, &slug, 1).await?;
    author_page(&visit, &slug, 1, listed)
}

/// `/authors/{slug}/page/{n}`. Page 1 is the author's own address: the redirect is only for
/// a byline that exists, and names the address as stored, never the bytes that were sent.
pub async fn author_older(
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    let (slug, page) = path.into_inner();
    let page = page_number(&page).ok_or(AppError::NotFound)?;
    let listed = author_listing(&state, &slug, page).await?;
    if page == 1 {
        let stored = listed.0.first().ok_or(AppError::NotFound)?;
        return Ok(moved_permanently(&format!(
            "/authors/{}",
            stored.author_slug
        )));
    }
    author_page(&visit, &slug, page, listed)
}

/// Page `page` of a byline's articles: a 404 for anything that is not a slug, and for a page
/// with no article (an unknown byline, or past the end).
async fn author_listing(
    state: &AppState,
    slug: &str,
    page: i64,
) -> Result<(Vec<ArticleSummary>, bool), AppError> {
    if !is_slug(slug) {
        return Err(AppError::NotFound);
    }
    let listed = listing(state, Some(slug.to_string()), page).await?;
    if listed.0.is_empty() {
        return Err(AppError::NotFound);
    }
    Ok(listed)
}

fn author_page(
    visit: &Visit,
    slug: &str,
    page: i64,
    (articles, has_older): (Vec<ArticleSummary>, bool),
) -> Result<HttpResponse, AppError> {
    let Some(newest) = articles.first() else {
        return Err(AppError::NotFound);
    };
    let name = newest.author.clone();
    let base = format!("/authors/{slug}");
    let canonical = if page == 1 {
        base.clone()
    } else {
        format!("{base}/page/{page}")
    };
    let description = format!("Articles by {name} in Gazette.");
    let page_view = AuthorPage {
        layout: visit
            .layout(name.clone())?
            .canonical(&canonical)
            .described(&description),
        author: name,
        page,
        articles: articles.iter().map(ArticleCard::from).collect(),
        pager: pager(page, has_older, |n| {
            if n == 1 {
                base.clone()
            } else {
                format!("{base}/page/{n}")
            }
        }),
    };
    Ok(render(StatusCode::OK, &page_view)?)
}

/// The rows a page needs: its offset, and one more than fits, to know whether more follow.
fn window(page: i64) -> (i64, i64) {
    ((page - 1) * PAGE_SIZE, PAGE_SIZE + 1)
}

/// Drops the extra row; true when there was one (an older page exists).
fn trim_to_page(articles: &mut Vec<ArticleSummary>) -> bool {
    let more = articles.len() > usize::try_from(PAGE_SIZE).unwrap_or(usize::MAX);
    articles.truncate(usize::try_from(PAGE_SIZE).unwrap_or(usize::MAX));
    more
}

fn pager(page: i64, has_older: bool, address: impl Fn(i64) -> String) -> Pager {
    Pager {
        newer: (page > 1).then(|| address(page - 1)),
        older: has_older.then(|| address(page + 1)),
    }
}

/// A page number as written in an address: digits, 1 to [`LAST_PAGE`].
fn page_number(text: &str) -> Option<i64> {
    if text.is_empty() || text.len() > 6 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok().filter(|n| (1..=LAST_PAGE).contains(n))
}

/// A 301 to `location`, an address the app made (from stored slugs and ids): text from a
/// request never goes here.
pub fn moved_permanently(location: &str) -> HttpResponse {
    HttpResponse::MovedPermanently()
        .insert_header((LOCATION, location))
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_numbers_are_plain_digits_within_the_archive() {
        assert_eq!(page_number("2"), Some(2));
        assert_eq!(page_number("100000"), Some(LAST_PAGE));
        for bad in [
            "",
            "0",
            "-1",
            "+2",
            "2.0",
            "100001",
            "99999999999999999999",
            "x",
        ] {
            assert_eq!(page_number(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_page_asks_for_one_row_more_than_it_shows() {
        assert_eq!(window(1), (0, PAGE_SIZE + 1));
        assert_eq!(window(3), (2 * PAGE_SIZE, PAGE_SIZE + 1));
    }
}
