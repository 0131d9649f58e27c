//! Every environment variable Gazette reads, declared once: its name, its default, the values
//! it accepts and one line saying what it does. Reading a variable goes through its
//! declaration ([`Env`]), so the default, the range and the error message come from here, and
//! `docs/configuration.md` and `.env.example` are checked against [`ALL`] by the tests.

use std::fmt;
use std::time::Duration;

use super::ConfigError;

/// What a variable is when it is not set.
#[derive(Clone, Copy, Debug)]
pub enum Fallback {
    /// This value, in every environment.
    Value(&'static str),
    /// One value in development, another in production.
    ByEnv {
        development: &'static str,
        production: &'static str,
    },
    /// Worked out at start-up, as described.
    Derived(&'static str),
    /// Nothing: the feature it sets up is off, or (where the meaning says so) start-up stops.
    Unset,
}

/// The values a variable accepts.
#[derive(Clone, Copy, Debug)]
pub enum Shape {
    /// Any text (checked further where it is used).
    Text,
    /// `true` or `false` (also `1`/`0`, `yes`/`no`, `on`/`off`).
    Flag,
    /// One of these words.
    OneOf(&'static [&'static str]),
    /// A whole number in this range.
    Whole { min: u64, max: u64 },
    /// A whole number of seconds in this range.
    Seconds { min: u64, max: u64 },
    /// A whole number of minutes in this range.
    Minutes { min: u64, max: u64 },
}

/// One environment variable.
#[derive(Clone, Copy, Debug)]
pub struct Variable {
    pub name: &'static str,
    pub fallback: Fallback,
    pub shape: Shape,
    /// One line for the docs.
    pub meaning: &'static str,
}

const fn var(
    name: &'static str,
    fallback: Fallback,
    shape: Shape,
    meaning: &'static str,
) -> Variable {
    Variable {
        name,
        fallback,
        shape,
        meaning,
    }
}

use Fallback::{ByEnv, Derived, Unset, Value};
use Shape::{Flag, Minutes, OneOf, Seconds, Text, Whole};

/// The largest number any attempt limit may be set to.
const MOST_ATTEMPTS: u64 = 100_000;
const fn limit(name: &'static str, default: &'static str, meaning: &'static str) -> Variable {
    var(
        name,
        Value(default),
        Whole {
            min: 1,
            max: MOST_ATTEMPTS,
        },
        meaning,
    )
}

pub const APP_ENV: Variable = var(
    "APP_ENV",
    Value("development"),
    OneOf(&["development", "production"]),
    "Production requires `SESSION_KEY`, `PUBLIC_URL` and `SMTP_URL`, and changes the defaults marked so.",
);
pub const HOST: Variable = var(
    "HOST",
    Value("127.0.0.1"),
    Text,
    "The address the server listens on.",
);
pub const PORT: Variable = var(
    "PORT",
    Value("8080"),
    Whole { min: 0, max: 65535 },
    "The port the server listens on (`0`: any free port).",
);
pub const DATABASE_URL: Variable = var(
    "DATABASE_URL",
    Value(super::DEFAULT_DATABASE_URL),
    Text,
    "PostgreSQL URL. The database is created if missing; migrations run at start-up.",
);
pub const DATABASE_POOL_SIZE: Variable = var(
    "DATABASE_POOL_SIZE",
    Value("10"),
    Whole { min: 1, max: 200 },
    "Most connections one instance opens.",
);
pub const SESSION_KEY: Variable = var(
    "SESSION_KEY",
    Derived("a throw-away key in development (with a warning); required in production"),
    Text,
    "Signs and encrypts the session and device cookies: at least 64 bytes, the same on every instance.",
);
pub const FREE_ARTICLES_PER_MONTH: Variable = var(
    "FREE_ARTICLES_PER_MONTH",
    Value("5"),
    Whole {
        min: 0,
        max: crate::domain::meter::MAX_FREE_ARTICLES_PER_MONTH as u64,
    },
    "Premium articles a non-subscriber may open per calendar month (UTC).",
);
pub const GIFT_ARTICLES_PER_MONTH: Variable = var(
    "GIFT_ARTICLES_PER_MONTH",
    Value("10"),
    Whole {
        min: 0,
        max: crate::domain::article_gift::MAX_GIFT_ARTICLES_PER_MONTH as u64,
    },
    "Articles a subscriber may gift per calendar month (UTC); each link opens its article for anyone for 14 days. `0`: no gifts.",
);
pub const COOKIE_SECURE: Variable = var(
    "COOKIE_SECURE",
    ByEnv {
        development: "false",
        production: "true",
    },
    Flag,
    "`Secure` and the `__Host-` prefix on the session and device cookies (serve over HTTPS).",
);
pub const DEMO_CONTENT: Variable = var(
    "DEMO_CONTENT",
    ByEnv {
        development: "true",
        production: "false",
    },
    Flag,
    "Load the demo articles into an empty articles table.",
);
pub const PAYMENT_GATEWAY: Variable = var(
    "PAYMENT_GATEWAY",
    ByEnv {
        development: "test",
        production: "none",
    },
    OneOf(&["test", "stripe", "none"]),
    "`test`: a gateway that charges nothing and says so; `stripe`: real payments; `none`: the subscribe page says payments are not set up.",
);
pub const STRIPE_SECRET_KEY: Variable = var(
    "STRIPE_SECRET_KEY",
    Unset,
    Text,
    "Required with `stripe`: the secret key, `sk_live_...`, or `sk_test_...` for Stripe's test mode (the pages then say so).",
);
pub const STRIPE_WEBHOOK_SECRET: Variable = var(
    "STRIPE_WEBHOOK_SECRET",
    Unset,
    Text,
    "Required with `stripe`: the signing secret of the webhook endpoint, `whsec_...`.",
);
pub const STRIPE_PRICES: Variable = var(
    "STRIPE_PRICES",
    Unset,
    Text,
    "Required with `stripe`: one price per plan, `monthly=price_...,yearly=price_...`, compared with the plans at start-up.",
);
pub const STRIPE_API_BASE: Variable = var(
    "STRIPE_API_BASE",
    Value(crate::payments::stripe::DEFAULT_API_BASE),
    Text,
    "Where Stripe's API is (tests point it at a stand-in); https only, except on this machine.",
);
pub const TRUST_PROXY_HEADERS: Variable = var(
    "TRUST_PROXY_HEADERS",
    Value("false"),
    Flag,
    "Take the client address from the proxy's `X-Forwarded-For` entry; only behind a proxy that appends it.",
);
pub const PASSWORD_HASHING_SLOTS: Variable = var(
    "PASSWORD_HASHING_SLOTS",
    Derived("half the cores, at least 1"),
    Whole { min: 1, max: 64 },
    "Password hashes run at once; each holds 19 MiB and a core while it runs.",
);
pub const HOUSEKEEPING_INTERVAL_SECONDS: Variable = var(
    "HOUSEKEEPING_INTERVAL_SECONDS",
    Value("600"),
    Seconds {
        min: 1,
        max: 86_400,
    },
    "How often each instance settles payments left behind and deletes stale rows.",
);
pub const THROTTLE_WINDOW_MINUTES: Variable = var(
    "THROTTLE_WINDOW_MINUTES",
    Value("15"),
    Minutes {
        min: 1,
        max: crate::domain::throttle::LONGEST_WINDOW.whole_minutes() as u64,
    },
    "The window the limits below count in.",
);
pub const MAX_LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS: Variable = limit(
    "MAX_LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS",
    "5",
    "Failed logins at one account from one address, per window.",
);
pub const MAX_LOGIN_FAILURES_PER_ACCOUNT: Variable = limit(
    "MAX_LOGIN_FAILURES_PER_ACCOUNT",
    "50",
    "Failed logins at one account from everywhere, per window (browsers with its device cookie are counted apart).",
);
pub const MAX_LOGIN_FAILURES_PER_ADDRESS: Variable = limit(
    "MAX_LOGIN_FAILURES_PER_ADDRESS",
    "20",
    "Failed logins from one address, per window.",
);
pub const MAX_LOGIN_FAILURES_PER_DEVICE: Variable = limit(
    "MAX_LOGIN_FAILURES_PER_DEVICE",
    "5",
    "Failed logins from one device cookie, per window.",
);
pub const MAX_LOGINS_PER_ADDRESS: Variable = limit(
    "MAX_LOGINS_PER_ADDRESS",
    "60",
    "Successful logins from one address, per window.",
);
pub const MAX_SIGNUPS_PER_ADDRESS: Variable = limit(
    "MAX_SIGNUPS_PER_ADDRESS",
    "10",
    "Sign-up attempts from one address, per window; raise it for a newsroom or campus behind one address.",
);
pub const MAX_PASSWORD_RESETS_PER_ADDRESS: Variable = limit(
    "MAX_PASSWORD_RESETS_PER_ADDRESS",
    "10",
    "Requests from one client address that mail a link or a notice (password resets, new addresses to confirm, new passwords), per window.",
);
pub const MAX_PASSWORD_RESETS_PER_ACCOUNT: Variable = limit(
    "MAX_PASSWORD_RESETS_PER_ACCOUNT",
    "3",
    "Reset links and address confirmations mailed to one typed address (with an account or not), per window.",
);
pub const MAX_PASSWORD_CHECKS_PER_ACCOUNT: Variable = limit(
    "MAX_PASSWORD_CHECKS_PER_ACCOUNT",
    "10",
    "Password checks on an account's own forms (change password or e-mail, delete), right or wrong, per window.",
);
pub const MAX_PROCESSOR_CALLS_PER_ACCOUNT: Variable = var(
    "MAX_PROCESSOR_CALLS_PER_ACCOUNT",
    Value("30"),
    Whole {
        min: crate::domain::throttle::LEAST_PROCESSOR_CALLS as u64,
        max: MOST_ATTEMPTS,
    },
    "Requests to the payment processor one reader's own requests may cause per window (coming back from checkout, the billing page, subscribing, cancelling).",
);
pub const FORM_BODY_TIMEOUT_SECONDS: Variable = var(
    "FORM_BODY_TIMEOUT_SECONDS",
    Value("10"),
    Seconds { min: 1, max: 300 },
    "Longest a form's body may take to arrive; slower is a 400.",
);
pub const SHUTDOWN_DRAIN_SECONDS: Variable = var(
    "SHUTDOWN_DRAIN_SECONDS",
    ByEnv {
        development: "0",
        production: "5",
    },
    Seconds { min: 0, max: 300 },
    "After SIGTERM or Ctrl-C, how long the health check says 503 while pages are still served.",
);
pub const SHUTDOWN_TIMEOUT_SECONDS: Variable = var(
    "SHUTDOWN_TIMEOUT_SECONDS",
    Value("30"),
    Seconds { min: 0, max: 600 },
    "Then how long requests in flight may take before they are cut.",
);
pub const CLIENT_REQUEST_TIMEOUT_SECONDS: Variable = var(
    "CLIENT_REQUEST_TIMEOUT_SECONDS",
    Value("5"),
    Seconds { min: 1, max: 300 },
    "Time a client has to send a request head (else 408).",
);
pub const KEEP_ALIVE_SECONDS: Variable = var(
    "KEEP_ALIVE_SECONDS",
    Value("15"),
    Seconds { min: 0, max: 300 },
    "Idle time before a connection is closed (`0`: no keep-alive).",
);
pub const SMTP_URL: Variable = var(
    "SMTP_URL",
    Unset,
    Text,
    "The mail server: `smtps://user:pass@host:465`, or `smtp://...:587?tls=required` (STARTTLS); required in production, encrypted unless on this machine.",
);
pub const MAIL_DIR: Variable = var(
    "MAIL_DIR",
    Value(super::DEFAULT_MAIL_DIR),
    Text,
    "Development without `SMTP_URL`: the folder each message is written to.",
);
pub const MAIL_FROM: Variable = var(
    "MAIL_FROM",
    Derived("`Gazette <gazette@HOST>`, `HOST` from `PUBLIC_URL`"),
    Text,
    "Who mail is from; replies come here.",
);
pub const NEWSLETTER_SMTP_URL: Variable = var(
    "NEWSLETTER_SMTP_URL",
    Derived("`SMTP_URL`"),
    Text,
    "The mail server newsletters go through (a bulk relay), in `SMTP_URL`'s form; account mail keeps `SMTP_URL`.",
);
pub const NEWSLETTER_RATE: Variable = var(
    "NEWSLETTER_RATE",
    Value("20"),
    Whole {
        min: 1,
        max: 10_000,
    },
    "Newsletter messages a second, shared by every instance (the relay's limit).",
);
pub const NEWSLETTER_CONNECTIONS: Variable = var(
    "NEWSLETTER_CONNECTIONS",
    Value("4"),
    Whole { min: 1, max: 64 },
    "SMTP connections each instance keeps open for newsletters: exchanges in flight at once.",
);
pub const MEDIA_MAX_BYTES: Variable = var(
    "MEDIA_MAX_BYTES",
    Value("15000000"),
    Whole {
        min: 1_000,
        max: 100_000_000,
    },
    "The largest picture the desk may upload, in bytes; a larger upload is refused as it arrives.",
);
pub const MEDIA_PROCESSING_SLOTS: Variable = var(
    "MEDIA_PROCESSING_SLOTS",
    Value("1"),
    Whole { min: 1, max: 2 },
    "Uploads each instance decodes and resizes at once; each holds a core and up to 250 MiB while it runs.",
);
pub const MEDIA_CACHE_MB: Variable = var(
    "MEDIA_CACHE_MB",
    Value("64"),
    Whole { min: 0, max: 4096 },
    "Megabytes of the most asked-for picture variants each instance keeps in memory; 0 keeps none.",
);
pub const PUBLIC_URL: Variable = var(
    "PUBLIC_URL",
    Derived("the address the app listens on; required in production"),
    Text,
    "Where readers reach the site (`https://gazette.example`): canonical links, feeds, the sitemap and the links in mail name it.",
);
pub const RUST_LOG: Variable = var(
    "RUST_LOG",
    Value("info"),
    Text,
    "Log filter (tracing's syntax); text lines in development, JSON lines in production.",
);

/// Every variable, in the order the docs list them.
pub const ALL: &[Variable] = &[
    APP_ENV,
    HOST,
    PORT,
    DATABASE_URL,
    DATABASE_POOL_SIZE,
    SESSION_KEY,
    FREE_ARTICLES_PER_MONTH,
    GIFT_ARTICLES_PER_MONTH,
    COOKIE_SECURE,
    DEMO_CONTENT,
    PUBLIC_URL,
    PAYMENT_GATEWAY,
    STRIPE_SECRET_KEY,
    STRIPE_WEBHOOK_SECRET,
    STRIPE_PRICES,
    STRIPE_API_BASE,
    SMTP_URL,
    MAIL_DIR,
    MAIL_FROM,
    NEWSLETTER_SMTP_URL,
    NEWSLETTER_RATE,
    NEWSLETTER_CONNECTIONS,
    MEDIA_MAX_BYTES,
    MEDIA_PROCESSING_SLOTS,
    MEDIA_CACHE_MB,
    TRUST_PROXY_HEADERS,
    PASSWORD_HASHING_SLOTS,
    HOUSEKEEPING_INTERVAL_SECONDS,
    THROTTLE_WINDOW_MINUTES,
    MAX_LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS,
    MAX_LOGIN_FAILURES_PER_ACCOUNT,
    MAX_LOGIN_FAILURES_PER_ADDRESS,
    MAX_LOGIN_FAILURES_PER_DEVICE,
    MAX_LOGINS_PER_ADDRESS,
    MAX_SIGNUPS_PER_ADDRESS,
    MAX_PASSWORD_RESETS_PER_ADDRESS,
    MAX_PASSWORD_RESETS_PER_ACCOUNT,
    MAX_PASSWORD_CHECKS_PER_ACCOUNT,
    MAX_PROCESSOR_CALLS_PER_ACCOUNT,
    FORM_BODY_TIMEOUT_SECONDS,
    SHUTDOWN_DRAIN_SECONDS,
    SHUTDOWN_TIMEOUT_SECONDS,
    CLIENT_REQUEST_TIMEOUT_SECONDS,
    KEEP_ALIVE_SECONDS,
    RUST_LOG,
];

impl Variable {
    /// The row `docs/configuration.md` holds for this variable.
    pub fn doc_row(&self) -> String {
        let default = match self.fallback {
            Value(value) => format!("`{value}`"),
            ByEnv {
                development,
                production,
            } => format!("`{development}` in development, `{production}` in production"),
            Derived(how) => how.to_string(),
            Unset => "none".to_string(),
        };
        let accepts = match self.shape {
            Text => "text".to_string(),
            Flag => "`true` or `false`".to_string(),
            OneOf(words) => words
                .iter()
                .map(|w| format!("`{w}`"))
                .collect::<Vec<_>>()
                .join(", "),
            Whole { min, max } => format!("{min}-{max}"),
            Seconds { min, max } => format!("{min}-{max} seconds"),
            Minutes { min, max } => format!("{min}-{max} minutes"),
        };
        format!(
            "| `{}` | {default} | {accepts} | {} |",
            self.name, self.meaning
        )
    }

