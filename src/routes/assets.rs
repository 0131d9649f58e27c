//! The stylesheet, the icon and the benchmark's saved page, compiled into the binary so it
//! serves them wherever it runs.

use actix_web::{HttpResponse, web};

use crate::error::AppError;

struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: [Asset; 3] = [
    Asset {
        path: "css/gazette.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../../static/css/gazette.css"),
    },
    // A saved copy of an article page: the ceiling the reading benchmark measures against.
    Asset {
        path: "bench/article.html",
        content_type: "text/html; charset=utf-8",
        body: include_bytes!("../../static/bench/article.html"),
    },
    Asset {
        path: "favicon.svg",
        content_type: "image/svg+xml",
        body: include_bytes!("../../static/favicon.svg"),
    },
];

pub async fn serve(path: web::Path<String>) -> Result<HttpResponse, AppError> {
    let asset = ASSETS
        .iter()
        .find(|asset| asset.path == path.as_str())
        .ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type(asset.content_type)
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(asset.body))
}
