//! Offers: a discount or a free trial on one plan, under a code.
//!
//! Rules:
//! - A code is 1 to [`CODE_MAX`] characters of `A-Z a-z 0-9 - _`, compared without regard to
//!   case (kept in lower case).
//! - An offer is either a discount (a percentage or an amount off, for the first period, for
//!   some months, or for ever) or a free trial of some days; never both.
//! - An offer can be redeemed while it has not ended and its limit is not reached; a reader
//!   redeems one at most once (the database keeps count).
//! - A discount never makes a price negative.

use time::{Duration, OffsetDateTime};

use super::subscription::add_months;

/// The longest code.
pub const CODE_MAX: usize = 40;
/// The longest trial, in days.
pub const TRIAL_DAYS_MAX: i32 = 365;
/// The most months a discount can last when it is not for ever.
pub const DISCOUNT_MONTHS_MAX: i32 = 36;

/// A code as typed or linked, in the form it is stored in; `None` when it cannot be a code.
pub fn normalise_code(raw: &str) -> Option<String> {
    let code = raw.trim();
    let valid = !code.is_empty()
        && code.len() <= CODE_MAX
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    valid.then(|| code.to_ascii_lowercase())
}

/// What is taken off the price.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Off {
    Percent(i32),
    /// In the plan's currency's smallest unit.
    Amount(i32),
}

/// For how long a discount applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lasting {
    /// The first period only.
    Once,
    /// Every period from the start for this many months.
    Months(i32),
    Forever,
}

impl Lasting {
    /// `once`, `forever` or `months:N`.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim() {
            "once" => Some(Self::Once),
            "forever" => Some(Self::Forever),
            other => {
                let months: i32 = other.strip_prefix("months:")?.parse().ok()?;
                (1..=DISCOUNT_MONTHS_MAX)
                    .contains(&months)
                    .then_some(Self::Months(months))
            }
        }
    }

    /// As stored: the `duration` column and `duration_months`.
    pub fn stored(self) -> (&'static str, Option<i32>) {
        match self {
            Self::Once => ("once", None),
            Self::Months(months) => ("months", Some(months)),
            Self::Forever => ("forever", None),
        }
    }

    pub fn from_stored(duration: &str, months: Option<i32>) -> Option<Self> {
        match (duration, months) {
            ("once", _) => Some(Self::Once),
            ("forever", _) => Some(Self::Forever),
            ("months", Some(months)) => Some(Self::Months(months)),
            _ => None,
        }
    }
}

/// The deal an offer makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deal {
    Discount { off: Off, lasting: Lasting },
    Trial { days: i32 },
}

/// Why an offer's terms are refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TermsError {
    #[error("the code must be 1 to {CODE_MAX} letters, digits, '-' or '_'")]
    Code,
    #[error("a percentage off must be between 1 and 100")]
    Percent,
    #[error("an amount off must be more than 0 and less than the plan's price")]
    Amount,
    #[error("a trial must last 1 to {TRIAL_DAYS_MAX} days")]
    TrialDays,
    #[error("a redemption limit must be at least 1")]
    Limit,
    #[error("the end date must be in the future")]
    Ends,
    #[error("a retention offer must be a discount, not a free trial")]
    RetentionTrial,
}

/// Checks a deal against the plan's price.
pub fn check_deal(deal: Deal, price_cents: i32) -> Result<Deal, TermsError> {
    match deal {
        Deal::Discount {
            off: Off::Percent(percent),
            ..
        } if !(1..=100).contains(&percent) => Err(TermsError::Percent),
        Deal::Discount {
            off: Off::Amount(cents),
            ..
        } if cents <= 0 || cents >= price_cents => Err(TermsError::Amount),
        Deal::Trial { days } if !(1..=TRIAL_DAYS_MAX).contains(&days) => Err(TermsError::TrialDays),
        deal => Ok(deal),
    }
}

/// An offer as it stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Offer {
    pub code: String,
    pub plan_code: String,
    pub deal: Deal,
    pub ends_at: Option<OffsetDateTime>,
    pub limit: Option<i32>,
    pub redeemed: i32,
    pub retention: bool,
}

/// Whether an offer can be redeemed now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Availability {
    Open,
    Ended,
    UsedUp,
}

impl Offer {
    pub fn availability(&self, now: OffsetDateTime) -> Availability {
        if self.ends_at.is_some_and(|end| end <= now) {
            Availability::Ended
        } else if self.limit.is_some_and(|limit| self.redeemed >= limit) {
            Availability::UsedUp
        } else {
            Availability::Open
        }
    }
}

/// The price of a discounted period: never below nothing.
pub fn discounted(price_cents: i32, off: Off) -> i32 {
    let price = i64::from(price_cents.max(0));
    let left = match off {
        // Rounded to the nearest unit, as processors do.
        Off::Percent(percent) => price - (price * i64::from(percent.clamp(0, 100)) + 50) / 100,
        Off::Amount(cents) => price - i64::from(cents.max(0)),
    };
    i32::try_from(left.max(0)).unwrap_or(0)
}

