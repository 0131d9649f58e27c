//! Password hashing with Argon2id at the OWASP-recommended cost, off the async workers and
//! with a cap on how many hashes run at once (each takes ~19 MiB and a core for a while), so a
//! burst of logins cannot exhaust memory or starve page views.

use std::time::Duration;

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, PasswordHash, Version};
use tokio::sync::Semaphore;

use crate::domain::password::{NewPassword, Password};
use crate::error::AppError;

/// OWASP's recommendation for Argon2id: 19 MiB, 2 passes, 1 lane.
const MEMORY_KIB: u32 = 19_456;
const PASSES: u32 = 2;
const LANES: u32 = 1;
/// How long a login waits for a free hashing slot before the reader is told to retry.
const QUEUE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The password matches; `needs_rehash` when the stored hash uses older parameters.
    Valid {
        needs_rehash: bool,
    },
    Invalid,
}

pub struct Passwords {
    permits: Semaphore,
    /// Threads of their own, one per slot, running at a lower priority than the request
    /// workers: a burst of logins then takes the cores page views leave idle, instead of
    /// making page views wait behind it.
    hashers: std::sync::mpsc::SyncSender<Job>,
    /// Verified against when the e-mail is unknown, so that answer takes as long as a wrong
    /// password for a real account.
    dummy_hash: String,
}

fn hasher() -> Result<Argon2<'static>, AppError> {
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None)
        .map_err(|e| AppError::internal("argon2 parameters", e))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

fn hash_now(password: &Password) -> Result<String, AppError> {
    // A random salt of the recommended length, from the operating system.
    hasher()?
        .hash_password(password.expose().as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| AppError::internal("hashing a password", e))
}

fn verify_now(password: &Password, stored: &str) -> Result<Verdict, AppError> {
    let parsed = PasswordHash::new(stored)
        .map_err(|e| AppError::internal("reading a stored password hash", e))?;
    // Verification uses the parameters recorded in the hash itself, so old hashes keep working
    // after the cost is raised.
    match Argon2::default().verify_password(password.expose().as_bytes(), &parsed) {
        Ok(()) => Ok(Verdict::Valid {
            needs_rehash: !uses_current_parameters(&parsed),
        }),
        Err(argon2::password_hash::Error::PasswordInvalid) => Ok(Verdict::Invalid),
        Err(error) => Err(AppError::internal("verifying a password", error)),
    }
}

fn uses_current_parameters(hash: &PasswordHash) -> bool {
    let current = hash.algorithm == Algorithm::Argon2id.ident()
        && hash.version == Some(Version::V0x13.into());
    current
        && Params::try_from(hash)
            .map(|p| p.m_cost() == MEMORY_KIB && p.t_cost() == PASSES && p.p_cost() == LANES)
            .unwrap_or(false)
}

/// What the dummy hash hashes; it must never log anyone in.
const DUMMY_PASSWORD: &str = "not a real password: used to keep timing even";

impl Passwords {
    /// Blocking (it computes the dummy hash): call it during start-up, off the async workers.
    pub fn new(max_concurrent: usize) -> Result<Self, AppError> {
        let slots = max_concurrent.max(1);
        let dummy = Password::new(DUMMY_PASSWORD.to_string());
        Ok(Self {
            permits: Semaphore::new(slots),
            hashers: start_hashers(slots)?,
            dummy_hash: hash_now(&dummy)?,
        })
    }

    /// Checks the password against the policy, then hashes it. The outer error is a failure of
    /// ours; the inner one is a message for the reader.
    pub async fn check_and_hash(
        &self,
        password: Password,
        user_inputs: Vec<String>,
    ) -> Result<Result<String, String>, AppError> {
        self.run(move || {
            let inputs: Vec<&str> = user_inputs.iter().map(String::as_str).collect();
            match NewPassword::parse(password, &inputs) {
                Ok(new) => hash_now(&new.into_password()).map(Ok),
                Err(message) => Ok(Err(message)),
            }
        })
        .await
    }

    /// Verifies against the stored hash, or against the dummy when there is no account.
    pub async fn verify(
        &self,
        password: Password,
        stored: Option<String>,
    ) -> Result<Verdict, AppError> {
        let exists = stored.is_some();
        let hash = stored.unwrap_or_else(|| self.dummy_hash.clone());
        let verdict = self.run(move || verify_now(&password, &hash)).await?;
        Ok(if exists { verdict } else { Verdict::Invalid })
    }

