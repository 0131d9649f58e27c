//! The reader's account: e-mail, meter, subscription (with the payment processor's billing
//! page when it runs the subscription), and the list of logged-in devices. Every handler here
//! is for members (`Member` sends others to log in); forms are checked for their CSRF token
//! before anything else.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::auth::{NoFields, see_other};
use super::visit::Visit;
use crate::auth::csrf::CsrfForm;
use crate::auth::current_reader::Member;
use crate::auth::login::{self, Ending};
use crate::auth::session::{IDLE_LIMIT, MAX_LIVE_SESSIONS, ReaderSession};
use crate::billing::{Billing, CancelAsked, Canceled, Portal, Retained, RetentionRefused};
use crate::db;
use crate::domain::gift_subscription::GiftState;
use crate::domain::ids::SessionId;
use crate::domain::offer::normalise_code;
use crate::domain::subscription::{Standing, Status};
use crate::error::AppError;
use crate::models::GiftSubscription;
use crate::newsletter::members::Members;
use crate::state::AppState;
use crate::views::{
    AccountPage, GiftBoughtView, PlanView, RetentionPage, RetentionRefusedPage, SessionView,
    SubscriptionView, access_grant_note, deal_words, describe_device, long_date, minutes_of,
    months, price, render,
};

pub async fn show(
    state: web::Data<AppState>,
    billing: web::Data<Billing>,
    members: web::Data<Members>,
    member: Member,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    let now = state.clock.now();
    let user_id = member.user_id;
    let (sessions, plans, payment_pending, gifts) =
        db::run(&state.pool, "loading the account page", move |conn| {
            Ok((
                db::sessions::list_live(conn, user_id, now, IDLE_LIMIT, MAX_LIVE_SESSIONS)?,
                db::plans::list(conn)?,
                db::checkouts::find(conn, user_id)?.is_some(),
                db::gift_subscriptions::bought_by(conn, user_id, GIFTS_SHOWN)?,
            ))
        })
        .await?;
    let processor = billing.processor_account(user_id).await?;
    let newsletter = members.account_standing(user_id).await?;

    let subscription = member.subscription.as_ref().and_then(|row| {
        let plan = plans.iter().find(|p| p.code == row.plan_code)?;
        let failed = &row.failed_payment;
        let state = match row.standing(now) {
            // The processor still tries to charge it while it grants access.
            standing if failed.since.is_some() && row.status != Status::Ended => {
                if standing.grants_access() {
                    "payment_retrying"
                } else {
                    "payment_failed"
                }
            }
            Standing::Current {
                canceled: false, ..
            } => "active",
            Standing::Current { canceled: true, .. } => "canceled",
            Standing::Lapsed { .. } => "lapsed",
        };
        Some(SubscriptionView {
            plan_name: plan.name.clone(),
            plan_code: plan.code.clone(),
            price: price(plan.price_cents, &plan.currency),
            state,
            period_end: long_date(row.current_period_end),
            renews: row.renews,
            in_trial: row
                .offer
                .trial_ends_at
                .is_some_and(|ends| ends >= row.current_period_end),
            amount_due: failed
                .amount
                .zip(failed.currency.as_deref())
                .map(|(amount, currency)| price(amount, currency)),
            fix_url: failed.fix_url.clone(),
        })
    });
    let current_plan = subscription
        .as_ref()
        .filter(|s| s.state != "lapsed")
        .map(|s| s.plan_code.clone());
    let page = AccountPage {
        layout: visit.layout("Your account")?,
        email: member.email.clone(),
        payment_pending,
        open_checkout: processor.open_checkout,
        billing_portal: processor.has_customer,
        other_plans: plans
            .iter()
            .filter(|p| Some(&p.code) != current_plan.as_ref())
            .map(PlanView::from)
            .collect(),
        subscription,
        access_grant: member
            .grant
            .as_ref()
            .and_then(|grant| access_grant_note(grant, now)),
        sessions: sessions
            .iter()
            .map(|s| SessionView {
                id: s.id,
                device: describe_device(&s.user_agent),
                last_seen: long_date(s.last_seen_at),
                this_device: s.id == member.session_id,
            })
            .collect(),
        newsletter_confirmed: newsletter.confirmed,
        newsletter_on: newsletter.opted_in,
        offer_note: super::offer::applies(&state, member.subscription.as_ref()).await?,
        gifts: gifts
            .iter()
            .map(|gift| gift_bought_view(&state, gift))
            .collect(),
    };
    Ok(render(StatusCode::OK, &page)?)
}

