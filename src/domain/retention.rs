//! Retention offers: the discount a subscriber who presses cancel is offered, once, before
//! their subscription is canceled.
//!
//! Rules:
//! - A retention offer is a discount (never a trial: refused when it is created) marked
//!   `retention`, on the subscription's own plan, open (not ended, not used up), and not
//!   redeemed by this reader before.
//! - It is for a live subscription only: one that gives access now and is not canceled, is not
//!   a free trial, and is not already discounted (it began with an offer, or took one).
//! - It is shown once per subscription: the next press of cancel cancels.
//! - When several offers apply, the one created last is made (an admin's newest word).
//! - Taken, its discount applies to the periods charged from the end of the period already
//!   paid (that one was paid in full): `once` is the next period, `months:N` the periods
//!   charged in the N months from then, `forever` every period after.

use time::OffsetDateTime;

use super::offer::{Availability, Deal, Offer, TermsError, discount_until, discounted};
use super::subscription::Standing;

/// The subscription the reader asks to cancel, as the rule sees it.
#[derive(Clone, Copy, Debug)]
pub struct Leaving<'a> {
    pub plan_code: &'a str,
    pub standing: Standing,
    /// It is (or began as) a free trial.
    pub trial: bool,
    /// It began with an offer, or took one.
    pub discounted: bool,
}

impl Leaving<'_> {
    /// Whether a retention offer may be made to it at all.
    pub fn may_be_retained(&self) -> bool {
        matches!(
            self.standing,
            Standing::Current {
                canceled: false,
                ..
            }
        ) && !self.trial
            && !self.discounted
    }
}

/// Why an offer is not one to make to this subscription.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotMade {
    /// Canceled, ended, a trial or already discounted.
    NotLive,
    /// Not marked for retention, or not a discount.
    NotRetention,
    /// On another plan than the subscription's.
    OtherPlan,
    /// The reader redeemed it before.
    RedeemedBefore,
    Ended,
    UsedUp,
}

/// Whether `offer` applies to the subscription: `Ok` when it is the kind of offer that can be
/// made to it.
pub fn applies(
    offer: &Offer,
    leaving: &Leaving<'_>,
    redeemed_before: bool,
    now: OffsetDateTime,
) -> Result<(), NotMade> {
    if !leaving.may_be_retained() {
        return Err(NotMade::NotLive);
    }
    if !offer.retention || !matches!(offer.deal, Deal::Discount { .. }) {
        return Err(NotMade::NotRetention);
    }
    if offer.plan_code != leaving.plan_code {
        return Err(NotMade::OtherPlan);
    }
    if redeemed_before {
        return Err(NotMade::RedeemedBefore);
    }
    match offer.availability(now) {
        Availability::Open => Ok(()),
        Availability::Ended => Err(NotMade::Ended),
        Availability::UsedUp => Err(NotMade::UsedUp),
    }
}

/// The offer to make, from `offers` (newest first, each with whether this reader redeemed it);
/// `None` when none applies.
pub fn choose<'a>(
    offers: &'a [(Offer, bool)],
    leaving: &Leaving<'_>,
    now: OffsetDateTime,
) -> Option<&'a Offer> {
    offers
        .iter()
        .find(|(offer, redeemed)| applies(offer, leaving, *redeemed, now).is_ok())
        .map(|(offer, _)| offer)
}

/// Whether pressing cancel shows the offer: only when none was shown for this subscription.
pub fn show(shown_at: Option<OffsetDateTime>) -> bool {
    shown_at.is_none()
}

/// Refuses a free trial marked as a retention offer.
pub fn check_retention(deal: Deal, retention: bool) -> Result<(), TermsError> {
    match deal {
        Deal::Trial { .. } if retention => Err(TermsError::RetentionTrial),
        _ => Ok(()),
    }
}

/// A discount taken on a live subscription: what is off, for how long, from when.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Carried {
    pub deal: Deal,
    /// The end of the period paid when it was taken.
    pub from: OffsetDateTime,
}

