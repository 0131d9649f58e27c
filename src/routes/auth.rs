//! Sign up, log in, log out. Both forms share one shape and one way of finishing: a new login
//! session, a flash, a device cookie, and a redirect to a safe `next`.

use actix_web::http::StatusCode;
use actix_web::http::header::LOCATION;
use actix_web::{HttpRequest, HttpResponse, web};
use diesel::Connection;
use serde::Deserialize;

use super::visit::Visit;
use super::{NextQuery, user_agent};
use crate::auth::account_key;
use crate::auth::attempts::{self, LoginAttempt};
use crate::auth::client::ClientAddress;
use crate::auth::csrf::CsrfForm;
use crate::auth::device::{DeviceCookies, DeviceOwner};
use crate::auth::login::{self, Ending};
use crate::auth::password::{Passwords, Verdict};
use crate::auth::session::ReaderSession;
use crate::db;
use crate::domain::email::{self, Email};
use crate::domain::ids::UserId;
use crate::domain::password::{MAX_CHARS, Password, length_problem};
use crate::domain::redirect::{local_or_empty, safe_next};
use crate::domain::throttle;
use crate::error::AppError;
use crate::models::NewUser;
use crate::newsletter::{self, members::Members};
use crate::state::AppState;
use crate::views::{CredentialsForm, LoginPage, SignupPage, render};

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Credentials {
    email: String,
    password: String,
    next: Option<String>,
    /// Sign-up's newsletter box: present when ticked.
    newsletter: Option<String>,
}

/// For forms whose only field is `csrf_token`.
#[derive(Deserialize, Default)]
pub struct NoFields {}

/// The one answer for a wrong e-mail and a wrong password alike.
const LOGIN_FAILED: &str = "That e-mail and password do not match an account.";

/// Which of the two credentials forms.
#[derive(Clone, Copy)]
enum Form {
    SignUp,
    LogIn,
}

fn form_page(
    visit: &Visit,
    which: Form,
    form: CredentialsForm,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    Ok(match which {
        Form::SignUp => render(
            status,
            &SignupPage {
                layout: visit.layout("Create your account")?,
                form,
            },
        )?,
        Form::LogIn => render(
            status,
            &LoginPage {
                layout: visit.layout("Log in")?,
                form,
            },
        )?,
    })
}

pub async fn signup_form(
    query: web::Query<NextQuery>,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    let form = CredentialsForm::empty(local_or_empty(query.next.as_deref()));
    form_page(&visit, Form::SignUp, form, StatusCode::OK)
}

pub async fn login_form(
    query: web::Query<NextQuery>,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    let form = CredentialsForm::empty(local_or_empty(query.next.as_deref()));
    form_page(&visit, Form::LogIn, form, StatusCode::OK)
}

/// What the sign-up and log-in handlers share.
pub struct SigningIn {
    req: HttpRequest,
    state: web::Data<AppState>,
    passwords: web::Data<Passwords>,
    device_cookies: web::Data<DeviceCookies>,
    address: ClientAddress,
}

impl actix_web::FromRequest for SigningIn {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let data = || AppError::internal("application state", "missing");
        std::future::ready((|| {
            Ok(Self {
                req: req.clone(),
                state: req
                    .app_data::<web::Data<AppState>>()
                    .cloned()
                    .ok_or_else(data)?,
                passwords: req
                    .app_data::<web::Data<Passwords>>()
                    .cloned()
                    .ok_or_else(data)?,
                device_cookies: req
                    .app_data::<web::Data<DeviceCookies>>()
                    .cloned()
                    .ok_or_else(data)?,
                address: ClientAddress::of(req),
            })
        })())
    }
}

impl SigningIn {
    /// Logs the browser in as `account`: a new login session (and cookie), a flash, a device
    /// cookie for the account, and a redirect to `next` when it is a local path.
    pub(super) async fn logged_in(
        &self,
        session: &ReaderSession,
        account: LoggingIn<'_>,
        flash: &str,
        next: Option<&str>,
    ) -> Result<HttpResponse, AppError> {
        login::start(
            &self.state,
            session,
            account.user_id,
            account.generation,
            &user_agent(&self.req),
        )
        .await?;
        session.set_flash(flash)?;
        let mut response = see_other(&safe_next(next));
        self.trust_this_device(&mut response, account)?;
        Ok(response)
    }

    /// Gives the browser a device cookie for `account` with `response`.
    pub(super) fn trust_this_device(
        &self,
        response: &mut HttpResponse,
        account: LoggingIn<'_>,
    ) -> Result<(), AppError> {
        let owner = DeviceOwner {
            account: &account_key(account.normalised_email),
            user_id: account.user_id,
            generation: account.generation,
        };
        let cookie = self.device_cookies.issue(&owner, self.state.clock.now())?;
        response
            .add_cookie(&cookie)
            .map_err(|e| AppError::internal("setting the device cookie", e))
    }

    /// The browser's User-Agent, cut to what the sessions table keeps.
    pub(super) fn user_agent(&self) -> String {
        user_agent(&self.req)
    }

    /// Where the request comes from, as the limits see it.
    pub(super) fn address(&self) -> &ClientAddress {
        &self.address
    }
}

/// The account a browser is logging in to.
#[derive(Clone, Copy)]
pub struct LoggingIn<'a> {
    pub user_id: UserId,
    pub normalised_email: &'a str,
    /// The account's login generation when its password was checked (or set).
    pub generation: i32,
}

