//! Sign up, log in, log out.

use actix_web::http::StatusCode;
use actix_web::http::header::LOCATION;
use actix_web::{HttpRequest, HttpResponse, web};
use diesel::Connection;
use serde::Deserialize;
use time::OffsetDateTime;

use super::user_agent;
use crate::auth::csrf::CsrfForm;
use crate::auth::current_reader::Reader;
use crate::auth::password::Verdict;
use crate::auth::session::{ABSOLUTE_LIMIT, ReaderSession};
use crate::auth::{random_token, token_hash};
use crate::db;
use crate::domain::email::{self, Email};
use crate::domain::meter::{Meter, Month};
use crate::domain::password::{MAX_CHARS, Password, length_problem};
use crate::domain::redirect::{is_local_path, safe_next};
use crate::domain::throttle;
use crate::error::AppError;
use crate::models::{NewUser, NewUserSession};
use crate::startup::AppState;
use crate::views::{CredentialsForm, Layout, LoginPage, SignupPage, render};

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Credentials {
    email: String,
    password: String,
    next: Option<String>,
}

/// The one answer for a wrong e-mail and a wrong password alike.
const LOGIN_FAILED: &str = "That e-mail and password do not match an account.";

fn kept_next(next: Option<&str>) -> String {
    next.filter(|n| is_local_path(n)).unwrap_or("").to_string()
}

pub async fn signup_form(
    query: web::Query<NextQuery>,
    state: web::Data<AppState>,
    session: ReaderSession,
    reader: Reader,
) -> Result<HttpResponse, AppError> {
    let page = SignupPage {
        layout: Layout::for_reader(
            "Create your account",
            &session,
            &reader,
            state.free_articles_per_month,
        )?,
        form: CredentialsForm::empty(kept_next(query.next.as_deref())),
    };
    render(StatusCode::OK, &page)
}

pub async fn login_form(
    query: web::Query<NextQuery>,
    state: web::Data<AppState>,
    session: ReaderSession,
    reader: Reader,
) -> Result<HttpResponse, AppError> {
    let page = LoginPage {
        layout: Layout::for_reader("Log in", &session, &reader, state.free_articles_per_month)?,
        form: CredentialsForm::empty(kept_next(query.next.as_deref())),
    };
    render(StatusCode::OK, &page)
}

pub async fn signup(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: ReaderSession,
    CsrfForm(input): CsrfForm<Credentials>,
) -> Result<HttpResponse, AppError> {
    let email = Email::parse(&input.email);
    let password = Password::new(input.password);
    let mut form = CredentialsForm {
        email: input.email.trim().to_string(),
        next: kept_next(input.next.as_deref()),
        error: None,
        email_error: email.as_ref().err().map(|e| e.to_string()),
        password_error: length_problem(&password),
    };
    let email = match email {
        Ok(email) if form.password_error.is_none() => email,
        _ => return signup_again(&state, &session, form).await,
    };

    let hash = match state
        .passwords
        .check_and_hash(password, vec![email.to_string()])
        .await?
    {
        Ok(hash) => hash,
        Err(message) => {
            form.password_error = Some(message);
            return signup_again(&state, &session, form).await;
        }
    };
    let address = email.to_string();
    let inserted = db::run(&state.pool, move |conn| {
        db::users::insert(
            conn,
            &NewUser {
                email: &address,
                password_hash: &hash,
            },
        )
    })
    .await;
    let user_id = match inserted {
        Err(error) if error.is_unique_violation() => {
            form.email_error =
                Some("There is already an account with this e-mail. Log in instead?".to_string());
            return signup_again(&state, &session, form).await;
        }
        other => other?,
    };
    tracing::info!(user_id, "account created");

    start_login(&state, &session, user_id, &user_agent(&req)).await?;
    session.set_flash("Welcome to Gazette! Your account is ready.")?;
    Ok(see_other(&safe_next(input.next.as_deref())))
}

