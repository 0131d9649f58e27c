//! A payment processor for tests. It keeps a ledger of the money it took and answers like a
//! real processor: a repeated idempotency key gets the first outcome, and it can be asked what
//! became of a key. Tests script how it answers the next charges.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gazette::payments::{
    Charge, ChargeFuture, ChargeOutcome, ChargeRequest, OutcomeFuture, PaymentError, PaymentGateway,
};

/// Money the processor took.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Taken {
    pub key: String,
    pub user_id: i64,
    pub plan_code: String,
    pub amount_cents: i32,
    pub reference: String,
}

/// How the processor answers a charge under a key it has not seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    Accept,
    Decline,
    /// The request never reached the processor: nothing taken, nothing known to the app.
    Unreachable,
    /// The money is taken but the answer is lost on the way back (a timeout, a dropped
    /// connection): the app cannot tell this from `Unreachable`.
    TakeButLoseTheReply,
}

#[derive(Default)]
pub struct FakeProcessor {
    ledger: Mutex<Vec<Taken>>,
    declined: Mutex<HashSet<String>>,
    script: Mutex<VecDeque<Answer>>,
    latency: Duration,
    outcome_unavailable: AtomicBool,
    charge_calls: AtomicUsize,
    while_charging: Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

impl FakeProcessor {
    /// A processor that accepts every charge after `latency`.
    pub fn new(latency: Duration) -> Arc<Self> {
        Arc::new(Self {
            latency,
            ..Self::default()
        })
    }

    /// The next charges (under new keys) are answered so, in order; then `Accept`.
    pub fn will_answer(&self, answers: &[Answer]) {
        self.script.lock().unwrap().extend(answers);
    }

    /// Runs `hook` (once) after the next payment is taken and before it is answered.
    pub fn while_charging(&self, hook: impl FnOnce() + Send + 'static) {
        *self.while_charging.lock().unwrap() = Some(Box::new(hook));
    }

    /// While set, asking what became of a key fails as if the processor were down.
    pub fn set_outcome_unavailable(&self, unavailable: bool) {
        self.outcome_unavailable
            .store(unavailable, Ordering::SeqCst);
    }

    /// Every payment taken, in order.
    pub fn charges(&self) -> Vec<Taken> {
        self.ledger.lock().unwrap().clone()
    }

    pub fn charges_of(&self, user_id: i64) -> Vec<Taken> {
        self.charges()
            .into_iter()
            .filter(|taken| taken.user_id == user_id)
            .collect()
    }

    pub fn amounts(&self) -> Vec<i32> {
        self.charges().iter().map(|t| t.amount_cents).collect()
    }

    /// How many charge requests arrived (repeats of a key included).
    pub fn charge_calls(&self) -> usize {
        self.charge_calls.load(Ordering::SeqCst)
    }

    fn taken(&self, key: &str) -> Option<Taken> {
        self.ledger
            .lock()
            .unwrap()
            .iter()
            .find(|taken| taken.key == key)
            .cloned()
    }
}

impl PaymentGateway for FakeProcessor {
    fn name(&self) -> &'static str {
        "fake"
    }

    fn is_test(&self) -> bool {
        true
    }

    fn charge(&self, request: ChargeRequest) -> ChargeFuture<'_> {
        Box::pin(async move {
            self.charge_calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(self.latency).await;
            let key = request.idempotency_key.clone();
            if let Some(taken) = self.taken(&key) {
                return Ok(Charge {
                    reference: taken.reference,
                });
            }
            if self.declined.lock().unwrap().contains(&key) {
                return Err(PaymentError::Declined("insufficient funds".into()));
            }
            let answer = self
                .script
                .lock()
                .unwrap()
                .pop_front()
                .unwrap_or(Answer::Accept);
            let take = || {
                let taken = Taken {
                    reference: format!("ref-{key}"),
                    key: key.clone(),
                    user_id: request.user_id,
                    plan_code: request.plan_code.clone(),
                    amount_cents: request.amount_cents,
                };
                self.ledger.lock().unwrap().push(taken.clone());
                taken
            };
            match answer {
                Answer::Accept => {
                    let reference = take().reference;
                    let hook = self.while_charging.lock().unwrap().take();
                    if let Some(hook) = hook {
                        tokio::task::spawn_blocking(hook).await.unwrap();
                    }
                    Ok(Charge { reference })
                }
                Answer::Decline => {
                    self.declined.lock().unwrap().insert(key.clone());
                    Err(PaymentError::Declined("insufficient funds".into()))
                }
                Answer::Unreachable => Err(PaymentError::Unavailable("connection refused".into())),
                Answer::TakeButLoseTheReply => {
                    take();
                    Err(PaymentError::Unavailable("timed out".into()))
                }
            }
        })
    }

    fn outcome(&self, idempotency_key: String) -> OutcomeFuture<'_> {
        Box::pin(async move {
            if self.outcome_unavailable.load(Ordering::SeqCst) {
                return Err(PaymentError::Unavailable("connection refused".into()));
            }
            Ok(match self.taken(&idempotency_key) {
                Some(taken) => ChargeOutcome::Charged(Charge {
                    reference: taken.reference,
                }),
                None => ChargeOutcome::NotCharged,
            })
        })
    }
}
