-- tobira: reading the audit log by staff, action and date (the console's audit view and
-- `tobira admin audit export`).
--
-- Entries are read in id (append) order. Unlike SQLite's, a PostgreSQL index does not end
-- with the row id, so each filter's index carries `id` itself: `WHERE actor = $1 ORDER BY id
-- DESC LIMIT n` then walks the index and stops after n entries instead of sorting them all.
CREATE INDEX audit_log_at ON audit_log (at, id);
CREATE INDEX audit_log_actor ON audit_log (actor, id);
CREATE INDEX audit_log_action ON audit_log (action, id);
CREATE INDEX audit_log_member_id_id ON audit_log (member_id, id);
-- It serves every read the one of 0001 served.
DROP INDEX audit_log_member_id;

-- The log stays append-only: the triggers of 0001_initial (audit_log_no_update,
-- audit_log_no_delete, audit_log_no_truncate) refuse every UPDATE, DELETE and TRUNCATE.
