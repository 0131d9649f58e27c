DROP TRIGGER access_grants_changed ON access_grants;
DROP TABLE access_grants;
