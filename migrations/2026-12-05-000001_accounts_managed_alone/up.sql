-- Links sent by mail to manage an account alone: resetting a forgotten password and
-- confirming a new e-mail address. Only the SHA-256 of a link's random token is kept, so a
-- copy of this table opens nothing. A link is used once: using it deletes its row.
CREATE TABLE account_tokens (
    id          BIGSERIAL   PRIMARY KEY,
    user_id     BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose     TEXT        NOT NULL CHECK (purpose IN ('password_reset', 'email_change')),
    token_hash  BYTEA       NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    -- The address an e-mail change leads to (normalised like users.email).
    new_email   TEXT        CHECK (new_email = btrim(new_email) AND length(new_email) BETWEEN 3 AND 254),
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    CHECK (expires_at > created_at),
    CHECK ((purpose = 'email_change') = (new_email IS NOT NULL))
);
CREATE INDEX account_tokens_by_user ON account_tokens (user_id, purpose);
CREATE INDEX account_tokens_by_expiry ON account_tokens (expires_at);

-- Mail waiting to be sent, written in the same transaction as the change it tells of, and
-- sent by a background sender (each instance runs one; rows are claimed one at a time with
-- SKIP LOCKED and a lease in next_attempt_at, so a crashed sender's row is tried again).
-- A row names what to send, not the message: links are made when the mail is sent, so no
-- usable token is ever stored here. A sent row is deleted.
CREATE TABLE mail_outbox (
    id               BIGSERIAL   PRIMARY KEY,
    kind             TEXT        NOT NULL CHECK (kind IN ('password_reset', 'email_change',
                                     'password_changed', 'email_changed', 'account_deleted')),
    recipient        TEXT        NOT NULL CHECK (recipient = btrim(recipient) AND length(recipient) BETWEEN 3 AND 254),
    -- The account the mail is about, when it is known when the mail is asked for. Not a
    -- foreign key: owing a mail must not touch the accounts table at all (a reset request is
    -- the same work whether or not the address has an account); deleting an account deletes
    -- its rows here itself.
    user_id          BIGINT,
    -- One value the message needs (the new address, for a notice of an e-mail change).
    detail           TEXT        NOT NULL DEFAULT '' CHECK (length(detail) <= 254),
    created_at       TIMESTAMPTZ NOT NULL,
    next_attempt_at  TIMESTAMPTZ NOT NULL,
    attempts         INTEGER     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    -- Past this the mail is no use any more (a reset asked for an hour ago) and is dropped.
    expires_at       TIMESTAMPTZ NOT NULL,
    last_error       TEXT        CHECK (length(last_error) <= 500),
    CHECK (expires_at > created_at)
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at);
CREATE INDEX mail_outbox_by_user ON mail_outbox (user_id) WHERE user_id IS NOT NULL;

-- Reset requests are throttled per address and per account, and password checks on the
-- account's own forms (change password, change e-mail, delete) per account.
ALTER TABLE login_throttle DROP CONSTRAINT login_throttle_scope_check;
ALTER TABLE login_throttle ADD CONSTRAINT login_throttle_scope_check
    CHECK (scope IN ('account', 'account_address', 'address', 'device', 'login', 'signup',
                     'reset_account', 'reset_address', 'password_check'));

-- What is kept of a deleted account's payments, for accounting: the processor's reference,
-- the plan, the period and its value, and nothing that names the reader (no account, no
-- e-mail).
CREATE TABLE closed_account_payments (
    id                    BIGSERIAL   PRIMARY KEY,
    plan_code             TEXT        NOT NULL,
    gateway               TEXT        NOT NULL,
    gateway_reference     TEXT        NOT NULL,
    period_value_cents    INTEGER     NOT NULL CHECK (period_value_cents >= 0),
    current_period_start  TIMESTAMPTZ NOT NULL,
    current_period_end    TIMESTAMPTZ NOT NULL,
    recorded_at           TIMESTAMPTZ NOT NULL,
    account_closed_at     TIMESTAMPTZ NOT NULL,
    UNIQUE (gateway, gateway_reference)
);
