//! An offer's page, `/offer/<code>`, and taking the offer. The page shows the deal; a visitor
//! is sent to sign up or log in and back; a logged-in reader takes it with a POST (CSRF). A
//! code that is unknown (404), ended or used up (410) is a page saying so, never a checkout.
//! The workflow (locks, the redemption count, the charge) is `billing`'s. The desk's offers
//! page (`/editor/offers`, admins only) lists offers and creates them.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::auth::see_other;
use super::subscribe::{Answer, answer};
use super::visit::Visit;
use crate::auth::csrf::CsrfForm;
use crate::auth::current_reader::Admin;
use crate::billing::{
    Billing, OfferError, OfferRefused, OfferTerms, PaymentsMode, Redeemed, Subscriber, create_offer,
};
use crate::db;
use crate::domain::offer::{Availability, Deal, Lasting, Off, Offer, normalise_code};
use crate::error::AppError;
use crate::models::{Plan, SubscriptionRow};
use crate::state::AppState;
use crate::views::{
    OfferFormView, OfferGonePage, OfferPage, OfferPageState, OfferRowView, OffersDeskPage,
    PlanView, applies_words, deal_words, encode_next, long_date, price, render,
};

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RedeemInput {
    /// Test gateway: start a trial without a payment method.
    without_card: Option<String>,
}

/// The offer, its plan, whether the reader (if any) has redeemed it, and whether that
/// redemption is held by their checkout still open at the processor (its button goes back
/// there, even once the offer is used up).
async fn find(
    state: &AppState,
    code: String,
    visit: &Visit,
) -> Result<Option<(Offer, Plan, bool, bool)>, AppError> {
    let user_id = visit.member().map(|m| m.user_id);
    let found = db::run(&state.pool, "finding an offer", move |conn| {
        // A retention offer has no page: it is made only to a subscriber about to cancel.
        let Some(offer) = db::offers::find(conn, &code)?
            .and_then(|row| row.offer())
            .filter(|offer| !offer.retention)
        else {
            return Ok(None);
        };
        let Some(plan) = db::plans::find(conn, &offer.plan_code)? else {
            return Ok(None);
        };
        let (redeemed, holding) = match user_id {
            Some(user_id) => (
                db::offers::redeemed_by(conn, &offer.code, user_id)?,
                db::hosted_checkouts::find(conn, user_id)?
                    .is_some_and(|c| c.offer_code.as_deref() == Some(offer.code.as_str())),
            ),
            None => (false, false),
        };
        Ok(Some((offer, plan, redeemed && !holding, holding)))
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
    let Some((offer, plan, redeemed, holding)) = find(&state, code, &visit).await? else {
        return gone(&visit, OfferRefused::Unknown);
    };
    if holding {
        return page(&state, &billing, &visit, &offer, &plan, false, None);
    }
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
    let Some((offer, plan, redeemed, _)) = find(&state, code.clone(), &visit).await? else {
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

/// The desk's offers page (admins).
pub async fn desk(
    state: web::Data<AppState>,
    _admin: Admin,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    desk_page(
        &state,
        &visit,
        OfferFormView::default(),
        None,
        StatusCode::OK,
    )
    .await
}

/// Creates an offer from the desk's form (admins): 303 back to the list, or the form again
/// (422) with what is wrong.
pub async fn create(
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<OfferFormView>,
    Admin(admin): Admin,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    let terms = match terms_of(&form) {
        Ok(terms) => terms,
        Err(message) => {
            return desk_page(
                &state,
                &visit,
                form,
                Some(message),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let now = state.clock.now();
    let created = db::run(
        &state.pool,
        "creating an offer",
        move |conn| match create_offer(conn, &terms, now) {
            Err(OfferError::Db(error)) => Err(error),
            other => Ok(other),
        },
    )
    .await?;
    match created {
        Ok(code) => {
            tracing::info!(offer = %code, by = admin.user_id.get(), "offer created");
            visit
                .session
                .set_flash(&format!("The offer {code} is ready at /offer/{code}."))?;
            Ok(see_other("/editor/offers"))
        }
        Err(error) => {
            desk_page(
                &state,
                &visit,
                form,
                Some(format!("The offer was not created: {error}.")),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

/// The terms the desk's form asks for, or what is wrong with it.
fn terms_of(form: &OfferFormView) -> Result<OfferTerms, String> {
    let number = |raw: &str, what: &str| {
        raw.trim()
            .parse::<i32>()
            .map_err(|_| format!("The {what} must be a whole number."))
    };
    let deal = match form.kind.as_str() {
        "trial" => Deal::Trial {
            days: number(&form.value, "number of days")?,
        },
        kind @ ("percent" | "amount") => {
            let value = number(&form.value, "value")?;
            let duration = form.duration.trim();
            let lasting = if duration.is_empty() {
                Lasting::Once
            } else {
                Lasting::parse(duration)
                    .ok_or("How long a discount lasts is once, forever or months:N (1 to 36).")?
            };
            let off = if kind == "percent" {
                Off::Percent(value)
            } else {
                Off::Amount(value)
            };
            Deal::Discount { off, lasting }
        }
        _ => return Err("Choose a percentage, an amount or a free trial.".to_string()),
    };
    let last_day = match form.ends.trim() {
        "" => None,
        raw => Some(
            time::Date::parse(
                raw,
                time::macros::format_description!("[year]-[month]-[day]"),
            )
            .map_err(|_| "The last day must be a date like 2027-03-31.".to_string())?,
        ),
    };
    let limit = match form.limit.trim() {
        "" => None,
        raw => Some(number(raw, "limit")?),
    };
    Ok(OfferTerms {
        code: form.code.clone(),
        plan_code: form.plan.trim().to_string(),
        deal,
        last_day,
        limit,
        retention: form.retention.is_some(),
    })
}

async fn desk_page(
    state: &AppState,
    visit: &Visit,
    form: OfferFormView,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let (offers, plans) = db::run(&state.pool, "listing the offers", |conn| {
        Ok((db::offers::list(conn)?, db::plans::list(conn)?))
    })
    .await?;
    let now = state.clock.now();
    let rows = offers
        .iter()
        .filter_map(|row| {
            let offer = row.offer()?;
            let plan = plans.iter().find(|plan| plan.code == offer.plan_code)?;
            Some(OfferRowView {
                code: offer.code.clone(),
                plan: plan.name.clone(),
                deal: deal_words(&offer, plan, now),
                ends: offer
                    .ends_at
                    .map(|end| long_date(end - time::Duration::SECOND)),
                redeemed: match offer.limit {
                    Some(limit) => format!("{} of {limit}", offer.redeemed),
                    None => offer.redeemed.to_string(),
                },
                retention: offer.retention,
            })
        })
        .collect();
    let page = OffersDeskPage {
        layout: visit.layout("Offers")?.unindexed(),
        offers: rows,
        plans: plans.iter().map(PlanView::from).collect(),
        form,
        error,
    };
    Ok(render(status, &page)?)
}
