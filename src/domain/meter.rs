//! The meter: which premium articles a non-subscriber has opened in the current calendar month
//! (UTC). It starts empty each month, and holds each article at most once.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::{Date, OffsetDateTime};

use super::ids::ArticleId;

/// The most free articles a month may allow: the meter lives in the session cookie, and this
/// cap keeps the cookie far below 4 KB.
pub const MAX_FREE_ARTICLES_PER_MONTH: u32 = 50;

/// A calendar month in UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    year: i32,
    month: time::Month,
}

impl Month {
    pub fn of(instant: OffsetDateTime) -> Self {
        let utc = instant.to_offset(time::UtcOffset::UTC);
        Self {
            year: utc.year(),
            month: utc.month(),
        }
    }

    pub fn first_day(self) -> Date {
        // Day 1 exists in every month of every representable year.
        Date::from_calendar_date(self.year, self.month, 1).unwrap_or(Date::MIN)
    }

    /// The month after this one.
    pub fn next(self) -> Self {
        let year = if self.month == time::Month::December {
            self.year.saturating_add(1)
        } else {
            self.year
        };
        Self {
            year,
            month: self.month.next(),
        }
    }

    /// `2026-11`
    pub fn parse(text: &str) -> Option<Self> {
        let (year, month) = text.split_once('-')?;
        let year: i32 = year.parse().ok()?;
        let month = time::Month::try_from(month.parse::<u8>().ok()?).ok()?;
        Date::from_calendar_date(year, month, 1).ok()?;
        Some(Self { year, month })
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, u8::from(self.month))
    }
}

impl Serialize for Month {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Month {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Month::parse(&text).ok_or_else(|| serde::de::Error::custom("not a month"))
    }
}

/// Premium articles opened in one month, oldest first. Kept small: it travels in the cookie.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meter {
    #[serde(rename = "m")]
    month: Month,
    #[serde(rename = "a")]
    opened: Vec<ArticleId>,
}

impl Meter {
    pub fn new(month: Month) -> Self {
        Self {
            month,
            opened: Vec::new(),
        }
    }

    /// A meter for `month` holding `article_ids` (duplicates dropped, at most as many as the
    /// largest allowance, so a meter can never outgrow the cookie).
    pub fn with_opened(month: Month, article_ids: impl IntoIterator<Item = ArticleId>) -> Self {
        let mut meter = Self::new(month);
        for id in article_ids {
            if meter.opened.len() >= MAX_FREE_ARTICLES_PER_MONTH as usize {
                break;
            }
            meter.record(id);
        }
        meter
    }

    /// The meter that applies in `month`: the stored one if it is for that month, otherwise a
    /// fresh one (the monthly reset).
    pub fn for_month(stored: Option<Meter>, month: Month) -> Self {
        match stored {
            Some(meter) if meter.month == month => Self::with_opened(month, meter.opened),
            _ => Self::new(month),
        }
    }

    pub fn month(&self) -> Month {
        self.month
    }

    pub fn opened(&self) -> &[ArticleId] {
        &self.opened
    }

    pub fn has_opened(&self, article_id: ArticleId) -> bool {
        self.opened.contains(&article_id)
    }

    pub fn used(&self) -> u32 {
        u32::try_from(self.opened.len()).unwrap_or(u32::MAX)
    }

    pub fn left(&self, allowance: u32) -> u32 {
        allowance.saturating_sub(self.used())
    }

    /// Adds the article; returns false when it was already counted.
    pub fn record(&mut self, article_id: ArticleId) -> bool {
        if self.has_opened(article_id) {
            return false;
        }
        self.opened.push(article_id);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOV: OffsetDateTime = datetime!(2026-11-28 12:00 UTC);

    fn ids(numbers: impl IntoIterator<Item = i64>) -> impl Iterator<Item = ArticleId> {
        numbers.into_iter().map(ArticleId::new)
    }

    #[test]
    fn month_is_taken_in_utc() {
        let late_evening_in_new_york = datetime!(2026-11-30 20:00 -5);
        assert_eq!(Month::of(late_evening_in_new_york).to_string(), "2026-12");
    }

    #[test]
    fn the_next_month_turns_the_year() {
        assert_eq!(Month::of(NOV).next().to_string(), "2026-12");
        assert_eq!(Month::of(NOV).next().next().to_string(), "2027-01");
    }

    #[test]
    fn months_parse_only_when_real() {
        assert_eq!(Month::parse("2026-11"), Some(Month::of(NOV)));
        for bad in ["2026-13", "2026-00", "2026", "x-11", "", "2026-1-1"] {
            assert_eq!(Month::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn re_reading_costs_nothing() {
        let mut meter = Meter::new(Month::of(NOV));
        assert!(meter.record(ArticleId::new(7)));
        assert!(!meter.record(ArticleId::new(7)));
        assert_eq!(meter.used(), 1);
        assert_eq!(meter.left(5), 4);
    }

    #[test]
    fn a_new_month_starts_a_fresh_meter() {
        let october =
            Meter::with_opened(Month::of(datetime!(2026-10-31 23:59 UTC)), ids([1, 2, 3]));
        let meter = Meter::for_month(Some(october), Month::of(NOV));
        assert_eq!(meter.used(), 0);
    }

    #[test]
    fn a_meter_never_grows_past_the_largest_allowance() {
        let meter = Meter::with_opened(Month::of(NOV), ids(0..10_000));
        assert_eq!(meter.used(), MAX_FREE_ARTICLES_PER_MONTH);
    }

    #[test]
    fn serialises_compactly_and_round_trips() {
        let meter = Meter::with_opened(Month::of(NOV), ids([3, 9]));
        let json = serde_json::to_string(&meter).unwrap();
        assert_eq!(json, r#"{"m":"2026-11","a":[3,9]}"#);
        assert_eq!(serde_json::from_str::<Meter>(&json).unwrap(), meter);
    }
}
