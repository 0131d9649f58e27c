//! The routing table, in one place. Handlers are thin: extract, ask `domain`/`auth`/`db`,
//! render one page.

mod account;
mod articles;
mod assets;
mod auth;
mod comps;
mod editor;
mod feeds;
mod gift;
mod health;
mod home;
mod library;
mod media;
mod members;
mod newsletter;
mod offer;
mod pages;
mod password;
mod settings;
mod subscribe;
mod visit;
mod webhooks;

use actix_web::{HttpRequest, web};
use serde::Deserialize;

use crate::error::AppError;

/// A form whose one field is a mailed link's token (a confirmation's button).
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct TokenForm {
    token: String,
}

/// Routes that need no session: the compiled-in assets. They are matched first, outside the
/// session cookie's middleware (see `startup::server`).
pub fn configure_assets(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/static")
            .route("/{path:.*}", web::get().to(assets::serve))
            .route("/{path:.*}", web::head().to(assets::serve)),
    )
    .service(
        web::scope("/media")
            .route("/{name}", web::get().to(media::serve))
            .route("/{name}", web::head().to(media::serve)),
    );
}

/// Every page. Paths with a variable part sit in scopes with a fixed prefix, and the pages
/// read most come first: a request is compared with few patterns before it finds its own.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home::index))
        .service(
            web::scope("/articles")
                .route("/{id}", web::get().to(articles::show))
                .route("/{id}/{slug}", web::get().to(articles::show_canonical))
                .route("/{id}/gift", web::post().to(articles::gift)),
        )
        .route("/healthz", web::get().to(health::check))
        .route("/healthz", web::head().to(health::check))
        .service(web::scope("/page").route("/{page}", web::get().to(home::page)))
        .service(
            web::scope("/authors")
                .route("/{slug}", web::get().to(home::author))
                .route("/{slug}/page/{page}", web::get().to(home::author_older)),
        )
        .route("/feed.xml", web::get().to(feeds::feed))
        .route("/sitemap.xml", web::get().to(feeds::sitemap_index))
        .service(web::scope("/sitemap").route("/{file}.xml", web::get().to(feeds::sitemap_file)))
        .route("/robots.txt", web::get().to(feeds::robots))
        .route("/signup", web::get().to(auth::signup_form))
        .route("/signup", web::post().to(auth::signup))
        .route("/login", web::get().to(auth::login_form))
        .route("/login", web::post().to(auth::login))
        .route("/logout", web::post().to(auth::logout))
        .route("/subscribe", web::get().to(subscribe::show))
        .route("/subscribe", web::post().to(subscribe::subscribe))
        .route("/subscribe/complete", web::get().to(subscribe::complete))
        .route("/subscribe/cancelled", web::get().to(subscribe::canceled))
        .route("/offer/{code}", web::get().to(offer::show))
        .route("/offer/{code}", web::post().to(offer::redeem))
        .route("/gift", web::get().to(gift::show))
        .route("/gift", web::post().to(gift::buy))
        .route("/gift/complete", web::get().to(gift::returned))
        .route("/gift/{token}", web::get().to(gift::open))
        .route("/gift/{token}", web::post().to(gift::redeem))
        .route("/cookies", web::get().to(pages::cookies))
        .route("/newsletter", web::post().to(newsletter::join))
        .service(
            web::scope("/newsletter")
                .route("/confirm", web::get().to(newsletter::confirm_form))
                .route("/confirm", web::post().to(newsletter::confirm))
                .route("/unsubscribe", web::get().to(newsletter::unsubscribe_form))
                .route("/unsubscribe", web::post().to(newsletter::unsubscribe))
                .route("/preferences", web::get().to(newsletter::preferences))
                .route("/preferences", web::post().to(newsletter::choose)),
        )
        .route("/webhooks/stripe", web::post().to(webhooks::stripe))
        .route("/account", web::get().to(account::show))
        .service(
            web::scope("/account")
                .route(
                    "/sessions/{id}/logout",
                    web::post().to(account::log_out_device),
                )
                .route(
                    "/sessions/logout-all",
                    web::post().to(account::log_out_everywhere),
                )
                .route(
                    "/subscription/cancel",
                    web::post().to(account::cancel_subscription),
                )
                .route("/subscription/retain", web::post().to(account::retain))
                .route("/billing", web::post().to(account::billing_portal))
                .route("/newsletter", web::post().to(newsletter::account_choice))
                .route("/password", web::get().to(settings::password_form))
                .route("/password", web::post().to(settings::change_password))
                .route("/email", web::get().to(settings::email_form))
                .route("/email", web::post().to(settings::change_email))
                .route(
                    "/email/confirm",
                    web::get().to(settings::confirm_email_form),
                )
                .route("/email/confirm", web::post().to(settings::confirm_email))
                .route("/delete", web::get().to(settings::delete_form))
                .route("/delete", web::post().to(settings::delete_account))
                .route("/export", web::get().to(settings::export)),
        )
        .service(
            web::scope("/password")
                .route("/forgot", web::get().to(password::forgot_form))
                .route("/forgot", web::post().to(password::forgot))
                .route("/reset", web::get().to(password::reset_form))
                .route("/reset", web::post().to(password::reset)),
        )
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
                    "/articles/{id}/newsletter",
                    web::get().to(editor::newsletter_progress),
                )
                .route(
                    "/articles/{id}/newsletter",
                    web::post().to(editor::send_newsletter),
                )
                .route(
                    "/articles/{id}/newsletter/test",
                    web::post().to(editor::test_newsletter),
                )
                .route(
                    "/articles/{id}/preview/paywall",
                    web::get().to(editor::preview_paywall),
                )
                .route("/offers", web::get().to(offer::desk))
                .route("/offers", web::post().to(offer::create))
                .route("/people", web::get().to(editor::people))
                .route("/people", web::post().to(editor::set_role))
                .route("/comps", web::get().to(comps::page))
                .route("/comps", web::post().to(comps::give))
                .route("/comps/remove", web::post().to(comps::remove))
                .route("/members.csv", web::get().to(members::download))
                // An upload's body is a stream the handler bounds itself (`MEDIA_MAX_BYTES`):
                // the payload limit above applies to forms, not to it.
                .route("/media", web::get().to(library::library))
                .route("/media", web::post().to(library::upload))
                .route("/media/{id}/alt", web::post().to(library::set_alt))
                .route("/media/{id}/delete", web::post().to(library::delete)),
        )
        .default_service(web::to(not_found));
}

/// The styled 404 for a path no route takes.
pub async fn not_found() -> Result<actix_web::HttpResponse, AppError> {
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
