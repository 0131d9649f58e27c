-- When reconciliation last asked the processor about a subscription, whatever the answer. A
-- subscription it cannot bring up to date (the processor no longer has it, or its answer
-- cannot be applied) then waits its turn behind the others instead of coming first in every
-- pass, so a full batch of them never keeps the rest from being re-read.
ALTER TABLE subscriptions ADD COLUMN checked_at TIMESTAMPTZ;
