//! The desk's page of complimentary access, `/editor/comps`: admins give a reader the whole
//! publication until a date, move the date, or remove it.
//!
//! Rules: every handler takes [`Admin`] (403 for editors and readers, a log-in for visitors);
//! forms are read through `CsrfForm` first. What is refused (no such account, a date before
//! today, an unreadable one) comes back as the page with the message and what was typed
//! (422), nothing changed. The work itself is `billing::grants`, under the reader's lock.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::auth::see_other;
use super::visit::Visit;
use crate::auth::csrf::CsrfForm;
use crate::auth::current_reader::Admin;
use crate::billing::grants;
use crate::db;
use crate::domain::email;
use crate::error::AppError;
use crate::state::AppState;
use crate::views::{CompView, CompsPage, long_date, render};

/// Running comps the page lists.
const COMPS_MOST: i64 = 500;

pub async fn page(
    state: web::Data<AppState>,
    _admin: Admin,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    comps_page(&state, &visit, CompInput::default(), None, StatusCode::OK).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CompInput {
    email: String,
    until: String,
}

pub async fn give(
    state: web::Data<AppState>,
    CsrfForm(input): CsrfForm<CompInput>,
    Admin(admin): Admin,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    let address = email::normalise(&input.email);
    let (lookup, until) = (address.clone(), input.until.clone());
    let now = state.clock.now();
    let by = admin.user_id;
    let given = db::run(&state.pool, "giving complimentary access", move |conn| {
        grants::give(conn, &lookup, &until, Some(by), now)
    })
    .await?;
    match given {
        Ok(comped) => {
            let until = comped.until.with_time(time::Time::MIDNIGHT).assume_utc();
            visit.session.set_flash(&format!(
                "{address} has complimentary access until {}.",
                long_date(until)
            ))?;
            Ok(see_other("/editor/comps"))
        }
        Err(refused) => {
            let message = capitalised(refused.message());
            comps_page(
                &state,
                &visit,
                input,
                Some(message),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

pub async fn remove(
    state: web::Data<AppState>,
    CsrfForm(input): CsrfForm<CompInput>,
    _admin: Admin,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    let address = email::normalise(&input.email);
    let lookup = address.clone();
    let now = state.clock.now();
    let removed = db::run(&state.pool, "removing complimentary access", move |conn| {
        grants::remove(conn, &lookup, now)
    })
    .await?;
    let message = match removed {
        Ok(true) => format!("{address} no longer has complimentary access."),
        Ok(false) => format!("{address} had no complimentary access running."),
        Err(refused) => capitalised(refused.message()),
    };
    visit.session.set_flash(&message)?;
    Ok(see_other("/editor/comps"))
}

fn capitalised(message: &str) -> String {
    let mut chars = message.chars();
    chars.next().map_or_else(String::new, |first| {
        format!("{}{}.", first.to_uppercase(), chars.as_str())
    })
}

async fn comps_page(
    state: &AppState,
    visit: &Visit,
    input: CompInput,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let now = state.clock.now();
    let comps = db::run(&state.pool, "listing complimentary access", move |conn| {
        db::grants::comps_running(conn, now, COMPS_MOST)
    })
    .await?;
    let page = CompsPage {
        layout: visit.layout("Complimentary access")?.unindexed(),
        comps: comps
            .into_iter()
            .map(|(email, grant)| CompView::new(email, grant.ends_at))
            .collect(),
        email: input.email.trim().to_string(),
        until: input.until.trim().to_string(),
        error,
        today: now.date().to_string(),
    };
    Ok(render(status, &page)?)
}
