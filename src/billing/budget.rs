//! How many requests to the processor one reader's own requests may cause: coming back from
//! its checkout page, opening its billing page, subscribing and canceling each spend from one
//! budget per reader and throttling window, counted in PostgreSQL (so every instance sees the
//! same count) *before* the processor is asked. A step spends the most requests it can make;
//! past the budget nothing is asked, and the reader is told to wait. So a reader (or a script
//! holding their login) cannot use up the site's share of the processor's rate limit, which
//! everyone's payments, events and housekeeping need.
//!
//! Not counted: what the processor's events, housekeeping and account deletion ask, nor the
//! e-mail address sent when a reader changes theirs (each change needs a confirmed mailed
//! link, itself limited).

use time::Duration;

use super::Billing;
use crate::db::throttle::{Counter, Outcome, Scope};
use crate::db::{self, DbError};
use crate::domain::ids::UserId;
use crate::domain::throttle::Limits;

/// Requests to the processor one reader's requests may cause per window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    pub calls: i32,
    pub window: Duration,
}

impl Budget {
    pub fn of(limits: &Limits) -> Self {
        Self {
            calls: limits.processor_calls_per_account,
            window: limits.window,
        }
    }
}

impl Default for Budget {
    fn default() -> Self {
        Self::of(&Limits::default())
    }
}

/// Whether a reader's request may ask the processor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Spent {
    Yes,
    /// The budget is spent until its window closes, this many seconds from now.
    Refused {
        retry_after_secs: u64,
    },
}

impl Billing {
    /// Spends `calls` requests to the processor from the reader's budget, or none when that
    /// would go past it.
    pub(super) async fn spend(&self, user_id: UserId, calls: i32) -> Result<Spent, DbError> {
        let now = self.clock.now();
        let budget = self.budget;
        let counter = Counter {
            scope: Scope::ProcessorCall,
            key: user_id.to_string(),
            limit: budget.calls,
        };
        let outcome = db::run(
            &self.pool,
            "counting requests to the payment processor",
            move |conn| db::throttle::count_several(conn, &counter, calls, now, budget.window),
        )
        .await?;
        Ok(match outcome {
            Outcome::Counted(_) => Spent::Yes,
            Outcome::Refused { retry_after_secs } => {
                tracing::info!(
                    user_id = user_id.get(),
                    retry_after_secs,
                    "a reader's requests reached their budget of processor requests"
                );
                Spent::Refused { retry_after_secs }
            }
        })
    }
}
