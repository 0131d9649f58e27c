//! Logging setup. Log lines describe what happened (route, status, what failed); they never
//! contain passwords, session tokens or cookie values.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber; `RUST_LOG` overrides the default level.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Fails only when a subscriber is already installed, which is fine (tests start many apps).
    let _ = tracing_subscriber::fmt().with_env_filter(filter).try_init();
}
