#!/usr/bin/env bash
# Nightly logical backup of the Renzo database: `pg_dump -Fc`, kept KEEP_DAYS days.
# Runs in the compose `backup` service (postgres:17 image, PG* variables set there):
#   docker compose run --rm backup
# Works anywhere pg_dump can reach the server through the standard PG* variables
# (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE).
# Exits non-zero on any failure, and never deletes old dumps unless today's one succeeded.
# Restore: docs/deploy.md ("Restore").
set -euo pipefail

BACKUP_DIR="${BACKUP_DIR:-/backups}"
KEEP_DAYS="${KEEP_DAYS:-14}"
: "${PGHOST:?PGHOST is not set}" "${PGUSER:?PGUSER is not set}" "${PGDATABASE:?PGDATABASE is not set}"

mkdir -p "$BACKUP_DIR"
target="$BACKUP_DIR/${PGDATABASE}-$(date -u +%Y%m%dT%H%M%SZ).dump"
partial="$target.partial"
trap 'rm -f "$partial"' EXIT

pg_dump --format=custom --no-password --file="$partial"
# A dump that pg_restore cannot read is no backup.
pg_restore --list "$partial" >/dev/null
mv "$partial" "$target"

# Rotation: delete dumps older than KEEP_DAYS days (an hour of slack, so a nightly job keeps
# exactly KEEP_DAYS files even when it runs a little late or early).
find "$BACKUP_DIR" -maxdepth 1 -type f -name "${PGDATABASE}-*.dump" \
	-mmin +$((KEEP_DAYS * 24 * 60 - 60)) -print -delete

echo "backup ok: $target ($(du -h "$target" | cut -f1))"
