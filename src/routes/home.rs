//! The front page: published articles, newest first.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};

use super::visit::Visit;
use crate::db;
use crate::error::AppError;
use crate::state::AppState;
use crate::views::{ArticleCard, HomePage, render};

pub async fn index(state: web::Data<AppState>, visit: Visit) -> Result<HttpResponse, AppError> {
    let now = state.clock.now();
    let articles = db::run(&state.pool, "listing the published articles", move |conn| {
        db::articles::list_published(conn, now)
    })
    .await?;
    let page = HomePage {
        layout: visit.layout("Gazette")?,
        articles: articles.iter().map(ArticleCard::from).collect(),
    };
    Ok(render(StatusCode::OK, &page)?)
}
