//! The embedded SQLite backend: one writer connection and a few reader
//! connections in WAL mode, each used on the blocking pool so the async runtime
//! never waits on disk.
//!
//! Why rusqlite and not sqlx's SQLite driver: measured on this project's target
//! machine, rusqlite behind `spawn_blocking` did inserts in 39 µs vs 80 µs, point
//! reads in 21 µs vs 50 µs and 20-row listings in 38 µs vs 95 µs (see
//! docs/ARCHITECTURE.md). SQLite allows one writer at a time anyway, so a single
//! writer connection behind an async mutex serialises writes without busy retries.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};
use tokio::sync::Mutex;

use crate::model::*;
use crate::{Result, Store, StoreError, next_id};

const MIGRATIONS: &[&str] = &[include_str!("../migrations/sqlite/0001_init.sql")];

const ACCOUNT_COLUMNS: &str = "a.id, a.username, a.display_name, a.bio, a.languages, a.ui_language, \
     a.locked, a.is_admin, a.suspended, a.notes_count, a.followers_count, a.following_count, \
     a.last_note_at, a.created_at, a.updated_at";
const ACCOUNT_WIDTH: usize = 15;

const NOTE_COLUMNS: &str = "n.id, n.account_id, n.title, n.body, n.content_html, n.language, \
     n.visibility, n.spoiler_text, n.sensitive, n.in_reply_to_id, n.created_at, n.edited_at";
const NOTE_WIDTH: usize = 12;

const APP_COLUMNS: &str =
    "p.id, p.client_id, p.secret_hash, p.name, p.website, p.redirect_uris, p.scopes, p.created_at";

