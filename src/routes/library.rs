//! The desk's media library, under `/editor/media`: the pictures (newest first, or only those
//! no article uses), uploading one, its alt text, deleting one no article uses.
//!
//! Rules: every handler takes [`Editor`], and an upload's body is read (through `CsrfUpload`)
//! only once that check passed, so no one else's file is ever read; the other forms are read
//! through `CsrfForm`. What goes through is answered with a redirect (303) back to the listing
//! and a notice. A file the library refuses comes back as the library page with the reason
//! and the refusal's status (413 too large, 415 not an image, 422 too many pixels or
//! unreadable, 503 busy): a bad file is never a 5xx. A picture in use is not deleted (409).
//! These pages are kept out of search engines.

use actix_web::http::StatusCode;
use actix_web::http::header::RETRY_AFTER;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::auth::{NoFields, see_other};
use super::visit::Visit;
use crate::auth::csrf::CsrfForm;
use crate::auth::current_reader::Editor;
use crate::auth::upload::CsrfUpload;
use crate::db;
use crate::domain::ids::MediaId;
use crate::domain::media::Refusal;
use crate::error::AppError;
use crate::media::{MediaError, MediaLibrary, Upload};
use crate::state::AppState;
use crate::views::{LibraryPicture, MediaLibraryPage, Pager, file_size, render};

/// Pictures a page of the library lists.
const PAGE_SIZE: i64 = 24;
/// The last page number taken (beyond it, a 404 rather than a scan of the table).
const LAST_PAGE: i64 = 100_000;

/// `?page=2&unused=1`
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ListingQuery {
    page: Option<String>,
    unused: Option<String>,
}

/// Which pictures a page of the library lists.
#[derive(Clone, Copy)]
struct Listing {
    page: i64,
    unused_only: bool,
}

impl Listing {
    const FIRST: Self = Self {
        page: 1,
        unused_only: false,
    };

    /// The listing a query names; a page number that is not one is a 404.
    fn of(query: &ListingQuery) -> Result<Self, AppError> {
        let page = match query.page.as_deref() {
            None => 1,
            Some(text) => text
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=LAST_PAGE).contains(n))
                .ok_or(AppError::NotFound)?,
        };
        Ok(Self {
            page,
            unused_only: query.unused.as_deref() == Some("1"),
        })
    }

    /// The query naming it: `?page=2&unused=1`, or nothing for the first page of all.
    fn query(self, page: i64) -> String {
        match (page, self.unused_only) {
            (1, false) => String::new(),
            (1, true) => "?unused=1".to_string(),
            (page, false) => format!("?page={page}"),
            (page, true) => format!("?page={page}&unused=1"),
        }
    }

    /// This listing's address, showing the picture `id`.
    fn showing(self, id: MediaId) -> String {
        format!("/editor/media{}#media-{id}", self.query(self.page))
    }
}

/// What a page of the library says above its list when something did not go through.
struct Trouble {
    status: StatusCode,
    message: String,
    /// The upload form's alt text, as typed.
    alt: String,
}

pub async fn library(
    query: web::Query<ListingQuery>,
    state: web::Data<AppState>,
    library: web::Data<MediaLibrary>,
    _editor: Editor,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    let listing = Listing::of(&query)?;
    library_page(&state, &library, &visit, listing, None).await
}

