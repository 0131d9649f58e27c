//! An offer's page, `/offer/<code>`, and taking the offer. The page shows the deal; a visitor
//! is sent to sign up or log in and back; a logged-in reader takes it with a POST (CSRF). A
//! code that is unknown (404), ended or used up (410) is a page saying so, never a checkout.
//! The workflow (locks, the redemption count, the charge) is `billing`'s.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::auth::see_other;
use super::subscribe::{Answer, answer};
use super::visit::Visit;
use crate::auth::csrf::CsrfForm;
use crate::billing::{Billing, OfferRefused, PaymentsMode, Redeemed, Subscriber};
use crate::db;
use crate::domain::offer::{Availability, Deal, Offer, normalise_code};
use crate::error::AppError;
use crate::models::{Plan, SubscriptionRow};
use crate::state::AppState;
use crate::views::{
    OfferGonePage, OfferPage, OfferPageState, applies_words, deal_words, encode_next, long_date,
    price, render,
};

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RedeemInput {
    /// Test gateway: start a trial without a payment method.
    without_card: Option<String>,
}

/// The offer, its plan and whether the reader (if any) has redeemed it.
async fn find(
    state: &AppState,
    code: String,
    visit: &Visit,
) -> Result<Option<(Offer, Plan, bool)>, AppError> {
    let user_id = visit.member().map(|m| m.user_id);
    let found = db::run(&state.pool, "finding an offer", move |conn| {
        let Some(offer) = db::offers::find(conn, &code)?.and_then(|row| row.offer()) else {
            return Ok(None);
        };
        let Some(plan) = db::plans::find(conn, &offer.plan_code)? else {
            return Ok(None);
        };
        let redeemed = match user_id {
            Some(user_id) => db::offers::redeemed_by(conn, &offer.code, user_id)?,
            None => false,
        };
        Ok(Some((offer, plan, redeemed)))
    })
    .await?;
    Ok(found)
}

pub async fn show(
    path: web::Path<String>,
    state: web::Data<AppState>,
    billing: web::Data<Billing>,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    let Some(code) = normalise_code(&path) else {
        return gone(&visit, OfferRefused::Unknown);
    };
    let Some((offer, plan, redeemed)) = find(&state, code, &visit).await? else {
        return gone(&visit, OfferRefused::Unknown);
    };
    match offer.availability(state.clock.now()) {
        Availability::Ended => gone(&visit, OfferRefused::Ended),
        Availability::UsedUp => gone(&visit, OfferRefused::UsedUp),
        Availability::Open => page(&state, &billing, &visit, &offer, &plan, redeemed, None),
    }
}

fn page(
    state: &AppState,
    billing: &Billing,
    visit: &Visit,
    offer: &Offer,
    plan: &Plan,
    redeemed: bool,
    error: Option<(StatusCode, String)>,
) -> Result<HttpResponse, AppError> {
    let now = state.clock.now();
    let subscribed = visit
        .member()
        .and_then(|m| m.subscription.as_ref())
        .is_some_and(|row| row.standing(now).grants_access());
    let (status, error) = match error {
        Some((status, message)) => (status, Some(message)),
        None => (StatusCode::OK, None),
    };
    let page = OfferPage {
        layout: visit.layout(format!("An offer on the {} plan", plan.name))?,
        code: offer.code.clone(),
        plan_name: plan.name.clone(),
        deal: deal_words(offer, plan, now),
        trial: matches!(offer.deal, Deal::Trial { .. }),
        ends: offer
            .ends_at
            .map(|end| long_date(end - time::Duration::SECOND)),
        logged_in: visit.member().is_some(),
        state: if redeemed {
            OfferPageState::Redeemed
        } else if subscribed {
            OfferPageState::Subscribed
        } else {
            OfferPageState::Open
        },
        test_gateway: billing.mode() == PaymentsMode::TestGateway,
        error,
    };
    Ok(render(status, &page)?)
}

