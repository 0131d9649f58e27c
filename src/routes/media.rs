//! Pictures for readers' browsers: `/media/<hash>-<width>.<ext>`, from this instance's memory
//! or the store.
//!
//! Rules: an address names the same bytes for ever, so the answer may be cached for a year
//! (`immutable`), carries an `ETag` (its name) and never a cookie; an address Gazette could
//! not have made is a 404 without a trip to the database.

use actix_web::http::header::{self, ETag, EntityTag, Header, IfNoneMatch};
use actix_web::{HttpRequest, HttpResponse, web};

use crate::domain::media::VariantName;
use crate::error::AppError;
use crate::media::{MediaError, MediaLibrary};
use crate::state::AppState;

/// A year: the longest caches are asked to keep anything.
const CACHE_FOREVER: &str = "public, max-age=31536000, immutable";

pub async fn serve(
    request: HttpRequest,
    name: web::Path<String>,
    state: web::Data<AppState>,
    library: web::Data<MediaLibrary>,
) -> Result<HttpResponse, AppError> {
    let name = VariantName::parse(&name).ok_or(AppError::NotFound)?;
    let tag = EntityTag::new_strong(name.file_name());
    let variant = library
        .variant(&state.caches, name)
        .await
        .map_err(MediaError::into_app_error)?
        .ok_or(AppError::NotFound)?;
    let unchanged = match IfNoneMatch::parse(&request) {
        Ok(IfNoneMatch::Any) => true,
        Ok(IfNoneMatch::Items(tags)) => tags.iter().any(|seen| seen.weak_eq(&tag)),
        Err(_) => false,
    };
    let mut answer = if unchanged {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    answer
        .insert_header(ETag(tag))
        .insert_header((header::CACHE_CONTROL, CACHE_FOREVER));
    if unchanged {
        return Ok(answer.finish());
    }
    Ok(answer
        .content_type(variant.format.mime_type())
        .body(variant.bytes.clone()))
}
