-- tobira: reading the audit log by staff, action and date (the console's audit view and
-- `tobira admin audit export`). Entries are read in id (append) order; every index of SQLite
-- ends with the rowid, so `WHERE actor = ? ORDER BY id` walks an index without sorting.
-- The log stays append-only: the triggers of 0001_initial (audit_log_no_update,
-- audit_log_no_delete) refuse every UPDATE and DELETE.
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_actor ON audit_log (actor);
CREATE INDEX audit_log_action ON audit_log (action);
