-- Comments, likes, collects and boards, follows and follow requests, blocks,
-- mutes, keyword filters, notifications, home feeds, followed tags and the job queue.
ALTER TABLE notes ADD COLUMN root_id INTEGER REFERENCES notes(id) ON DELETE CASCADE;
ALTER TABLE notes ADD COLUMN parent_comment_id INTEGER REFERENCES notes(id) ON DELETE CASCADE;
ALTER TABLE notes ADD COLUMN replies_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE notes ADD COLUMN favourites_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE notes ADD COLUMN collects_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE notes ADD COLUMN views_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE notes ADD COLUMN pinned_comment_id INTEGER;
CREATE INDEX notes_comments_new ON notes(root_id, id) WHERE root_id IS NOT NULL AND parent_comment_id IS NULL;
CREATE INDEX notes_comments_hot ON notes(root_id, favourites_count, id)
    WHERE root_id IS NOT NULL AND parent_comment_id IS NULL;
CREATE INDEX notes_root ON notes(root_id) WHERE root_id IS NOT NULL;
CREATE INDEX notes_replies ON notes(parent_comment_id, id) WHERE parent_comment_id IS NOT NULL;
CREATE INDEX notes_public ON notes(id) WHERE visibility = 'public' AND root_id IS NULL;

ALTER TABLE follows ADD COLUMN id INTEGER NOT NULL DEFAULT 0;
CREATE INDEX follows_followee_page ON follows(followee_id, id);
CREATE INDEX follows_follower_page ON follows(follower_id, id);

CREATE TABLE follow_requests (
    id          INTEGER NOT NULL,
    follower_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    followee_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (follower_id, followee_id)
) WITHOUT ROWID;
CREATE INDEX follow_requests_followee ON follow_requests(followee_id, id);

CREATE TABLE blocks (
    id         INTEGER NOT NULL,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    target_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, target_id)
) WITHOUT ROWID;
CREATE INDEX blocks_target ON blocks(target_id, account_id);

CREATE TABLE mutes (
    id            INTEGER NOT NULL,
    account_id    INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    target_id     INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    notifications INTEGER NOT NULL,
    expires_at    INTEGER,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (account_id, target_id)
) WITHOUT ROWID;

CREATE TABLE favourites (
    id         INTEGER NOT NULL,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    note_id    INTEGER NOT NULL REFERENCES notes(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, note_id)
) WITHOUT ROWID;
CREATE INDEX favourites_note ON favourites(note_id, id);
CREATE INDEX favourites_account ON favourites(account_id, id);

CREATE TABLE boards (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    description TEXT    NOT NULL DEFAULT '',
    public      INTEGER NOT NULL,
    is_default  INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX boards_account ON boards(account_id, id);
CREATE UNIQUE INDEX boards_one_default ON boards(account_id) WHERE is_default;

-- A note sits in at most one of an account's boards; collecting it into another moves it.
CREATE TABLE collects (
    id         INTEGER NOT NULL,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    note_id    INTEGER NOT NULL REFERENCES notes(id) ON DELETE CASCADE,
    board_id   INTEGER NOT NULL REFERENCES boards(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, note_id)
) WITHOUT ROWID;
CREATE INDEX collects_account ON collects(account_id, id);
CREATE INDEX collects_board ON collects(board_id, id);
CREATE INDEX collects_note ON collects(note_id);

CREATE TABLE filters (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    title      TEXT    NOT NULL,
    context    TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    expires_at INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX filters_account ON filters(account_id);
CREATE TABLE filter_keywords (
    id         INTEGER PRIMARY KEY,
    filter_id  INTEGER NOT NULL REFERENCES filters(id) ON DELETE CASCADE,
    keyword    TEXT    NOT NULL,
    whole_word INTEGER NOT NULL
);
CREATE INDEX filter_keywords_filter ON filter_keywords(filter_id);

CREATE TABLE notifications (
    id              INTEGER PRIMARY KEY,
    account_id      INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    kind            TEXT    NOT NULL,
    from_account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    note_id         INTEGER REFERENCES notes(id) ON DELETE CASCADE,
    group_key       TEXT    NOT NULL,
    created_at      INTEGER NOT NULL
);
CREATE INDEX notifications_account ON notifications(account_id, id);
CREATE INDEX notifications_group ON notifications(account_id, group_key, id);
CREATE UNIQUE INDEX notifications_once ON notifications(account_id, kind, from_account_id, coalesce(note_id, 0));

CREATE TABLE markers (
    account_id   INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    timeline     TEXT    NOT NULL,
    last_read_id INTEGER NOT NULL,
    version      INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (account_id, timeline)
) WITHOUT ROWID;

-- Fan-out on write: one row per (reader, note) for the notes of accounts they follow.
CREATE TABLE home_feed (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    note_id    INTEGER NOT NULL REFERENCES notes(id) ON DELETE CASCADE,
    author_id  INTEGER NOT NULL,
    PRIMARY KEY (account_id, note_id)
) WITHOUT ROWID;
CREATE INDEX home_feed_note ON home_feed(note_id);
CREATE INDEX home_feed_author ON home_feed(account_id, author_id);

CREATE TABLE followed_tags (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    tag        TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, tag)
) WITHOUT ROWID;

CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY,
    kind         TEXT    NOT NULL,
    payload      TEXT    NOT NULL,
    run_at       INTEGER NOT NULL,
    locked_until INTEGER,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT,
    failed_at    INTEGER,
    created_at   INTEGER NOT NULL
);
CREATE INDEX jobs_ready ON jobs(run_at, id) WHERE failed_at IS NULL;
