-- Access without a renewing subscription: a complimentary grant an admin gives (`comp`) or,
-- later, a redeemed gift (`gift`). A reader reads everything while `starts_at <= now <
-- ends_at`; nothing has to run for a grant to end. A reader has at most one comp: giving it
-- again moves its end. `reminded_at` is when the invitation to subscribe near the end was
-- queued (at most once per grant).

CREATE TABLE access_grants (
    id           BIGSERIAL   PRIMARY KEY,
    user_id      BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind         TEXT        NOT NULL CHECK (kind IN ('comp', 'gift')),
    starts_at    TIMESTAMPTZ NOT NULL,
    ends_at      TIMESTAMPTZ NOT NULL,
    granted_by   BIGINT      REFERENCES users (id) ON DELETE SET NULL,
    reminded_at  TIMESTAMPTZ,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (starts_at <= ends_at)
);

CREATE UNIQUE INDEX access_grants_one_comp ON access_grants (user_id) WHERE kind = 'comp';
CREATE INDEX access_grants_by_reader ON access_grants (user_id, ends_at);

-- A reader's grants are cached with their login: every instance must hear of a change.
CREATE TRIGGER access_grants_changed AFTER INSERT OR UPDATE OR DELETE ON access_grants
    FOR EACH ROW EXECUTE FUNCTION gazette_reader_changed();

-- Housekeeping finds the grants whose invitation to subscribe is due through this index.
CREATE INDEX access_grants_to_remind ON access_grants (ends_at) WHERE reminded_at IS NULL;

-- The invitation to subscribe near a grant's end goes through the account-mail outbox.
ALTER TABLE mail_outbox DROP CONSTRAINT mail_outbox_kind_check;
ALTER TABLE mail_outbox ADD CONSTRAINT mail_outbox_kind_check CHECK (kind IN ('password_reset',
    'email_change', 'password_changed', 'email_changed', 'account_deleted',
    'newsletter_confirmation', 'access_ending'));