async fn signup_again(
    state: &AppState,
    session: &ReaderSession,
    form: CredentialsForm,
) -> Result<HttpResponse, AppError> {
    let reader = visitor(state, session);
    let page = SignupPage {
        layout: Layout::for_reader(
            "Create your account",
            session,
            &reader,
            state.free_articles_per_month,
        )?,
        form,
    };
    render(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: ReaderSession,
    CsrfForm(input): CsrfForm<Credentials>,
) -> Result<HttpResponse, AppError> {
    let now = state.clock.now();
    let email = email::normalise(&input.email);
    let account_key = hex_sha256(&email);
    let address_key = state.client_address(&req);

    let (keys_account, keys_address) = (account_key.clone(), address_key.clone());
    let window_opened_after = now - throttle::WINDOW;
    let lookup_email = email.clone();
    let (locked_for, user) = db::run(&state.pool, move |conn| {
        let account = db::throttle::current(conn, "account", &keys_account, window_opened_after)?;
        let address = db::throttle::current(conn, "address", &keys_address, window_opened_after)?;
        let locked_for = [
            account.and_then(|(n, start)| {
                throttle::retry_after(n, start, throttle::ACCOUNT_LIMIT, now)
            }),
            address.and_then(|(n, start)| {
                throttle::retry_after(n, start, throttle::ADDRESS_LIMIT, now)
            }),
        ]
        .into_iter()
        .flatten()
        .max();
        let user = match locked_for {
            Some(_) => None,
            None => db::users::find_by_email(conn, &lookup_email)?,
        };
        Ok((locked_for, user))
    })
    .await?;
    if let Some(retry_after_secs) = locked_for {
        return Err(AppError::TooManyRequests { retry_after_secs });
    }

    let password = Password::new(input.password);
    // Longer than any password we accept: no need to spend a hash on it.
    let verdict = if password.chars() > MAX_CHARS {
        Verdict::Invalid
    } else {
        let stored = user.as_ref().map(|u| u.password_hash.clone());
        state.passwords.verify(password.clone(), stored).await?
    };

    let user = match (verdict, user) {
        (Verdict::Valid { needs_rehash }, Some(user)) => {
            if needs_rehash {
                let hash = state.passwords.hash(password).await?;
                let user_id = user.id;
                db::run(&state.pool, move |conn| {
                    db::users::update_password_hash(conn, user_id, &hash)
                })
                .await?;
                tracing::info!(user_id, "password re-hashed with the current parameters");
            }
            user
        }
        _ => {
            let failures = db::run(&state.pool, move |conn| {
                let account = db::throttle::record_failure(
                    conn,
                    "account",
                    &account_key,
                    now,
                    window_opened_after,
                )?;
                db::throttle::record_failure(
                    conn,
                    "address",
                    &address_key,
                    now,
                    window_opened_after,
                )?;
                Ok(account)
            })
            .await?;
            tracing::info!(failures, "failed login");
            tokio::time::sleep(throttle::delay_after_failure(failures)).await;
            let form = CredentialsForm {
                email: input.email.trim().to_string(),
                next: kept_next(input.next.as_deref()),
                error: Some(LOGIN_FAILED.to_string()),
                email_error: None,
                password_error: None,
            };
            let reader = visitor(&state, &session);
            let page = LoginPage {
                layout: Layout::for_reader(
                    "Log in",
                    &session,
                    &reader,
                    state.free_articles_per_month,
                )?,
                form,
            };
            return render(StatusCode::UNAUTHORIZED, &page);
        }
    };

    db::run(&state.pool, move |conn| {
        db::throttle::clear(conn, "account", &account_key)
    })
    .await?;
    start_login(&state, &session, user.id, &user_agent(&req)).await?;
    tracing::info!(user_id = user.id, "logged in");
    session.set_flash("You are logged in. Welcome back!")?;
    Ok(see_other(&safe_next(input.next.as_deref())))
}

pub async fn logout(
    state: web::Data<AppState>,
    session: ReaderSession,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    end_login(&state, &session, LogoutScope::ThisDevice).await?;
    session.set_flash("You are logged out.")?;
    Ok(see_other("/"))
}

#[derive(Deserialize, Default)]
pub struct NoFields {}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum LogoutScope {
    ThisDevice,
    Everywhere,
}

/// Revokes this browser's login (or all of the reader's), and leaves the cookie with the
/// reader's meter for the month, so logging out never hands out fresh free articles.
pub async fn end_login(
    state: &AppState,
    session: &ReaderSession,
    scope: LogoutScope,
) -> Result<(), AppError> {
    let now = state.clock.now();
    let month = Month::of(now);
    if let Some(token) = session.login_token() {
        let hash = token_hash(&token);
        let opened = db::run(&state.pool, move |conn| {
            conn.transaction(|conn| {
                let Some(user_id) = db::sessions::revoke_by_token(conn, &hash, now)? else {
                    return Ok(Vec::new());
                };
                if scope == LogoutScope::Everywhere {
                    db::sessions::revoke_all(conn, user_id, now)?;
                }
                db::meter::opened_in_month(conn, user_id, month.first_day())
            })
        })
        .await?;
        let cookie_meter = session.meter(month);
        let merged = Meter::with_opened(month, cookie_meter.opened().iter().copied().chain(opened));
        session.set_meter(&merged)?;
    }
    session.end_login()
}

/// Creates the server-side session, adds the articles opened anonymously this month to the
/// account's meter, and logs the browser in with a fresh cookie and CSRF token.
async fn start_login(
    state: &AppState,
    session: &ReaderSession,
    user_id: i64,
    user_agent: &str,
) -> Result<(), AppError> {
    let now: OffsetDateTime = state.clock.now();
    let month = Month::of(now);
    let token = random_token()?;
    let hash = token_hash(&token);
    let anonymous = session.meter(month);
    let previous = session.login_token().map(|t| token_hash(&t));
    let user_agent = user_agent.to_string();
    db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            // Logging in over an existing login replaces it.
            if let Some(previous) = previous {
                db::sessions::revoke_by_token(conn, &previous, now)?;
            }
            db::sessions::insert(
                conn,
                &NewUserSession {
                    user_id,
                    token_hash: &hash,
                    user_agent: &user_agent,
                    created_at: now,
                    last_seen_at: now,
                    expires_at: now + ABSOLUTE_LIMIT,
                },
            )?;
            if !anonymous.opened().is_empty() {
                db::meter::record(conn, user_id, month.first_day(), anonymous.opened(), now)?;
            }
            Ok(())
        })
    })
    .await?;
    session.begin_login(&token)
}

/// The reader as a visitor with the cookie's meter: for re-shown forms, which are only
/// reached by readers who are not (yet) logged in.
fn visitor(state: &AppState, session: &ReaderSession) -> Reader {
    Reader {
        member: None,
        subscribed: false,
        meter: Some(session.meter(Month::of(state.clock.now()))),
    }
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
