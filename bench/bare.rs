//! The ceiling the reading benchmark measures Gazette against: actix-web with no middleware,
//! no session and no logging, answering every request with the saved article page
//! (`static/bench/article.html`) from memory, and requests under `/media/` with one picture
//! variant from memory, with the headers Gazette serves it with (type, a year's
//! `immutable` caching, the strong `ETag` of its name). `bench/read.sh` builds it in release
//! mode and runs it beside Gazette, so both are measured in the same run on the same machine.
//!
//! Usage: `bare PORT [VARIANT_FILE]` (default 8182); the variant file is named as Gazette's
//! address names it (`<hash>-<width>.<ext>`).

use std::path::Path;

use actix_web::http::header;
use actix_web::{App, HttpResponse, HttpServer, web};

const PAGE: &[u8] = include_bytes!("../static/bench/article.html");

/// One picture variant as Gazette serves it.
#[derive(Clone)]
struct Variant {
    bytes: web::Bytes,
    content_type: &'static str,
    etag: String,
}

fn variant(path: &Path) -> std::io::Result<Variant> {
    let name = path
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or_default()
        .to_string();
    let content_type = match name.rsplit_once('.').map(|(_, extension)| extension) {
        Some("jpg") => "image/jpeg",
        Some("png") => "image/png",
        Some("webp") => "image/webp",
        Some("gif") => "image/gif",
        _ => "application/octet-stream",
    };
    Ok(Variant {
        bytes: std::fs::read(path)?.into(),
        content_type,
        etag: format!("\"{name}\""),
    })
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let port = args
        .next()
        .and_then(|port| port.parse().ok())
        .unwrap_or(8182u16);
    let picture = args
        .next()
        .map(|file| variant(Path::new(&file)))
        .transpose()?;
    HttpServer::new(move || {
        let picture = picture.clone();
        App::new()
            .app_data(web::Data::new(picture))
            .route(
                "/media/{name}",
                web::get().to(|picture: web::Data<Option<Variant>>| async move {
                    match picture.as_ref() {
                        Some(picture) => HttpResponse::Ok()
                            .content_type(picture.content_type)
                            .insert_header((header::ETAG, picture.etag.as_str()))
                            .insert_header((
                                header::CACHE_CONTROL,
                                "public, max-age=31536000, immutable",
                            ))
                            .body(picture.bytes.clone()),
                        None => HttpResponse::NotFound().finish(),
                    }
                }),
            )
            .default_service(web::to(|| async {
                HttpResponse::Ok()
                    .content_type("text/html; charset=utf-8")
                    .insert_header(("Cache-Control", "public, max-age=3600"))
                    .body(PAGE)
            }))
    })
    .bind(("127.0.0.1", port))?
    .run()
    .await
}
