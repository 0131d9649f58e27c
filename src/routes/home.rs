use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};

use crate::auth::current_reader::Reader;
use crate::auth::session::ReaderSession;
use crate::db;
use crate::error::AppError;
use crate::startup::AppState;
use crate::views::{ArticleCard, HomePage, Layout, render};

pub async fn index(
    state: web::Data<AppState>,
    session: ReaderSession,
    reader: Reader,
) -> Result<HttpResponse, AppError> {
    let now = state.clock.now();
    let articles = db::run(&state.pool, move |conn| {
        db::articles::list_published(conn, now)
    })
    .await?;
    let page = HomePage {
        layout: Layout::for_reader("Gazette", &session, &reader, state.free_articles_per_month)?,
        articles: articles.iter().map(ArticleCard::from).collect(),
    };
    render(StatusCode::OK, &page)
}
