use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};

use crate::auth::current_reader::Reader;
use crate::auth::session::ReaderSession;
use crate::error::AppError;
use crate::startup::AppState;
use crate::views::{CookiesPage, Layout, render};

pub async fn cookies(
    state: web::Data<AppState>,
    session: ReaderSession,
    reader: Reader,
) -> Result<HttpResponse, AppError> {
    let page = CookiesPage {
        layout: Layout::for_reader("Cookies", &session, &reader, state.free_articles_per_month)?,
        cookie_name: state.session_cookie_name.clone(),
        device_cookie_name: state.device_cookies.name().to_string(),
    };
    render(StatusCode::OK, &page)
}
