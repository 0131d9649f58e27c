//! A processor's subscription becomes the reader's subscription row. Called only inside a
//! billing transaction that holds the reader's lock.
//!
//! Rules:
//! - The state applied is the processor's, as re-read (`read_at` is when it was asked for). A
//!   row whose state was read later is never overwritten by an earlier read, so re-reads that
//!   finish out of order cannot undo each other. An ended row is never revived.
//! - A subscription is Gazette's when its price is a plan's, or when Gazette recorded it: one
//!   recorded is followed whatever its price (the processor renews and charges it), kept as
//!   its recorded plan when its price is no plan, and logged as an error each time.
//! - The offer it began with, its free trial and its discount are noted as the processor
//!   applies them (`hosted::offers`). A free trial (`trialing`) gives access until its end,
//!   like a paid period.
//! - Access follows what was paid: an active subscription until its period's end; one whose
//!   renewal failed, while the processor still tries to charge it (`past_due`), through the
//!   unpaid period, with the failure shown to the reader; once the processor gives up
//!   (`unpaid`, `paused`), until the end of the last period paid (the start of the unpaid
//!   one); an ended one (`canceled`, `incomplete_expired`) not at all, from when it ended.

use diesel::PgConnection;
use diesel::QueryResult;
use time::OffsetDateTime;

use super::hosted::note_held_offer;
use crate::db;
use crate::domain::ids::UserId;
use crate::domain::subscription::{Standing, Status, add_months};
use crate::models::{HeldState, Plan, SubscriptionRow};
use crate::payments::hosted::{HeldStatus, HeldSubscription, Money};

/// What applying a processor's subscription did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Applied {
    /// Not Gazette's, or nothing a row records (a first payment not made yet).
    Ignored,
    /// The row holds a later read, or is ended for good: unchanged.
    Stale,
    /// The row now says what the processor said; access until `access_until` (if any).
    Written {
        access_until: Option<OffsetDateTime>,
    },
}

/// The row's state for a processor's subscription, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct LocalState {
    pub status: Status,
    pub period_start: OffsetDateTime,
    pub period_end: OffsetDateTime,
    pub canceled_at: Option<OffsetDateTime>,
    pub ended_at: Option<OffsetDateTime>,
    pub renews: bool,
    pub payment_failed_at: Option<OffsetDateTime>,
    pub payment_due: Option<Money>,
    pub payment_fix_url: Option<String>,
}

/// What the row should say for `held` (a plan of `period_months`), given the row as it is;
/// `None` when no row records it.
pub(super) fn local_state(
    held: &HeldSubscription,
    period_months: i32,
    existing: Option<&SubscriptionRow>,
    now: OffsetDateTime,
) -> Option<LocalState> {
    let state = match &held.status {
        HeldStatus::Incomplete | HeldStatus::Unknown(_) => return None,
        HeldStatus::Active => active(held, now),
        HeldStatus::PastDue => past_due(held, existing, now),
        HeldStatus::Unpaid => unpaid(held, period_months, existing, now),
        HeldStatus::Ended => ended(held, existing, now),
    };
    // The database refuses an empty period; a processor that reports one is not believed.
    (state.period_end > state.period_start).then_some(state)
}

/// Paid up: read until the period's end, renewed unless canceled.
fn active(held: &HeldSubscription, now: OffsetDateTime) -> LocalState {
    let cancel = held.cancel_at_period_end;
    LocalState {
        status: if cancel {
            Status::Canceled
        } else {
            Status::Active
        },
        period_start: held.current_period_start,
        period_end: held.current_period_end,
        canceled_at: cancel.then(|| held.canceled_at.unwrap_or(now)),
        ended_at: None,
        renews: !cancel,
        payment_failed_at: None,
        payment_due: None,
        payment_fix_url: None,
    }
}

/// A renewal failed, and the processor still tries to charge the period it has moved on to:
/// the reader reads on through it meanwhile, told to fix the payment.
fn past_due(
    held: &HeldSubscription,
    existing: Option<&SubscriptionRow>,
    now: OffsetDateTime,
) -> LocalState {
    LocalState {
        renews: false,
        payment_failed_at: Some(failed_since(existing, now)),
        payment_due: held.unpaid_invoice.as_ref().map(|i| i.amount.clone()),
        payment_fix_url: held.unpaid_invoice.as_ref().and_then(|i| i.url.clone()),
        ..active(held, now)
    }
}

/// The processor gave up on the period it could not charge: what was paid ends where that
/// period starts.
fn unpaid(
    held: &HeldSubscription,
    period_months: i32,
    existing: Option<&SubscriptionRow>,
    now: OffsetDateTime,
) -> LocalState {
    let paid_until = held.current_period_start;
    LocalState {
        period_start: add_months(paid_until, -period_months.max(1)),
        period_end: paid_until,
        ..past_due(held, existing, now)
    }
}

