#!/bin/sh
# Online backup of a SQLite tobira database (the server keeps running): a consistent copy
# through SQLite's VACUUM INTO, then the copy is checked. Run from cron or a systemd timer as
# the tobira user. The secret key is NOT in the database: back /etc/tobira/secrets.env (or
# <data dir>/secret.key) up separately, and keep the two apart.
set -eu
db=${1:-/var/lib/tobira/tobira.db}
dest=${2:-/var/backups/tobira}
mkdir -p "$dest"
out="$dest/tobira-$(date -u +%Y%m%dT%H%M%SZ).db"
sqlite3 "$db" "VACUUM INTO '$out'"
test "$(sqlite3 "$out" 'PRAGMA integrity_check')" = ok
echo "$out"
