//! Login throttling policy: how many failures, in what window, before a reader must wait.

use time::{Duration, OffsetDateTime};

/// Attempts are counted in windows of this length.
pub const WINDOW: Duration = Duration::minutes(15);
/// Failed logins for one account from one address allowed in a window; the next is refused.
pub const ACCOUNT_ADDRESS_LIMIT: i32 = 5;
/// Failed logins for one account from all addresses together. Higher, so that a single
/// guesser cannot lock the owner out everywhere, yet a spread-out attack still stops.
pub const ACCOUNT_LIMIT: i32 = 50;
/// Failed logins from one address (many accounts) allowed in a window.
pub const ADDRESS_LIMIT: i32 = 20;
/// Sign-up attempts from one address allowed in a window.
pub const SIGNUP_LIMIT: i32 = 10;
/// From this many failures on, each further failure is answered slowly.
pub const SLOW_AFTER: i32 = 3;

/// Seconds to wait before trying again, when `attempts` (this one included) since
/// `window_started_at` are more than `limit`.
pub fn retry_after(
    attempts: i32,
    window_started_at: OffsetDateTime,
    limit: i32,
    now: OffsetDateTime,
) -> Option<u64> {
    if attempts <= limit {
        return None;
    }
    let remaining = (window_started_at + WINDOW - now).whole_seconds();
    (remaining > 0).then(|| u64::try_from(remaining).unwrap_or(1))
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
    fn up_to_the_limit_there_is_no_wait() {
        let start = datetime!(2026-11-28 10:00 UTC);
        assert_eq!(retry_after(5, start, 5, start + Duration::minutes(1)), None);
    }

    #[test]
    fn past_the_limit_the_wait_lasts_until_the_window_closes() {
        let start = datetime!(2026-11-28 10:00 UTC);
        assert_eq!(
            retry_after(6, start, 5, start + Duration::minutes(10)),
            Some(300)
        );
        assert_eq!(
            retry_after(6, start, 5, start + Duration::minutes(16)),
            None
        );
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
