-- Accounts, sessions, OAuth, notes with tags, mentions and edit history.
CREATE TABLE accounts (
    id              BIGINT PRIMARY KEY,
    username        TEXT    NOT NULL,
    username_key    TEXT    NOT NULL CONSTRAINT accounts_username_unique UNIQUE,
    display_name    TEXT    NOT NULL DEFAULT '',
    email           TEXT    CONSTRAINT accounts_email_unique UNIQUE,
    password_hash   TEXT    NOT NULL,
    bio             TEXT    NOT NULL DEFAULT '',
    languages       TEXT    NOT NULL DEFAULT '',
    ui_language     TEXT,
    locked          BOOLEAN NOT NULL DEFAULT FALSE,
    is_admin        BOOLEAN NOT NULL DEFAULT FALSE,
    suspended       BOOLEAN NOT NULL DEFAULT FALSE,
    notes_count     BIGINT  NOT NULL DEFAULT 0,
    followers_count BIGINT  NOT NULL DEFAULT 0,
    following_count BIGINT  NOT NULL DEFAULT 0,
    last_note_at    BIGINT,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL
);

CREATE TABLE web_sessions (
    token_hash BYTEA   PRIMARY KEY,
    account_id BIGINT  NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    user_agent TEXT,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL
);
CREATE INDEX web_sessions_account ON web_sessions(account_id);

CREATE TABLE oauth_apps (
    id            BIGINT PRIMARY KEY,
    client_id     TEXT    NOT NULL UNIQUE,
    secret_hash   BYTEA   NOT NULL,
    name          TEXT    NOT NULL,
    website       TEXT,
    redirect_uris TEXT    NOT NULL,
    scopes        TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL
);

CREATE TABLE oauth_codes (
    code_hash      BYTEA   PRIMARY KEY,
    app_id         BIGINT  NOT NULL REFERENCES oauth_apps(id) ON DELETE CASCADE,
    account_id     BIGINT  NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    redirect_uri   TEXT    NOT NULL,
    scopes         TEXT    NOT NULL,
    code_challenge TEXT,
    expires_at     BIGINT  NOT NULL
);

CREATE TABLE oauth_tokens (
    token_hash BYTEA   PRIMARY KEY,
    app_id     BIGINT  NOT NULL REFERENCES oauth_apps(id) ON DELETE CASCADE,
    account_id BIGINT  REFERENCES accounts(id) ON DELETE CASCADE,
    scopes     TEXT    NOT NULL,
    created_at BIGINT  NOT NULL
);
CREATE INDEX oauth_tokens_account ON oauth_tokens(account_id);
CREATE INDEX oauth_tokens_app ON oauth_tokens(app_id);

CREATE TABLE notes (
    id             BIGINT PRIMARY KEY,
    account_id     BIGINT  NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    title          TEXT,
    body           TEXT    NOT NULL,
    content_html   TEXT    NOT NULL,
    language       TEXT,
    visibility     TEXT    NOT NULL,
    spoiler_text   TEXT    NOT NULL DEFAULT '',
    sensitive      BOOLEAN NOT NULL DEFAULT FALSE,
    in_reply_to_id BIGINT  REFERENCES notes(id) ON DELETE SET NULL,
    created_at     BIGINT  NOT NULL,
    edited_at      BIGINT
);
CREATE INDEX notes_account ON notes(account_id, id);
CREATE INDEX notes_reply ON notes(in_reply_to_id, id);

CREATE TABLE note_tags (
    tag      TEXT    NOT NULL,
    note_id  BIGINT  NOT NULL REFERENCES notes(id) ON DELETE CASCADE,
    position BIGINT  NOT NULL,
    PRIMARY KEY (tag, note_id)
);
CREATE INDEX note_tags_note ON note_tags(note_id);

CREATE TABLE note_mentions (
    note_id    BIGINT  NOT NULL REFERENCES notes(id) ON DELETE CASCADE,
    account_id BIGINT  NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    PRIMARY KEY (note_id, account_id)
);
CREATE INDEX note_mentions_account ON note_mentions(account_id);

CREATE TABLE note_revisions (
    id           BIGINT PRIMARY KEY,
    note_id      BIGINT  NOT NULL REFERENCES notes(id) ON DELETE CASCADE,
    title        TEXT,
    body         TEXT    NOT NULL,
    content_html TEXT    NOT NULL,
    spoiler_text TEXT    NOT NULL,
    sensitive    BOOLEAN NOT NULL,
    language     TEXT,
    created_at   BIGINT  NOT NULL
);
CREATE INDEX note_revisions_note ON note_revisions(note_id, id);

CREATE TABLE idempotency_keys (
    account_id BIGINT  NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    key        TEXT    NOT NULL,
    note_id    BIGINT  NOT NULL REFERENCES notes(id) ON DELETE CASCADE,
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (account_id, key)
);

CREATE TABLE follows (
    follower_id BIGINT  NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    followee_id BIGINT  NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    created_at  BIGINT  NOT NULL,
    PRIMARY KEY (follower_id, followee_id)
);
CREATE INDEX follows_followee ON follows(followee_id, follower_id);
