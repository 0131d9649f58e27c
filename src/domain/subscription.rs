//! What a subscription means at a given moment, and what a request to subscribe changes.
//! Access follows from the stored period and the clock, so nothing has to run when a period
//! ends.

use time::{Date, Duration, OffsetDateTime};

use super::ids::SubscriptionId;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Paid for the current period. (Renewal is the payment processor's to charge and report;
    /// until it is, the period's end is the end of access.)
    Active,
    /// Canceled: access continues until the end of the period, then stops.
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
    /// Paid up until `period_end`; `canceled` when the reader asked to stop there.
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

/// The reader's current subscription, as a change is decided against it.
#[derive(Clone, Debug)]
pub struct Current {
    pub id: SubscriptionId,
    pub plan_code: String,
    /// What the period was worth when it began (paid plus credit carried over).
    pub value_cents: i32,
    pub standing: Standing,
    pub period_start: OffsetDateTime,
}

/// The plan asked for.
#[derive(Clone, Debug)]
pub struct Terms {
    pub plan_code: String,
    pub price_cents: i32,
    pub period_months: i32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// Already paid up on this plan.
    Nothing,
    /// Canceled but still paid up on this plan until `period_end`: carry on, no charge.
    Resume {
        subscription_id: SubscriptionId,
        period_end: OffsetDateTime,
    },
    /// A new period on the plan (replacing the current subscription, if any): charge
    /// `charge_cents` now; the period is worth `value_cents` and ends at `period_end`.
    Start {
        charge_cents: i32,
        value_cents: i32,
        period_end: OffsetDateTime,
    },
}

/// What subscribing to `plan` does now.
///
/// Switching plans keeps what was paid: the unused value of the current period is credited
/// against the new plan's price. When the credit covers the price, nothing is charged and
/// the reader keeps the longer of the paid period and the new plan's period.
pub fn change(current: Option<&Current>, plan: &Terms, now: OffsetDateTime) -> Change {
    let new_end = add_months(now, plan.period_months);
    let full_price = Change::Start {
        charge_cents: plan.price_cents,
        value_cents: plan.price_cents,
        period_end: new_end,
    };
    let Some(current) = current else {
        return full_price;
    };
    let Standing::Current {
        canceled,
        period_end,
    } = current.standing
    else {
        return full_price;
    };
    if current.plan_code == plan.plan_code {
        return if canceled {
            Change::Resume {
                subscription_id: current.id,
                period_end,
            }
        } else {
            Change::Nothing
        };
    }
    let credit = unused_value(current.value_cents, current.period_start, period_end, now);
    if credit >= plan.price_cents {
        Change::Start {
            charge_cents: 0,
            value_cents: credit,
            period_end: period_end.max(new_end),
        }
    } else {
        Change::Start {
            charge_cents: plan.price_cents - credit,
            value_cents: plan.price_cents,
            period_end: new_end,
        }
    }
}

/// The part of `value` not yet used at `now`, in whole cents (rounded down).
fn unused_value(
    value_cents: i32,
    start: OffsetDateTime,
    end: OffsetDateTime,
    now: OffsetDateTime,
) -> i32 {
    let total = (end - start).whole_seconds().max(1);
    let left = (end - now).whole_seconds().clamp(0, total);
    i32::try_from(i64::from(value_cents.max(0)) * left / total).unwrap_or(0)
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

    fn monthly(standing: Standing) -> Current {
        Current {
            id: SubscriptionId::new(7),
            plan_code: "monthly".into(),
            value_cents: 800,
            standing,
            period_start: datetime!(2026-11-01 0:00 UTC),
        }
    }

    fn terms(code: &str, price_cents: i32, period_months: i32) -> Terms {
        Terms {
            plan_code: code.into(),
            price_cents,
            period_months,
        }
    }

    const NOW: OffsetDateTime = datetime!(2026-11-16 0:00 UTC);
    const NOV_END: OffsetDateTime = datetime!(2026-12-01 0:00 UTC);

    #[test]
    fn a_first_subscription_pays_the_full_price() {
        assert_eq!(
            change(None, &terms("monthly", 800, 1), NOW),
            Change::Start {
                charge_cents: 800,
                value_cents: 800,
                period_end: datetime!(2026-12-16 0:00 UTC)
            }
        );
    }

    #[test]
    fn the_same_plan_again_changes_nothing_or_resumes() {
        let paid = Standing::Current {
            canceled: false,
            period_end: NOV_END,
        };
        assert_eq!(
            change(Some(&monthly(paid)), &terms("monthly", 800, 1), NOW),
            Change::Nothing
        );
        let canceled = Standing::Current {
            canceled: true,
            period_end: NOV_END,
        };
        assert_eq!(
            change(Some(&monthly(canceled)), &terms("monthly", 800, 1), NOW),
            Change::Resume {
                subscription_id: SubscriptionId::new(7),
                period_end: NOV_END
            }
        );
    }

    #[test]
    fn after_a_lapse_a_new_period_is_paid_in_full() {
        let lapsed = Standing::Lapsed {
            period_end: NOV_END,
        };
        let later = NOV_END + Duration::days(3);
        assert_eq!(
            change(Some(&monthly(lapsed)), &terms("monthly", 800, 1), later),
            Change::Start {
                charge_cents: 800,
                value_cents: 800,
                period_end: add_months(later, 1)
            }
        );
    }

    #[test]
    fn upgrading_credits_the_unused_part_of_the_period() {
        // Halfway through November: half of $8.00 is credited.
        let paid = Standing::Current {
            canceled: false,
            period_end: NOV_END,
        };
        assert_eq!(
            change(Some(&monthly(paid)), &terms("yearly", 8000, 12), NOW),
            Change::Start {
                charge_cents: 7600,
                value_cents: 8000,
                period_end: datetime!(2027-11-16 0:00 UTC)
            }
        );
    }

    #[test]
    fn downgrading_keeps_the_paid_period_and_its_value() {
        let yearly = Current {
            plan_code: "yearly".into(),
            value_cents: 8000,
            standing: Standing::Current {
                canceled: false,
                period_end: datetime!(2027-11-01 0:00 UTC),
            },
            ..monthly(Standing::Lapsed {
                period_end: NOV_END,
            })
        };
        let Change::Start {
            charge_cents,
            value_cents,
            period_end,
        } = change(Some(&yearly), &terms("monthly", 800, 1), NOW)
        else {
            panic!("a switch starts a period");
        };
        assert_eq!(
            (charge_cents, period_end),
            (0, datetime!(2027-11-01 0:00 UTC))
        );
        // 350 of 365 days unused.
        assert_eq!(value_cents, 7671);
    }

    #[test]
    fn switching_back_after_a_downgrade_credits_what_was_paid() {
        let downgraded = Current {
            value_cents: 7671,
            standing: Standing::Current {
                canceled: false,
                period_end: datetime!(2027-11-01 0:00 UTC),
            },
            period_start: NOW,
            ..monthly(Standing::Lapsed {
                period_end: NOV_END,
            })
        };
        let ten_days_later = NOW + Duration::days(10);
        let Change::Start { charge_cents, .. } = change(
            Some(&downgraded),
            &terms("yearly", 8000, 12),
            ten_days_later,
        ) else {
            panic!("a switch starts a period");
        };
        // Nearly all of the $76.71 is still unused: only the difference is charged.
        assert!(charge_cents < 600, "{charge_cents}");
    }

    #[test]
    fn access_lasts_until_the_period_ends_even_when_canceled() {
        let end = datetime!(2026-12-28 9:00 UTC);
        let before = end - Duration::seconds(1);
        assert!(Standing::of(Status::Canceled, end, before).grants_access());
        assert!(!Standing::of(Status::Canceled, end, end).grants_access());
        assert!(!Standing::of(Status::Active, end, end + Duration::days(1)).grants_access());
        assert!(!Standing::of(Status::Ended, end, before).grants_access());
    }
}
