DROP TRIGGER articles_changed ON articles;
DROP TRIGGER users_changed ON users;
DROP TRIGGER meter_reads_changed ON meter_reads;
DROP TRIGGER subscriptions_changed ON subscriptions;
DROP TRIGGER user_sessions_changed ON user_sessions;
DROP FUNCTION gazette_article_changed();
DROP FUNCTION gazette_user_changed();
DROP FUNCTION gazette_reader_changed();
