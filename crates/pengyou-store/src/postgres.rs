//! The PostgreSQL backend, for several app nodes sharing one database.
//!
//! Same schema shape as SQLite (app-generated BIGINT ids, millisecond BIGINT
//! times), its own migrations, and the same conformance suite.

use async_trait::async_trait;
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::{AssertSqlSafe, PgConnection, Postgres, Row, Transaction};

use crate::model::*;
use crate::{Result, Store, StoreError, next_id};

const MIGRATIONS: &[(i64, &str)] = &[(1, include_str!("../migrations/postgres/0001_init.sql"))];

const ACCOUNT_COLUMNS: &str = "a.id, a.username, a.display_name, a.bio, a.languages, a.ui_language, \
     a.locked, a.is_admin, a.suspended, a.notes_count, a.followers_count, a.following_count, \
     a.last_note_at, a.created_at, a.updated_at";
const ACCOUNT_WIDTH: usize = 15;

const NOTE_COLUMNS: &str = "n.id, n.account_id, n.title, n.body, n.content_html, n.language, \
     n.visibility, n.spoiler_text, n.sensitive, n.in_reply_to_id, n.created_at, n.edited_at";
const NOTE_WIDTH: usize = 12;

const APP_COLUMNS: &str =
    "p.id, p.client_id, p.secret_hash, p.name, p.website, p.redirect_uris, p.scopes, p.created_at";

/// A pool of PostgreSQL connections.
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects and runs pending migrations. Several nodes starting at once
    /// serialise on an advisory lock, so each migration runs exactly once.
    pub async fn connect(url: &str) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(std::time::Duration::from_secs(5))
            .connect(url)
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let store = PostgresStore { pool };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock(7236089)").execute(&mut *tx).await?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .execute(&mut *tx)
        .await?;
        let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations").fetch_all(&mut *tx).await?;
        for (version, sql) in MIGRATIONS {
            if applied.contains(version) {
                continue;
            }
            sqlx::raw_sql(*sql).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
                .bind(version)
                .bind(now_ms())
                .execute(&mut *tx)
                .await?;
            tracing::info!(version, "applied PostgreSQL migration");
        }
        tx.commit().await?;
        Ok(())
    }
}