pub async fn signup(
    signing_in: SigningIn,
    members: web::Data<Members>,
    CsrfForm(input): CsrfForm<Credentials>,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    attempts::count_signup(&signing_in.state, &signing_in.address.limit_key()).await?;
    let email = Email::parse(&input.email);
    let password = Password::new(input.password);
    let mut form = CredentialsForm {
        email: input.email.trim().to_string(),
        next: local_or_empty(input.next.as_deref()),
        error: None,
        email_error: email.as_ref().err().map(|e| e.to_string()),
        password_error: length_problem(&password),
    };
    let refuse = |form| form_page(&visit, Form::SignUp, form, StatusCode::UNPROCESSABLE_ENTITY);
    let email = match email {
        Ok(email) if form.password_error.is_none() => email,
        _ => return refuse(form),
    };
    let checked = signing_in
        .passwords
        .check_and_hash(password, vec![email.to_string()])
        .await?;
    let hash = match checked {
        Ok(hash) => hash,
        Err(message) => {
            form.password_error = Some(message);
            return refuse(form);
        }
    };
    let stored = email.to_string();
    let newsletter = input.newsletter.is_some();
    let now = signing_in.state.clock.now();
    let inserted = db::run(
        &signing_in.state.pool,
        "creating the account",
        move |conn| {
            conn.transaction(|conn| {
                let account = NewUser {
                    email: &stored,
                    password_hash: &hash,
                };
                let (user_id, generation) = db::users::insert(conn, &account)?;
                let owes_mail =
                    newsletter::members::at_sign_up(conn, user_id, &stored, newsletter, now)?;
                Ok((user_id, generation, owes_mail))
            })
        },
    )
    .await;
    let (user_id, generation) = match inserted {
        Err(error) if error.is_unique_violation() => {
            form.email_error =
                Some("There is already an account with this e-mail. Log in instead?".to_string());
            return refuse(form);
        }
        Ok((user_id, generation, owes_mail)) => {
            if owes_mail {
                members.wake_sender();
            }
            (user_id, generation)
        }
        Err(error) => return Err(error.into()),
    };
    tracing::info!(user_id = user_id.get(), "account created");
    let welcome = "Welcome to Gazette! Your account is ready.";
    let account = LoggingIn {
        user_id,
        normalised_email: email.as_str(),
        generation,
    };
    signing_in
        .logged_in(&visit.session, account, welcome, input.next.as_deref())
        .await
}

pub async fn login(
    signing_in: SigningIn,
    CsrfForm(input): CsrfForm<Credentials>,
    visit: Visit,
) -> Result<HttpResponse, AppError> {
    let state = &signing_in.state;
    // Counted before the password is checked, so parallel guesses cannot slip past the limit.
    let email = email::normalise(&input.email);
    let device =
        signing_in
            .device_cookies
            .claim(&signing_in.req, &account_key(&email), state.clock.now());
    let attempt = LoginAttempt::new(&email, signing_in.address.limit_key(), device);
    let counted = attempts::count_login(state, &attempt).await?;

    let lookup = email.clone();
    let user = db::run(&state.pool, "finding the account logging in", move |conn| {
        db::users::find_by_email(conn, &lookup)
    })
    .await?;
    let password = Password::new(input.password);
    // Longer than any password we accept: no need to spend a hash on it.
    let verdict = if password.char_count() > MAX_CHARS {
        Verdict::Invalid
    } else {
        let stored = user.as_ref().map(|u| u.password_hash.clone());
        signing_in
            .passwords
            .verify(password.clone(), stored)
            .await?
    };
    let (user, needs_rehash) = match (verdict, user) {
        (Verdict::Valid { needs_rehash }, Some(user)) => (user, needs_rehash),
        _ => {
            tracing::info!(?counted, "failed login");
            tokio::time::sleep(throttle::delay_after_failure(counted.failures())).await;
            let form = CredentialsForm {
                error: Some(LOGIN_FAILED.to_string()),
                email: input.email.trim().to_string(),
                ..CredentialsForm::empty(local_or_empty(input.next.as_deref()))
            };
            return form_page(&visit, Form::LogIn, form, StatusCode::UNAUTHORIZED);
        }
    };

    attempts::count_success(state, &attempt, counted).await?;
    if needs_rehash {
        let hash = signing_in.passwords.hash(password).await?;
        let user_id = user.id;
        db::run(&state.pool, "saving a re-hashed password", move |conn| {
            db::users::update_password_hash(conn, user_id, &hash)
        })
        .await?;
        tracing::info!(
            user_id = user_id.get(),
            "password re-hashed with the current parameters"
        );
    }
    tracing::info!(user_id = user.id.get(), "logged in");
    let welcome = "You are logged in. Welcome back!";
    // The generation read with the hash just checked: a reset or logging out everywhere since
    // then refuses this login.
    let account = LoggingIn {
        user_id: user.id,
        normalised_email: &email,
        generation: user.login_generation,
    };
    signing_in
        .logged_in(&visit.session, account, welcome, input.next.as_deref())
        .await
}

pub async fn logout(
    state: web::Data<AppState>,
    session: ReaderSession,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    login::end(&state, &session, Ending::ThisDevice).await?;
    session.set_flash("You are logged out.")?;
    Ok(see_other("/"))
}

pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((LOCATION, location))
        .finish()
}
