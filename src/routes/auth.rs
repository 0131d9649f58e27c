//! Sign up, log in, log out.

use actix_web::http::StatusCode;
use actix_web::http::header::LOCATION;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::{NextQuery, user_agent};
use crate::auth::csrf::CsrfForm;
use crate::auth::current_reader::Reader;
use crate::auth::login::{self, Scope};
use crate::auth::password::Verdict;
use crate::auth::session::ReaderSession;
use crate::db;
use crate::db::throttle::Scope as Counter;
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

/// Counts an attempt in each of `counters` and refuses it when any is over its limit.
async fn count_attempt(
    state: &AppState,
    counters: Vec<(Counter, String, i32)>,
) -> Result<Vec<i32>, AppError> {
    let now = state.clock.now();
    let window_opened_after = now - throttle::WINDOW;
    let counted = db::run(&state.pool, move |conn| {
        counters
            .iter()
            .map(|(counter, key, limit)| {
                let (attempts, since) =
                    db::throttle::count_attempt(conn, *counter, key, now, window_opened_after)?;
                Ok((
                    attempts,
                    throttle::retry_after(attempts, since, *limit, now),
                ))
            })
            .collect::<Result<Vec<_>, _>>()
    })
    .await?;
    if let Some(retry_after_secs) = counted.iter().filter_map(|(_, wait)| *wait).max() {
        return Err(AppError::TooManyRequests { retry_after_secs });
    }
    Ok(counted.into_iter().map(|(attempts, _)| attempts).collect())
}

pub async fn signup(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: ReaderSession,
    reader: Reader,
    CsrfForm(input): CsrfForm<Credentials>,
) -> Result<HttpResponse, AppError> {
    // Every attempt counts: sign-up answers whether an e-mail has an account, and spends a hash.
    let address = state.client_address(&req);
    count_attempt(
        &state,
        vec![(Counter::Signup, address, throttle::SIGNUP_LIMIT)],
    )
    .await?;

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
    Ok(see_other(&safe_next(input.next.as_deref())))
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
    let address = state.client_address(&req);
    let account_key = hex_sha256(&email);
    let pair_key = hex_sha256(&format!("{email}\n{address}"));
    let attempts = count_attempt(
        &state,
        vec![
            (
                Counter::AccountAddress,
                pair_key.clone(),
                throttle::ACCOUNT_ADDRESS_LIMIT,
            ),
            (
                Counter::Account,
                account_key.clone(),
                throttle::ACCOUNT_LIMIT,
            ),
            (Counter::Address, address.clone(), throttle::ADDRESS_LIMIT),
        ],
    )
    .await?;
    let failures_so_far = attempts.first().copied().unwrap_or(1);

    let lookup = email::normalise(&input.email);
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
            tracing::info!(failures = failures_so_far, "failed login");
            tokio::time::sleep(throttle::delay_after_failure(failures_so_far)).await;
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

    if needs_rehash {
        let hash = state.passwords.hash(password).await?;
        let user_id = user.id;
        db::run(&state.pool, move |conn| {
            db::users::update_password_hash(conn, user_id, &hash)
        })
        .await?;
        tracing::info!(user_id, "password re-hashed with the current parameters");
    }
    // A success is not a failure: this address's guesses at the account are forgotten, and
    // this attempt no longer counts against the account or the address.
    db::run(&state.pool, move |conn| {
        db::throttle::clear(conn, Counter::AccountAddress, &pair_key)?;
        db::throttle::forgive_one(conn, Counter::Account, &account_key)?;
        db::throttle::forgive_one(conn, Counter::Address, &address)
    })
    .await?;
    login::start(&state, &session, user.id, &user_agent(&req)).await?;
    tracing::info!(user_id = user.id, "logged in");
    session.set_flash("You are logged in. Welcome back!")?;
    Ok(see_other(&safe_next(input.next.as_deref())))
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

fn hex_sha256(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
