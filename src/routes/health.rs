//! The health check for load balancers: 200 while this instance can serve pages, 503 when its
//! database does not answer or when it is stopping (so traffic goes elsewhere before the
//! listener closes).

use actix_web::{HttpResponse, web};

use crate::db;
use crate::state::AppState;

pub async fn check(state: web::Data<AppState>) -> HttpResponse {
    // Answered without asking the database: a stopping instance must say so at once.
    if state.lifecycle.is_draining() {
        return HttpResponse::ServiceUnavailable()
            .content_type("text/plain")
            .body("shutting down\n");
    }
    match db::run(&state.pool, "checking the database", db::ping).await {
        Ok(()) => HttpResponse::Ok().content_type("text/plain").body("ok\n"),
        Err(error) => {
            tracing::warn!("health check failed: {error}");
            HttpResponse::ServiceUnavailable()
                .content_type("text/plain")
                .body("database unavailable\n")
        }
    }
}
