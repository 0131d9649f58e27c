//! What a subscription means at a given moment. Access follows from the stored period and the
//! clock, so nothing has to run when a period ends.

use time::{Date, Duration, OffsetDateTime};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Renews at the end of the period.
    Active,
    /// Cancelled: access continues until the end of the period, then stops.
    Canceled,
    /// Ended for good; kept as history.
    Ended,
}

impl Status {
    pub fn parse(stored: &str) -> Option<Self> {
        match stored {
            "active" => Some(Self::Active),
            "canceled" => Some(Self::Canceled),
            "ended" => Some(Self::Ended),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Canceled => "canceled",
            Self::Ended => "ended",
        }
    }
}

/// A subscription as the reader sees it now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    /// Paid up; renews (or, if cancelled, ends) at `period_end`.
    Current {
        canceled: bool,
        period_end: OffsetDateTime,
    },
    /// The period is over and access has stopped.
    Lapsed { period_end: OffsetDateTime },
}

impl Standing {
    pub fn of(status: Status, period_end: OffsetDateTime, now: OffsetDateTime) -> Self {
        if status != Status::Ended && now < period_end {
            Self::Current {
                canceled: status == Status::Canceled,
                period_end,
            }
        } else {
            Self::Lapsed { period_end }
        }
    }

    pub fn grants_access(self) -> bool {
        matches!(self, Self::Current { .. })
    }
}

/// `start` plus whole calendar months; the day is clamped to the month's length, so a period
/// starting on 31 January ends on 28 (or 29) February.
pub fn add_months(start: OffsetDateTime, months: i32) -> OffsetDateTime {
    let date = start.date();
    let index = date.year() * 12 + i32::from(u8::from(date.month())) - 1 + months;
    let year = index.div_euclid(12);
    let month_number = u8::try_from(index.rem_euclid(12) + 1).unwrap_or(1);
    let month = time::Month::try_from(month_number).unwrap_or(time::Month::January);
    let day = date.day().min(month.length(year));
    match Date::from_calendar_date(year, month, day) {
        Ok(date) => start.replace_date(date),
        // Only reachable at the edge of the representable calendar.
        Err(_) => start + Duration::days(30 * i64::from(months)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn periods_add_calendar_months_with_the_day_clamped() {
        assert_eq!(
            add_months(datetime!(2026-01-31 9:00 UTC), 1),
            datetime!(2026-02-28 9:00 UTC)
        );
        assert_eq!(
            add_months(datetime!(2028-01-31 9:00 UTC), 1),
            datetime!(2028-02-29 9:00 UTC)
        );
        assert_eq!(
            add_months(datetime!(2026-11-28 9:00 UTC), 12),
            datetime!(2027-11-28 9:00 UTC)
        );
        assert_eq!(
            add_months(datetime!(2026-12-15 9:00 UTC), 1),
            datetime!(2027-01-15 9:00 UTC)
        );
    }

    #[test]
    fn access_lasts_until_the_period_ends_even_when_cancelled() {
        let end = datetime!(2026-12-28 9:00 UTC);
        let before = end - Duration::seconds(1);
        assert!(Standing::of(Status::Canceled, end, before).grants_access());
        assert!(!Standing::of(Status::Canceled, end, end).grants_access());
        assert!(!Standing::of(Status::Active, end, end + Duration::days(1)).grants_access());
        assert!(!Standing::of(Status::Ended, end, before).grants_access());
    }
}