/// SQLite in WAL mode. `synchronous=NORMAL` in WAL keeps every committed
/// transaction across a process crash (`kill -9`); only an OS crash or power loss
/// can drop the last commits.
pub struct SqliteStore {
    writer: Arc<Mutex<Connection>>,
    readers: Vec<Arc<Mutex<Connection>>>,
    next_reader: AtomicUsize,
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 5000;
         PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -16000;",
    )
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let applied: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (index + 1) as i64)?;
        tx.commit()?;
        tracing::info!(version = index + 1, "applied SQLite migration");
    }
    Ok(())
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` and migrates it.
    pub async fn open(path: &str) -> Result<Self> {
        let path = path.to_owned();
        let readers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).max(2);
        let (writer, readers) = tokio::task::spawn_blocking(move || -> Result<_> {
            if let Some(parent) = Path::new(&path).parent()
                && !parent.as_os_str().is_empty()
            {
                std::fs::create_dir_all(parent).map_err(|e| StoreError::Unavailable(e.to_string()))?;
            }
            let mut writer = Connection::open(&path)?;
            configure(&writer)?;
            migrate(&mut writer)?;
            let mut pool = Vec::with_capacity(readers);
            for _ in 0..readers {
                let reader = Connection::open(&path)?;
                configure(&reader)?;
                reader.execute_batch("PRAGMA query_only = ON;")?;
                pool.push(Arc::new(Mutex::new(reader)));
            }
            Ok((writer, pool))
        })
        .await
        .map_err(|e| StoreError::Internal(e.to_string()))??;
        Ok(SqliteStore { writer: Arc::new(Mutex::new(writer)), readers, next_reader: AtomicUsize::new(0) })
    }

    /// Runs `f` on a reader connection on the blocking pool.
    async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        // Take the first idle reader; if all are busy, queue on the next in turn.
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        let count = self.readers.len();
        let guard = match (0..count).find_map(|i| self.readers[(start + i) % count].clone().try_lock_owned().ok()) {
            Some(guard) => guard,
            None => self.readers[start % count].clone().lock_owned().await,
        };
        tokio::task::spawn_blocking(move || f(&guard)).await.map_err(|e| StoreError::Internal(e.to_string()))?
    }

    /// Runs `f` on the single writer connection on the blocking pool.
    async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let mut guard = self.writer.clone().lock_owned().await;
        tokio::task::spawn_blocking(move || f(&mut guard)).await.map_err(|e| StoreError::Internal(e.to_string()))?
    }
}

fn split_list(value: String) -> Vec<String> {
    value.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

fn account_from_row(row: &Row<'_>, at: usize) -> rusqlite::Result<Account> {
    Ok(Account {
        id: AccountId(row.get(at)?),
        username: row.get(at + 1)?,
        display_name: row.get(at + 2)?,
        bio: row.get(at + 3)?,
        languages: split_list(row.get(at + 4)?),
        ui_language: row.get(at + 5)?,
        locked: row.get(at + 6)?,
        is_admin: row.get(at + 7)?,
        suspended: row.get(at + 8)?,
        notes_count: row.get(at + 9)?,
        followers_count: row.get(at + 10)?,
        following_count: row.get(at + 11)?,
        last_note_at: row.get(at + 12)?,
        created_at: row.get(at + 13)?,
        updated_at: row.get(at + 14)?,
    })
}

fn note_from_row(row: &Row<'_>) -> rusqlite::Result<Note> {
    let visibility: String = row.get(6)?;
    Ok(Note {
        id: NoteId(row.get(0)?),
        account_id: AccountId(row.get(1)?),
        title: row.get(2)?,
        body: row.get(3)?,
        content_html: row.get(4)?,
        language: row.get(5)?,
        // An unknown value fails closed: the most private visibility.
        visibility: Visibility::parse(&visibility).unwrap_or(Visibility::Direct),
        spoiler_text: row.get(7)?,
        sensitive: row.get(8)?,
        in_reply_to_id: row.get::<_, Option<i64>>(9)?.map(NoteId),
        created_at: row.get(10)?,
        edited_at: row.get(11)?,
        tags: Vec::new(),
        mentions: Vec::new(),
    })
}

fn app_from_row(row: &Row<'_>, at: usize) -> rusqlite::Result<App> {
    Ok(App {
        id: AppId(row.get(at)?),
        client_id: row.get(at + 1)?,
        secret_hash: row.get(at + 2)?,
        name: row.get(at + 3)?,
        website: row.get(at + 4)?,
        redirect_uris: row.get::<_, String>(at + 5)?.split('\n').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
        scopes: row.get(at + 6)?,
        created_at: row.get(at + 7)?,
    })
}

fn placeholders(count: usize) -> String {
    vec!["?"; count].join(",")
}

fn account_by_id(conn: &Connection, id: AccountId) -> Result<Option<Account>> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts a WHERE a.id = ?1");
    Ok(conn.prepare_cached(&sql)?.query_row([id.0], |row| account_from_row(row, 0)).optional()?)
}

/// Loads notes with their authors by a WHERE clause, then fills in tags and mentions.
fn select_note_views(conn: &Connection, clause: &str, values: &[rusqlite::types::Value]) -> Result<Vec<NoteView>> {
    let sql = format!(
        "SELECT {NOTE_COLUMNS}, {ACCOUNT_COLUMNS} FROM notes n JOIN accounts a ON a.id = n.account_id {clause}"
    );
    let mut statement = conn.prepare_cached(&sql)?;
    let mut views = statement
        .query_map(params_from_iter(values.iter()), |row| {
            Ok(NoteView { note: note_from_row(row)?, author: account_from_row(row, NOTE_WIDTH)? })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    attach_tags_and_mentions(conn, &mut views)?;
    Ok(views)
}

fn attach_tags_and_mentions(conn: &Connection, views: &mut [NoteView]) -> Result<()> {
    if views.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = views.iter().map(|v| v.note.id.0).collect();
    let sql = format!(
        "SELECT note_id, tag FROM note_tags WHERE note_id IN ({}) ORDER BY note_id, position",
        placeholders(ids.len())
    );
    let tags = conn
        .prepare_cached(&sql)?
        .query_map(params_from_iter(ids.iter()), |row| Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let sql = format!(
        "SELECT m.note_id, m.account_id, a.username FROM note_mentions m JOIN accounts a ON a.id = m.account_id \
         WHERE m.note_id IN ({}) ORDER BY m.note_id, a.username_key",
        placeholders(ids.len())
    );
    let mentions = conn
        .prepare_cached(&sql)?
        .query_map(params_from_iter(ids.iter()), |row| {
            Ok((row.get::<_, i64>(0)?, MentionRef { account_id: AccountId(row.get(1)?), username: row.get(2)? }))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for (note_id, tag) in tags {
        if let Some(view) = views.iter_mut().find(|v| v.note.id.0 == note_id) {
            view.note.tags.push(tag);
        }
    }
    for (note_id, mention) in mentions {
        if let Some(view) = views.iter_mut().find(|v| v.note.id.0 == note_id) {
            view.note.mentions.push(mention);
        }
    }
    Ok(())
}

fn note_view(conn: &Connection, id: NoteId) -> Result<Option<NoteView>> {
    Ok(select_note_views(conn, "WHERE n.id = ?1", &[id.0.into()])?.pop())
}

fn write_tags_and_mentions(conn: &Connection, note: NoteId, tags: &[String], mentions: &[AccountId]) -> Result<()> {
    let mut insert_tag =
        conn.prepare_cached("INSERT OR IGNORE INTO note_tags (tag, note_id, position) VALUES (?1, ?2, ?3)")?;
    for (position, tag) in tags.iter().enumerate() {
        insert_tag.execute(params![tag, note.0, position as i64])?;
    }
    let mut insert_mention =
        conn.prepare_cached("INSERT OR IGNORE INTO note_mentions (note_id, account_id) VALUES (?1, ?2)")?;
    for account in mentions {
        insert_mention.execute(params![note.0, account.0])?;
    }
    Ok(())
}

fn insert_revision(conn: &Connection, note: NoteId, revision: &NoteRevision) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO note_revisions (id, note_id, title, body, content_html, spoiler_text, sensitive, language, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        next_id(),
        note.0,
        revision.title,
        revision.body,
        revision.content_html,
        revision.spoiler_text,
        revision.sensitive,
        revision.language,
        revision.created_at
    ])?;
    Ok(())
}

fn unique_violation(error: &rusqlite::Error) -> Option<&str> {
    match error {
        rusqlite::Error::SqliteFailure(e, Some(message))
            if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE =>
        {
            Some(message.as_str())
        }
        _ => None,
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> Result<()> {
        self.read(|conn| Ok(conn.query_row("SELECT 1", [], |_| Ok(()))?)).await
    }

    #[tracing::instrument(skip_all, fields(account.username = %new.username))]
    async fn create_account(&self, new: NewAccount) -> Result<Account> {
        self.write(move |conn| {
            let id = next_id();
            let now = now_ms();
            let inserted = conn
                .prepare_cached(
                    "INSERT INTO accounts (id, username, username_key, display_name, email, password_hash, languages, \
                     ui_language, is_admin, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)",
                )?
                .execute(params![
                    id,
                    new.username,
                    new.username.to_lowercase(),
                    new.display_name,
                    new.email,
                    new.password_hash,
                    new.languages.join(","),
                    new.ui_language,
                    new.is_admin,
                    now
                ]);
            if let Err(error) = &inserted
                && let Some(message) = unique_violation(error) {
                    return Err(StoreError::Conflict(if message.contains("email") { "email_taken" } else { "username_taken" }));
                }
            inserted?;
            account_by_id(conn, AccountId(id))?.ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn account_by_id(&self, id: AccountId) -> Result<Option<Account>> {
        self.read(move |conn| account_by_id(conn, id)).await
    }

    async fn account_by_username(&self, username: &str) -> Result<Option<Account>> {
        let key = username.to_lowercase();
        self.read(move |conn| {
            let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts a WHERE a.username_key = ?1");
            Ok(conn.prepare_cached(&sql)?.query_row([key], |row| account_from_row(row, 0)).optional()?)
        })
        .await
    }

    async fn accounts_by_usernames(&self, usernames: &[String]) -> Result<Vec<Account>> {
        if usernames.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = usernames.iter().map(|u| u.to_lowercase()).collect();
        self.read(move |conn| {
            let sql = format!(
                "SELECT {ACCOUNT_COLUMNS} FROM accounts a WHERE a.username_key IN ({})",
                placeholders(keys.len())
            );
            let mut statement = conn.prepare(&sql)?;
            let rows = statement.query_map(params_from_iter(keys.iter()), |row| account_from_row(row, 0))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn credentials_by_login(&self, login: &str) -> Result<Option<Credentials>> {
        let key = login.trim().to_lowercase();
        self.read(move |conn| {
            let sql = format!(
                "SELECT {ACCOUNT_COLUMNS}, a.password_hash FROM accounts a WHERE a.username_key = ?1 OR a.email = ?1 LIMIT 1"
            );
            Ok(conn
                .prepare_cached(&sql)?
                .query_row([key], |row| {
                    Ok(Credentials { account: account_from_row(row, 0)?, password_hash: row.get(ACCOUNT_WIDTH)? })
                })
                .optional()?)
        })
        .await
    }

    async fn update_account(&self, id: AccountId, update: AccountUpdate) -> Result<Account> {
        self.write(move |conn| {
            let tx = conn.transaction()?;
            let mut account = account_by_id(&tx, id)?.ok_or(StoreError::NotFound)?;
            if let Some(display_name) = update.display_name {
                account.display_name = display_name;
            }
            if let Some(bio) = update.bio {
                account.bio = bio;
            }
            if let Some(languages) = update.languages {
                account.languages = languages;
            }
            if let Some(ui_language) = update.ui_language {
                account.ui_language = ui_language;
            }
            if let Some(locked) = update.locked {
                account.locked = locked;
            }
            account.updated_at = now_ms();
            tx.prepare_cached(
                "UPDATE accounts SET display_name = ?2, bio = ?3, languages = ?4, ui_language = ?5, locked = ?6, \
                 updated_at = ?7 WHERE id = ?1",
            )?
            .execute(params![
                id.0,
                account.display_name,
                account.bio,
                account.languages.join(","),
                account.ui_language,
                account.locked,
                account.updated_at
            ])?;
            tx.commit()?;
            Ok(account)
        })
        .await
    }

    async fn instance_stats(&self) -> Result<InstanceStats> {
        self.read(|conn| {
            Ok(conn.query_row(
                "SELECT (SELECT count(*) FROM accounts WHERE NOT suspended), \
                        (SELECT coalesce(sum(notes_count), 0) FROM accounts)",
                [],
                |row| Ok(InstanceStats { accounts: row.get(0)?, notes: row.get(1)? }),
            )?)
        })
        .await
    }

    async fn create_session(&self, new: NewSession) -> Result<()> {
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO web_sessions (token_hash, account_id, user_agent, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![new.token_hash, new.account_id.0, new.user_agent, new.created_at, new.expires_at])?;
            Ok(())
        })
        .await
    }

    async fn session_by_token(&self, token_hash: &[u8], now: i64) -> Result<Option<WebSession>> {
        let token_hash = token_hash.to_vec();
        self.read(move |conn| {
            let sql = format!(
                "SELECT {ACCOUNT_COLUMNS}, s.created_at, s.expires_at FROM web_sessions s \
                 JOIN accounts a ON a.id = s.account_id WHERE s.token_hash = ?1 AND s.expires_at > ?2"
            );
            Ok(conn
                .prepare_cached(&sql)?
                .query_row(params![token_hash, now], |row| {
                    Ok(WebSession {
                        account: account_from_row(row, 0)?,
                        created_at: row.get(ACCOUNT_WIDTH)?,
                        expires_at: row.get(ACCOUNT_WIDTH + 1)?,
                    })
                })
                .optional()?)
        })
        .await
    }

    async fn delete_session(&self, token_hash: &[u8]) -> Result<()> {
        let token_hash = token_hash.to_vec();
        self.write(move |conn| {
            conn.prepare_cached("DELETE FROM web_sessions WHERE token_hash = ?1")?.execute([token_hash])?;
            Ok(())
        })
        .await
    }

    async fn create_app(&self, new: NewApp) -> Result<App> {
        self.write(move |conn| {
            let app = App {
                id: AppId(next_id()),
                client_id: new.client_id,
                secret_hash: new.secret_hash,
                name: new.name,
                website: new.website,
                redirect_uris: new.redirect_uris,
                scopes: new.scopes,
                created_at: now_ms(),
            };
            conn.prepare_cached(
                "INSERT INTO oauth_apps (id, client_id, secret_hash, name, website, redirect_uris, scopes, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                app.id.0,
                app.client_id,
                app.secret_hash,
                app.name,
                app.website,
                app.redirect_uris.join("\n"),
                app.scopes,
                app.created_at
            ])?;
            Ok(app)
        })
        .await
    }

    async fn app_by_client_id(&self, client_id: &str) -> Result<Option<App>> {
        let client_id = client_id.to_owned();
        self.read(move |conn| {
            let sql = format!("SELECT {APP_COLUMNS} FROM oauth_apps p WHERE p.client_id = ?1");
            Ok(conn.prepare_cached(&sql)?.query_row([client_id], |row| app_from_row(row, 0)).optional()?)
        })
        .await
    }

    async fn create_auth_code(&self, new: AuthCode) -> Result<()> {
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO oauth_codes (code_hash, app_id, account_id, redirect_uri, scopes, code_challenge, expires_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                new.code_hash,
                new.app_id.0,
                new.account_id.0,
                new.redirect_uri,
                new.scopes,
                new.code_challenge,
                new.expires_at
            ])?;
            Ok(())
        })
        .await
    }

    async fn take_auth_code(&self, code_hash: &[u8]) -> Result<Option<AuthCode>> {
        let code_hash = code_hash.to_vec();
        self.write(move |conn| {
            Ok(conn
                .prepare_cached(
                    "DELETE FROM oauth_codes WHERE code_hash = ?1 \
                     RETURNING code_hash, app_id, account_id, redirect_uri, scopes, code_challenge, expires_at",
                )?
                .query_row([code_hash], |row| {
                    Ok(AuthCode {
                        code_hash: row.get(0)?,
                        app_id: AppId(row.get(1)?),
                        account_id: AccountId(row.get(2)?),
                        redirect_uri: row.get(3)?,
                        scopes: row.get(4)?,
                        code_challenge: row.get(5)?,
                        expires_at: row.get(6)?,
                    })
                })
                .optional()?)
        })
        .await
    }

    async fn create_token(&self, new: NewToken) -> Result<()> {
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO oauth_tokens (token_hash, app_id, account_id, scopes, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![new.token_hash, new.app_id.0, new.account_id.map(|a| a.0), new.scopes, now_ms()])?;
            Ok(())
        })
        .await
    }

    async fn token_grant(&self, token_hash: &[u8]) -> Result<Option<TokenGrant>> {
        let token_hash = token_hash.to_vec();
        self.read(move |conn| {
            let sql = format!(
                "SELECT t.scopes, t.created_at, {APP_COLUMNS}, {ACCOUNT_COLUMNS} FROM oauth_tokens t \
                 JOIN oauth_apps p ON p.id = t.app_id LEFT JOIN accounts a ON a.id = t.account_id \
                 WHERE t.token_hash = ?1"
            );
            Ok(conn
                .prepare_cached(&sql)?
                .query_row([token_hash], |row| {
                    let account = match row.get::<_, Option<i64>>(10)? {
                        Some(_) => Some(account_from_row(row, 10)?),
                        None => None,
                    };
                    Ok(TokenGrant { scopes: row.get(0)?, created_at: row.get(1)?, app: app_from_row(row, 2)?, account })
                })
                .optional()?)
        })
        .await
    }

    async fn revoke_token(&self, token_hash: &[u8], app_id: AppId) -> Result<()> {
        let token_hash = token_hash.to_vec();
        self.write(move |conn| {
            conn.prepare_cached("DELETE FROM oauth_tokens WHERE token_hash = ?1 AND app_id = ?2")?
                .execute(params![token_hash, app_id.0])?;
            Ok(())
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(account.id = %new.account_id))]
    async fn create_note(&self, new: NewNote) -> Result<(NoteView, bool)> {
        self.write(move |conn| {
            let tx = conn.transaction()?;
            let now = now_ms();
            if let Some(key) = &new.idempotency_key {
                tx.prepare_cached(
                    "DELETE FROM idempotency_keys WHERE account_id = ?1 AND key = ?2 AND created_at < ?3",
                )?
                .execute(params![new.account_id.0, key, now - IDEMPOTENCY_WINDOW_MS])?;
                let earlier: Option<i64> = tx
                    .prepare_cached("SELECT note_id FROM idempotency_keys WHERE account_id = ?1 AND key = ?2")?
                    .query_row(params![new.account_id.0, key], |row| row.get(0))
                    .optional()?;
                if let Some(earlier) = earlier {
                    let view = note_view(&tx, NoteId(earlier))?.ok_or(StoreError::NotFound)?;
                    tx.commit()?;
                    return Ok((view, false));
                }
            }
            let id = NoteId(next_id());
            tx.prepare_cached(
                "INSERT INTO notes (id, account_id, title, body, content_html, language, visibility, spoiler_text, \
                 sensitive, in_reply_to_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?
            .execute(params![
                id.0,
                new.account_id.0,
                new.title,
                new.body,
                new.content_html,
                new.language,
                new.visibility.as_str(),
                new.spoiler_text,
                new.sensitive,
                new.in_reply_to_id.map(|n| n.0),
                now
            ])?;
            write_tags_and_mentions(&tx, id, &new.tags, &new.mention_ids)?;
            insert_revision(
                &tx,
                id,
                &NoteRevision {
                    title: new.title,
                    body: new.body,
                    content_html: new.content_html,
                    spoiler_text: new.spoiler_text,
                    sensitive: new.sensitive,
                    language: new.language,
                    created_at: now,
                },
            )?;
            tx.prepare_cached("UPDATE accounts SET notes_count = notes_count + 1, last_note_at = ?2 WHERE id = ?1")?
                .execute(params![new.account_id.0, now])?;
            if let Some(key) = &new.idempotency_key {
                tx.prepare_cached(
                    "INSERT INTO idempotency_keys (account_id, key, note_id, created_at) VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![new.account_id.0, key, id.0, now])?;
            }
            let view = note_view(&tx, id)?.ok_or(StoreError::NotFound)?;
            tx.commit()?;
            Ok((view, true))
        })
        .await
    }

    async fn note_by_id(&self, id: NoteId) -> Result<Option<NoteView>> {
        self.read(move |conn| note_view(conn, id)).await
    }

    async fn update_note(&self, id: NoteId, update: NoteUpdate) -> Result<NoteView> {
        self.write(move |conn| {
            let tx = conn.transaction()?;
            let now = now_ms();
            let changed = tx
                .prepare_cached(
                    "UPDATE notes SET title = ?2, body = ?3, content_html = ?4, language = ?5, spoiler_text = ?6, \
                     sensitive = ?7, edited_at = ?8 WHERE id = ?1",
                )?
                .execute(params![
                    id.0,
                    update.title,
                    update.body,
                    update.content_html,
                    update.language,
                    update.spoiler_text,
                    update.sensitive,
                    now
                ])?;
            if changed == 0 {
                return Err(StoreError::NotFound);
            }
            tx.prepare_cached("DELETE FROM note_tags WHERE note_id = ?1")?.execute([id.0])?;
            tx.prepare_cached("DELETE FROM note_mentions WHERE note_id = ?1")?.execute([id.0])?;
            write_tags_and_mentions(&tx, id, &update.tags, &update.mention_ids)?;
            insert_revision(
                &tx,
                id,
                &NoteRevision {
                    title: update.title,
                    body: update.body,
                    content_html: update.content_html,
                    spoiler_text: update.spoiler_text,
                    sensitive: update.sensitive,
                    language: update.language,
                    created_at: now,
                },
            )?;
            let view = note_view(&tx, id)?.ok_or(StoreError::NotFound)?;
            tx.commit()?;
            Ok(view)
        })
        .await
    }

    async fn delete_note(&self, id: NoteId) -> Result<()> {
        self.write(move |conn| {
            let tx = conn.transaction()?;
            let author: i64 = tx
                .prepare_cached("DELETE FROM notes WHERE id = ?1 RETURNING account_id")?
                .query_row([id.0], |row| row.get(0))
                .optional()?
                .ok_or(StoreError::NotFound)?;
            tx.prepare_cached("UPDATE accounts SET notes_count = max(notes_count - 1, 0) WHERE id = ?1")?
                .execute([author])?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn note_revisions(&self, id: NoteId) -> Result<Vec<NoteRevision>> {
        self.read(move |conn| {
            let mut statement = conn.prepare_cached(
                "SELECT title, body, content_html, spoiler_text, sensitive, language, created_at FROM note_revisions \
                 WHERE note_id = ?1 ORDER BY id",
            )?;
            let rows = statement.query_map([id.0], |row| {
                Ok(NoteRevision {
                    title: row.get(0)?,
                    body: row.get(1)?,
                    content_html: row.get(2)?,
                    spoiler_text: row.get(3)?,
                    sensitive: row.get(4)?,
                    language: row.get(5)?,
                    created_at: row.get(6)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn list_account_notes(
        &self,
        account: AccountId,
        filter: AccountNotesFilter,
        page: Page,
    ) -> Result<Vec<NoteView>> {
        if filter.visibilities.is_empty() {
            return Ok(Vec::new());
        }
        self.read(move |conn| {
            let visibilities =
                filter.visibilities.iter().map(|v| format!("'{}'", v.as_str())).collect::<Vec<_>>().join(",");
            let replies = if filter.exclude_replies { "AND n.in_reply_to_id IS NULL" } else { "" };
            let ascending = page.min_id.is_some();
            let clause = format!(
                "WHERE n.account_id = ?1 AND n.visibility IN ({visibilities}) {replies} \
                 AND (?2 IS NULL OR n.id < ?2) AND (?3 IS NULL OR n.id > ?3) AND (?4 IS NULL OR n.id > ?4) \
                 ORDER BY n.id {} LIMIT ?5",
                if ascending { "ASC" } else { "DESC" }
            );
            let values = [
                account.0.into(),
                page.max_id.into(),
                page.since_id.into(),
                page.min_id.into(),
                i64::from(page.limit).into(),
            ];
            let mut views = select_note_views(conn, &clause, &values)?;
            if ascending {
                views.reverse();
            }
            Ok(views)
        })
        .await
    }

    async fn is_following(&self, follower: AccountId, followee: AccountId) -> Result<bool> {
        self.read(move |conn| {
            Ok(conn
                .prepare_cached("SELECT 1 FROM follows WHERE follower_id = ?1 AND followee_id = ?2")?
                .query_row(params![follower.0, followee.0], |_| Ok(()))
                .optional()?
                .is_some())
        })
        .await
    }
}
