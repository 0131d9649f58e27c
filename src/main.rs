//! The `gazette` binary: reads the environment, starts logging, serves until a stop signal.
//! Anything wrong before serving is one plain line on stderr naming the variable to fix.

use std::process::ExitCode;

use gazette::config::Settings;
use gazette::lifecycle::Stopped;
use gazette::startup::{Application, Overrides};

fn main() -> ExitCode {
    // A missing .env is normal (production sets real environment variables).
    let _ = dotenvy::dotenv();
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(error) => return fail(&error),
    };
    if let Err(error) = gazette::telemetry::init(settings.app_env) {
        return fail(&error);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return fail(&format!("cannot start the async runtime: {error}")),
    };
    let outcome = runtime.block_on(serve(settings));
    // Blocking work still running past the shutdown deadline is abandoned rather than waited
    // for: the process must end within the bound the operator set.
    runtime.shutdown_background();
    outcome
}

async fn serve(settings: Settings) -> ExitCode {
    let app = match Application::build(settings, Overrides::default()).await {
        Ok(app) => app,
        Err(error) => return fail(&error),
    };
    match app.run_until_signalled().await {
        Ok(Stopped::Gracefully) => ExitCode::SUCCESS,
        Ok(Stopped::AtOnce) => ExitCode::FAILURE,
        Err(error) => fail(&error),
    }
}

/// Start-up problems are the operator's to fix: one plain line, no backtrace.
fn fail(error: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("gazette: {error}");
    ExitCode::FAILURE
}
