//! Logging setup. Log lines describe what happened (route, status, what failed); they never
//! contain passwords, session tokens, CSRF tokens or cookie values.
//!
//! Every line logged while a request is handled, on the async workers or on the blocking pool,
//! is inside that request's span, which carries the `request_id` that the response returns as
//! `X-Request-Id`: an operator given the header finds every line of the request. Production
//! writes one JSON object per line for log collectors; development writes plain text.
//!
//! Writing never holds up a request: lines go into a bounded queue that a thread of their own
//! writes to stdout ([`QUEUED_LINES`] at most, a few megabytes). When the queue is full (stdout
//! blocked, or a burst beyond what the disk takes), further lines are dropped rather than
//! waited for, and counted: [`Logging::report_dropped`] says how many in a warning of its own
//! once there is room again. At the end the queue is written out before the process exits.

mod json_lines;

use std::io::{BufWriter, IsTerminal};
use std::time::Duration;

use tracing_appender::non_blocking::{ErrorCounter, NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;

use crate::config::AppEnv;

/// Lines the writer's queue holds before new ones are dropped: seconds of a busy instance's
/// lines (one per request), a few megabytes at most.
pub const QUEUED_LINES: usize = 16_384;
/// How often dropped lines are looked for and reported.
const DROPPED_REPORT_EVERY: Duration = Duration::from_secs(10);

/// The running log writer: keep it until the process ends (dropping it writes out the queue).
pub struct Logging {
    _flush_on_drop: WorkerGuard,
    dropped: ErrorCounter,
}

impl Logging {
    /// Every few seconds, warns of lines dropped since the last report, until the task is
    /// dropped with the runtime.
    pub fn report_dropped(&self) -> tokio::task::JoinHandle<()> {
        let dropped = self.dropped.clone();
        tokio::spawn(async move {
            let mut reported = 0;
            loop {
                tokio::time::sleep(DROPPED_REPORT_EVERY).await;
                let now = dropped.dropped_lines();
                if now > reported {
                    tracing::warn!(
                        dropped = now - reported,
                        total_dropped = now,
                        "the log writer was full: lines were dropped"
                    );
                    reported = now;
                }
            }
        })
    }
}

/// Installs the global subscriber with `filter` (`RUST_LOG`, tracing's syntax). A filter that
/// does not parse is refused rather than ignored, so an operator asking for debug lines does
/// not silently get none.
pub fn init(app_env: AppEnv, filter: &str) -> Result<Logging, String> {
    let filter = EnvFilter::builder()
        .with_default_directive(LevelFilter::INFO.into())
        .parse(filter)
        .map_err(|error| format!("RUST_LOG: {error}"))?;
    let ansi = std::io::stdout().is_terminal();
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(QUEUED_LINES)
        .thread_name("gazette-log-writer")
        .finish(BufWriter::with_capacity(64 * 1024, std::io::stdout()));
    let dropped = writer.error_counter();
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    // Fails only when a subscriber is already installed, which is fine (tests start many apps).
    let _ = match app_env {
        AppEnv::Production => logs
            .fmt_fields(json_lines::SpanFields)
            .event_format(json_lines::JsonLines)
            .try_init(),
        AppEnv::Development => logs.with_ansi(ansi).try_init(),
    };
    Ok(Logging {
        _flush_on_drop: guard,
        dropped,
    })
}
