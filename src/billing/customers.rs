//! The reader's customer at the processor follows the account's e-mail address, so receipts
//! and invoices go where the reader reads.
//!
//! The address the processor holds is stored with the customer (as last sent). Wherever it is
//! not the account's, the account's is sent: at once when the reader confirms a new address,
//! and by housekeeping for every customer the processor could not be told about then (it was
//! down, the instance stopped), or whose address was changed some other way. No transaction
//! is held while the processor is asked; sending the same address twice is harmless, so
//! several instances may do it at once.

use std::time::Duration as StdDuration;

use super::reconcile::Reconciled;
use super::{Billing, request_key};
use crate::db::gateway_customers::EmailBehind;
use crate::db::{self, DbError};
use crate::domain::ids::UserId;
use crate::payments::hosted::{HostedError, HostedGateway};

/// How long a reader's confirmation waits for the processor; what it cannot send in that time
/// housekeeping sends.
const FOLLOW_TIMEOUT: StdDuration = StdDuration::from_secs(5);
/// Customers brought in step per housekeeping pass.
const BATCH: i64 = 100;

impl Billing {
    /// Sends the account's address to the reader's customer at the processor, when it holds
    /// another. What fails is logged and left to housekeeping: the reader's change stands.
    pub async fn follow_email(&self, user_id: UserId) {
        let Some(gateway) = self.hosted() else {
            return;
        };
        let name = gateway.name();
        let sent = async {
            let behind = db::run(
                &self.pool,
                "finding the reader's customer to tell",
                move |conn| db::gateway_customers::emails_behind(conn, name, Some(user_id), 1),
            )
            .await?;
            let Some(customer) = behind.into_iter().next() else {
                return Ok(true);
            };
            tokio::time::timeout(FOLLOW_TIMEOUT, self.send_email(&*gateway, customer))
                .await
                .unwrap_or(Ok(false))
        };
        match sent.await {
            Ok(true) => {}
            Ok(false) => tracing::warn!(
                user_id = user_id.get(),
                "the processor was not told the new address yet; housekeeping will tell it"
            ),
            Err(error) => tracing::warn!(
                user_id = user_id.get(),
                "the processor was not told the new address yet ({error}); housekeeping will tell it"
            ),
        }
    }

    /// Sends the account's address to customers whose address at the processor is another,
    /// a batch per pass.
    pub(super) async fn reconcile_emails(
        &self,
        gateway: &dyn HostedGateway,
        done: &mut Reconciled,
    ) -> Result<(), DbError> {
        let name = gateway.name();
        let behind = db::run(
            &self.pool,
            "listing customers whose address is behind",
            move |conn| db::gateway_customers::emails_behind(conn, name, None, BATCH),
        )
        .await?;
        for customer in behind {
            if self.send_email(gateway, customer).await? {
                done.emails += 1;
            } else {
                done.unanswered += 1;
            }
        }
        Ok(())
    }

    /// Sends `customer` the account's address and notes it (or forgets a customer the
    /// processor no longer has); false when the processor could not be told (it is asked
    /// again on the next pass).
    async fn send_email(
        &self,
        gateway: &dyn HostedGateway,
        customer: EmailBehind,
    ) -> Result<bool, DbError> {
        let EmailBehind {
            user_id,
            reference,
            account_email,
        } = customer;
        let key = match request_key("email") {
            Ok(key) => key,
            Err(error) => {
                tracing::warn!(
                    user_id = user_id.get(),
                    "sending a customer's address: {error}"
                );
                return Ok(false);
            }
        };
        let name = gateway.name();
        let told = gateway
            .set_customer_email(reference.clone(), account_email.clone(), key)
            .await;
        match told {
            Ok(()) => {}
            Err(HostedError::Missing(_) | HostedError::CustomerGone(_)) => {
                // Deleted at the processor: the reader's next checkout makes a new one.
                tracing::warn!(user_id = user_id.get(), customer = %reference, "the processor lost the customer");
                self.for_reader(user_id, "forgetting a lost customer", move |conn| {
                    db::gateway_customers::forget(conn, name, &reference)
                })
                .await?;
                return Ok(true);
            }
            Err(error) => {
                tracing::warn!(
                    user_id = user_id.get(),
                    "sending a customer's address: {error}"
                );
                return Ok(false);
            }
        }
        self.for_reader(user_id, "noting the customer's address", move |conn| {
            db::gateway_customers::set_email(conn, name, &reference, &account_email)
        })
        .await?;
        tracing::info!(
            user_id = user_id.get(),
            "the customer's e-mail address follows the account's"
        );
        Ok(true)
    }
}