    fn range(&self) -> Option<(u64, u64)> {
        match self.shape {
            Whole { min, max } | Seconds { min, max } | Minutes { min, max } => Some((min, max)),
            Text | Flag | OneOf(_) => None,
        }
    }

    fn problem(&self, problem: impl fmt::Display) -> ConfigError {
        ConfigError {
            variable: self.name,
            problem: problem.to_string(),
        }
    }
}

/// The environment as Gazette reads it: each variable through its declaration. Empty values
/// count as unset.
pub struct Env<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
    production: bool,
}

impl<'a> Env<'a> {
    pub fn new(lookup: &'a dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut env = Self {
            lookup,
            production: false,
        };
        env.production = env.one_of(&APP_ENV)? == "production";
        Ok(env)
    }

    pub fn production(&self) -> bool {
        self.production
    }

    /// The variable's value as set, trimmed; `None` when unset or empty.
    pub fn raw(&self, variable: &Variable) -> Option<String> {
        (self.lookup)(variable.name)
            .map(|value| value.trim().to_string())
            .filter(|value| !value.is_empty())
    }

    /// The value, or the declared fallback for this environment when there is one.
    fn value_or_fallback(&self, variable: &Variable) -> Option<String> {
        self.raw(variable).or_else(|| match variable.fallback {
            Value(value) => Some(value.to_string()),
            ByEnv {
                development,
                production,
            } => Some(
                if self.production {
                    production
                } else {
                    development
                }
                .to_string(),
            ),
            Derived(_) | Unset => None,
        })
    }

    /// A text variable with its fallback; `None` when it has none.
    pub fn text(&self, variable: &Variable) -> Option<String> {
        self.value_or_fallback(variable)
    }

    /// A whole number in the declared range; `None` when unset with no fallback.
    pub fn whole(&self, variable: &Variable) -> Result<Option<u64>, ConfigError> {
        let Some(raw) = self.value_or_fallback(variable) else {
            return Ok(None);
        };
        let (min, max) = variable.range().unwrap_or((0, u64::MAX));
        let unit = match variable.shape {
            Seconds { .. } => " of seconds",
            Minutes { .. } => " of minutes",
            _ => "",
        };
        raw.parse::<u64>()
            .ok()
            .filter(|n| (min..=max).contains(n))
            .map(Some)
            .ok_or_else(|| {
                variable.problem(format!(
                    "`{raw}` is not a whole number{unit} from {min} to {max}"
                ))
            })
    }

    /// A whole number that always has a value (a declared default).
    pub fn number<T: TryFrom<u64>>(&self, variable: &Variable) -> Result<T, ConfigError> {
        self.whole(variable)?
            .and_then(|n| T::try_from(n).ok())
            .ok_or_else(|| variable.problem("has no usable value"))
    }

    /// A number of seconds (or minutes, as declared) as a duration.
    pub fn duration(&self, variable: &Variable) -> Result<Duration, ConfigError> {
        let n: u64 = self.number(variable)?;
        Ok(match variable.shape {
            Minutes { .. } => Duration::from_secs(n.saturating_mul(60)),
            _ => Duration::from_secs(n),
        })
    }

    /// `true` or `false`.
    pub fn flag(&self, variable: &Variable) -> Result<bool, ConfigError> {
        match self
            .value_or_fallback(variable)
            .map(|v| v.to_ascii_lowercase())
            .as_deref()
        {
            Some("true" | "1" | "yes" | "on") => Ok(true),
            Some("false" | "0" | "no" | "off") | None => Ok(false),
            Some(other) => {
                Err(variable.problem(format!("expected `true` or `false`, got `{other}`")))
            }
        }
    }

    /// One of the declared words.
    pub fn one_of(&self, variable: &Variable) -> Result<&'static str, ConfigError> {
        let OneOf(words) = variable.shape else {
            return Err(variable.problem("is not a choice"));
        };
        let value = self.value_or_fallback(variable).unwrap_or_default();
        words.iter().copied().find(|w| *w == value).ok_or_else(|| {
            let listed: Vec<String> = words.iter().map(|w| format!("`{w}`")).collect();
            let (last, rest) = listed
                .split_last()
                .map_or(("", &[][..]), |(l, r)| (l.as_str(), r));
            variable.problem(format!(
                "expected {} or {last}, got `{value}`",
                rest.join(", ")
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_is_a_value_its_variable_accepts() {
        for production in [false, true] {
            let lookup = move |name: &str| {
                (name == APP_ENV.name && production).then(|| "production".to_string())
            };
            let env = Env::new(&lookup).unwrap();
            for variable in ALL {
                let checked = match variable.shape {
                    Text => Ok(()),
                    Flag => env.flag(variable).map(|_| ()),
                    OneOf(_) => env.one_of(variable).map(|_| ()),
                    Whole { .. } | Seconds { .. } | Minutes { .. } => {
                        env.whole(variable).map(|_| ())
                    }
                };
                assert!(checked.is_ok(), "{}: {checked:?}", variable.name);
            }
        }
    }

    #[test]
    fn names_are_unique_and_look_like_environment_variables() {
        let mut names: Vec<&str> = ALL.iter().map(|v| v.name).collect();
        assert!(
            names
                .iter()
                .all(|n| n.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'))
        );
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ALL.len());
    }

    #[test]
    fn a_choice_lists_what_it_accepts() {
        let lookup = |name: &str| (name == "PAYMENT_GATEWAY").then(|| "paypal".to_string());
        let env = Env::new(&lookup).unwrap();
        assert_eq!(
            env.one_of(&PAYMENT_GATEWAY).unwrap_err().to_string(),
            "PAYMENT_GATEWAY: expected `test`, `stripe` or `none`, got `paypal`"
        );
    }
}
