//! Operations: the command line, starting and stopping, the demo content, logs, several instances, outages, housekeeping, bounded tables and hostile clients.

mod bounded_tables;
mod cli;
mod cookies_and_headers;
mod demo_content;
mod hostile_input;
mod housekeeping;
mod instances;
mod logs;
mod moving;
mod resilience;
pub mod running;
mod shutdown;
mod slow_clients;
mod startup;