/// The most gifts the account page lists (the data export has them all).
const GIFTS_SHOWN: i64 = 20;

/// A gift the reader gave, as their account page shows it.
fn gift_bought_view(state: &AppState, gift: &GiftSubscription) -> GiftBoughtView {
    let gift_state = match gift.status {
        GiftState::Pending => "Payment being confirmed".to_string(),
        GiftState::Paid => "Paid, waiting to be redeemed".to_string(),
        GiftState::Unpaid => "Payment declined: nothing was charged".to_string(),
        GiftState::Redeemed => match gift.redeemed_at {
            Some(at) => format!("Redeemed on {}", long_date(at)),
            None => "Redeemed".to_string(),
        },
    };
    GiftBoughtView {
        recipient: gift.recipient_email.clone(),
        months: months(gift.months),
        price: price(gift.amount_cents, &gift.currency),
        bought: long_date(gift.created_at),
        state: gift_state,
        link: (gift.status == GiftState::Paid).then(|| {
            format!(
                "{}/gift/{}",
                state.public_url,
                state.gift_subscription_links.token(gift.id)
            )
        }),
    }
}

/// Logs out one of the reader's devices (this one included).
pub async fn log_out_device(
    path: web::Path<String>,
    state: web::Data<AppState>,
    session: ReaderSession,
    CsrfForm(_): CsrfForm<NoFields>,
    member: Member,
) -> Result<HttpResponse, AppError> {
    let id = path
        .parse::<SessionId>()
        .ok()
        .filter(|id| id.get() > 0)
        .ok_or(AppError::NotFound)?;
    if id == member.session_id {
        login::end(&state, &session, Ending::ThisDevice).await?;
        session.set_flash("You are logged out.")?;
        return Ok(see_other("/"));
    }
    let now = state.clock.now();
    let revoked = db::run(&state.pool, "logging out one device", move |conn| {
        db::sessions::revoke(conn, member.user_id, id, now)
    })
    .await?;
    if !revoked {
        return Err(AppError::NotFound);
    }
    session.set_flash("That device is logged out.")?;
    Ok(see_other("/account"))
}

pub async fn log_out_everywhere(
    state: web::Data<AppState>,
    session: ReaderSession,
    CsrfForm(_): CsrfForm<NoFields>,
    _member: Member,
) -> Result<HttpResponse, AppError> {
    login::end(&state, &session, Ending::Everywhere).await?;
    session.set_flash("You are logged out on every device.")?;
    Ok(see_other("/"))
}

/// The cancel button: the retention offer first, once per subscription, when one applies
/// ("Before you go", 200); otherwise cancels, 303 to `/account` with a message.
pub async fn cancel_subscription(
    billing: web::Data<Billing>,
    CsrfForm(_): CsrfForm<NoFields>,
    member: Member,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    let canceled = match billing.cancel_or_retain(member.user_id).await? {
        CancelAsked::Offered(offered) => {
            let page = RetentionPage {
                layout: visit.layout("Before you go")?.unindexed(),
                plan_name: offered.plan.name.clone(),
                deal: deal_words(&offered.offer, &offered.plan, offered.from),
                code: offered.offer.code.clone(),
                from: long_date(offered.from),
            };
            return Ok(render(StatusCode::OK, &page)?);
        }
        CancelAsked::Canceled(canceled) => canceled,
    };
    let message = match canceled {
        Canceled::Until { until } => format!(
            "Your subscription is cancelled. You can keep reading everything until {}.",
            long_date(until)
        ),
        Canceled::PaymentUnderWay => PAYMENT_UNDER_WAY.to_string(),
        Canceled::NothingToCancel => "You have no subscription to cancel.".to_string(),
        Canceled::Ended => {
            "Your subscription is cancelled, and nothing more will be charged.".to_string()
        }
        Canceled::ProcessorUnavailable => "We could not reach the payment processor, so your \
                                           subscription is unchanged. Please try again in a minute."
            .to_string(),
        Canceled::TooManyRequests { retry_after_secs } => format!(
            "You have asked the payment processor many times in the last few minutes, so your \
             subscription is unchanged. Please try again in {}.",
            minutes_of(retry_after_secs)
        ),
    };
    visit.session.set_flash(&message)?;
    Ok(see_other("/account"))
}

