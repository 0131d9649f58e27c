//! Logging setup. Log lines describe what happened (route, status, what failed); they never
//! contain passwords, session tokens, CSRF tokens or cookie values.
//!
//! Every line logged while a request is handled, on the async workers or on the blocking pool,
//! is inside that request's span, which carries the `request_id` that the response returns as
//! `X-Request-Id`: an operator given the header finds every line of the request. Production
//! writes one JSON object per line for log collectors; development writes plain text.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;

use crate::config::AppEnv;

/// Installs the global subscriber with `filter` (`RUST_LOG`, tracing's syntax). A filter that
/// does not parse is refused rather than ignored, so an operator asking for debug lines does
/// not silently get none.
pub fn init(app_env: AppEnv, filter: &str) -> Result<(), String> {
    let filter = EnvFilter::builder()
        .with_default_directive(LevelFilter::INFO.into())
        .parse(filter)
        .map_err(|error| format!("RUST_LOG: {error}"))?;
    let logs = tracing_subscriber::fmt().with_env_filter(filter);
    // Fails only when a subscriber is already installed, which is fine (tests start many apps).
    let _ = match app_env {
        // The list of spans, not only the current one: the request id lives on the outermost.
        AppEnv::Production => logs
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(true)
            .try_init(),
        AppEnv::Development => logs.with_ansi(std::io::stdout().is_terminal()).try_init(),
    };
    Ok(())
}
