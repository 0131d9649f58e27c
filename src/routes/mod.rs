//! The routing table, in one place. Handlers are thin: extract, ask `domain`/`auth`/`db`,
//! render one page.

mod account;
mod articles;
mod assets;
mod auth;
mod editor;
mod feeds;
mod health;
mod home;
mod pages;
mod password;
mod settings;
mod subscribe;
mod visit;
mod webhooks;

use actix_web::{HttpRequest, web};

use crate::error::AppError;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home::index))
        .route("/page/{page}", web::get().to(home::page))
        .route("/authors/{slug}", web::get().to(home::author))
        .route(
            "/authors/{slug}/page/{page}",
            web::get().to(home::author_older),
        )
        .route("/articles/{id}", web::get().to(articles::show))
        .route(
            "/articles/{id}/{slug}",
            web::get().to(articles::show_canonical),
        )
        .route("/feed.xml", web::get().to(feeds::feed))
        .route("/sitemap.xml", web::get().to(feeds::sitemap_index))
        .route("/sitemap/{file}.xml", web::get().to(feeds::sitemap_file))
        .route("/robots.txt", web::get().to(feeds::robots))
        .service(
            // Every handler in here takes `Editor` or `Admin`; an article is a larger form.
            web::scope("/editor")
                .app_data(web::PayloadConfig::new(editor::ARTICLE_FORM_LIMIT))
                .route("", web::get().to(editor::desk))
                .route("/articles", web::post().to(editor::create))
                .route("/articles/new", web::get().to(editor::new_form))
                .route("/articles/{id}", web::get().to(editor::edit_form))
                .route("/articles/{id}", web::post().to(editor::update))
                .route("/articles/{id}/preview", web::get().to(editor::preview))
                .route(
                    "/articles/{id}/preview/paywall",
                    web::get().to(editor::preview_paywall),
                )
                .route("/people", web::get().to(editor::people))
                .route("/people", web::post().to(editor::set_role)),
        )
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
        .route("/account/password", web::get().to(settings::password_form))
        .route(
            "/account/password",
            web::post().to(settings::change_password),
        )
        .route("/account/email", web::get().to(settings::email_form))
        .route("/account/email", web::post().to(settings::change_email))
        .route(
            "/account/email/confirm",
            web::get().to(settings::confirm_email_form),
        )
        .route(
            "/account/email/confirm",
            web::post().to(settings::confirm_email),
        )
        .route("/account/delete", web::get().to(settings::delete_form))
        .route("/account/delete", web::post().to(settings::delete_account))
        .route("/account/export", web::get().to(settings::export))
        .route("/password/forgot", web::get().to(password::forgot_form))
        .route("/password/forgot", web::post().to(password::forgot))
        .route("/password/reset", web::get().to(password::reset_form))
        .route("/password/reset", web::post().to(password::reset))
        .route("/account/billing", web::post().to(account::billing_portal))
        .route("/subscribe", web::get().to(subscribe::show))
        .route("/subscribe", web::post().to(subscribe::subscribe))
        .route("/subscribe/complete", web::get().to(subscribe::complete))
        .route("/subscribe/cancelled", web::get().to(subscribe::canceled))
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

/// The User-Agent, cut to what the sessions table keeps.
fn user_agent(req: &HttpRequest) -> String {
    let raw = req
        .headers()
        .get(actix_web::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    raw.chars().take(256).collect()
}
