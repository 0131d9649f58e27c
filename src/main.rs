use std::process::ExitCode;

use gazette::config::Settings;
use gazette::startup::Application;

#[tokio::main]
async fn main() -> ExitCode {
    // A missing .env is normal (production sets real environment variables).
    let _ = dotenvy::dotenv();
    gazette::telemetry::init();

    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(error) => return fail(&error),
    };
    let app = match Application::build(settings).await {
        Ok(app) => app,
        Err(error) => return fail(&error),
    };
    tracing::info!("Gazette is serving on http://{}", app.address());
    match app.run_until_stopped().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(&error),
    }
}

/// Start-up problems are the operator's to fix: one plain line, no backtrace.
fn fail(error: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("gazette: {error}");
    ExitCode::FAILURE
}
