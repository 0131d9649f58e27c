//! Taking payment for a subscription, behind a small interface so a real card processor can
//! be added without touching the rest of the product.
//!
//! The one gateway today is [`TestGateway`]: it charges nothing, says so on every page that
//! offers it, and is on by default only in development (`PAYMENT_GATEWAY`).

use std::future::Future;
use std::pin::Pin;

pub struct ChargeRequest {
    pub user_id: i64,
    pub plan_code: String,
    pub amount_cents: i32,
    pub currency: String,
    /// One key per checkout: a processor that sees the same key again answers with the first
    /// outcome instead of charging again.
    pub idempotency_key: String,
}

/// Proof of payment, stored with the subscription.
pub struct Charge {
    pub reference: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    #[error("the payment was declined: {0}")]
    Declined(String),
    #[error("the payment processor could not be reached: {0}")]
    Unavailable(String),
}

pub type ChargeFuture<'a> = Pin<Box<dyn Future<Output = Result<Charge, PaymentError>> + Send + 'a>>;

pub trait PaymentGateway: Send + Sync + 'static {
    /// Stored with each subscription, to know which processor holds the payment.
    fn name(&self) -> &'static str;
    /// True when no money moves; pages must say so plainly.
    fn is_test(&self) -> bool;
    fn charge(&self, request: ChargeRequest) -> ChargeFuture<'_>;
}

/// Accepts every charge without contacting anyone.
pub struct TestGateway;

impl PaymentGateway for TestGateway {
    fn name(&self) -> &'static str {
        "test"
    }

    fn is_test(&self) -> bool {
        true
    }

    fn charge(&self, request: ChargeRequest) -> ChargeFuture<'_> {
        Box::pin(async move {
            tracing::info!(
                user_id = request.user_id,
                plan = %request.plan_code,
                amount_cents = request.amount_cents,
                currency = %request.currency,
                "test gateway: accepted a charge without taking money"
            );
            // Derived from the key, so asking again gives the same answer, as a processor would.
            Ok(Charge {
                reference: format!("test-{}", request.idempotency_key),
            })
        })
    }
}
