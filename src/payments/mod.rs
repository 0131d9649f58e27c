//! Taking payment for a subscription, behind small interfaces so the rest of the product does
//! not depend on a processor. A [`Gateway`] is one of two kinds:
//! - one that **charges at once** ([`PaymentGateway`]): Gazette asks for a charge and records
//!   the period itself. [`TestGateway`] is one: it charges nothing, says so on every page that
//!   offers it, and is on by default only in development (`PAYMENT_GATEWAY`).
//! - one that **runs the subscription itself** ([`hosted::HostedGateway`]): the reader pays on
//!   the processor's hosted page, the processor renews, and it tells Gazette what happened in
//!   signed events. [`stripe::Stripe`] is one.
//!
//! Rules every gateway keeps:
//! - Every request that creates something carries an idempotency key: the processor answers a
//!   repeated key with the first outcome instead of charging (or creating) again.
//! - What the processor holds can be asked again ([`PaymentGateway::outcome`], or re-reading a
//!   hosted subscription), so an answer that was lost (a timeout, a crash, a database fault) is
//!   settled by asking, never by charging again.
//! - This module knows no database and no HTTP of Gazette's own: it speaks to the processor
//!   and hands back plain values; `billing` decides what they mean for a reader.
//! - Secrets (API keys, webhook secrets) never appear in an error or a log line.

pub mod hosted;
pub mod stripe;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

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
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Charge {
    pub reference: String,
}

/// What the processor says became of a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChargeOutcome {
    /// The money was taken.
    Charged(Charge),
    /// No money was taken under this key, and none will be.
    NotCharged,
}

#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    #[error("the payment was declined: {0}")]
    Declined(String),
    /// Nothing is known: the processor may or may not have taken the money.
    #[error("the payment processor could not be reached: {0}")]
    Unavailable(String),
}

/// The gateway payments go through, by the way it takes money.
#[derive(Clone)]
pub enum Gateway {
    /// Gazette charges each period itself, at once.
    ChargesNow(std::sync::Arc<dyn PaymentGateway>),
    /// The processor takes the reader to its own page and runs the subscription.
    Hosted(std::sync::Arc<dyn hosted::HostedGateway>),
}

impl Gateway {
    pub fn name(&self) -> &'static str {
        match self {
            Self::ChargesNow(gateway) => gateway.name(),
            Self::Hosted(gateway) => gateway.name(),
        }
    }

    /// True when no real money moves (a test gateway, or a processor's test mode).
    pub fn is_test(&self) -> bool {
        match self {
            Self::ChargesNow(gateway) => gateway.is_test(),
            Self::Hosted(gateway) => gateway.is_test(),
        }
    }
}

pub type ChargeFuture<'a> = Pin<Box<dyn Future<Output = Result<Charge, PaymentError>> + Send + 'a>>;
pub type OutcomeFuture<'a> =
    Pin<Box<dyn Future<Output = Result<ChargeOutcome, PaymentError>> + Send + 'a>>;

pub trait PaymentGateway: Send + Sync + 'static {
    /// Stored with each subscription, to know which processor holds the payment.
    fn name(&self) -> &'static str;
    /// True when no money moves; pages must say so plainly.
    fn is_test(&self) -> bool;
    fn charge(&self, request: ChargeRequest) -> ChargeFuture<'_>;
    /// What became of the charge made (or perhaps made) under `idempotency_key`.
    fn outcome(&self, idempotency_key: String) -> OutcomeFuture<'_>;
}

/// Accepts every charge without contacting anyone or taking money.
///
/// It remembers the keys it accepted for as long as a processor would (two days) so that
/// [`PaymentGateway::outcome`] answers like one; the memory is this process's own, which is
/// harmless here because no money ever moves.
#[derive(Default)]
pub struct TestGateway {
    accepted: Mutex<HashMap<String, (Charge, Instant)>>,
}

/// How long the test gateway remembers a key.
const TEST_MEMORY: Duration = Duration::from_secs(2 * 24 * 3600);

impl TestGateway {
    fn accepted(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Charge, Instant)>> {
        // The map stays consistent even if a holder panicked: entries are inserted whole.
        self.accepted
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

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
            let mut accepted = self.accepted();
            let now = Instant::now();
            accepted.retain(|_, (_, at)| now.duration_since(*at) < TEST_MEMORY);
            let charge = accepted
                .entry(request.idempotency_key.clone())
                .or_insert_with(|| {
                    let reference = format!("test-{}", request.idempotency_key);
                    (Charge { reference }, now)
                })
                .0
                .clone();
            Ok(charge)
        })
    }

    fn outcome(&self, idempotency_key: String) -> OutcomeFuture<'_> {
        Box::pin(async move {
            Ok(match self.accepted().get(&idempotency_key) {
                Some((charge, _)) => ChargeOutcome::Charged(charge.clone()),
                None => ChargeOutcome::NotCharged,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(key: &str) -> ChargeRequest {
        ChargeRequest {
            user_id: 1,
            plan_code: "monthly".into(),
            amount_cents: 800,
            currency: "USD".into(),
            idempotency_key: key.into(),
        }
    }

    #[tokio::test]
    async fn the_test_gateway_answers_a_key_like_a_processor() {
        let gateway = TestGateway::default();
        assert_eq!(
            gateway.outcome("k1".into()).await.unwrap(),
            ChargeOutcome::NotCharged
        );
        let first = gateway.charge(request("k1")).await.unwrap();
        let again = gateway.charge(request("k1")).await.unwrap();
        assert_eq!(first, again, "a repeated key is the same charge");
        assert_eq!(
            gateway.outcome("k1".into()).await.unwrap(),
            ChargeOutcome::Charged(first)
        );
    }
}
