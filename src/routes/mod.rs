//! The routing table, in one place. Handlers are thin: extract, ask `domain`/`auth`/`db`,
//! render one page.

mod account;
mod articles;
mod assets;
mod auth;
mod health;
mod home;
mod pages;
mod subscribe;
mod visit;
mod webhooks;

use actix_web::{HttpRequest, web};

use crate::error::AppError;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home::index))
        .route("/articles/{id}", web::get().to(articles::show))
        .route("/signup", web::get().to(auth::signup_form))
        .route("/signup", web::post().to(auth::signup))
        .route("/login", web::get().to(auth::login_form))
        .route("/login", web::post().to(auth::login))
        .route("/logout", web::post().to(auth::logout))
        .route("/account", web::get().to(account::show))
        .route(
            "/account/sessions/{id}/logout",
            web::post().to(account::log_out_device),
        )
        .route(
            "/account/sessions/logout-all",
            web::post().to(account::log_out_everywhere),
        )
        .route(
            "/account/subscription/cancel",
            web::post().to(account::cancel_subscription),
        )
        .route("/account/billing", web::post().to(account::billing_portal))
        .route("/subscribe", web::get().to(subscribe::show))
        .route("/subscribe", web::post().to(subscribe::subscribe))
        .route("/subscribe/complete", web::get().to(subscribe::complete))
        .route("/subscribe/cancelled", web::get().to(subscribe::cancelled))
        .route("/webhooks/stripe", web::post().to(webhooks::stripe))
        .route("/cookies", web::get().to(pages::cookies))
        .route("/healthz", web::get().to(health::check))
        .route("/healthz", web::head().to(health::check))
        .route("/static/{path:.*}", web::get().to(assets::serve))
        .route("/static/{path:.*}", web::head().to(assets::serve))
        .default_service(web::to(not_found));
}

async fn not_found() -> Result<actix_web::HttpResponse, AppError> {
    Err(AppError::NotFound)
}

/// `?next=` on pages that pass it on.
#[derive(serde::Deserialize)]
pub struct NextQuery {
    pub next: Option<String>,
}

/// The site's address as the reader reached it (`https://gazette.example`), for the pages of a
/// payment processor to send the reader back to. Behind a proxy, the proxy must pass `Host`
/// and `X-Forwarded-Proto`.
fn site_of(req: &HttpRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}", info.scheme(), info.host())
}

/// The User-Agent, cut to what the sessions table keeps.
fn user_agent(req: &HttpRequest) -> String {
    let raw = req
        .headers()
        .get(actix_web::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    raw.chars().take(256).collect()
}
