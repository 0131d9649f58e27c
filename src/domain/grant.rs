//! Access without a renewing subscription: a complimentary grant an admin gives, or a gift.
//!
//! Rules: a grant gives what a subscription in standing gives (the whole publication) from
//! `starts_at` until `ends_at`, and nothing after: it ends by time alone. A complimentary
//! grant "until" a date covers that whole day in UTC, so it ends when the next day begins; a
//! date before today is refused (removing a grant is its own step, [`comp_end`] never
//! revokes).

use time::{Date, Duration, OffsetDateTime, Time};

/// Why a reader has a grant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrantKind {
    /// Given by an admin, without payment.
    Comp,
    /// A gift someone bought and the reader redeemed.
    Gift,
}

impl GrantKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Comp => "comp",
            Self::Gift => "gift",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "comp" => Some(Self::Comp),
            "gift" => Some(Self::Gift),
            _ => None,
        }
    }
}

/// Whether a grant from `starts_at` until `ends_at` gives access at `now`.
pub fn is_current(starts_at: OffsetDateTime, ends_at: OffsetDateTime, now: OffsetDateTime) -> bool {
    starts_at <= now && now < ends_at
}

/// A complimentary grant's "until" date that cannot be given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompDateError {
    /// Not a date written `YYYY-MM-DD`.
    Unreadable,
    /// Before today (UTC).
    Past,
}

impl CompDateError {
    pub fn message(self) -> &'static str {
        match self {
            Self::Unreadable => "write the date as YYYY-MM-DD, for example 2027-03-03",
            Self::Past => {
                "the date is in the past: give a date from today on (to end a complimentary \
                 access, remove it)"
            }
        }
    }
}

/// Reads an "until" date written `YYYY-MM-DD`.
pub fn parse_until(text: &str) -> Result<Date, CompDateError> {
    Date::parse(
        text.trim(),
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|_| CompDateError::Unreadable)
}

/// When a complimentary grant "until" `date` ends: as the day after it begins (UTC). A date
/// before the day of `now` is refused; today is allowed (access for the rest of the day).
pub fn comp_end(date: Date, now: OffsetDateTime) -> Result<OffsetDateTime, CompDateError> {
    if date < now.date() {
        return Err(CompDateError::Past);
    }
    date.next_day()
        .map(|next| next.with_time(Time::MIDNIGHT).assume_utc())
        .ok_or(CompDateError::Unreadable)
}

/// The last day a grant ending at `ends_at` covers: what pages say it runs "until".
pub fn last_day(ends_at: OffsetDateTime) -> OffsetDateTime {
    ends_at - Duration::nanoseconds(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn a_grant_runs_from_its_start_until_its_end_and_not_after() {
        let (start, end) = (
            datetime!(2027-01-01 0:00 UTC),
            datetime!(2027-02-01 0:00 UTC),
        );
        assert!(!is_current(start, end, start - Duration::seconds(1)));
        assert!(is_current(start, end, start));
        assert!(is_current(start, end, end - Duration::seconds(1)));
        assert!(!is_current(start, end, end));
    }

    #[test]
    fn a_comp_until_a_date_covers_that_whole_day() {
        let now = datetime!(2027-01-10 15:00 UTC);
        assert_eq!(
            comp_end(date!(2027 - 03 - 03), now),
            Ok(datetime!(2027-03-04 0:00 UTC))
        );
        assert_eq!(
            comp_end(date!(2027 - 01 - 10), now),
            Ok(datetime!(2027-01-11 0:00 UTC))
        );
        assert_eq!(
            comp_end(date!(2027 - 01 - 09), now),
            Err(CompDateError::Past)
        );
        assert_eq!(
            last_day(datetime!(2027-03-04 0:00 UTC)).date(),
            date!(2027 - 03 - 03)
        );
    }

    #[test]
    fn until_dates_are_read_strictly() {
        assert_eq!(parse_until(" 2027-03-03 "), Ok(date!(2027 - 03 - 03)));
        for wrong in ["", "3 March 2027", "2027-02-30", "2027-3-3x", "tomorrow"] {
            assert_eq!(
                parse_until(wrong),
                Err(CompDateError::Unreadable),
                "{wrong}"
            );
        }
    }

    #[test]
    fn kinds_read_back() {
        for kind in [GrantKind::Comp, GrantKind::Gift] {
            assert_eq!(GrantKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(GrantKind::parse("free"), None);
    }
}