fn split_list(value: String) -> Vec<String> {
    value.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

fn account_from_row(row: &PgRow, at: usize) -> sqlx::Result<Account> {
    Ok(Account {
        id: AccountId(row.try_get(at)?),
        username: row.try_get(at + 1)?,
        display_name: row.try_get(at + 2)?,
        bio: row.try_get(at + 3)?,
        languages: split_list(row.try_get(at + 4)?),
        ui_language: row.try_get(at + 5)?,
        locked: row.try_get(at + 6)?,
        is_admin: row.try_get(at + 7)?,
        suspended: row.try_get(at + 8)?,
        notes_count: row.try_get(at + 9)?,
        followers_count: row.try_get(at + 10)?,
        following_count: row.try_get(at + 11)?,
        last_note_at: row.try_get(at + 12)?,
        created_at: row.try_get(at + 13)?,
        updated_at: row.try_get(at + 14)?,
    })
}

fn note_from_row(row: &PgRow) -> sqlx::Result<Note> {
    let visibility: String = row.try_get(6)?;
    Ok(Note {
        id: NoteId(row.try_get(0)?),
        account_id: AccountId(row.try_get(1)?),
        title: row.try_get(2)?,
        body: row.try_get(3)?,
        content_html: row.try_get(4)?,
        language: row.try_get(5)?,
        // An unknown value fails closed: the most private visibility.
        visibility: Visibility::parse(&visibility).unwrap_or(Visibility::Direct),
        spoiler_text: row.try_get(7)?,
        sensitive: row.try_get(8)?,
        in_reply_to_id: row.try_get::<Option<i64>, _>(9)?.map(NoteId),
        created_at: row.try_get(10)?,
        edited_at: row.try_get(11)?,
        tags: Vec::new(),
        mentions: Vec::new(),
    })
}

fn app_from_row(row: &PgRow, at: usize) -> sqlx::Result<App> {
    Ok(App {
        id: AppId(row.try_get(at)?),
        client_id: row.try_get(at + 1)?,
        secret_hash: row.try_get(at + 2)?,
        name: row.try_get(at + 3)?,
        website: row.try_get(at + 4)?,
        redirect_uris: row
            .try_get::<String, _>(at + 5)?
            .split('\n')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        scopes: row.try_get(at + 6)?,
        created_at: row.try_get(at + 7)?,
    })
}

fn view_from_row(row: &PgRow) -> sqlx::Result<NoteView> {
    Ok(NoteView { note: note_from_row(row)?, author: account_from_row(row, NOTE_WIDTH)? })
}

async fn attach_tags_and_mentions(conn: &mut PgConnection, views: &mut [NoteView]) -> Result<()> {
    if views.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = views.iter().map(|v| v.note.id.0).collect();
    let tags = sqlx::query("SELECT note_id, tag FROM note_tags WHERE note_id = ANY($1) ORDER BY note_id, position")
        .bind(&ids)
        .fetch_all(&mut *conn)
        .await?;
    let mentions = sqlx::query(
        "SELECT m.note_id, m.account_id, a.username FROM note_mentions m JOIN accounts a ON a.id = m.account_id \
         WHERE m.note_id = ANY($1) ORDER BY m.note_id, a.username_key",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    for row in tags {
        let note_id: i64 = row.try_get(0)?;
        if let Some(view) = views.iter_mut().find(|v| v.note.id.0 == note_id) {
            view.note.tags.push(row.try_get(1)?);
        }
    }
    for row in mentions {
        let note_id: i64 = row.try_get(0)?;
        if let Some(view) = views.iter_mut().find(|v| v.note.id.0 == note_id) {
            view.note.mentions.push(MentionRef { account_id: AccountId(row.try_get(1)?), username: row.try_get(2)? });
        }
    }
    Ok(())
}

/// A note with its author, tags and mentions, on a connection or inside a transaction.
async fn note_view(conn: &mut PgConnection, id: NoteId) -> Result<Option<NoteView>> {
    let sql = format!(
        "SELECT {NOTE_COLUMNS}, {ACCOUNT_COLUMNS} FROM notes n JOIN accounts a ON a.id = n.account_id WHERE n.id = $1"
    );
    let Some(row) = sqlx::query(AssertSqlSafe(sql)).bind(id.0).fetch_optional(&mut *conn).await? else {
        return Ok(None);
    };
    let mut views = vec![view_from_row(&row)?];
    attach_tags_and_mentions(conn, &mut views).await?;
    Ok(views.pop())
}

async fn write_tags_and_mentions(
    tx: &mut Transaction<'_, Postgres>,
    note: NoteId,
    tags: &[String],
    mentions: &[AccountId],
) -> Result<()> {
    for (position, tag) in tags.iter().enumerate() {
        sqlx::query("INSERT INTO note_tags (tag, note_id, position) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .bind(tag)
            .bind(note.0)
            .bind(position as i64)
            .execute(&mut **tx)
            .await?;
    }
    for account in mentions {
        sqlx::query("INSERT INTO note_mentions (note_id, account_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(note.0)
            .bind(account.0)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

async fn insert_revision(tx: &mut Transaction<'_, Postgres>, note: NoteId, revision: &NoteRevision) -> Result<()> {
    sqlx::query(
        "INSERT INTO note_revisions (id, note_id, title, body, content_html, spoiler_text, sensitive, language, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(next_id())
    .bind(note.0)
    .bind(&revision.title)
    .bind(&revision.body)
    .bind(&revision.content_html)
    .bind(&revision.spoiler_text)
    .bind(revision.sensitive)
    .bind(&revision.language)
    .bind(revision.created_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[async_trait]
impl Store for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(account.username = %new.username))]
    async fn create_account(&self, new: NewAccount) -> Result<Account> {
        let id = next_id();
        let now = now_ms();
        let sql = format!(
            "INSERT INTO accounts AS a (id, username, username_key, display_name, email, password_hash, languages, \
             ui_language, is_admin, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) \
             RETURNING {ACCOUNT_COLUMNS}"
        );
        let inserted = sqlx::query(AssertSqlSafe(sql))
            .bind(id)
            .bind(&new.username)
            .bind(new.username.to_lowercase())
            .bind(&new.display_name)
            .bind(&new.email)
            .bind(&new.password_hash)
            .bind(new.languages.join(","))
            .bind(&new.ui_language)
            .bind(new.is_admin)
            .bind(now)
            .fetch_one(&self.pool)
            .await;
        match inserted {
            Ok(row) => Ok(account_from_row(&row, 0)?),
            Err(sqlx::Error::Database(error)) if error.constraint() == Some("accounts_email_unique") => {
                Err(StoreError::Conflict("email_taken"))
            }
            Err(sqlx::Error::Database(error)) if error.constraint() == Some("accounts_username_unique") => {
                Err(StoreError::Conflict("username_taken"))
            }
            Err(error) => Err(error.into()),
        }
    }

    async fn account_by_id(&self, id: AccountId) -> Result<Option<Account>> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts a WHERE a.id = $1");
        let row = sqlx::query(AssertSqlSafe(sql)).bind(id.0).fetch_optional(&self.pool).await?;
        Ok(row.map(|row| account_from_row(&row, 0)).transpose()?)
    }

    async fn account_by_username(&self, username: &str) -> Result<Option<Account>> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts a WHERE a.username_key = $1");
        let row = sqlx::query(AssertSqlSafe(sql)).bind(username.to_lowercase()).fetch_optional(&self.pool).await?;
        Ok(row.map(|row| account_from_row(&row, 0)).transpose()?)
    }

    async fn accounts_by_usernames(&self, usernames: &[String]) -> Result<Vec<Account>> {
        if usernames.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = usernames.iter().map(|u| u.to_lowercase()).collect();
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts a WHERE a.username_key = ANY($1)");
        let rows = sqlx::query(AssertSqlSafe(sql)).bind(&keys).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(|row| account_from_row(row, 0)).collect::<sqlx::Result<Vec<_>>>()?)
    }

    async fn credentials_by_login(&self, login: &str) -> Result<Option<Credentials>> {
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS}, a.password_hash FROM accounts a WHERE a.username_key = $1 OR a.email = $1 LIMIT 1"
        );
        let row = sqlx::query(AssertSqlSafe(sql)).bind(login.trim().to_lowercase()).fetch_optional(&self.pool).await?;
        Ok(row
            .map(|row| -> sqlx::Result<Credentials> {
                Ok(Credentials { account: account_from_row(&row, 0)?, password_hash: row.try_get(ACCOUNT_WIDTH)? })
            })
            .transpose()?)
    }

    async fn update_account(&self, id: AccountId, update: AccountUpdate) -> Result<Account> {
        let sql = format!(
            "UPDATE accounts AS a SET display_name = coalesce($2, a.display_name), bio = coalesce($3, a.bio), \
             languages = coalesce($4, a.languages), ui_language = CASE WHEN $5 THEN $6 ELSE a.ui_language END, \
             locked = coalesce($7, a.locked), updated_at = $8 WHERE a.id = $1 RETURNING {ACCOUNT_COLUMNS}"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id.0)
            .bind(update.display_name)
            .bind(update.bio)
            .bind(update.languages.map(|l| l.join(",")))
            .bind(update.ui_language.is_some())
            .bind(update.ui_language.flatten())
            .bind(update.locked)
            .bind(now_ms())
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(account_from_row(&row, 0)?)
    }

    async fn instance_stats(&self) -> Result<InstanceStats> {
        let row = sqlx::query(
            "SELECT (SELECT count(*) FROM accounts WHERE NOT suspended), \
                    (SELECT coalesce(sum(notes_count), 0)::BIGINT FROM accounts)",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(InstanceStats { accounts: row.try_get(0)?, notes: row.try_get(1)? })
    }

    async fn create_session(&self, new: NewSession) -> Result<()> {
        sqlx::query(
            "INSERT INTO web_sessions (token_hash, account_id, user_agent, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&new.token_hash)
        .bind(new.account_id.0)
        .bind(&new.user_agent)
        .bind(new.created_at)
        .bind(new.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn session_by_token(&self, token_hash: &[u8], now: i64) -> Result<Option<WebSession>> {
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS}, s.created_at, s.expires_at FROM web_sessions s \
             JOIN accounts a ON a.id = s.account_id WHERE s.token_hash = $1 AND s.expires_at > $2"
        );
        let row = sqlx::query(AssertSqlSafe(sql)).bind(token_hash).bind(now).fetch_optional(&self.pool).await?;
        Ok(row
            .map(|row| -> sqlx::Result<WebSession> {
                Ok(WebSession {
                    account: account_from_row(&row, 0)?,
                    created_at: row.try_get(ACCOUNT_WIDTH)?,
                    expires_at: row.try_get(ACCOUNT_WIDTH + 1)?,
                })
            })
            .transpose()?)
    }

    async fn delete_session(&self, token_hash: &[u8]) -> Result<()> {
        sqlx::query("DELETE FROM web_sessions WHERE token_hash = $1").bind(token_hash).execute(&self.pool).await?;
        Ok(())
    }

    async fn create_app(&self, new: NewApp) -> Result<App> {
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
        sqlx::query(
            "INSERT INTO oauth_apps (id, client_id, secret_hash, name, website, redirect_uris, scopes, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(app.id.0)
        .bind(&app.client_id)
        .bind(&app.secret_hash)
        .bind(&app.name)
        .bind(&app.website)
        .bind(app.redirect_uris.join("\n"))
        .bind(&app.scopes)
        .bind(app.created_at)
        .execute(&self.pool)
        .await?;
        Ok(app)
    }

    async fn app_by_client_id(&self, client_id: &str) -> Result<Option<App>> {
        let sql = format!("SELECT {APP_COLUMNS} FROM oauth_apps p WHERE p.client_id = $1");
        let row = sqlx::query(AssertSqlSafe(sql)).bind(client_id).fetch_optional(&self.pool).await?;
        Ok(row.map(|row| app_from_row(&row, 0)).transpose()?)
    }

    async fn create_auth_code(&self, new: AuthCode) -> Result<()> {
        sqlx::query(
            "INSERT INTO oauth_codes (code_hash, app_id, account_id, redirect_uri, scopes, code_challenge, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&new.code_hash)
        .bind(new.app_id.0)
        .bind(new.account_id.0)
        .bind(&new.redirect_uri)
        .bind(&new.scopes)
        .bind(&new.code_challenge)
        .bind(new.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn take_auth_code(&self, code_hash: &[u8]) -> Result<Option<AuthCode>> {
        let row = sqlx::query(
            "DELETE FROM oauth_codes WHERE code_hash = $1 \
             RETURNING code_hash, app_id, account_id, redirect_uri, scopes, code_challenge, expires_at",
        )
        .bind(code_hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row
            .map(|row| -> sqlx::Result<AuthCode> {
                Ok(AuthCode {
                    code_hash: row.try_get(0)?,
                    app_id: AppId(row.try_get(1)?),
                    account_id: AccountId(row.try_get(2)?),
                    redirect_uri: row.try_get(3)?,
                    scopes: row.try_get(4)?,
                    code_challenge: row.try_get(5)?,
                    expires_at: row.try_get(6)?,
                })
            })
            .transpose()?)
    }

    async fn create_token(&self, new: NewToken) -> Result<()> {
        sqlx::query(
            "INSERT INTO oauth_tokens (token_hash, app_id, account_id, scopes, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&new.token_hash)
        .bind(new.app_id.0)
        .bind(new.account_id.map(|a| a.0))
        .bind(&new.scopes)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn token_grant(&self, token_hash: &[u8]) -> Result<Option<TokenGrant>> {
        let sql = format!(
            "SELECT t.scopes, t.created_at, {APP_COLUMNS}, {ACCOUNT_COLUMNS} FROM oauth_tokens t \
             JOIN oauth_apps p ON p.id = t.app_id LEFT JOIN accounts a ON a.id = t.account_id \
             WHERE t.token_hash = $1"
        );
        let row = sqlx::query(AssertSqlSafe(sql)).bind(token_hash).fetch_optional(&self.pool).await?;
        Ok(row
            .map(|row| -> sqlx::Result<TokenGrant> {
                let account = match row.try_get::<Option<i64>, _>(10)? {
                    Some(_) => Some(account_from_row(&row, 10)?),
                    None => None,
                };
                Ok(TokenGrant {
                    scopes: row.try_get(0)?,
                    created_at: row.try_get(1)?,
                    app: app_from_row(&row, 2)?,
                    account,
                })
            })
            .transpose()?)
    }

    async fn revoke_token(&self, token_hash: &[u8], app_id: AppId) -> Result<()> {
        sqlx::query("DELETE FROM oauth_tokens WHERE token_hash = $1 AND app_id = $2")
            .bind(token_hash)
            .bind(app_id.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(account.id = %new.account_id))]
    async fn create_note(&self, new: NewNote) -> Result<(NoteView, bool)> {
        let mut tx = self.pool.begin().await?;
        let now = now_ms();
        if let Some(key) = &new.idempotency_key {
            // Serialise concurrent uses of one key by this account.
            sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(new.account_id.0).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM idempotency_keys WHERE account_id = $1 AND key = $2 AND created_at < $3")
                .bind(new.account_id.0)
                .bind(key)
                .bind(now - IDEMPOTENCY_WINDOW_MS)
                .execute(&mut *tx)
                .await?;
            let earlier: Option<i64> =
                sqlx::query_scalar("SELECT note_id FROM idempotency_keys WHERE account_id = $1 AND key = $2")
                    .bind(new.account_id.0)
                    .bind(key)
                    .fetch_optional(&mut *tx)
                    .await?;
            if let Some(earlier) = earlier {
                let view = note_view(&mut tx, NoteId(earlier)).await?.ok_or(StoreError::NotFound)?;
                tx.commit().await?;
                return Ok((view, false));
            }
        }
        let id = NoteId(next_id());
        sqlx::query(
            "INSERT INTO notes (id, account_id, title, body, content_html, language, visibility, spoiler_text, \
             sensitive, in_reply_to_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(id.0)
        .bind(new.account_id.0)
        .bind(&new.title)
        .bind(&new.body)
        .bind(&new.content_html)
        .bind(&new.language)
        .bind(new.visibility.as_str())
        .bind(&new.spoiler_text)
        .bind(new.sensitive)
        .bind(new.in_reply_to_id.map(|n| n.0))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        write_tags_and_mentions(&mut tx, id, &new.tags, &new.mention_ids).await?;
        let revision = NoteRevision {
            title: new.title,
            body: new.body,
            content_html: new.content_html,
            spoiler_text: new.spoiler_text,
            sensitive: new.sensitive,
            language: new.language,
            created_at: now,
        };
        insert_revision(&mut tx, id, &revision).await?;
        sqlx::query("UPDATE accounts SET notes_count = notes_count + 1, last_note_at = $2 WHERE id = $1")
            .bind(new.account_id.0)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        if let Some(key) = &new.idempotency_key {
            sqlx::query("INSERT INTO idempotency_keys (account_id, key, note_id, created_at) VALUES ($1, $2, $3, $4)")
                .bind(new.account_id.0)
                .bind(key)
                .bind(id.0)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        let view = note_view(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok((view, true))
    }

    async fn note_by_id(&self, id: NoteId) -> Result<Option<NoteView>> {
        // A single read needs no transaction: BEGIN and COMMIT would be two more round trips.
        let mut conn = self.pool.acquire().await?;
        note_view(&mut conn, id).await
    }

    async fn update_note(&self, id: NoteId, update: NoteUpdate) -> Result<NoteView> {
        let mut tx = self.pool.begin().await?;
        let now = now_ms();
        let changed = sqlx::query(
            "UPDATE notes SET title = $2, body = $3, content_html = $4, language = $5, spoiler_text = $6, \
             sensitive = $7, edited_at = $8 WHERE id = $1",
        )
        .bind(id.0)
        .bind(&update.title)
        .bind(&update.body)
        .bind(&update.content_html)
        .bind(&update.language)
        .bind(&update.spoiler_text)
        .bind(update.sensitive)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query("DELETE FROM note_tags WHERE note_id = $1").bind(id.0).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM note_mentions WHERE note_id = $1").bind(id.0).execute(&mut *tx).await?;
        write_tags_and_mentions(&mut tx, id, &update.tags, &update.mention_ids).await?;
        let revision = NoteRevision {
            title: update.title,
            body: update.body,
            content_html: update.content_html,
            spoiler_text: update.spoiler_text,
            sensitive: update.sensitive,
            language: update.language,
            created_at: now,
        };
        insert_revision(&mut tx, id, &revision).await?;
        let view = note_view(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(view)
    }

    async fn delete_note(&self, id: NoteId) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let author: i64 = sqlx::query_scalar("DELETE FROM notes WHERE id = $1 RETURNING account_id")
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        sqlx::query("UPDATE accounts SET notes_count = greatest(notes_count - 1, 0) WHERE id = $1")
            .bind(author)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn note_revisions(&self, id: NoteId) -> Result<Vec<NoteRevision>> {
        let rows = sqlx::query(
            "SELECT title, body, content_html, spoiler_text, sensitive, language, created_at FROM note_revisions \
             WHERE note_id = $1 ORDER BY id",
        )
        .bind(id.0)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|row| -> sqlx::Result<NoteRevision> {
                Ok(NoteRevision {
                    title: row.try_get(0)?,
                    body: row.try_get(1)?,
                    content_html: row.try_get(2)?,
                    spoiler_text: row.try_get(3)?,
                    sensitive: row.try_get(4)?,
                    language: row.try_get(5)?,
                    created_at: row.try_get(6)?,
                })
            })
            .collect::<sqlx::Result<Vec<_>>>()?)
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
        let visibilities: Vec<&str> = filter.visibilities.iter().map(|v| v.as_str()).collect();
        let replies = if filter.exclude_replies { "AND n.in_reply_to_id IS NULL" } else { "" };
        let ascending = page.min_id.is_some();
        let sql = format!(
            "SELECT {NOTE_COLUMNS}, {ACCOUNT_COLUMNS} FROM notes n JOIN accounts a ON a.id = n.account_id \
             WHERE n.account_id = $1 AND n.visibility = ANY($2) {replies} \
             AND ($3::BIGINT IS NULL OR n.id < $3) AND ($4::BIGINT IS NULL OR n.id > $4) AND ($5::BIGINT IS NULL OR n.id > $5) \
             ORDER BY n.id {} LIMIT $6",
            if ascending { "ASC" } else { "DESC" }
        );
        let mut conn = self.pool.acquire().await?;
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(account.0)
            .bind(&visibilities)
            .bind(page.max_id)
            .bind(page.since_id)
            .bind(page.min_id)
            .bind(i64::from(page.limit))
            .fetch_all(&mut *conn)
            .await?;
        let mut views = rows.iter().map(view_from_row).collect::<sqlx::Result<Vec<_>>>()?;
        attach_tags_and_mentions(&mut conn, &mut views).await?;
        if ascending {
            views.reverse();
        }
        Ok(views)
    }

    async fn is_following(&self, follower: AccountId, followee: AccountId) -> Result<bool> {
        let found: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM follows WHERE follower_id = $1 AND followee_id = $2")
                .bind(follower.0)
                .bind(followee.0)
                .fetch_optional(&self.pool)
                .await?;
        Ok(found.is_some())
    }
}