const PAYMENT_UNDER_WAY: &str = "A payment for a change to your subscription is being \
                                 confirmed. Please try again in a few minutes.";

#[derive(Deserialize)]
pub struct RetainInput {
    /// The retention offer's code, as the "Before you go" page sent it.
    offer: String,
}

/// "Keep my subscription with this offer": 303 to `/account` with what now applies (or, the
/// payment processor unreachable or the reader's budget of requests to it spent, with why
/// nothing was applied); a page saying why not (409 not an offer made to this subscription,
/// 410 ended or used up), the subscription unchanged.
pub async fn retain(
    billing: web::Data<Billing>,
    CsrfForm(input): CsrfForm<RetainInput>,
    member: Member,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    let refused = |status, heading, message: &str| -> Result<HttpResponse, AppError> {
        let page = RetentionRefusedPage {
            layout: visit.layout(heading)?.unindexed(),
            heading,
            message: message.to_string(),
        };
        Ok(render(status, &page)?)
    };
    let Some(code) = normalise_code(&input.offer) else {
        return refused(StatusCode::CONFLICT, NOT_OFFERED.0, NOT_OFFERED.1);
    };
    let applied = match billing.retain(member.user_id, &code).await? {
        Retained::Applied(applied) => applied,
        Retained::AlreadyApplied(applied) => applied,
        Retained::Refused(RetentionRefused::NotOffered) => {
            return refused(StatusCode::CONFLICT, NOT_OFFERED.0, NOT_OFFERED.1);
        }
        Retained::Refused(RetentionRefused::Ended) => {
            return refused(
                StatusCode::GONE,
                "This offer has ended",
                "It can no longer be taken.",
            );
        }
        Retained::Refused(RetentionRefused::UsedUp) => {
            return refused(
                StatusCode::GONE,
                "This offer has been fully claimed",
                "Everyone it was for has taken it.",
            );
        }
        Retained::Refused(RetentionRefused::PaymentUnderWay) => {
            visit.session.set_flash(PAYMENT_UNDER_WAY)?;
            return Ok(see_other("/account"));
        }
        Retained::Refused(RetentionRefused::ProcessorUnavailable) => {
            visit.session.set_flash(
                "We could not reach the payment processor, so the offer was not applied and \
                 your subscription is unchanged. Please try again in a minute.",
            )?;
            return Ok(see_other("/account"));
        }
        Retained::Refused(RetentionRefused::TooManyRequests { retry_after_secs }) => {
            visit.session.set_flash(&format!(
                "You have asked the payment processor many times in the last few minutes, so \
                 the offer was not applied and your subscription is unchanged. Please try again \
                 in {}.",
                minutes_of(retry_after_secs)
            ))?;
            return Ok(see_other("/account"));
        }
    };
    let words = deal_words(&applied.offer, &applied.plan, applied.from);
    visit.session.set_flash(&format!(
        "Thank you for staying. Your offer starts on {}: {words}.",
        long_date(applied.from)
    ))?;
    Ok(see_other("/account"))
}

/// The heading and words for a retention offer that is not one made to this subscription.
const NOT_OFFERED: (&str, &str) = (
    "This offer is not for your subscription",
    "It is made once, to a subscription that is live, not in a free trial and not already \
     discounted, when its subscriber asks to cancel.",
);

/// The payment processor's billing page (card, invoices, plan, cancellation): whatever the
/// reader does there comes back as the processor's events.
pub async fn billing_portal(
    state: web::Data<AppState>,
    billing: web::Data<Billing>,
    session: ReaderSession,
    CsrfForm(_): CsrfForm<NoFields>,
    member: Member,
) -> Result<HttpResponse, AppError> {
    let back = format!("{}/account", state.public_url);
    let message = match billing.portal(member.user_id, back).await? {
        Portal::At(url) => return Ok(see_other(&url)),
        Portal::NoAccount => "There is no billing account for you at the payment processor yet: \
                              it is made when you first subscribe."
            .to_string(),
        Portal::ProcessorUnavailable => "We could not reach the payment processor. Please try \
                                         again in a minute."
            .to_string(),
        Portal::TooManyRequests { retry_after_secs } => format!(
            "You have opened the billing page many times in the last few minutes. Please try \
             again in {}.",
            minutes_of(retry_after_secs)
        ),
    };
    session.set_flash(&message)?;
    Ok(see_other("/account"))
}
