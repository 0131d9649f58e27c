//! Pages of plain information.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};

use super::visit::Visit;
use crate::error::AppError;
use crate::state::AppState;
use crate::views::{CookiesPage, render};

pub async fn cookies(state: web::Data<AppState>, visit: Visit) -> Result<HttpResponse, AppError> {
    let page = CookiesPage {
        layout: visit.layout("Cookies")?,
        cookie_name: state.session_cookie_name.clone(),
        device_cookie_name: state.device_cookie_name.clone(),
    };
    Ok(render(StatusCode::OK, &page)?)
}
