//! The paywall decision. Every page that shows an article asks [`decide`]; nothing else
//! decides who may read what.

use super::ids::ArticleId;
use super::meter::Meter;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// A free article, or a subscriber: the meter is not involved.
    Open,
    /// A premium article read on the meter. `newly_counted` says the meter must record it
    /// (false when the article was already opened this month).
    Metered { newly_counted: bool },
    /// The allowance is used up: show the paywall.
    Paywalled,
}

/// Who is reading, as far as the paywall cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReaderKind {
    /// A subscriber in standing, or the newsroom (editors and admins).
    ReadsEverything,
    /// Everyone else: premium articles count on a meter.
    OnTheMeter,
}

pub fn decide(
    article_id: ArticleId,
    is_premium: bool,
    reader: ReaderKind,
    meter: &Meter,
    allowance: u32,
) -> Access {
    if !is_premium || reader == ReaderKind::ReadsEverything {
        Access::Open
    } else if meter.has_opened(article_id) {
        Access::Metered {
            newly_counted: false,
        }
    } else if meter.left(allowance) > 0 {
        Access::Metered {
            newly_counted: true,
        }
    } else {
        Access::Paywalled
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::meter::Month;
    use time::macros::datetime;

    fn meter_with(ids: &[i64]) -> Meter {
        Meter::with_opened(
            Month::of(datetime!(2026-11-01 0:00 UTC)),
            ids.iter().copied().map(ArticleId::new),
        )
    }

    #[test]
    fn free_articles_are_open_and_never_counted() {
        let full = meter_with(&[1, 2, 3, 4, 5]);
        assert_eq!(
            decide(ArticleId::new(9), false, ReaderKind::OnTheMeter, &full, 5),
            Access::Open
        );
    }

    #[test]
    fn subscribers_read_everything() {
        let full = meter_with(&[1, 2, 3, 4, 5]);
        assert_eq!(
            decide(
                ArticleId::new(9),
                true,
                ReaderKind::ReadsEverything,
                &full,
                5
            ),
            Access::Open
        );
    }

    #[test]
    fn premium_articles_count_until_the_allowance_is_used() {
        let four = meter_with(&[1, 2, 3, 4]);
        assert_eq!(
            decide(ArticleId::new(5), true, ReaderKind::OnTheMeter, &four, 5),
            Access::Metered {
                newly_counted: true
            }
        );
        let five = meter_with(&[1, 2, 3, 4, 5]);
        assert_eq!(
            decide(ArticleId::new(6), true, ReaderKind::OnTheMeter, &five, 5),
            Access::Paywalled
        );
    }

    #[test]
    fn articles_already_opened_stay_readable_after_the_allowance_is_used() {
        let five = meter_with(&[1, 2, 3, 4, 5]);
        assert_eq!(
            decide(ArticleId::new(3), true, ReaderKind::OnTheMeter, &five, 5),
            Access::Metered {
                newly_counted: false
            }
        );
    }

    #[test]
    fn an_allowance_of_zero_paywalls_every_premium_article() {
        assert_eq!(
            decide(
                ArticleId::new(1),
                true,
                ReaderKind::OnTheMeter,
                &meter_with(&[]),
                0
            ),
            Access::Paywalled
        );
    }
}