/// The page for an offer that cannot be taken, with its status.
fn gone(visit: &Visit, why: OfferRefused) -> Result<HttpResponse, AppError> {
    let (status, heading, message) = match why {
        OfferRefused::Unknown => (
            StatusCode::NOT_FOUND,
            "No offer has this code",
            "Check the link or the code you were given.",
        ),
        OfferRefused::Ended => (
            StatusCode::GONE,
            "This offer has ended",
            "It can no longer be taken.",
        ),
        OfferRefused::UsedUp => (
            StatusCode::GONE,
            "This offer has been fully claimed",
            "Everyone it was for has taken it.",
        ),
        OfferRefused::PaymentsDisabled => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Payments are not set up",
            "This site cannot take subscriptions yet.",
        ),
        OfferRefused::NotWithThisProcessor => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Offers cannot be taken here yet",
            "This site's payment processor does not take this offer yet.",
        ),
        OfferRefused::AlreadyRedeemed | OfferRefused::AlreadySubscribed => (
            StatusCode::CONFLICT,
            "This offer is not for you",
            "You already have a subscription, or have taken this offer before.",
        ),
    };
    let page = OfferGonePage {
        layout: visit.layout(heading)?,
        heading,
        message: message.to_string(),
    };
    Ok(render(status, &page)?)
}

pub async fn redeem(
    path: web::Path<String>,
    state: web::Data<AppState>,
    billing: web::Data<Billing>,
    CsrfForm(input): CsrfForm<RedeemInput>,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    let Some(code) = normalise_code(&path) else {
        return gone(&visit, OfferRefused::Unknown);
    };
    let Some(member) = visit.member().cloned() else {
        let back = encode_next(&format!("/offer/{code}"));
        return Ok(see_other(&format!("/login?next={back}")));
    };
    let Some((offer, plan, redeemed)) = find(&state, code.clone(), &visit).await? else {
        return gone(&visit, OfferRefused::Unknown);
    };
    let reader = Subscriber {
        user_id: member.user_id,
        email: &member.email,
        site: &state.public_url,
        next: "",
    };
    let without_card = input.without_card.is_some_and(|value| !value.is_empty());
    let redeemed_now = billing.redeem(&reader, &code, without_card).await?;
    let flash = |message: String| -> Result<HttpResponse, AppError> {
        visit.session.set_flash(&message)?;
        Ok(see_other("/account"))
    };
    match redeemed_now {
        Redeemed::TrialStarted { until, card } => {
            let then = if card {
                format!(
                    "Then {} is charged unless you cancel before.",
                    price(plan.price_cents, &plan.currency)
                )
            } else {
                "You started it without a payment method, so your access ends then.".to_string()
            };
            flash(format!(
                "Your free trial has started: you read everything until {}. {then}",
                long_date(until)
            ))
        }
        Redeemed::Charged(reply) => match answer(reply, &plan) {
            Answer::Flash(message) => flash(message),
            Answer::GoTo(url) => Ok(see_other(&url)),
            Answer::Refuse(status, message) => page(
                &state,
                &billing,
                &visit,
                &offer,
                &plan,
                redeemed,
                Some((status, message)),
            ),
            Answer::Wait {
                retry_after_secs,
                message,
            } => {
                let mut page = page(
                    &state,
                    &billing,
                    &visit,
                    &offer,
                    &plan,
                    redeemed,
                    Some((StatusCode::TOO_MANY_REQUESTS, message)),
                )?;
                page.headers_mut().insert(
                    header::RETRY_AFTER,
                    header::HeaderValue::from(retry_after_secs),
                );
                Ok(page)
            }
        },
        Redeemed::Refused(OfferRefused::AlreadyRedeemed) => {
            flash("You have already taken this offer.".to_string())
        }
        Redeemed::Refused(OfferRefused::AlreadySubscribed) => flash(
            "You already have a subscription, so the offer was not applied and nothing was charged."
                .to_string(),
        ),
        Redeemed::Refused(why) => gone(&visit, why),
    }
}

/// What applies to the reader's subscription because of the offer it began with (for the
/// plans and account pages); `None` when nothing does.
pub(super) async fn applies(
    state: &AppState,
    row: Option<&SubscriptionRow>,
) -> Result<Option<String>, AppError> {
    let Some(row) = row.filter(|row| row.offer.offer_code.is_some()).cloned() else {
        return Ok(None);
    };
    let now = state.clock.now();
    let found = db::run(&state.pool, "finding a subscription's offer", move |conn| {
        let code = row.offer.offer_code.clone().unwrap_or_default();
        let offer = db::offers::find(conn, &code)?.and_then(|o| o.offer());
        let plan = db::plans::find(conn, &row.plan_code)?;
        Ok(offer
            .zip(plan)
            .and_then(|(offer, plan)| applies_words(&row, &offer, &plan, now)))
    })
    .await?;
    Ok(found)
}