/// The price of a period of the plan charged at `now` under a discount taken on the
/// subscription: discounted while the discount lasts, the plan's price after (and for a deal
/// that is not a discount).
pub fn period_price(
    price_cents: i32,
    period_months: i32,
    carried: Carried,
    now: OffsetDateTime,
) -> i32 {
    match carried.deal {
        Deal::Discount { off, lasting } => {
            let lasts = discount_until(carried.from, lasting, period_months)
                .is_none_or(|until| now < until);
            if lasts {
                discounted(price_cents, off)
            } else {
                price_cents
            }
        }
        Deal::Trial { .. } => price_cents,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::offer::{Lasting, Off};
    use time::Duration;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-10 12:00 UTC);
    const PERIOD_END: OffsetDateTime = datetime!(2027-01-05 12:00 UTC);

    fn retention(code: &str, deal: Deal) -> Offer {
        Offer {
            code: code.into(),
            plan_code: "monthly".into(),
            deal,
            ends_at: None,
            limit: None,
            redeemed: 0,
            retention: true,
        }
    }

    fn fifth_off(lasting: Lasting) -> Deal {
        Deal::Discount {
            off: Off::Percent(20),
            lasting,
        }
    }

    fn live() -> Leaving<'static> {
        Leaving {
            plan_code: "monthly",
            standing: Standing::Current {
                canceled: false,
                period_end: PERIOD_END,
            },
            trial: false,
            discounted: false,
        }
    }

    #[test]
    fn only_a_live_undiscounted_subscription_is_offered_a_deal() {
        let offer = retention("stay", fifth_off(Lasting::Once));
        assert_eq!(applies(&offer, &live(), false, NOW), Ok(()));
        let canceled = Leaving {
            standing: Standing::Current {
                canceled: true,
                period_end: PERIOD_END,
            },
            ..live()
        };
        let lapsed = Leaving {
            standing: Standing::Lapsed {
                period_end: PERIOD_END,
            },
            ..live()
        };
        let trial = Leaving {
            trial: true,
            ..live()
        };
        let discounted = Leaving {
            discounted: true,
            ..live()
        };
        for leaving in [canceled, lapsed, trial, discounted] {
            assert_eq!(
                applies(&offer, &leaving, false, NOW),
                Err(NotMade::NotLive),
                "{leaving:?}"
            );
        }
    }

    #[test]
    fn the_offer_must_be_an_open_retention_discount_on_the_plan_not_taken_before() {
        let leaving = live();
        let mut offer = retention("stay", fifth_off(Lasting::Months(3)));
        offer.retention = false;
        assert_eq!(
            applies(&offer, &leaving, false, NOW),
            Err(NotMade::NotRetention)
        );
        let trial = retention("try", Deal::Trial { days: 14 });
        assert_eq!(
            applies(&trial, &leaving, false, NOW),
            Err(NotMade::NotRetention)
        );
        let mut yearly = retention("stay", fifth_off(Lasting::Once));
        yearly.plan_code = "yearly".into();
        assert_eq!(
            applies(&yearly, &leaving, false, NOW),
            Err(NotMade::OtherPlan)
        );
        let offer = retention("stay", fifth_off(Lasting::Once));
        assert_eq!(
            applies(&offer, &leaving, true, NOW),
            Err(NotMade::RedeemedBefore)
        );
        let ended = Offer {
            ends_at: Some(NOW),
            ..offer.clone()
        };
        assert_eq!(applies(&ended, &leaving, false, NOW), Err(NotMade::Ended));
        let used_up = Offer {
            limit: Some(3),
            redeemed: 3,
            ..offer
        };
        assert_eq!(
            applies(&used_up, &leaving, false, NOW),
            Err(NotMade::UsedUp)
        );
    }

    #[test]
    fn the_newest_offer_that_applies_is_made() {
        let mut used_up = retention("newest", fifth_off(Lasting::Once));
        used_up.limit = Some(1);
        used_up.redeemed = 1;
        let offers = vec![
            (used_up, false),
            (retention("taken", fifth_off(Lasting::Once)), true),
            (retention("next", fifth_off(Lasting::Forever)), false),
            (retention("oldest", fifth_off(Lasting::Once)), false),
        ];
        let chosen = choose(&offers, &live(), NOW).map(|offer| offer.code.as_str());
        assert_eq!(chosen, Some("next"));
        assert_eq!(choose(&offers[..2], &live(), NOW), None);
        let trial = Leaving {
            trial: true,
            ..live()
        };
        assert_eq!(choose(&offers, &trial, NOW), None);
    }

    #[test]
    fn the_offer_is_shown_once() {
        assert!(show(None));
        assert!(!show(Some(NOW)));
    }

    #[test]
    fn a_trial_cannot_be_a_retention_offer() {
        let trial = Deal::Trial { days: 30 };
        assert_eq!(
            check_retention(trial, true),
            Err(TermsError::RetentionTrial)
        );
        assert_eq!(check_retention(trial, false), Ok(()));
        assert_eq!(check_retention(fifth_off(Lasting::Once), true), Ok(()));
    }

    #[test]
    fn the_discount_covers_the_periods_charged_after_the_paid_one_while_it_lasts() {
        let once = Carried {
            deal: fifth_off(Lasting::Once),
            from: PERIOD_END,
        };
        // Charged when the paid period ends, or a few days late: the next period is off.
        assert_eq!(period_price(800, 1, once, PERIOD_END), 640);
        assert_eq!(
            period_price(800, 1, once, PERIOD_END + Duration::days(5)),
            640
        );
        // A month later the one discounted period is over.
        let after = datetime!(2027-02-05 12:00 UTC);
        assert_eq!(period_price(800, 1, once, after), 800);

        let three = Carried {
            deal: fifth_off(Lasting::Months(3)),
            from: PERIOD_END,
        };
        assert_eq!(period_price(800, 1, three, after), 640);
        assert_eq!(
            period_price(800, 1, three, datetime!(2027-03-05 12:00 UTC)),
            640
        );
        assert_eq!(
            period_price(800, 1, three, datetime!(2027-04-05 12:00 UTC)),
            800
        );
        let forever = Carried {
            deal: Deal::Discount {
                off: Off::Amount(300),
                lasting: Lasting::Forever,
            },
            from: PERIOD_END,
        };
        assert_eq!(
            period_price(800, 1, forever, datetime!(2030-01-01 0:00 UTC)),
            500
        );
        let trial = Carried {
            deal: Deal::Trial { days: 3 },
            from: PERIOD_END,
        };
        assert_eq!(period_price(800, 1, trial, PERIOD_END), 800);
    }
}
