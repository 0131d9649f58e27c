//! Counting login and sign-up attempts against [`Limits`], in PostgreSQL so that every
//! instance sees the same counts.
//!
//! A login attempt is counted *before* its password is checked, so parallel guesses are
//! counted too, and it is counted in all of its counters or, when one is at its limit, in none
//! and nothing about it is stored (429 with `Retry-After`):
//! - from a browser presenting a valid device cookie for the account (`auth::device`) that
//!   still counts (the account with that id has that address and is in that login
//!   generation): per device cookie only. Once that is used up the browser is treated like any
//!   other;
//! - otherwise per account and address together, per account from everywhere, and per
//!   address. A guesser at one address is stopped by the first long before the second fills,
//!   and refused guesses count no further, so one guesser cannot lock the owner out
//!   everywhere; a wide attack from many addresses fills the second, which the owner's own
//!   browsers then pass by with their device cookies.
//!
//! A correct password takes its attempt back, and is counted among the address's successful
//! logins (each one adds a login session), which have a limit of their own.
//!
//! The same counters limit the mail a client can have sent: requests that mail a link to a
//! typed address, password resets and new addresses to confirm alike (per client address, and
//! per typed address whether or not it has an account, so a refusal tells nothing), and new
//! passwords, which mail a notice (per client address). So neither one client, whatever the
//! accounts it signed up, nor everyone together can have much mail sent. They also limit the
//! password checks of an account's own forms (per account, right or wrong).

use super::account_key;
use super::device::DeviceClaim;
use crate::db;
use crate::db::throttle::{Counter, Outcome, Scope};
use crate::domain::ids::UserId;
use crate::domain::throttle::Limits;
use crate::error::AppError;
use crate::state::AppState;

/// One login attempt: who it is for and where it comes from.
pub struct LoginAttempt {
    email: String,
    account: String,
    account_address: String,
    address: String,
    device: Option<DeviceClaim>,
}

/// Which counters an attempt was counted in, and the failures they saw (this one included).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counted {
    Device { failures: i32 },
    Untrusted { failures: i32 },
}

impl Counted {
    /// The failures that decide how slowly a failure is answered.
    pub fn failures(self) -> i32 {
        match self {
            Self::Device { failures } | Self::Untrusted { failures } => failures,
        }
    }
}

impl LoginAttempt {
    /// `device` is the claim of a valid device cookie for this account, if the browser sent
    /// one.
    pub fn new(normalised_email: &str, address: String, device: Option<DeviceClaim>) -> Self {
        Self {
            email: normalised_email.to_string(),
            account: account_key(normalised_email),
            account_address: account_key(&format!("{normalised_email}\n{address}")),
            address,
            device,
        }
    }

    fn untrusted(&self, limits: &Limits) -> Vec<Counter> {
        vec![
            counter(
                Scope::AccountAddress,
                &self.account_address,
                limits.account_address,
            ),
            counter(Scope::Account, &self.account, limits.account),
            counter(Scope::Address, &self.address, limits.address),
        ]
    }
}

fn counter(scope: Scope, key: &str, limit: i32) -> Counter {
    Counter {
        scope,
        key: key.to_string(),
        limit,
    }
}

/// Counts a login attempt, or refuses it with 429.
pub async fn count_login(state: &AppState, attempt: &LoginAttempt) -> Result<Counted, AppError> {
    let now = state.clock.now();
    let limits = state.limits;
    let device = attempt.device.clone();
    let email = attempt.email.clone();
    let untrusted = attempt.untrusted(&limits);
    let outcome = db::run(&state.pool, "counting a login attempt", move |conn| {
        let device = match device {
            Some(claim)
                if db::users::is_in_generation(conn, claim.user_id, &email, claim.generation)? =>
            {
                Some(counter(Scope::Device, &claim.nonce, limits.device))
            }
            _ => None,
        };
        if let Some(device) = device
            && let Outcome::Counted(counts) = db::throttle::count_attempt(
                conn,
                std::slice::from_ref(&device),
                now,
                limits.window,
            )?
        {
            let failures = counts.first().copied().unwrap_or(1);
            return Ok(Ok(Counted::Device { failures }));
        }
        Ok(
            match db::throttle::count_attempt(conn, &untrusted, now, limits.window)? {
                Outcome::Counted(counts) => Ok(Counted::Untrusted {
                    failures: counts.first().copied().unwrap_or(1),
                }),
                Outcome::Refused { retry_after_secs } => Err(retry_after_secs),
            },
        )
    })
    .await?;
    outcome.map_err(|retry_after_secs| AppError::TooManyRequests { retry_after_secs })
}

