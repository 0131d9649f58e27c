DROP TRIGGER article_gifts_changed ON article_gifts;
DROP TABLE article_gifts;