/// Over for good: no access from when the processor ended it, the period as the row knew it.
fn ended(
    held: &HeldSubscription,
    existing: Option<&SubscriptionRow>,
    now: OffsetDateTime,
) -> LocalState {
    let ended_at = held.ended_at.or(held.canceled_at).unwrap_or(now);
    let period_start = existing.map_or(held.current_period_start, |row| row.current_period_start);
    let period_end = existing.map_or(held.current_period_end, |row| row.current_period_end);
    LocalState {
        status: Status::Ended,
        period_start,
        // Access ended when the processor ended it, not later.
        period_end: if ended_at > period_start {
            period_end.min(ended_at)
        } else {
            period_end
        },
        canceled_at: existing
            .and_then(|row| row.canceled_at)
            .or(held.canceled_at),
        ended_at: Some(ended_at),
        renews: false,
        payment_failed_at: None,
        payment_due: None,
        payment_fix_url: None,
    }
}

/// The plan `held` is recorded as, and what its period is worth: the plan of its price, or,
/// for a subscription Gazette recorded whose price is no plan (the prices were replaced, or the
/// processor's page offered another price), the plan it was recorded as. `None` when it is not
/// Gazette's.
fn plan_of(
    conn: &mut PgConnection,
    user_id: UserId,
    held: &HeldSubscription,
    existing: Option<&SubscriptionRow>,
) -> QueryResult<Option<(Plan, i32)>> {
    if let Some(code) = &held.plan_code {
        return Ok(db::plans::find(conn, code)?.map(|plan| {
            let value = plan.price_cents;
            (plan, value)
        }));
    }
    let Some(row) = existing else {
        return Ok(None);
    };
    // The processor renews and charges it: it is followed, and someone must map its price.
    tracing::error!(
        user_id = user_id.get(),
        subscription = %held.reference,
        price = held.price.as_deref().unwrap_or("none"),
        plan = %row.plan_code,
        "a recorded subscription is on a price that is no plan (STRIPE_PRICES): kept as its recorded plan"
    );
    Ok(db::plans::find(conn, &row.plan_code)?.map(|plan| (plan, row.period_value_cents)))
}

/// Since when the payment has been failing: since the row first said so, or now.
fn failed_since(existing: Option<&SubscriptionRow>, now: OffsetDateTime) -> OffsetDateTime {
    existing
        .and_then(|row| row.failed_payment.since)
        .unwrap_or(now)
}

