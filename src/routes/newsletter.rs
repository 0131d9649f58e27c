//! The newsletter's pages: joining by address (`POST /newsletter`, counted like a password
//! reset), confirming (`/newsletter/confirm`: the link opens a page, only its button
//! confirms), leaving (`/newsletter/unsubscribe`: RFC 8058 one-click, a POST with no cookie
//! and no CSRF token, because the signed token is the authority), the preferences a mailed
//! link opens without a login, and the account page's choice (`POST /account/newsletter`).
//!
//! Rules: the one-click POST reads no session and renders without one, so it sets no cookie;
//! a changed or made-up token is a 400 page that changed nothing; asking to join answers the
//! same page whatever the address is.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::TokenForm;
use super::auth::see_other;
use super::password::TokenQuery;
use super::visit::Visit;
use crate::auth::attempts;
use crate::auth::client::ClientAddress;
use crate::auth::csrf::CsrfForm;
use crate::auth::current_reader::Member;
use crate::domain::email::Email;
use crate::error::AppError;
use crate::newsletter::members::{
    AccountJoin, Choice, ConfirmationLink, Confirmed, Members, Preferences, TokenAction,
};
use crate::state::AppState;
use crate::views::{
    Layout, NewsletterConfirmPage, NewsletterJoinPage, NewsletterMessagePage,
    NewsletterPreferencesPage, NewsletterUnsubscribePage, render,
};

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct JoinForm {
    email: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ChoiceForm {
    token: String,
    choice: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AccountChoiceForm {
    choice: String,
}

const FORGED: (&str, &str) = (
    "This link does not work",
    "The link is incomplete or was changed, so it did nothing. Use the link exactly as it \
     came in the mail.",
);

fn message(
    layout: Layout,
    status: StatusCode,
    (heading, message): (&'static str, &'static str),
) -> Result<HttpResponse, AppError> {
    let page = NewsletterMessagePage {
        layout: layout.unindexed(),
        heading,
        message,
    };
    Ok(render(status, &page)?)
}

/// `POST /newsletter`: the same "check your inbox" page whatever the address.
pub async fn join(
    state: web::Data<AppState>,
    members: web::Data<Members>,
    address: ClientAddress,
    CsrfForm(input): CsrfForm<JoinForm>,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    let email = match Email::parse(&input.email) {
        Ok(email) => email,
        Err(problem) => {
            let page = NewsletterJoinPage {
                layout: visit.layout("The newsletter")?,
                email: input.email.trim().to_string(),
                email_error: Some(problem.to_string()),
                asked: false,
            };
            return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page)?);
        }
    };
    attempts::count_mailed_link(&state, email.as_str(), &address.limit_key()).await?;
    members.ask_to_join(&email).await?;
    let page = NewsletterJoinPage {
        layout: visit.layout("Check your inbox")?.unindexed(),
        email: email.to_string(),
        email_error: None,
        asked: true,
    };
    Ok(render(StatusCode::OK, &page)?)
}

/// `GET /newsletter/confirm?token=`: a page whose button confirms; opening it changes nothing.
pub async fn confirm_form(
    query: web::Query<TokenQuery>,
    members: web::Data<Members>,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    let token = query.into_inner().token.unwrap_or_default();
    match members.confirmation_link(&token) {
        ConfirmationLink::Confirms { email } => {
            let page = NewsletterConfirmPage {
                layout: visit.layout("Confirm the newsletter")?.unindexed(),
                token,
                email,
            };
            Ok(render(StatusCode::OK, &page)?)
        }
        ConfirmationLink::Dead => dead_confirmation(&visit),
    }
}

fn dead_confirmation(visit: &Visit) -> Result<HttpResponse, AppError> {
    message(
        visit.layout("This link no longer works")?,
        StatusCode::GONE,
        (
            "This link no longer works",
            "A confirmation link works for 7 days, exactly as it came in the mail. Ask again \
             with the form on the front page: it takes a minute.",
        ),
    )
}

/// `POST /newsletter/confirm`: the button of the confirmation page.
pub async fn confirm(
    members: web::Data<Members>,
    CsrfForm(input): CsrfForm<TokenForm>,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    match members.confirm(&input.token).await? {
        Confirmed::Joined => message(
            visit.layout("You are on the newsletter")?,
            StatusCode::OK,
            (
                "You are on the newsletter",
                "Your address is confirmed: new articles will come by e-mail. Each newsletter \
                 has a link to leave at once.",
            ),
        ),
        Confirmed::Nothing => message(
            visit.layout("Nothing to confirm")?,
            StatusCode::OK,
            (
                "Nothing to confirm",
                "This address was confirmed already, or is no longer the one this link was \
                 sent to, so nothing changed. If you left the newsletter and want it back, use \
                 the settings link at the bottom of any newsletter, or ask again with the form \
                 on the front page.",
            ),
        ),
        Confirmed::Dead => dead_confirmation(&visit),
    }
}

