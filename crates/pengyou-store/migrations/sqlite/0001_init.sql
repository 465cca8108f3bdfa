-- Accounts, sessions, OAuth, notes with tags, mentions and edit history.
CREATE TABLE accounts (
    id              INTEGER PRIMARY KEY,
    username        TEXT    NOT NULL,
    username_key    TEXT    NOT NULL UNIQUE,
    display_name    TEXT    NOT NULL DEFAULT '',
    email           TEXT    UNIQUE,
    password_hash   TEXT    NOT NULL,
    bio             TEXT    NOT NULL DEFAULT '',
    languages       TEXT    NOT NULL DEFAULT '',
    ui_language     TEXT,
    locked          INTEGER NOT NULL DEFAULT 0,
    is_admin        INTEGER NOT NULL DEFAULT 0,
    suspended       INTEGER NOT NULL DEFAULT 0,
    notes_count     INTEGER NOT NULL DEFAULT 0,
    followers_count INTEGER NOT NULL DEFAULT 0,
    following_count INTEGER NOT NULL DEFAULT 0,
    last_note_at    INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);

CREATE TABLE web_sessions (
    token_hash BLOB    PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    user_agent TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX web_sessions_account ON web_sessions(account_id);

CREATE TABLE oauth_apps (
    id            INTEGER PRIMARY KEY,
    client_id     TEXT    NOT NULL UNIQUE,
    secret_hash   BLOB    NOT NULL,
    name          TEXT    NOT NULL,
    website       TEXT,
    redirect_uris TEXT    NOT NULL,
    scopes        TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
);

CREATE TABLE oauth_codes (
    code_hash      BLOB    PRIMARY KEY,
    app_id         INTEGER NOT NULL REFERENCES oauth_apps(id) ON DELETE CASCADE,
    account_id     INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    redirect_uri   TEXT    NOT NULL,
    scopes         TEXT    NOT NULL,
    code_challenge TEXT,
    expires_at     INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE oauth_tokens (
    token_hash BLOB    PRIMARY KEY,
    app_id     INTEGER NOT NULL REFERENCES oauth_apps(id) ON DELETE CASCADE,
    account_id INTEGER REFERENCES accounts(id) ON DELETE CASCADE,
    scopes     TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX oauth_tokens_account ON oauth_tokens(account_id);
CREATE INDEX oauth_tokens_app ON oauth_tokens(app_id);

CREATE TABLE notes (
    id             INTEGER PRIMARY KEY,
    account_id     INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    title          TEXT,
    body           TEXT    NOT NULL,
    content_html   TEXT    NOT NULL,
    language       TEXT,
    visibility     TEXT    NOT NULL,
    spoiler_text   TEXT    NOT NULL DEFAULT '',
    sensitive      INTEGER NOT NULL DEFAULT 0,
    in_reply_to_id INTEGER REFERENCES notes(id) ON DELETE SET NULL,
    created_at     INTEGER NOT NULL,
    edited_at      INTEGER
);
CREATE INDEX notes_account ON notes(account_id, id);
CREATE INDEX notes_reply ON notes(in_reply_to_id, id);

CREATE TABLE note_tags (
    tag      TEXT    NOT NULL,
    note_id  INTEGER NOT NULL REFERENCES notes(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    PRIMARY KEY (tag, note_id)
) WITHOUT ROWID;
CREATE INDEX note_tags_note ON note_tags(note_id);

CREATE TABLE note_mentions (
    note_id    INTEGER NOT NULL REFERENCES notes(id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    PRIMARY KEY (note_id, account_id)
) WITHOUT ROWID;
CREATE INDEX note_mentions_account ON note_mentions(account_id);

CREATE TABLE note_revisions (
    id           INTEGER PRIMARY KEY,
    note_id      INTEGER NOT NULL REFERENCES notes(id) ON DELETE CASCADE,
    title        TEXT,
    body         TEXT    NOT NULL,
    content_html TEXT    NOT NULL,
    spoiler_text TEXT    NOT NULL,
    sensitive    INTEGER NOT NULL,
    language     TEXT,
    created_at   INTEGER NOT NULL
);
CREATE INDEX note_revisions_note ON note_revisions(note_id, id);

CREATE TABLE idempotency_keys (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    key        TEXT    NOT NULL,
    note_id    INTEGER NOT NULL REFERENCES notes(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, key)
) WITHOUT ROWID;

CREATE TABLE follows (
    follower_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    followee_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (follower_id, followee_id)
) WITHOUT ROWID;
CREATE INDEX follows_followee ON follows(followee_id, follower_id);
