-- The requests to the payment processor that one reader's own requests cause are counted per
-- window, like login attempts, so nobody can use up the site's share of its rate limit.
ALTER TABLE login_throttle DROP CONSTRAINT login_throttle_scope_check;
ALTER TABLE login_throttle ADD CONSTRAINT login_throttle_scope_check
    CHECK (scope IN ('account', 'account_address', 'address', 'device', 'login', 'signup',
                     'reset_account', 'reset_address', 'password_check', 'processor_call'));

-- The e-mail address the processor holds for the reader's customer, as Gazette last sent it
-- (NULL: not known, as for every customer made before this column). Whenever it differs
-- from the account's address, the account's is sent, so receipts and invoices go where the
-- reader reads.
ALTER TABLE gateway_customers ADD COLUMN email TEXT CHECK (length(email) BETWEEN 3 AND 254);
