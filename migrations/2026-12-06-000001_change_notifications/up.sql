-- Every instance keeps some facts in memory (articles, login sessions, subscriptions, the
-- member meter) and must hear when they change, whoever changes them: the application on
-- another instance, or an operator with psql. So the database itself announces each change
-- on the channel the instances listen on, when the writing transaction commits (and never
-- when it rolls back). The payload names what changed: `reader:<user id>` or
-- `article:<article id>`.

CREATE FUNCTION gazette_reader_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('gazette_changes', 'reader:' || OLD.user_id);
        RETURN OLD;
    END IF;
    PERFORM pg_notify('gazette_changes', 'reader:' || NEW.user_id);
    IF TG_OP = 'UPDATE' AND OLD.user_id <> NEW.user_id THEN
        PERFORM pg_notify('gazette_changes', 'reader:' || OLD.user_id);
    END IF;
    RETURN NEW;
END
$$;

CREATE FUNCTION gazette_user_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('gazette_changes', 'reader:' || OLD.id);
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$$;

CREATE FUNCTION gazette_article_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('gazette_changes', 'article:' || OLD.id);
        RETURN OLD;
    END IF;
    PERFORM pg_notify('gazette_changes', 'article:' || NEW.id);
    RETURN NEW;
END
$$;

CREATE TRIGGER user_sessions_changed AFTER INSERT OR UPDATE OR DELETE ON user_sessions
    FOR EACH ROW EXECUTE FUNCTION gazette_reader_changed();
CREATE TRIGGER subscriptions_changed AFTER INSERT OR UPDATE OR DELETE ON subscriptions
    FOR EACH ROW EXECUTE FUNCTION gazette_reader_changed();
CREATE TRIGGER meter_reads_changed AFTER INSERT OR UPDATE OR DELETE ON meter_reads
    FOR EACH ROW EXECUTE FUNCTION gazette_reader_changed();
-- A new account is in no cache yet; a changed or deleted one may be.
CREATE TRIGGER users_changed AFTER UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION gazette_user_changed();
CREATE TRIGGER articles_changed AFTER INSERT OR UPDATE OR DELETE ON articles
    FOR EACH ROW EXECUTE FUNCTION gazette_article_changed();