async fn library_page(
    state: &AppState,
    library: &MediaLibrary,
    visit: &Visit,
    listing: Listing,
    trouble: Option<Trouble>,
) -> Result<HttpResponse, AppError> {
    let Listing { page, unused_only } = listing;
    let (mut rows, mut pictures) = db::run(&state.pool, "listing the media library", move |conn| {
        let rows = db::media::list(conn, unused_only, (page - 1) * PAGE_SIZE, PAGE_SIZE + 1)?;
        let ids: Vec<MediaId> = rows.iter().map(|(row, _)| row.id).collect();
        Ok((rows, db::media::pictures(conn, &ids)?))
    })
    .await?;
    let has_older = rows.len() > usize::try_from(PAGE_SIZE).unwrap_or(usize::MAX);
    rows.truncate(usize::try_from(PAGE_SIZE).unwrap_or(usize::MAX));
    let (status, error, alt) = match trouble {
        Some(Trouble {
            status,
            message,
            alt,
        }) => (status, Some(message), alt),
        None => (StatusCode::OK, None, String::new()),
    };
    let view = MediaLibraryPage {
        layout: visit.layout("Pictures")?.unindexed(),
        pictures: rows
            .iter()
            .map(|(row, uses)| LibraryPicture::of(row, *uses, pictures.remove(&row.id).as_ref()))
            .collect(),
        unused_only,
        pager: Pager {
            newer: (page > 1).then(|| format!("/editor/media{}", listing.query(page - 1))),
            older: has_older.then(|| format!("/editor/media{}", listing.query(page + 1))),
        },
        error,
        alt,
        max_size: file_size(i64::try_from(library.max_bytes()).unwrap_or(i64::MAX)),
        listing: listing.query(page),
    };
    let mut answer = render(status, &view)?;
    if status == StatusCode::SERVICE_UNAVAILABLE {
        answer.headers_mut().insert(
            RETRY_AFTER,
            actix_web::http::header::HeaderValue::from_static("5"),
        );
    }
    Ok(answer)
}

/// Adds the file sent to the library (or finds the picture its bytes already made).
pub async fn upload(
    state: web::Data<AppState>,
    library: web::Data<MediaLibrary>,
    upload: CsrfUpload,
    Editor(editor): Editor,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    // Taken in before the body is read: at most a few bodies are in memory at once.
    let _admitted = match library.admit() {
        Ok(admitted) => admitted,
        Err(busy) => {
            return refusal(
                &state,
                &library,
                &visit,
                Listing::FIRST,
                busy,
                String::new(),
            )
            .await;
        }
    };
    let limit = library.max_bytes();
    let form = match upload.read(limit).await {
        Ok(form) => form,
        Err(AppError::PayloadTooLarge) => {
            let refused = MediaError::Refused(Refusal::TooLarge { limit });
            return refusal(
                &state,
                &library,
                &visit,
                Listing::FIRST,
                refused,
                String::new(),
            )
            .await;
        }
        Err(error) => return Err(error),
    };
    let alt = form.field("alt").unwrap_or_default().to_string();
    let Some(file) = form.file else {
        let trouble = Trouble {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message: "Choose a picture to upload.".to_string(),
            alt,
        };
        return library_page(&state, &library, &visit, Listing::FIRST, Some(trouble)).await;
    };
    let added = library
        .add(Upload {
            bytes: file.bytes,
            original_name: file.name,
            alt: alt.clone(),
            uploader: Some(editor.user_id),
        })
        .await;
    match added {
        Ok(added) => {
            let id = added.picture.id;
            tracing::info!(
                media_id = id.get(),
                already_there = added.already_there,
                by = editor.user_id.get(),
                "picture uploaded"
            );
            let message = if added.already_there {
                "That file was already in the library: here it is, its alt text as it was."
            } else {
                "Picture added: place it in an article with the Markdown beside it."
            };
            visit.session.set_flash(message)?;
            Ok(see_other(&Listing::FIRST.showing(id)))
        }
        Err(error) => refusal(&state, &library, &visit, Listing::FIRST, error, alt).await,
    }
}

/// The alt text form of one picture.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AltInput {
    alt: String,
}

pub async fn set_alt(
    path: web::Path<String>,
    query: web::Query<ListingQuery>,
    state: web::Data<AppState>,
    library: web::Data<MediaLibrary>,
    CsrfForm(input): CsrfForm<AltInput>,
    _editor: Editor,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    let id = media_id(&path)?;
    let listing = Listing::of(&query)?;
    match library.set_alt(id, &input.alt).await {
        Ok(()) => {
            tracing::info!(media_id = id.get(), "alt text saved");
            visit.session.set_flash("Alt text saved.")?;
            Ok(see_other(&listing.showing(id)))
        }
        Err(error) => refusal(&state, &library, &visit, listing, error, String::new()).await,
    }
}

