//! Events from the payment processor (Stripe's webhooks). Not a form: no CSRF token and no
//! session, since the processor has neither; the signature over the raw body is the
//! authentication, checked by `billing` before anything is read. A refused event is a 400
//! and changes nothing; one the processor could not be asked about is a 503, so the processor
//! sends it again.

use actix_web::{HttpRequest, HttpResponse, web};

use crate::billing::{Billing, Received};
use crate::error::AppError;
use crate::state::AppState;

/// Stripe's events are a few kilobytes; an invoice with many lines is larger, nothing
/// legitimate comes near this.
const EVENT_LIMIT: usize = 512 * 1024;

pub async fn stripe(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    billing: web::Data<Billing>,
) -> Result<HttpResponse, AppError> {
    let signature = req
        .headers()
        .get("Stripe-Signature")
        .and_then(|value| value.to_str().ok())
        .map(str::to_string);
    let body = tokio::time::timeout(
        state.form_body_timeout,
        payload.to_bytes_limited(EVENT_LIMIT),
    )
    .await
    .map_err(|_| AppError::BadRequest("the event's body arrived too slowly".to_string()))?
    .map_err(|_| AppError::PayloadTooLarge)?
    .map_err(|e| AppError::BadRequest(format!("reading the event's body: {e}")))?;
    match billing.receive(signature.as_deref(), &body).await? {
        Received::Applied | Received::AlreadyApplied | Received::Ignored => Ok(HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body("ok")),
        Received::Rejected(reason) => Err(AppError::BadRequest(format!(
            "a webhook was refused: {reason}"
        ))),
        Received::NotExpected => Err(AppError::NotFound),
    }
}
