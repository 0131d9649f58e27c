//! Accounts: signing up, logging in and out, throttling, CSRF and forms, and what a reader does with their account alone.

mod changes;
mod csrf;
mod deletion;
mod form_input;
mod login;
mod login_throttling;
mod logout;
mod mail;
mod recovery;
mod signup;
mod takeover;