/// Records `held` (the reader's, read at `read_at`) as the reader's subscription: the row for
/// it is created or brought up to date, the reader's other current subscription (if any)
/// ends, and the hosted checkout that created it is closed.
pub(super) fn apply_held(
    conn: &mut PgConnection,
    gateway: &str,
    user_id: UserId,
    held: &HeldSubscription,
    read_at: OffsetDateTime,
    now: OffsetDateTime,
) -> QueryResult<Applied> {
    let existing = db::subscriptions::find_by_reference(conn, gateway, &held.reference)?;
    if let Some(row) = &existing {
        if row.user_id != user_id {
            tracing::error!(
                user_id = user_id.get(),
                subscription = %held.reference,
                "a processor subscription recorded for another reader: left alone"
            );
            return Ok(Applied::Ignored);
        }
        if row.synced_at.is_some_and(|synced| synced > read_at) || row.status == Status::Ended {
            return Ok(Applied::Stale);
        }
    }
    let Some((plan, period_value)) = plan_of(conn, user_id, held, existing.as_ref())? else {
        return Ok(Applied::Ignored);
    };
    let Some(state) = local_state(held, plan.period_months, existing.as_ref(), now) else {
        return Ok(Applied::Ignored);
    };
    if existing.is_none() && state.status == Status::Ended {
        return Ok(Applied::Ignored);
    }
    let row = HeldState {
        plan_code: &plan.code,
        status: state.status.as_str(),
        current_period_start: state.period_start,
        current_period_end: state.period_end,
        canceled_at: state.canceled_at,
        ended_at: state.ended_at,
        period_value_cents: period_value,
        renews: state.renews,
        synced_at: Some(read_at),
        payment_failed_at: state.payment_failed_at,
        payment_due_amount: state.payment_due.as_ref().map(|due| due.minor_units),
        payment_due_currency: state.payment_due.as_ref().map(|due| due.currency.as_str()),
        payment_fix_url: state.payment_fix_url.as_deref(),
    };
    let id = match &existing {
        Some(existing) => {
            db::subscriptions::apply_held(conn, existing.id, &row)?;
            existing.id
        }
        None => {
            if let Some(current) = db::subscriptions::current(conn, user_id)? {
                if current.gateway == gateway {
                    // Both may be charging: someone must cancel (and refund) one by hand.
                    tracing::error!(
                        user_id = user_id.get(),
                        replaced = %current.gateway_reference,
                        by = %held.reference,
                        "the reader has two live subscriptions at the processor; the newer is recorded"
                    );
                }
                db::subscriptions::end(conn, current.id, now)?;
            }
            let id = db::subscriptions::insert_held(conn, user_id, gateway, &held.reference, &row)?;
            tracing::info!(user_id = user_id.get(), plan = %plan.code, gateway, "subscription recorded");
            id
        }
    };
    note_held_offer(conn, id, held, existing.as_ref(), &plan)?;
    if state.status != Status::Ended
        && let Some(key) = &held.checkout_key
    {
        db::hosted_checkouts::close_by_key(conn, key)?;
    }
    let paid_up = state.payment_failed_at.is_none()
        && Standing::of(state.status, state.period_end, now).grants_access();
    Ok(Applied::Written {
        access_until: paid_up.then_some(state.period_end),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payments::hosted::UnpaidInvoice;
    use time::macros::datetime;

    const START: OffsetDateTime = datetime!(2026-11-26 12:00 UTC);
    const END: OffsetDateTime = datetime!(2026-12-26 12:00 UTC);

    fn held(status: HeldStatus) -> HeldSubscription {
        HeldSubscription {
            reference: "sub_1".into(),
            customer: "cus_1".into(),
            plan_code: Some("monthly".into()),
            price: Some("price_m".into()),
            item: Some("si_1".into()),
            status,
            current_period_start: START,
            current_period_end: END,
            cancel_at_period_end: false,
            canceled_at: None,
            ended_at: None,
            checkout_key: None,
            unpaid_invoice: None,
            offer_code: None,
            trial_end: None,
            discount_start: None,
            payment_method: None,
        }
    }

    #[test]
    fn an_active_subscription_renews_and_is_paid_to_its_period_end() {
        let state = local_state(&held(HeldStatus::Active), 1, None, START).unwrap();
        assert_eq!(
            (state.status, state.period_end, state.renews),
            (Status::Active, END, true)
        );
        let mut ending = held(HeldStatus::Active);
        ending.cancel_at_period_end = true;
        let state = local_state(&ending, 1, None, START).unwrap();
        assert_eq!((state.status, state.renews), (Status::Canceled, false));
        assert_eq!(state.canceled_at, Some(START));
    }

    fn unpaid_invoice() -> Option<UnpaidInvoice> {
        Some(UnpaidInvoice {
            amount: Money {
                minor_units: 800,
                currency: "USD".into(),
            },
            url: Some("https://invoice.example/in_1".into()),
        })
    }

    #[test]
    fn a_failed_renewal_the_processor_still_retries_is_read_through_the_unpaid_period() {
        let mut failed = held(HeldStatus::PastDue);
        failed.unpaid_invoice = unpaid_invoice();
        let now = START + time::Duration::days(2);
        let state = local_state(&failed, 1, None, now).unwrap();
        assert_eq!((state.period_start, state.period_end), (START, END));
        assert_eq!((state.status, state.renews), (Status::Active, false));
        assert_eq!(state.payment_failed_at, Some(now));
        assert_eq!(state.payment_due.unwrap().minor_units, 800);
        assert!(Standing::of(state.status, state.period_end, now).grants_access());
        assert!(!Standing::of(state.status, state.period_end, END).grants_access());
    }

    #[test]
    fn a_failed_renewal_the_processor_gave_up_on_is_paid_only_to_the_start_of_the_unpaid_period() {
        let mut failed = held(HeldStatus::Unpaid);
        failed.unpaid_invoice = unpaid_invoice();
        let now = START + time::Duration::days(14);
        let state = local_state(&failed, 1, None, now).unwrap();
        assert_eq!(
            state.period_end, START,
            "paid until the unpaid period began"
        );
        assert_eq!(state.period_start, datetime!(2026-10-26 12:00 UTC));
        assert_eq!(state.payment_failed_at, Some(now));
        assert!(!Standing::of(state.status, state.period_end, now).grants_access());
    }

    #[test]
    fn an_ended_subscription_ends_access_when_the_processor_ended_it() {
        let mut ended = held(HeldStatus::Ended);
        ended.ended_at = Some(START + time::Duration::days(3));
        let state = local_state(&ended, 1, None, START).unwrap();
        assert_eq!(state.status, Status::Ended);
        assert_eq!(state.period_end, START + time::Duration::days(3));
    }

    #[test]
    fn a_first_payment_not_made_or_an_unknown_status_records_nothing() {
        assert_eq!(
            local_state(&held(HeldStatus::Incomplete), 1, None, START),
            None
        );
        assert_eq!(
            local_state(&held(HeldStatus::Unknown("new".into())), 1, None, START),
            None
        );
        let mut empty = held(HeldStatus::Active);
        empty.current_period_end = START;
        assert_eq!(local_state(&empty, 1, None, START), None);
    }
}
