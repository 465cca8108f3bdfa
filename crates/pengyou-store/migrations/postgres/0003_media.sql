-- Media: photos and videos attached to notes and comments, their files in
-- object storage under a random key; subtitle tracks per video.
CREATE TABLE media (
    id          BIGINT PRIMARY KEY,
    -- No foreign key: when an account goes, its media rows stay until the sweeper has deleted their files.
    account_id  BIGINT  NOT NULL,
    note_id     BIGINT  REFERENCES notes(id) ON DELETE SET NULL,
    position    BIGINT  NOT NULL DEFAULT 0,
    kind        TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    error       TEXT,
    storage_key TEXT    NOT NULL UNIQUE,
    description TEXT    NOT NULL DEFAULT '',
    focus_x     DOUBLE PRECISION NOT NULL DEFAULT 0,
    focus_y     DOUBLE PRECISION NOT NULL DEFAULT 0,
    meta        TEXT    NOT NULL DEFAULT '{}',
    subtitles   TEXT    NOT NULL DEFAULT '[]',
    blurhash    TEXT,
    detached_at BIGINT ,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL
);
CREATE INDEX media_by_note ON media(note_id, position) WHERE note_id IS NOT NULL;
CREATE INDEX media_unattached ON media(created_at) WHERE note_id IS NULL;
CREATE INDEX media_by_account ON media(account_id);

-- Long-lived random secrets every app node shares (e.g. for signing media URLs).
CREATE TABLE server_secrets (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Slow jobs (media) get their own queue so they never hold up fan-out.
ALTER TABLE jobs ADD COLUMN queue TEXT NOT NULL DEFAULT 'main';
DROP INDEX jobs_ready;
CREATE INDEX jobs_ready ON jobs(queue, run_at, id) WHERE failed_at IS NULL;
