//! Throttling policy: how many attempts of each kind, in what window, before a client must
//! wait, and how slowly failures are answered.
//!
//! The numbers live in [`Limits`], a plain value the configuration builds; nothing here knows
//! where they came from. An attempt over a limit is refused *without being counted*, so a
//! guesser who keeps trying once refused cannot push a shared counter (the account's) further
//! and lock its owner out from everywhere, and without being stored: what a client can make
//! the server keep is bounded by its attempts that were allowed.

use time::{Duration, OffsetDateTime};

/// The window attempts are counted in, unless configured otherwise.
pub const WINDOW: Duration = Duration::minutes(15);
/// The longest window the configuration accepts. Housekeeping deletes counters whose window
/// opened longer ago than this, so it never deletes one that still counts.
pub const LONGEST_WINDOW: Duration = Duration::minutes(60);
/// From this many failures on, each further failure is answered slowly.
pub const SLOW_AFTER: i32 = 3;

/// How many attempts of each kind a window allows; the next one is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Counters start a new window this long after the first attempt of the last one.
    pub window: Duration,
    /// Failed logins for one account from one address, without a device cookie.
    pub account_address: i32,
    /// Failed logins for one account from everywhere, without a device cookie: higher, so a
    /// wide attack from many addresses still stops while one address alone cannot reach it.
    pub account: i32,
    /// Failed logins from one address (at any accounts), without a device cookie.
    pub address: i32,
    /// Failed logins from a browser holding a device cookie for the account; past it the
    /// browser is treated like any other.
    pub device: i32,
    /// Successful logins from one address: each one adds a login session.
    pub logins_per_address: i32,
    /// Sign-up attempts from one address.
    pub signups_per_address: i32,
    /// Requests from one address that mail a link (password resets, and new addresses to
    /// confirm, for any addresses typed in) or a notice (a new password): it bounds the mail
    /// one client can have sent, however many accounts it signed up.
    pub resets_per_address: i32,
    /// Requests for a mail with a link to one typed address, whether or not it has an account
    /// (so the limit tells nothing), from everywhere: it bounds the mail one inbox can be sent.
    pub resets_per_account: i32,
    /// Password checks on the account's own forms (changing the password or the e-mail,
    /// deleting), right or wrong: someone holding a stolen session cannot guess the password
    /// through them, nor send many confirmation mails.
    pub password_checks_per_account: i32,
    /// Requests to the payment processor that one reader's own requests may cause (coming back
    /// from its checkout page, opening its billing page, subscribing, canceling): nobody can
    /// spend the site's share of the processor's rate limit, which its payments and events
    /// need. At least [`LEAST_PROCESSOR_CALLS`].
    pub processor_calls_per_account: i32,
}

/// The smallest budget of processor requests per reader: the most one step of subscribing
/// makes, with room for a second.
pub const LEAST_PROCESSOR_CALLS: i32 = 5;

impl Default for Limits {
    fn default() -> Self {
        Self {
            window: WINDOW,
            account_address: 5,
            account: 50,
            address: 20,
            device: 5,
            logins_per_address: 60,
            signups_per_address: 10,
            resets_per_address: 10,
            resets_per_account: 3,
            password_checks_per_account: 10,
            processor_calls_per_account: 30,
        }
    }
}

/// Seconds until a window that opened at `window_started_at` closes, when `counted` attempts
/// (before this one) already reached `limit`; `None` when this attempt may go ahead.
pub fn retry_after(
    counted: i32,
    limit: i32,
    window_started_at: OffsetDateTime,
    window: Duration,
    now: OffsetDateTime,
) -> Option<u64> {
    if counted < limit {
        return None;
    }
    let remaining = (window_started_at + window - now).whole_seconds();
    // A window that just closed is reopened by the caller before it asks, so the wait is at
    // least a second rather than an invitation to retry at once.
    Some(u64::try_from(remaining).unwrap_or(0).max(1))
}

/// How long to hold back the answer to a failed login: nothing at first, then growing.
pub fn delay_after_failure(failures: i32) -> std::time::Duration {
    let extra = u64::try_from(failures - SLOW_AFTER + 1).unwrap_or(0);
    std::time::Duration::from_millis(250 * extra.min(8))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn below_the_limit_there_is_no_wait() {
        let start = datetime!(2026-11-28 10:00 UTC);
        assert_eq!(
            retry_after(4, 5, start, WINDOW, start + Duration::minutes(1)),
            None
        );
    }

    #[test]
    fn at_the_limit_the_wait_lasts_until_the_window_closes() {
        let start = datetime!(2026-11-28 10:00 UTC);
        assert_eq!(
            retry_after(5, 5, start, WINDOW, start + Duration::minutes(10)),
            Some(300)
        );
        assert_eq!(
            retry_after(
                50,
                5,
                start,
                Duration::minutes(30),
                start + Duration::minutes(10)
            ),
            Some(1200)
        );
    }

    #[test]
    fn the_defaults_are_the_documented_ones() {
        let limits = Limits::default();
        assert_eq!(
            (
                limits.account_address,
                limits.account,
                limits.address,
                limits.device,
                limits.logins_per_address,
                limits.signups_per_address,
                limits.resets_per_address,
                limits.resets_per_account,
                limits.password_checks_per_account,
                limits.processor_calls_per_account,
            ),
            (5, 50, 20, 5, 60, 10, 10, 3, 10, 30)
        );
        assert!(limits.processor_calls_per_account >= LEAST_PROCESSOR_CALLS);
        assert_eq!(limits.window, Duration::minutes(15));
        assert!(limits.window <= LONGEST_WINDOW);
    }

    #[test]
    fn failures_are_slowed_progressively() {
        assert_eq!(delay_after_failure(1), std::time::Duration::ZERO);
        assert_eq!(delay_after_failure(2), std::time::Duration::ZERO);
        assert!(delay_after_failure(4) > delay_after_failure(3));
        assert_eq!(
            delay_after_failure(100),
            std::time::Duration::from_millis(2000)
        );
    }
}
