//! The `gazette` binary: loads `.env`, then runs the command line (`cli`): serving by default,
//! or one of the operator's commands. Anything wrong is one plain line on stderr.

use std::process::ExitCode;

fn main() -> ExitCode {
    // OpenSSL initialised first, without a clean-up at exit: libpq would otherwise initialise
    // it with one, and that clean-up frees what threads still running at exit may be using.
    openssl::init();
    // A missing .env is normal (production sets real environment variables).
    let _ = dotenvy::dotenv();
    gazette::cli::run(std::env::args_os())
}
