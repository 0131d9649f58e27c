//! A forgotten password: asking for a reset link (`/password/forgot`) and choosing a new
//! password through it (`/password/reset`). Asking answers the same, with the same work,
//! whether or not the address has an account.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::auth::{LoggingIn, SigningIn};
use super::visit::Visit;
use crate::accounts::{Accounts, Reset};
use crate::auth::client::ClientAddress;
use crate::auth::csrf::CsrfForm;
use crate::domain::email::Email;
use crate::domain::password::Password;
use crate::error::AppError;
use crate::views::{DeadLinkPage, ForgotPasswordPage, ResetPasswordPage, render};

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ForgotForm {
    email: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ResetForm {
    token: String,
    password: String,
}

/// `?token=` of a link from a mail.
#[derive(Deserialize)]
pub struct TokenQuery {
    pub token: Option<String>,
}

pub async fn forgot_form(visit: Visit) -> Result<HttpResponse, AppError> {
    forgot_page(&visit, String::new(), None, None, StatusCode::OK)
}

fn forgot_page(
    visit: &Visit,
    email: String,
    email_error: Option<String>,
    sent_to: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let page = ForgotPasswordPage {
        layout: visit.layout("Forgot your password?")?,
        email,
        email_error,
        sent_to,
    };
    Ok(render(status, &page)?)
}

pub async fn forgot(
    accounts: web::Data<Accounts>,
    address: ClientAddress,
    CsrfForm(input): CsrfForm<ForgotForm>,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    let typed = input.email.trim().to_string();
    let email = match Email::parse(&input.email) {
        Ok(email) => email,
        Err(message) => {
            return forgot_page(
                &visit,
                typed,
                Some(message.to_string()),
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    accounts.ask_for_reset(&email, &address.limit_key()).await?;
    forgot_page(
        &visit,
        email.to_string(),
        None,
        Some(email.to_string()),
        StatusCode::OK,
    )
}

/// The page for a reset link that no longer works: used, expired or never made.
pub fn dead_reset_link(visit: &Visit) -> Result<HttpResponse, AppError> {
    let page = DeadLinkPage {
        layout: visit.layout("This link no longer works")?,
        heading: "This link no longer works",
        message: "A link to choose a new password works once, for 30 minutes, and none \
                  works any more once the password was changed or every device was logged \
                  out. Ask for a new one: it takes a minute.",
        again_href: "/password/forgot",
        again_label: "Send me a new link",
    };
    Ok(render(StatusCode::GONE, &page)?)
}

fn reset_page(
    visit: &Visit,
    token: String,
    email: String,
    password_error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let page = ResetPasswordPage {
        layout: visit.layout("Choose a new password")?,
        token,
        email,
        password_error,
    };
    Ok(render(status, &page)?)
}

pub async fn reset_form(
    query: web::Query<TokenQuery>,
    accounts: web::Data<Accounts>,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    let token = query.into_inner().token.unwrap_or_default();
    match accounts.reset_link(&token).await? {
        Some(email) => reset_page(&visit, token, email, None, StatusCode::OK),
        None => dead_reset_link(&visit),
    }
}

pub async fn reset(
    signing_in: SigningIn,
    accounts: web::Data<Accounts>,
    CsrfForm(input): CsrfForm<ResetForm>,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    match accounts
        .reset_password(&input.token, Password::new(input.password))
        .await?
    {
        Reset::Done {
            user_id,
            email,
            generation,
        } => {
            let welcome = "Your new password is set, and you are logged in. Every other device \
                           was logged out.";
            let account = LoggingIn {
                user_id,
                normalised_email: &email,
                generation,
            };
            signing_in
                .logged_in(&visit.session, account, welcome, None)
                .await
        }
        Reset::LinkDead => dead_reset_link(&visit),
        Reset::Refused(message) => {
            let email = accounts.reset_link(&input.token).await?.unwrap_or_default();
            reset_page(
                &visit,
                input.token,
                email,
                Some(message),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
    }
}
