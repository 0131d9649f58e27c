//! The ceiling the reading benchmark measures Gazette against: actix-web with no middleware,
//! no session and no logging, answering every request with the saved article page
//! (`static/bench/article.html`) from memory. `bench/read.sh` builds it in release mode and
//! runs it beside Gazette, so both are measured in the same run on the same machine.
//!
//! Usage: `bare PORT` (default 8182).

use actix_web::{App, HttpResponse, HttpServer, web};

const PAGE: &[u8] = include_bytes!("../static/bench/article.html");

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let port = std::env::args()
        .nth(1)
        .and_then(|port| port.parse().ok())
        .unwrap_or(8182u16);
    HttpServer::new(|| {
        App::new().default_service(web::to(|| async {
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