/// When a trial started at `start` ends.
pub fn trial_end(start: OffsetDateTime, days: i32) -> OffsetDateTime {
    start + Duration::days(i64::from(days))
}

/// Until when a discount started at `start` applies (`None`: for ever); a one-period discount
/// lasts the plan's period.
pub fn discount_until(
    start: OffsetDateTime,
    lasting: Lasting,
    period_months: i32,
) -> Option<OffsetDateTime> {
    match lasting {
        Lasting::Once => Some(add_months(start, period_months)),
        Lasting::Months(months) => Some(add_months(start, months)),
        Lasting::Forever => None,
    }
}

/// How the reader sees what is taken off: `20 %` or `$2.00`.
pub fn off_words(off: Off, format_money: impl Fn(i32) -> String) -> String {
    match off {
        Off::Percent(percent) => format!("{percent} %"),
        Off::Amount(cents) => format_money(cents),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn codes_are_short_plain_and_case_blind() {
        assert_eq!(normalise_code(" Spring-26_X "), Some("spring-26_x".into()));
        assert_eq!(normalise_code(""), None);
        assert_eq!(normalise_code("a b"), None);
        assert_eq!(normalise_code("ça"), None);
        assert_eq!(normalise_code("../x"), None);
        assert_eq!(normalise_code(&"a".repeat(CODE_MAX)), Some("a".repeat(40)));
        assert_eq!(normalise_code(&"a".repeat(CODE_MAX + 1)), None);
    }

    #[test]
    fn durations_parse_as_the_command_line_writes_them() {
        assert_eq!(Lasting::parse("once"), Some(Lasting::Once));
        assert_eq!(Lasting::parse("forever"), Some(Lasting::Forever));
        assert_eq!(Lasting::parse("months:3"), Some(Lasting::Months(3)));
        assert_eq!(Lasting::parse("months:0"), None);
        assert_eq!(Lasting::parse("months:37"), None);
        assert_eq!(Lasting::parse("weeks:2"), None);
        for lasting in [Lasting::Once, Lasting::Forever, Lasting::Months(5)] {
            let (duration, months) = lasting.stored();
            assert_eq!(Lasting::from_stored(duration, months), Some(lasting));
        }
    }

    #[test]
    fn a_discount_never_goes_below_nothing_and_rounds_like_a_processor() {
        assert_eq!(discounted(800, Off::Percent(20)), 640);
        assert_eq!(discounted(799, Off::Percent(50)), 399);
        assert_eq!(discounted(800, Off::Percent(100)), 0);
        assert_eq!(discounted(800, Off::Amount(200)), 600);
        assert_eq!(discounted(800, Off::Amount(9000)), 0);
    }

    #[test]
    fn terms_out_of_range_are_refused() {
        let once = Lasting::Once;
        let percent = |p| Deal::Discount {
            off: Off::Percent(p),
            lasting: once,
        };
        assert_eq!(check_deal(percent(0), 800), Err(TermsError::Percent));
        assert_eq!(check_deal(percent(101), 800), Err(TermsError::Percent));
        assert!(check_deal(percent(100), 800).is_ok());
        let amount = |a| Deal::Discount {
            off: Off::Amount(a),
            lasting: once,
        };
        assert_eq!(check_deal(amount(800), 800), Err(TermsError::Amount));
        assert_eq!(check_deal(amount(0), 800), Err(TermsError::Amount));
        assert!(check_deal(amount(799), 800).is_ok());
        assert_eq!(
            check_deal(Deal::Trial { days: 0 }, 800),
            Err(TermsError::TrialDays)
        );
        assert_eq!(
            check_deal(Deal::Trial { days: 366 }, 800),
            Err(TermsError::TrialDays)
        );
    }

    #[test]
    fn an_offer_is_open_until_its_end_or_its_limit() {
        let now = datetime!(2026-12-10 12:00 UTC);
        let mut offer = Offer {
            code: "x".into(),
            plan_code: "monthly".into(),
            deal: Deal::Trial { days: 14 },
            ends_at: Some(now + Duration::days(1)),
            limit: Some(2),
            redeemed: 1,
            retention: false,
        };
        assert_eq!(offer.availability(now), Availability::Open);
        assert_eq!(
            offer.availability(now + Duration::days(1)),
            Availability::Ended
        );
        offer.redeemed = 2;
        assert_eq!(offer.availability(now), Availability::UsedUp);
    }

    #[test]
    fn discounts_last_their_periods() {
        let start = datetime!(2026-01-31 9:00 UTC);
        assert_eq!(
            discount_until(start, Lasting::Once, 1),
            Some(datetime!(2026-02-28 9:00 UTC))
        );
        assert_eq!(
            discount_until(start, Lasting::Months(3), 1),
            Some(datetime!(2026-04-30 9:00 UTC))
        );
        assert_eq!(discount_until(start, Lasting::Forever, 12), None);
        assert_eq!(trial_end(start, 14), datetime!(2026-02-14 9:00 UTC));
    }
}
