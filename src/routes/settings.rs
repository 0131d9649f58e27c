//! The account's own settings: changing the password and the e-mail address (with the link
//! that confirms a new address), deleting the account, and downloading everything kept about
//! the reader. Every form asks for the password; every page but the confirmation link is for
//! members.

use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::TokenForm;
use super::auth::{LoggingIn, SigningIn, see_other};
use super::password::TokenQuery;
use super::visit::Visit;
use crate::accounts::{Accounts, Closing, EmailChange, EmailConfirmation, PasswordChange};
use crate::auth::client::ClientAddress;
use crate::auth::csrf::CsrfForm;
use crate::auth::current_reader::Member;
use crate::auth::login::keep_account_meter;
use crate::domain::account::DELETION_PHRASE;
use crate::domain::email::Email;
use crate::domain::meter::Month;
use crate::domain::password::{Password, length_problem};
use crate::error::AppError;
use crate::state::AppState;
use crate::views::{
    ChangeEmailPage, ChangePasswordPage, ConfirmEmailPage, DeadLinkPage, DeleteAccountPage, render,
};

const WRONG_PASSWORD: &str = "That is not your password.";
const NO_PASSWORD: &str = "Enter your password.";

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PasswordForm {
    current_password: String,
    new_password: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct EmailForm {
    new_email: String,
    password: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DeleteForm {
    confirmation: String,
    password: String,
}

fn password_page(
    visit: &Visit,
    member: &Member,
    current_error: Option<String>,
    new_error: Option<String>,
) -> Result<HttpResponse, AppError> {
    let status = if current_error.is_some() || new_error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = ChangePasswordPage {
        layout: visit.layout("Change your password")?,
        email: member.email.clone(),
        current_error,
        new_error,
    };
    Ok(render(status, &page)?)
}

pub async fn password_form(member: Member, visit: Visit) -> Result<HttpResponse, AppError> {
    password_page(&visit, &member, None, None)
}

pub async fn change_password(
    signing_in: SigningIn,
    accounts: web::Data<Accounts>,
    CsrfForm(input): CsrfForm<PasswordForm>,
    member: Member,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    let current = Password::new(input.current_password);
    let new = Password::new(input.new_password);
    // What can be told without the password is told together.
    let current_error = current.expose().is_empty().then(|| NO_PASSWORD.to_string());
    let new_error = length_problem(&new);
    if current_error.is_some() || new_error.is_some() {
        return password_page(&visit, &member, current_error, new_error);
    }
    let changed = accounts
        .change_password(
            &visit.session,
            &member,
            current,
            new,
            &signing_in.user_agent(),
            &signing_in.address().limit_key(),
        )
        .await?;
    match changed {
        PasswordChange::Done { generation } => {
            visit.session.set_flash(
                "Your password is changed. Every other device was logged out, and we sent a \
                 notice to your address.",
            )?;
            // Device cookies issued before the change no longer count; this browser's does.
            let mut response = see_other("/account");
            let account = LoggingIn {
                user_id: member.user_id,
                normalised_email: &member.email,
                generation,
            };
            signing_in.trust_this_device(&mut response, account)?;
            Ok(response)
        }
        PasswordChange::WrongPassword => {
            password_page(&visit, &member, Some(WRONG_PASSWORD.to_string()), None)
        }
        PasswordChange::Refused(message) => password_page(&visit, &member, None, Some(message)),
    }
}

fn email_page(
    visit: &Visit,
    member: &Member,
    new_email: String,
    email_error: Option<String>,
    password_error: Option<String>,
) -> Result<HttpResponse, AppError> {
    let status = if email_error.is_some() || password_error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = ChangeEmailPage {
        layout: visit.layout("Change your e-mail address")?,
        email: member.email.clone(),
        new_email,
        email_error,
        password_error,
    };
    Ok(render(status, &page)?)
}

pub async fn email_form(member: Member, visit: Visit) -> Result<HttpResponse, AppError> {
    email_page(&visit, &member, String::new(), None, None)
}

pub async fn change_email(
    accounts: web::Data<Accounts>,
    address: ClientAddress,
    CsrfForm(input): CsrfForm<EmailForm>,
    member: Member,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    let typed = input.new_email.trim().to_string();
    let password = Password::new(input.password);
    let email = Email::parse(&input.new_email);
    let password_error = password
        .expose()
        .is_empty()
        .then(|| NO_PASSWORD.to_string());
    let email = match email {
        Ok(email) if password_error.is_none() => email,
        other => {
            let email_error = other.err().map(str::to_string);
            return email_page(&visit, &member, typed, email_error, password_error);
        }
    };
    match accounts
        .ask_for_email_change(&member, password, &email, &address.limit_key())
        .await?
    {
        EmailChange::Asked => {
            visit.session.set_flash(&format!(
                "We sent a link to {email}. Your address changes when you open it."
            ))?;
            Ok(see_other("/account"))
        }
        EmailChange::Unchanged => email_page(
            &visit,
            &member,
            typed,
            Some("That is your address already.".to_string()),
            None,
        ),
        EmailChange::WrongPassword => email_page(
            &visit,
            &member,
            typed,
            None,
            Some(WRONG_PASSWORD.to_string()),
        ),
    }
}

fn dead_email_link(visit: &Visit, status: StatusCode) -> Result<HttpResponse, AppError> {
    let (heading, message) = if status == StatusCode::CONFLICT {
        (
            "That address has an account now",
            "Another account started using this address after you asked for it, so your \
             account keeps its address. You can choose another one.",
        )
    } else {
        (
            "This link no longer works",
            "A link to confirm a new address works once, for 24 hours, and not after the \
             address was changed another way, the password was changed, or every device was \
             logged out. Ask for a new one from your account.",
        )
    };
    let page = DeadLinkPage {
        layout: visit.layout(heading)?,
        heading,
        message,
        again_href: "/account/email",
        again_label: "Change your e-mail address",
    };
    Ok(render(status, &page)?)
}

/// The page a confirmation link opens: a button, so that mail scanners opening links do not
/// use it up.
pub async fn confirm_email_form(
    query: web::Query<TokenQuery>,
    accounts: web::Data<Accounts>,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    let token = query.into_inner().token.unwrap_or_default();
    let Some((old_email, new_email)) = accounts.email_link(&token).await? else {
        return dead_email_link(&visit, StatusCode::GONE);
    };
    let page = ConfirmEmailPage {
        layout: visit.layout("Confirm your new e-mail address")?,
        token,
        old_email,
        new_email,
    };
    Ok(render(StatusCode::OK, &page)?)
}

pub async fn confirm_email(
    accounts: web::Data<Accounts>,
    CsrfForm(input): CsrfForm<TokenForm>,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    match accounts.confirm_email(&input.token).await? {
        EmailConfirmation::Changed { new_email } => {
            visit.session.set_flash(&format!(
                "Your e-mail address is now {new_email}. Log in with it from now on."
            ))?;
            Ok(see_other("/account"))
        }
        EmailConfirmation::Taken => dead_email_link(&visit, StatusCode::CONFLICT),
        EmailConfirmation::LinkDead => dead_email_link(&visit, StatusCode::GONE),
    }
}

struct DeleteProblems {
    error: Option<String>,
    confirmation: Option<String>,
    password: Option<String>,
}

fn delete_page(
    visit: &Visit,
    member: &Member,
    problems: DeleteProblems,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let page = DeleteAccountPage {
        layout: visit.layout("Delete your account")?,
        email: member.email.clone(),
        subscribed: visit.reader.subscribed,
        phrase: DELETION_PHRASE,
        error: problems.error,
        confirmation_error: problems.confirmation,
        password_error: problems.password,
    };
    Ok(render(status, &page)?)
}

pub async fn delete_form(member: Member, visit: Visit) -> Result<HttpResponse, AppError> {
    let none = DeleteProblems {
        error: None,
        confirmation: None,
        password: None,
    };
    delete_page(&visit, &member, none, StatusCode::OK)
}

pub async fn delete_account(
    state: web::Data<AppState>,
    accounts: web::Data<Accounts>,
    CsrfForm(input): CsrfForm<DeleteForm>,
    member: Member,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    let password = Password::new(input.password);
    let no_password = password.expose().is_empty();
    let refuse = |problems, status| delete_page(&visit, &member, problems, status);
    let closing = if no_password {
        Closing::WrongPassword
    } else {
        accounts
            .delete_account(&member, password, &input.confirmation)
            .await?
    };
    let not_confirmed = || format!("Type “{DELETION_PHRASE}” to confirm.");
    match closing {
        Closing::Deleted { opened_this_month } => {
            let month = Month::of(state.clock.now());
            keep_account_meter(&visit.session, month, opened_this_month)?;
            visit.session.forget_login()?;
            visit.session.set_flash(
                "Your account is deleted, and you are logged out. Thank you for reading Gazette.",
            )?;
            Ok(see_other("/"))
        }
        Closing::NotConfirmed => refuse(
            DeleteProblems {
                error: None,
                confirmation: Some(not_confirmed()),
                password: None,
            },
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Closing::WrongPassword => refuse(
            DeleteProblems {
                error: None,
                confirmation: (!crate::domain::account::confirms_deletion(&input.confirmation))
                    .then(not_confirmed),
                password: Some(
                    if no_password {
                        NO_PASSWORD
                    } else {
                        WRONG_PASSWORD
                    }
                    .to_string(),
                ),
            },
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Closing::PaymentUnderWay => refuse(
            DeleteProblems {
                error: Some(
                    "A payment for your subscription is being confirmed with the payment \
                     processor. Please try again in a few minutes, once it is settled."
                        .to_string(),
                ),
                confirmation: None,
                password: None,
            },
            StatusCode::CONFLICT,
        ),
    }
}

/// Everything kept about the reader, as a JSON file to download.
pub async fn export(
    accounts: web::Data<Accounts>,
    member: Member,
) -> Result<HttpResponse, AppError> {
    let export = accounts.export(member.user_id).await?;
    let body = serde_json::to_string_pretty(&export)
        .map_err(|e| AppError::internal("writing the data export", e))?;
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "application/json; charset=utf-8"))
        .insert_header((
            CONTENT_DISPOSITION,
            "attachment; filename=\"gazette-data.json\"",
        ))
        .body(body))
}
