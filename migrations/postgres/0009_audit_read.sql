-- tobira: reading the audit log by staff, action and date (the console's audit view and
-- `tobira admin audit export`), and the log kept append-only.
--
-- Entries are read in id (append) order. Unlike SQLite's, a PostgreSQL index does not end
-- with the row id, so each filter's index carries `id` itself: `WHERE actor = $1 ORDER BY id
-- DESC LIMIT n` then walks the index and stops after n entries instead of sorting them all.
CREATE INDEX audit_log_at ON audit_log (at, id);
CREATE INDEX audit_log_actor ON audit_log (actor, id);
CREATE INDEX audit_log_action ON audit_log (action, id);
CREATE INDEX audit_log_member_id_id ON audit_log (member_id, id);

-- The log refuses every UPDATE, DELETE and TRUNCATE, whoever asks (as SQLite's triggers
-- audit_log_no_update and audit_log_no_delete do). A superuser could still drop the trigger:
-- that is a schema change, visible, not a quiet edit.
CREATE OR REPLACE FUNCTION tobira_audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;

DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION tobira_audit_log_append_only();
DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log;
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION tobira_audit_log_append_only();
