//! The offer page, and the words that say what an offer gives: on its page, and, for the
//! subscription it began, on the plans and account pages ("free until 3 March, then $8.00 a
//! month"; "20 % off until June"; for a retention offer taken mid-period, "20 % off from
//! 5 January 2027 until April 2027").

use askama::Template;
use time::OffsetDateTime;

use super::{Layout, PlanView, long_date, price};
use crate::domain::offer::{Deal, Lasting, Offer, discount_until, discounted, off_words};
use crate::models::{Plan, SubscriptionRow};

/// `June 2027`
fn month_and_year(instant: OffsetDateTime) -> String {
    format!("{} {}", instant.month(), instant.year())
}

/// `$8.00 a month`, `$80.00 a year`.
fn per_period(plan: &Plan, cents: i32) -> String {
    let view = PlanView::from(plan);
    let period = match view.period.as_str() {
        "month" | "year" => format!("a {}", view.period),
        other => format!("every {other}"),
    };
    format!("{} {period}", price(cents, &plan.currency))
}

/// What the offer gives, starting now: `14 days free, then $8.00 a month`, `20 % off: $6.40
/// a month until June 2027, then $8.00 a month`.
pub fn deal_words(offer: &Offer, plan: &Plan, now: OffsetDateTime) -> String {
    let full = per_period(plan, plan.price_cents);
    match offer.deal {
        Deal::Trial { days } => {
            let days = if days == 1 {
                "1 day".to_string()
            } else {
                format!("{days} days")
            };
            format!("{days} free, then {full}")
        }
        Deal::Discount { off, lasting } => {
            let off_text = off_words(off, |cents| price(cents, &plan.currency));
            let reduced = per_period(plan, discounted(plan.price_cents, off));
            match lasting {
                Lasting::Forever => {
                    format!("{off_text} off: {reduced} for as long as you subscribe")
                }
                Lasting::Once | Lasting::Months(_) => {
                    let until = discount_until(now, lasting, plan.period_months)
                        .map(month_and_year)
                        .unwrap_or_default();
                    format!("{off_text} off: {reduced} until {until}, then {full}")
                }
            }
        }
    }
}

/// What applies to a subscription that began with `offer`: `Free until 3 March 2027, then
/// $8.00 a month.`, `20 % off until June 2027.`; `None` when nothing does any more.
pub fn applies_words(
    row: &SubscriptionRow,
    offer: &Offer,
    plan: &Plan,
    now: OffsetDateTime,
) -> Option<String> {
    if !row.standing(now).grants_access() {
        return None;
    }
    // A trial that is over (the processor's subscription carries on, paid) applies no more.
    if let Some(trial_end) = row.offer.trial_ends_at.filter(|end| *end > now) {
        let until = long_date(trial_end);
        return Some(
            if row.status != crate::domain::subscription::Status::Active {
                format!("Free until {until}; your trial ends then.")
            } else if row.offer.trial_without_card && row.renews {
                // The processor runs it: a payment method can still be given.
                format!(
                    "Free until {until}, then {} if you add a payment method with Manage \
                     billing before then; without one, your access ends then.",
                    per_period(plan, plan.price_cents)
                )
            } else if row.offer.trial_without_card {
                format!(
                    "Free until {until}. You started the trial without a payment method, so your \
                 access ends then unless you subscribe."
                )
            } else {
                format!(
                    "Free until {until}, then {}.",
                    per_period(plan, plan.price_cents)
                )
            },
        );
    }
    let Deal::Discount { off, lasting } = offer.deal else {
        return None;
    };
    let off_text = off_words(off, |cents| price(cents, &plan.currency));
    // A discount taken on the live subscription (a retention offer) starts where it says.
    let start = row.offer.discount_from.unwrap_or(row.current_period_start);
    let later = if start > now {
        format!(" from {}", long_date(start))
    } else {
        String::new()
    };
    // The processor's word on when its discount ends, or worked out from where it starts (the
    // test gateway charges one period at a time).
    let until = row
        .offer
        .discount_ends_at
        .or_else(|| discount_until(start, lasting, plan.period_months));
    Some(match until {
        Some(until) if until <= now => return None,
        Some(until) => format!("{off_text} off{later} until {}.", month_and_year(until)),
        None => format!("{off_text} off{later} for as long as you subscribe."),
    })
}

/// What an offer's page shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OfferPageState {
    /// Open: the reader can take it.
    Open,
    /// The reader has a subscription that gives access now.
    Subscribed,
    /// The reader took this offer before.
    Redeemed,
}

#[derive(Template)]
#[template(path = "offer.html")]
pub struct OfferPage {
    pub layout: Layout,
    pub code: String,
    pub plan_name: String,
    pub deal: String,
    pub trial: bool,
    /// The offer's last day, if it ends.
    pub ends: Option<String>,
    pub logged_in: bool,
    pub state: OfferPageState,
    /// Payments go through the test gateway: a trial may be started "without a card".
    pub test_gateway: bool,
    pub error: Option<String>,
}

/// An offer that cannot be taken (unknown, ended, used up), or was refused.
#[derive(Template)]
#[template(path = "offer_gone.html")]
pub struct OfferGonePage {
    pub layout: Layout,
    pub heading: &'static str,
    pub message: String,
}

impl OfferPage {
    /// Where sign-up or log-in leads: back to this offer.
    fn onward(&self) -> String {
        super::encode_next(&format!("/offer/{}", self.code))
    }
}

/// An offer as the desk lists it.
pub struct OfferRowView {
    pub code: String,
    pub plan: String,
    pub deal: String,
    pub ends: Option<String>,
    /// `3 of 100`, `3` when there is no limit.
    pub redeemed: String,
    pub retention: bool,
}

/// The desk's offers page (admins): the offers, and a form to create one.
#[derive(Template)]
#[template(path = "editor/offers.html")]
pub struct OffersDeskPage {
    pub layout: Layout,
    pub offers: Vec<OfferRowView>,
    pub plans: Vec<PlanView>,
    /// What was typed, shown again with `error`.
    pub form: OfferFormView,
    pub error: Option<String>,
}

/// The offer form's fields as typed.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct OfferFormView {
    pub code: String,
    pub plan: String,
    /// `percent`, `amount` or `trial`.
    pub kind: String,
    /// The percentage, the amount in cents, or the trial's days.
    pub value: String,
    /// `once`, `forever` or `months:N`.
    pub duration: String,
    /// `YYYY-MM-DD`, or empty.
    pub ends: String,
    pub limit: String,
    pub retention: Option<String>,
}

impl OffersDeskPage {
    fn kind_is(&self, kind: &str) -> bool {
        self.form.kind == kind || (self.form.kind.is_empty() && kind == "percent")
    }
}
