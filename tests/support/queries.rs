//! Counting the statements the app sends to one test database, through diesel's
//! instrumentation: every connection this process opens reports its statements here, under
//! the name of the database it connected to.

use std::collections::HashMap;
use std::sync::{Mutex, Once};

use diesel::connection::{Instrumentation, InstrumentationEvent, set_default_instrumentation};

static COUNTS: Mutex<Option<HashMap<String, u64>>> = Mutex::new(None);

struct Counter {
    database: Option<String>,
    /// Statements diesel sends while connecting (time zone, encoding) are not the app's.
    connecting: bool,
}

impl Instrumentation for Counter {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        match event {
            InstrumentationEvent::StartEstablishConnection { url, .. } => {
                self.connecting = true;
                self.database = url::Url::parse(url)
                    .ok()
                    .map(|u| u.path().trim_start_matches('/').to_string());
            }
            InstrumentationEvent::FinishEstablishConnection { .. } => self.connecting = false,
            InstrumentationEvent::StartQuery { .. } if !self.connecting => {
                if let Some(database) = &self.database {
                    let mut counts = COUNTS.lock().unwrap_or_else(|e| e.into_inner());
                    *counts
                        .get_or_insert_with(HashMap::new)
                        .entry(database.clone())
                        .or_default() += 1;
                }
            }
            _ => {}
        }
    }
}

/// Installs the counter for every connection opened from now on (once per process).
pub fn install() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        set_default_instrumentation(|| {
            Some(Box::new(Counter {
                database: None,
                connecting: false,
            }))
        })
        .expect("installing the query counter");
    });
}

/// Statements sent so far to the database called `name`.
pub fn sent_to(name: &str) -> u64 {
    COUNTS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .and_then(|counts| counts.get(name).copied())
        .unwrap_or(0)
}
