DROP TABLE newsletter_pace;
DROP TABLE newsletter_deliveries;
DROP TABLE newsletter_sends;
DROP TABLE newsletter_suppressions;
DROP TABLE newsletter_signups;
ALTER TABLE users DROP COLUMN newsletter_opted_in_at, DROP COLUMN email_confirmed_at;