/// After a correct password: takes the attempt back (and forgets this address's failures at
/// the account), then counts a successful login for the address, refused with 429 past its
/// limit.
pub async fn count_success(
    state: &AppState,
    attempt: &LoginAttempt,
    counted: Counted,
) -> Result<(), AppError> {
    let now = state.clock.now();
    let limits = state.limits;
    let account_address = attempt.account_address.clone();
    let account = attempt.account.clone();
    let address = attempt.address.clone();
    let outcome = db::run(&state.pool, "counting a successful login", move |conn| {
        // A device's failures stay: the browser gets a new cookie, and a copy of the old one
        // (wherever it is) keeps what it has used up.
        if let Counted::Untrusted { .. } = counted {
            db::throttle::clear(conn, Scope::AccountAddress, &account_address)?;
            db::throttle::forgive_one(conn, Scope::Account, &account)?;
            db::throttle::forgive_one(conn, Scope::Address, &address)?;
        }
        let success = counter(Scope::Login, &address, limits.logins_per_address);
        db::throttle::count_attempt(conn, &[success], now, limits.window)
    })
    .await?;
    match outcome {
        Outcome::Counted(_) => Ok(()),
        Outcome::Refused { retry_after_secs } => {
            Err(AppError::TooManyRequests { retry_after_secs })
        }
    }
}

/// Counts a sign-up attempt from `address` (every one counts: sign-up tells whether an e-mail
/// has an account, and spends a hash), or refuses it with 429.
pub async fn count_signup(state: &AppState, address: &str) -> Result<(), AppError> {
    let signup = counter(Scope::Signup, address, state.limits.signups_per_address);
    count_all(state, "counting a sign-up attempt", vec![signup])
        .await
        .map(|_| ())
}

/// Counts a request that mails a link to `normalised_email` (a password reset, or a new
/// address to confirm) from `address`, or refuses it with 429. Counted the same whether or not
/// the e-mail has an account.
pub async fn count_mailed_link(
    state: &AppState,
    normalised_email: &str,
    address: &str,
) -> Result<(), AppError> {
    let limits = state.limits;
    let counters = vec![
        counter(
            Scope::ResetAccount,
            &account_key(normalised_email),
            limits.resets_per_account,
        ),
        counter(Scope::ResetAddress, address, limits.resets_per_address),
    ];
    count_all(state, "counting a request for a mailed link", counters)
        .await
        .map(|_| ())
}

/// Counts a change from `address` that mails the account a notice (a new password) among the
/// mail that client asked for, or refuses it with 429.
pub async fn count_notice(state: &AppState, address: &str) -> Result<(), AppError> {
    let notice = counter(
        Scope::ResetAddress,
        address,
        state.limits.resets_per_address,
    );
    count_all(state, "counting a change that mails a notice", vec![notice])
        .await
        .map(|_| ())
}

/// Counts a password check on one of the account's own forms, or refuses it with 429; returns
/// the checks counted in this window, this one included (failures are answered more slowly
/// as they grow).
pub async fn count_password_check(state: &AppState, user_id: UserId) -> Result<i32, AppError> {
    let check = counter(
        Scope::PasswordCheck,
        &user_id.to_string(),
        state.limits.password_checks_per_account,
    );
    let counts = count_all(state, "counting a password check", vec![check]).await?;
    Ok(counts.first().copied().unwrap_or(1))
}

/// Counts one attempt in every counter, or refuses it with 429 when one is at its limit.
async fn count_all(
    state: &AppState,
    step: &'static str,
    counters: Vec<Counter>,
) -> Result<Vec<i32>, AppError> {
    let now = state.clock.now();
    let window = state.limits.window;
    let outcome = db::run(&state.pool, step, move |conn| {
        db::throttle::count_attempt(conn, &counters, now, window)
    })
    .await?;
    match outcome {
        Outcome::Counted(counts) => Ok(counts),
        Outcome::Refused { retry_after_secs } => {
            Err(AppError::TooManyRequests { retry_after_secs })
        }
    }
}