/// `GET /newsletter/unsubscribe?token=`: a page whose button leaves; opening it changes nothing.
pub async fn unsubscribe_form(
    query: web::Query<TokenQuery>,
    members: web::Data<Members>,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    let token = query.into_inner().token.unwrap_or_default();
    if !members.names_someone(&token) {
        return message(visit.layout(FORGED.0)?, StatusCode::BAD_REQUEST, FORGED);
    }
    let page = NewsletterUnsubscribePage {
        layout: visit.layout("Leave the newsletter")?.unindexed(),
        token,
    };
    Ok(render(StatusCode::OK, &page)?)
}

/// `POST /newsletter/unsubscribe?token=`: RFC 8058's one-click (a mail provider posts
/// `List-Unsubscribe=One-Click` with no cookie), and the page's own button. The token is the
/// authority; no session is read or written.
pub async fn unsubscribe(
    query: web::Query<TokenQuery>,
    members: web::Data<Members>,
) -> Result<HttpResponse, AppError> {
    let token = query.into_inner().token.unwrap_or_default();
    if !members.unsubscribe(&token).await? {
        return message(Layout::bare(FORGED.0), StatusCode::BAD_REQUEST, FORGED);
    }
    message(
        Layout::bare("You have left the newsletter"),
        StatusCode::OK,
        (
            "You have left the newsletter",
            "No more newsletters will be sent to this address. Changed your mind? The settings \
             link at the bottom of any newsletter takes you back.",
        ),
    )
}

fn preferences_page(
    visit: &Visit,
    token: String,
    preferences: Preferences,
    notice: Option<&'static str>,
) -> Result<HttpResponse, AppError> {
    let page = NewsletterPreferencesPage {
        layout: visit.layout("Your newsletter settings")?.unindexed(),
        token,
        email: preferences.email,
        confirmed: preferences.confirmed,
        on_list: preferences.on_list,
        address_only: preferences.address_only,
        notice,
    };
    Ok(render(StatusCode::OK, &page)?)
}

fn answer(
    visit: &Visit,
    token: String,
    action: TokenAction,
    done: &'static str,
) -> Result<HttpResponse, AppError> {
    match action {
        TokenAction::Done(Some(preferences)) => {
            preferences_page(visit, token, preferences, Some(done))
        }
        TokenAction::Done(None) => message(
            visit.layout("Address forgotten")?,
            StatusCode::OK,
            (
                "Address forgotten",
                "We deleted this address from the newsletter's list, with what we kept about \
                 it. Nothing more will be sent to it.",
            ),
        ),
        TokenAction::NotConfirmed(preferences) => preferences_page(
            visit,
            token,
            preferences,
            Some(
                "This address is not confirmed yet: ask again with the form on the front page, and use the link we send.",
            ),
        ),
        TokenAction::Gone => message(
            visit.layout("Not on the list")?,
            StatusCode::NOT_FOUND,
            (
                "Not on the list",
                "This address is no longer on the newsletter's list: nothing is sent to it.",
            ),
        ),
        TokenAction::Forged => message(visit.layout(FORGED.0)?, StatusCode::BAD_REQUEST, FORGED),
    }
}

/// `GET /newsletter/preferences?token=`: the member's choice, without a login.
pub async fn preferences(
    query: web::Query<TokenQuery>,
    members: web::Data<Members>,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    let token = query.into_inner().token.unwrap_or_default();
    let action = members.preferences(&token).await?;
    match action {
        TokenAction::Done(Some(preferences)) => preferences_page(&visit, token, preferences, None),
        other => answer(&visit, token, other, ""),
    }
}

/// `POST /newsletter/preferences`: leave, come back, or forget an address-only member.
pub async fn choose(
    members: web::Data<Members>,
    CsrfForm(input): CsrfForm<ChoiceForm>,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    let (choice, done) = match input.choice.as_str() {
        "leave" => (
            Choice::Leave,
            "Done: the newsletter is no longer sent to this address.",
        ),
        "return" => (
            Choice::Return,
            "Done: the newsletter is sent to this address again.",
        ),
        "forget" => (
            Choice::Forget,
            "An account's address is forgotten by deleting the account, from its account page.",
        ),
        _ => {
            return Err(AppError::BadRequest(
                "unknown newsletter choice".to_string(),
            ));
        }
    };
    let action = members.choose(&input.token, choice).await?;
    answer(&visit, input.token, action, done)
}

/// `POST /account/newsletter`: the account page's join or leave.
pub async fn account_choice(
    state: web::Data<AppState>,
    members: web::Data<Members>,
    address: ClientAddress,
    CsrfForm(input): CsrfForm<AccountChoiceForm>,
    member: Member,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    let flash = match input.choice.as_str() {
        "join" => {
            let standing = members.account_standing(member.user_id).await?;
            if !standing.confirmed {
                attempts::count_mailed_link(&state, &member.email, &address.limit_key()).await?;
            }
            match members.join_as_account(member.user_id).await? {
                AccountJoin::Joined => "You are on the newsletter.",
                AccountJoin::MailSent => {
                    "Check your inbox: we sent a link to confirm your address for the newsletter."
                }
            }
        }
        "leave" => {
            members.leave_as_account(member.user_id).await?;
            "You have left the newsletter."
        }
        _ => {
            return Err(AppError::BadRequest(
                "unknown newsletter choice".to_string(),
            ));
        }
    };
    visit.session.set_flash(flash)?;
    Ok(see_other("/account"))
}