    pub async fn hash(&self, password: Password) -> Result<String, AppError> {
        self.run(move || hash_now(&password)).await
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, AppError> + Send + 'static,
    ) -> Result<T, AppError> {
        let _permit = tokio::time::timeout(QUEUE_TIMEOUT, self.permits.acquire())
            .await
            .map_err(|_| AppError::Busy("every password hashing slot stayed taken"))?
            .map_err(|e| AppError::internal("password hashing slots", e))?;
        // The request's span goes along, so anything logged while hashing names the request.
        let span = tracing::Span::current();
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(span.in_scope(work));
        });
        // The permit guarantees a free hasher, so this never waits.
        self.hashers
            .send(job)
            .map_err(|e| AppError::internal("password hashing threads", e))?;
        result
            .await
            .map_err(|e| AppError::internal("password hashing thread", e))?
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// How much nicer than the request workers the hashing threads are (see `Passwords`).
const HASHER_NICENESS: i32 = 10;

fn start_hashers(slots: usize) -> Result<std::sync::mpsc::SyncSender<Job>, AppError> {
    let (jobs, queue) = std::sync::mpsc::sync_channel::<Job>(slots);
    let queue = std::sync::Arc::new(std::sync::Mutex::new(queue));
    for n in 0..slots {
        let queue = queue.clone();
        std::thread::Builder::new()
            .name(format!("password-hasher-{n}"))
            .spawn(move || {
                lower_this_threads_priority();
                loop {
                    // One job at a time per thread; the lock is held only to take one.
                    let job = match queue.lock() {
                        Ok(queue) => queue.recv(),
                        Err(poisoned) => poisoned.into_inner().recv(),
                    };
                    match job {
                        Ok(job) => job(),
                        // Every sender is gone: the application is shutting down.
                        Err(_) => return,
                    }
                }
            })
            .map_err(|e| AppError::internal("starting a password hashing thread", e))?;
    }
    Ok(jobs)
}

fn lower_this_threads_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: setpriority only changes the scheduling weight of the calling thread (who 0,
        // on Linux, with PRIO_PROCESS, names the calling thread).
        let result = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, HASHER_NICENESS) };
        if result != 0 {
            tracing::warn!("could not lower the priority of a password hashing thread");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pw(text: &str) -> Password {
        Password::new(text.to_string())
    }

    #[test]
    fn hashes_are_argon2id_phc_strings_with_the_owasp_parameters() {
        let hash = hash_now(&pw("correct horse battery staple")).unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert_eq!(
            verify_now(&pw("correct horse battery staple"), &hash).unwrap(),
            Verdict::Valid {
                needs_rehash: false
            }
        );
        assert_eq!(
            verify_now(&pw("correct horse battery stapl"), &hash).unwrap(),
            Verdict::Invalid
        );
    }

    #[test]
    fn hashes_with_older_parameters_still_verify_and_ask_for_a_rehash() {
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8_192, 1, 1, None).unwrap(),
        );
        let old = weak
            .hash_password(b"an old but good passphrase")
            .unwrap()
            .to_string();
        assert_eq!(
            verify_now(&pw("an old but good passphrase"), &old).unwrap(),
            Verdict::Valid { needs_rehash: true }
        );
    }

    /// Made by the argon2 release before this one (0.5) with today's parameters.
    const STORED_BY_THE_LAST_RELEASE: &str = "$argon2id$v=19$m=19456,t=2,p=1$Ii4o2BwG0BBluAEXs6HQEQ$giHK94agC2Rv3FFh1it3MMs7w4ZcpGoJXMeqVi29AO8";

    #[test]
    fn hashes_stored_by_the_last_release_verify_without_a_rehash() {
        assert_eq!(
            verify_now(
                &pw("a passphrase from the last release"),
                STORED_BY_THE_LAST_RELEASE
            )
            .unwrap(),
            Verdict::Valid {
                needs_rehash: false
            }
        );
        assert_eq!(
            verify_now(
                &pw("a passphrase from the last releasE"),
                STORED_BY_THE_LAST_RELEASE
            )
            .unwrap(),
            Verdict::Invalid
        );
    }

    #[tokio::test]
    async fn an_unknown_account_is_verified_against_the_dummy_hash_and_always_fails() {
        let passwords = Passwords::new(1).unwrap();
        assert_eq!(
            passwords.verify(pw(DUMMY_PASSWORD), None).await.unwrap(),
            Verdict::Invalid
        );
        let real = hash_now(&pw("a real reader's passphrase")).unwrap();
        assert_eq!(
            passwords
                .verify(pw("a real reader's passphrase"), Some(real))
                .await
                .unwrap(),
            Verdict::Valid {
                needs_rehash: false
            }
        );
    }

    #[test]
    fn long_passwords_are_not_truncated() {
        let long = "x".repeat(128);
        let hash = hash_now(&pw(&long)).unwrap();
        assert_eq!(
            verify_now(&pw(&long[..127]), &hash).unwrap(),
            Verdict::Invalid
        );
        assert_eq!(
            verify_now(&pw(&long), &hash).unwrap(),
            Verdict::Valid {
                needs_rehash: false
            }
        );
    }
}
