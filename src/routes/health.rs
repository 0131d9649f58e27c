use actix_web::{HttpResponse, web};

use crate::db;
use crate::startup::AppState;

/// 200 when the database answers, 503 when it does not (for load balancers).
pub async fn check(state: web::Data<AppState>) -> HttpResponse {
    match db::run(&state.pool, db::ping).await {
        Ok(()) => HttpResponse::Ok().content_type("text/plain").body("ok\n"),
        Err(error) => {
            tracing::warn!("health check failed: {error}");
            HttpResponse::ServiceUnavailable()
                .content_type("text/plain")
                .body("database unavailable\n")
        }
    }
}
