//! The `gazette` binary: loads `.env`, then runs the command line (`cli`): serving by default,
//! or one of the operator's commands. Anything wrong is one plain line on stderr.

use std::process::ExitCode;

fn main() -> ExitCode {
    // A missing .env is normal (production sets real environment variables).
    let _ = dotenvy::dotenv();
    gazette::cli::run(std::env::args_os())
}
