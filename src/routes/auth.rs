//! Sign up, log in, log out.

use actix_web::http::StatusCode;
use actix_web::http::header::LOCATION;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::{NextQuery, user_agent};
use crate::auth::account_key;
use crate::auth::attempts::{self, LoginAttempt};
use crate::auth::csrf::CsrfForm;
use crate::auth::current_reader::Reader;
use crate::auth::login::{self, Scope};
use crate::auth::password::Verdict;
use crate::auth::session::ReaderSession;
use crate::db;
use crate::domain::email::{self, Email};
use crate::domain::password::{MAX_CHARS, Password, length_problem};
use crate::domain::redirect::{local_or_empty, safe_next};
use crate::domain::throttle;
use crate::error::AppError;
use crate::models::NewUser;
use crate::startup::AppState;
use crate::views::{CredentialsForm, Layout, LoginPage, SignupPage, render};

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Credentials {
    email: String,
    password: String,
    next: Option<String>,
}

/// For forms whose only field is `csrf_token`.
#[derive(Deserialize, Default)]
pub struct NoFields {}

/// The one answer for a wrong e-mail and a wrong password alike.
const LOGIN_FAILED: &str = "That e-mail and password do not match an account.";

pub async fn signup_form(
    query: web::Query<NextQuery>,
    state: web::Data<AppState>,
    session: ReaderSession,
    reader: Reader,
) -> Result<HttpResponse, AppError> {
    let form = CredentialsForm::empty(local_or_empty(query.next.as_deref()));
    signup_page(&state, &session, &reader, form, StatusCode::OK)
}

pub async fn login_form(
    query: web::Query<NextQuery>,
    state: web::Data<AppState>,
    session: ReaderSession,
    reader: Reader,
) -> Result<HttpResponse, AppError> {
    let form = CredentialsForm::empty(local_or_empty(query.next.as_deref()));
    login_page(&state, &session, &reader, form, StatusCode::OK)
}

fn signup_page(
    state: &AppState,
    session: &ReaderSession,
    reader: &Reader,
    form: CredentialsForm,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let layout = Layout::for_reader(
        "Create your account",
        session,
        reader,
        state.free_articles_per_month,
    )?;
    render(status, &SignupPage { layout, form })
}

fn login_page(
    state: &AppState,
    session: &ReaderSession,
    reader: &Reader,
    form: CredentialsForm,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let layout = Layout::for_reader("Log in", session, reader, state.free_articles_per_month)?;
    render(status, &LoginPage { layout, form })
}

pub async fn signup(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: ReaderSession,
    reader: Reader,
    CsrfForm(input): CsrfForm<Credentials>,
) -> Result<HttpResponse, AppError> {
    attempts::count_signup(&state, &state.client_address(&req)).await?;

    let email = Email::parse(&input.email);
    let password = Password::new(input.password);
    let mut form = CredentialsForm {
        email: input.email.trim().to_string(),
        next: local_or_empty(input.next.as_deref()),
        error: None,
        email_error: email.as_ref().err().map(|e| e.to_string()),
        password_error: length_problem(&password),
    };
    let email = match email {
        Ok(email) if form.password_error.is_none() => email,
        _ => {
            return signup_page(
                &state,
                &session,
                &reader,
                form,
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };

    let hash = match state
        .passwords
        .check_and_hash(password, vec![email.to_string()])
        .await?
    {
        Ok(hash) => hash,
        Err(message) => {
            form.password_error = Some(message);
            return signup_page(
                &state,
                &session,
                &reader,
                form,
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    let stored_email = email.to_string();
    let inserted = db::run(&state.pool, move |conn| {
        db::users::insert(
            conn,
            &NewUser {
                email: &stored_email,
                password_hash: &hash,
            },
        )
    })
    .await;
    let user_id = match inserted {
        Err(error) if error.is_unique_violation() => {
            form.email_error =
                Some("There is already an account with this e-mail. Log in instead?".to_string());
            return signup_page(
                &state,
                &session,
                &reader,
                form,
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
        other => other?,
    };
    tracing::info!(user_id, "account created");

    login::start(&state, &session, user_id, &user_agent(&req)).await?;
    session.set_flash("Welcome to Gazette! Your account is ready.")?;
    with_device_cookie(
        &state,
        see_other(&safe_next(input.next.as_deref())),
        &email.to_string(),
    )
}

pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: ReaderSession,
    reader: Reader,
    CsrfForm(input): CsrfForm<Credentials>,
) -> Result<HttpResponse, AppError> {
    // Counted before the password is checked, so parallel guesses cannot slip past the limit.
    let email = email::normalise(&input.email);
    let device = state
        .device_cookies
        .trusted_nonce(&req, &account_key(&email), state.clock.now());
    let attempt = LoginAttempt::new(&email, state.client_address(&req), device);
    let counted = attempts::count_login(&state, &attempt).await?;

    let lookup = email.clone();
    let user = db::run(&state.pool, move |conn| {
        db::users::find_by_email(conn, &lookup)
    })
    .await?;
    let password = Password::new(input.password);
    // Longer than any password we accept: no need to spend a hash on it.
    let verdict = if password.chars() > MAX_CHARS {
        Verdict::Invalid
    } else {
        let stored = user.as_ref().map(|u| u.password_hash.clone());
        state.passwords.verify(password.clone(), stored).await?
    };

    let (user, needs_rehash) = match (verdict, user) {
        (Verdict::Valid { needs_rehash }, Some(user)) => (user, needs_rehash),
        _ => {
            tracing::info!(?counted, "failed login");
            tokio::time::sleep(throttle::delay_after_failure(counted.failures())).await;
            let form = CredentialsForm {
                email: input.email.trim().to_string(),
                next: local_or_empty(input.next.as_deref()),
                error: Some(LOGIN_FAILED.to_string()),
                email_error: None,
                password_error: None,
            };
            return login_page(&state, &session, &reader, form, StatusCode::UNAUTHORIZED);
        }
    };

    attempts::count_success(&state, &attempt, counted).await?;
    if needs_rehash {
        let hash = state.passwords.hash(password).await?;
        let user_id = user.id;
        db::run(&state.pool, move |conn| {
            db::users::update_password_hash(conn, user_id, &hash)
        })
        .await?;
        tracing::info!(user_id, "password re-hashed with the current parameters");
    }
    login::start(&state, &session, user.id, &user_agent(&req)).await?;
    tracing::info!(user_id = user.id, "logged in");
    session.set_flash("You are logged in. Welcome back!")?;
    with_device_cookie(&state, see_other(&safe_next(input.next.as_deref())), &email)
}

/// Adds a new device cookie for the account to a response that logs a browser in.
fn with_device_cookie(
    state: &AppState,
    mut response: HttpResponse,
    normalised_email: &str,
) -> Result<HttpResponse, AppError> {
    let cookie = state
        .device_cookies
        .issue(&account_key(normalised_email), state.clock.now())?;
    response
        .add_cookie(&cookie)
        .map_err(|e| AppError::internal("setting the device cookie", e))?;
    Ok(response)
}

pub async fn logout(
    state: web::Data<AppState>,
    session: ReaderSession,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    login::end(&state, &session, Scope::ThisDevice).await?;
    session.set_flash("You are logged out.")?;
    Ok(see_other("/"))
}

pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((LOCATION, location))
        .finish()
}