pub async fn delete(
    path: web::Path<String>,
    query: web::Query<ListingQuery>,
    state: web::Data<AppState>,
    library: web::Data<MediaLibrary>,
    CsrfForm(_): CsrfForm<NoFields>,
    Editor(editor): Editor,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    let id = media_id(&path)?;
    let listing = Listing::of(&query)?;
    match library.delete(id).await {
        Ok(deleted) => {
            tracing::info!(
                media_id = id.get(),
                by = editor.user_id.get(),
                "picture deleted"
            );
            visit.session.set_flash(&format!(
                "Deleted {}: its addresses no longer answer.",
                shortened(&deleted.original_name)
            ))?;
            Ok(see_other(&format!(
                "/editor/media{}",
                listing.query(listing.page)
            )))
        }
        Err(error) => refusal(&state, &library, &visit, listing, error, String::new()).await,
    }
}

/// The library page saying why `error` stopped what the editor asked; failures that are not
/// the file's nor the editor's are the usual error pages.
async fn refusal(
    state: &AppState,
    library: &MediaLibrary,
    visit: &Visit,
    listing: Listing,
    error: MediaError,
    alt: String,
) -> Result<HttpResponse, AppError> {
    let message = match &error {
        MediaError::Refused(refusal) => sentence(&refusal.to_string()),
        MediaError::Undecodable(why) => {
            format!("The file could not be read as a picture ({why}).")
        }
        MediaError::AltTooLong | MediaError::Busy => sentence(&error.to_string()),
        MediaError::InUse(1) => {
            "This picture is used by an article: take it out of the article first, then delete it."
                .to_string()
        }
        MediaError::InUse(uses) => format!(
            "This picture is used by {uses} articles: take it out of them first, then delete it."
        ),
        MediaError::AltNeeded(1) => "An article shows this picture as its feature image with the \
             library's alt text, so it cannot be empty: give the article alt text of its own first."
            .to_string(),
        MediaError::AltNeeded(articles) => format!(
            "{articles} articles show this picture as their feature image with the library's alt \
             text, so it cannot be empty: give them alt text of their own first."
        ),
        MediaError::Missing => return Err(AppError::NotFound),
        MediaError::Database(_) | MediaError::Store(_) | MediaError::Processing(_) => {
            return Err(error.into_app_error());
        }
    };
    let status = error.status();
    tracing::info!(
        status = status.as_u16(),
        "refused by the media library: {error}"
    );
    let trouble = Trouble {
        status,
        message,
        alt,
    };
    library_page(state, library, visit, listing, Some(trouble)).await
}

/// A picture's id in an address; anything else is a 404.
fn media_id(text: &str) -> Result<MediaId, AppError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AppError::NotFound);
    }
    text.parse().map_err(|_| AppError::NotFound)
}

/// `the file is larger` → `The file is larger.`
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    let Some(first) = chars.next() else {
        return String::new();
    };
    format!("{}{}.", first.to_uppercase(), chars.as_str())
}

/// A file's name short enough for a notice (the session's flash is small).
fn shortened(name: &str) -> String {
    const MOST: usize = 60;
    if name.chars().count() <= MOST {
        return name.to_string();
    }
    let kept: String = name.chars().take(MOST - 1).collect();
    format!("{kept}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_is_named_by_its_query_and_back() {
        let listing = |page: Option<&str>, unused: Option<&str>| {
            Listing::of(&ListingQuery {
                page: page.map(str::to_string),
                unused: unused.map(str::to_string),
            })
        };
        let all = listing(None, None).unwrap();
        assert_eq!(all.query(1), "");
        assert_eq!(all.query(3), "?page=3");
        let unused = listing(Some("2"), Some("1")).unwrap();
        assert_eq!(unused.query(unused.page), "?page=2&unused=1");
        assert_eq!(unused.query(1), "?unused=1");
        assert_eq!(
            unused.showing(MediaId::new(7)),
            "/editor/media?page=2&unused=1#media-7"
        );
        for bad in ["0", "-1", "x", "100001"] {
            assert!(listing(Some(bad), None).is_err(), "{bad}");
        }
    }

    #[test]
    fn messages_read_as_sentences() {
        assert_eq!(
            sentence("the file is larger than 15 MB"),
            "The file is larger than 15 MB."
        );
        assert_eq!(shortened("photo.jpg"), "photo.jpg");
        assert_eq!(shortened(&"a".repeat(100)).chars().count(), 60);
        assert!(media_id("+1").is_err() && media_id("").is_err() && media_id("12").is_ok());
    }
}
