//! The desk's members download (`/editor/members.csv`, admins only): every account as Ghost's
//! members CSV (`moving::members`), so a publisher can take their readers elsewhere. The file
//! is made in one go on the blocking pool (about 100 bytes an account), `no-store`.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, web};

use crate::auth::current_reader::Admin;
use crate::db;
use crate::error::AppError;
use crate::moving::members::{ExportError, write_ghost_csv};
use crate::state::AppState;
use crate::views::iso_date;

pub async fn download(state: web::Data<AppState>, _admin: Admin) -> Result<HttpResponse, AppError> {
    let now = state.clock.now();
    let made = db::run(&state.pool, "exporting the members", move |conn| {
        let mut file = Vec::new();
        match write_ghost_csv(conn, &mut file, now) {
            Ok(_) => Ok(Ok(file)),
            Err(ExportError::Db(error)) => Err(error),
            Err(other) => Ok(Err(other)),
        }
    })
    .await?;
    let file = made.map_err(|error| AppError::internal("writing the members file", error))?;
    let name = format!(
        "attachment; filename=\"gazette-members-{}.csv\"",
        iso_date(now).get(..10).unwrap_or("export")
    );
    let mut response = HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .body(file);
    if let Ok(value) = HeaderValue::from_str(&name) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}
