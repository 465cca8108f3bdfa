//! The PostgreSQL backend, for several app nodes sharing one database.
//!
//! Same schema shape as SQLite (app-generated BIGINT ids, millisecond BIGINT
//! times), its own migrations, and the same conformance suite.

use async_trait::async_trait;
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::{AssertSqlSafe, PgConnection, Postgres, Row, Transaction};

use crate::model::*;
use crate::sql::{
    self, ACCOUNT_COLUMNS, ACCOUNT_WIDTH, Arg, Args, MEDIA_COLUMNS, NOTE_COLUMNS, NOTE_WIDTH, NOTIFICATION_SAMPLES,
    Query, assemble_groups, attach_notes, in_order,
};
use crate::{Result, Store, StoreError, next_id};

const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/postgres/0001_init.sql")),
    (2, include_str!("../migrations/postgres/0002_social.sql")),
    (3, include_str!("../migrations/postgres/0003_media.sql")),
];

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
        root_id: row.try_get::<Option<i64>, _>(12)?.map(NoteId),
        parent_comment_id: row.try_get::<Option<i64>, _>(13)?.map(NoteId),
        replies_count: row.try_get(14)?,
        favourites_count: row.try_get(15)?,
        collects_count: row.try_get(16)?,
        views_count: row.try_get(17)?,
        pinned_comment_id: row.try_get::<Option<i64>, _>(18)?.map(NoteId),
        tags: Vec::new(),
        mentions: Vec::new(),
        media: Vec::new(),
    })
}

fn media_from_row(row: &PgRow) -> sqlx::Result<Media> {
    let kind: String = row.try_get(4)?;
    let state: String = row.try_get(5)?;
    Ok(Media {
        id: MediaId(row.try_get(0)?),
        account_id: AccountId(row.try_get(1)?),
        note_id: row.try_get::<Option<i64>, _>(2)?.map(NoteId),
        position: row.try_get(3)?,
        kind: MediaKind::parse(&kind).unwrap_or(MediaKind::Image),
        state: MediaState::parse(&state),
        error: row.try_get(6)?,
        storage_key: row.try_get(7)?,
        description: row.try_get(8)?,
        focus: (row.try_get(9)?, row.try_get(10)?),
        meta: row.try_get(11)?,
        subtitles: sql::parse_subtitles(&row.try_get::<String, _>(12)?),
        blurhash: row.try_get(13)?,
        created_at: row.try_get(14)?,
        updated_at: row.try_get(15)?,
    })
}

async fn media_where(conn: &mut PgConnection, clause: &str, args: &[Arg]) -> Result<Vec<Media>> {
    let sql = format!("SELECT {MEDIA_COLUMNS} FROM media m {clause}");
    let rows = bound(&sql, args).fetch_all(&mut *conn).await?;
    Ok(rows.iter().map(media_from_row).collect::<sqlx::Result<Vec<_>>>()?)
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
    let sql = format!("SELECT {MEDIA_COLUMNS} FROM media m WHERE m.note_id = ANY($1) ORDER BY m.note_id, m.position");
    let rows = sqlx::query(AssertSqlSafe(sql)).bind(&ids).fetch_all(&mut *conn).await?;
    for row in rows {
        let media = media_from_row(&row)?;
        if let Some(view) = views.iter_mut().find(|v| Some(v.note.id) == media.note_id) {
            view.note.media.push(media);
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

type PgQuery = sqlx::query::Query<'static, Postgres, sqlx::postgres::PgArguments>;

/// A statement with its values bound.
fn bound(sql: &str, args: &[Arg]) -> PgQuery {
    let mut query = sqlx::query(AssertSqlSafe(sql.to_owned()));
    for arg in args {
        query = match arg {
            Arg::Int(v) => query.bind(*v),
            Arg::Text(v) => query.bind(v.clone()),
            Arg::Bool(v) => query.bind(*v),
            Arg::MaybeBool(v) => query.bind(*v),
            Arg::Float(v) => query.bind(*v),
        };
    }
    query
}

fn int(value: i64) -> Arg {
    Arg::Int(Some(value))
}

fn opt_int(value: Option<i64>) -> Arg {
    Arg::Int(value)
}

fn text(value: &str) -> Arg {
    Arg::Text(Some(value.to_owned()))
}

fn opt_text(value: Option<String>) -> Arg {
    Arg::Text(value)
}

/// Runs a statement, returning the number of rows changed.
async fn exec(conn: &mut PgConnection, sql: &str, args: &[Arg]) -> Result<u64> {
    Ok(bound(sql, args).execute(&mut *conn).await?.rows_affected())
}

async fn optional_i64(conn: &mut PgConnection, sql: &str, args: &[Arg]) -> Result<Option<i64>> {
    let row = bound(sql, args).fetch_optional(&mut *conn).await?;
    Ok(row.map(|row| row.try_get::<Option<i64>, _>(0)).transpose()?.flatten())
}

async fn query_views(conn: &mut PgConnection, query: &Query) -> Result<Vec<NoteView>> {
    Ok(query_listed_views(conn, query, false).await?.into_iter().map(|l| l.item).collect())
}

/// Notes with authors; with `cursor`, the column after them is the list's row id.
async fn query_listed_views(conn: &mut PgConnection, query: &Query, cursor: bool) -> Result<Vec<Listed<NoteView>>> {
    let rows = bound(&query.sql, &query.args.0).fetch_all(&mut *conn).await?;
    let mut listed = rows
        .iter()
        .map(|row| -> sqlx::Result<Listed<NoteView>> {
            let view = view_from_row(row)?;
            let cursor = if cursor { row.try_get(NOTE_WIDTH + ACCOUNT_WIDTH)? } else { view.note.id.0 };
            Ok(Listed { cursor, item: view })
        })
        .collect::<sqlx::Result<Vec<_>>>()?;
    if query.ascending {
        listed.reverse();
    }
    let mut views: Vec<NoteView> = listed.iter().map(|l| l.item.clone()).collect();
    attach_tags_and_mentions(conn, &mut views).await?;
    for (entry, view) in listed.iter_mut().zip(views) {
        entry.item = view;
    }
    Ok(listed)
}

async fn query_listed_accounts(conn: &mut PgConnection, query: &Query) -> Result<Vec<Listed<Account>>> {
    let rows = bound(&query.sql, &query.args.0).fetch_all(&mut *conn).await?;
    let mut listed = rows
        .iter()
        .map(|row| -> sqlx::Result<Listed<Account>> {
            Ok(Listed { item: account_from_row(row, 0)?, cursor: row.try_get(ACCOUNT_WIDTH)? })
        })
        .collect::<sqlx::Result<Vec<_>>>()?;
    if query.ascending {
        listed.reverse();
    }
    Ok(listed)
}

async fn notify(conn: &mut PgConnection, new: &NewNotification) -> Result<()> {
    if new.account_id == new.from_account_id {
        return Ok(());
    }
    let id = next_id();
    let now = now_ms();
    let group = notification_group_key(new.kind, new.note_id, id, now);
    exec(
        conn,
        sql::INSERT_NOTIFICATION,
        &[
            int(id),
            int(new.account_id.0),
            text(new.kind),
            int(new.from_account_id.0),
            opt_int(new.note_id.map(|n| n.0)),
            text(&group),
            int(now),
        ],
    )
    .await?;
    Ok(())
}

async fn unnotify(
    conn: &mut PgConnection,
    recipient: i64,
    kind: &str,
    from: AccountId,
    note: Option<NoteId>,
) -> Result<()> {
    exec(conn, sql::DELETE_NOTIFICATION_OF, &[int(recipient), text(kind), int(from.0), int(note.map_or(0, |n| n.0))])
        .await?;
    Ok(())
}

async fn note_author(conn: &mut PgConnection, note: NoteId) -> Result<i64> {
    optional_i64(conn, sql::NOTE_AUTHOR, &[int(note.0)]).await?.ok_or(StoreError::NotFound)
}

/// Makes `follower` follow `followee` for real; `false` when it already did.
async fn insert_follow(conn: &mut PgConnection, follower: AccountId, followee: AccountId) -> Result<bool> {
    exec(conn, sql::DELETE_FOLLOW_REQUEST, &[int(follower.0), int(followee.0)]).await?;
    if exec(conn, sql::INSERT_FOLLOW, &[int(next_id()), int(follower.0), int(followee.0), int(now_ms())]).await? == 0 {
        return Ok(false);
    }
    exec(conn, sql::BUMP_FOLLOWING, &[int(follower.0), int(1)]).await?;
    exec(conn, sql::BUMP_FOLLOWERS, &[int(followee.0), int(1)]).await?;
    exec(conn, sql::BACKFILL_HOME, &[int(follower.0), int(followee.0)]).await?;
    notify(conn, &NewNotification { account_id: followee, kind: "follow", from_account_id: follower, note_id: None })
        .await?;
    Ok(true)
}

/// Ends a follow or a pending request of `follower` towards `followee`.
async fn remove_follow(conn: &mut PgConnection, follower: AccountId, followee: AccountId) -> Result<()> {
    exec(conn, sql::DELETE_FOLLOW_REQUEST, &[int(follower.0), int(followee.0)]).await?;
    unnotify(conn, followee.0, "follow_request", follower, None).await?;
    if exec(conn, sql::DELETE_FOLLOW, &[int(follower.0), int(followee.0)]).await? > 0 {
        exec(conn, sql::BUMP_FOLLOWING, &[int(follower.0), int(-1)]).await?;
        exec(conn, sql::BUMP_FOLLOWERS, &[int(followee.0), int(-1)]).await?;
        exec(conn, sql::CLEAR_HOME_OF_AUTHOR, &[int(follower.0), int(followee.0)]).await?;
    }
    Ok(())
}

async fn default_board(conn: &mut PgConnection, account: AccountId) -> Result<i64> {
    if let Some(id) = optional_i64(conn, sql::DEFAULT_BOARD, &[int(account.0)]).await? {
        return Ok(id);
    }
    let id = next_id();
    exec(
        conn,
        sql::INSERT_BOARD,
        &[
            int(id),
            int(account.0),
            text(DEFAULT_BOARD_NAME),
            text(""),
            Arg::Bool(false),
            Arg::Bool(true),
            int(now_ms()),
        ],
    )
    .await?;
    Ok(id)
}

async fn boards(conn: &mut PgConnection, clause: &str, id: i64) -> Result<Vec<Board>> {
    let sql = format!("SELECT {} FROM boards b {clause}", sql::BOARD_COLUMNS);
    let rows = bound(&sql, &[int(id)]).fetch_all(&mut *conn).await?;
    Ok(rows
        .iter()
        .map(|row| -> sqlx::Result<Board> {
            Ok(Board {
                id: BoardId(row.try_get(0)?),
                account_id: AccountId(row.try_get(1)?),
                name: row.try_get(2)?,
                description: row.try_get(3)?,
                public: row.try_get(4)?,
                is_default: row.try_get(5)?,
                notes_count: row.try_get(6)?,
                created_at: row.try_get(7)?,
                updated_at: row.try_get(8)?,
            })
        })
        .collect::<sqlx::Result<Vec<_>>>()?)
}

async fn filters(conn: &mut PgConnection, clause: &str, id: i64) -> Result<Vec<Filter>> {
    let sql = format!("{} {clause} ORDER BY id", sql::FILTER_COLUMNS);
    let rows = bound(&sql, &[int(id)]).fetch_all(&mut *conn).await?;
    let mut found = rows
        .iter()
        .map(|row| -> sqlx::Result<Filter> {
            Ok(Filter {
                id: FilterId(row.try_get(0)?),
                account_id: AccountId(row.try_get(1)?),
                title: row.try_get(2)?,
                context: split_list(row.try_get(3)?),
                action: row.try_get(4)?,
                expires_at: row.try_get(5)?,
                keywords: Vec::new(),
            })
        })
        .collect::<sqlx::Result<Vec<_>>>()?;
    if found.is_empty() {
        return Ok(found);
    }
    let mut args = Args::default();
    let list = args.ints(found.iter().map(|f| f.id.0));
    let sql = format!("{}({list}) ORDER BY id", sql::FILTER_KEYWORDS);
    for row in bound(&sql, &args.0).fetch_all(&mut *conn).await? {
        let filter_id: i64 = row.try_get(0)?;
        let keyword = FilterKeyword { id: row.try_get(1)?, keyword: row.try_get(2)?, whole_word: row.try_get(3)? };
        if let Some(filter) = found.iter_mut().find(|f| f.id.0 == filter_id) {
            filter.keywords.push(keyword);
        }
    }
    Ok(found)
}

async fn notification_rows(conn: &mut PgConnection, query: &Query) -> Result<Vec<Notification>> {
    let rows = bound(&query.sql, &query.args.0).fetch_all(&mut *conn).await?;
    let at = ACCOUNT_WIDTH;
    let mut rows = rows
        .iter()
        .map(|row| -> sqlx::Result<(Notification, Option<i64>)> {
            Ok((
                Notification {
                    from: account_from_row(row, 0)?,
                    id: row.try_get(at)?,
                    kind: row.try_get(at + 1)?,
                    note: None,
                    group_key: row.try_get(at + 3)?,
                    created_at: row.try_get(at + 4)?,
                },
                row.try_get::<Option<i64>, _>(at + 2)?,
            ))
        })
        .collect::<sqlx::Result<Vec<_>>>()?;
    if query.ascending {
        rows.reverse();
    }
    let ids: Vec<NoteId> = rows.iter().filter_map(|(_, note)| note.map(NoteId)).collect();
    let notes = if ids.is_empty() { Vec::new() } else { query_views(conn, &sql::notes_by_ids(&ids)).await? };
    Ok(attach_notes(rows, notes))
}

fn marker_from_row(row: &PgRow) -> sqlx::Result<Marker> {
    Ok(Marker {
        timeline: row.try_get(0)?,
        last_read_id: row.try_get(1)?,
        version: row.try_get(2)?,
        updated_at: row.try_get(3)?,
    })
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

    async fn sessions_of(&self, account: AccountId, now: i64) -> Result<Vec<SessionInfo>> {
        let rows = sqlx::query(sql::SESSIONS_OF).bind(account.0).bind(now).fetch_all(&self.pool).await?;
        Ok(rows
            .iter()
            .map(|row| -> sqlx::Result<SessionInfo> {
                Ok(SessionInfo {
                    token_hash: row.try_get(0)?,
                    user_agent: row.try_get(1)?,
                    created_at: row.try_get(2)?,
                    expires_at: row.try_get(3)?,
                })
            })
            .collect::<sqlx::Result<Vec<_>>>()?)
    }

    async fn delete_sessions_of(&self, account: AccountId) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM web_sessions WHERE account_id = $1").bind(account.0).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM oauth_tokens WHERE account_id = $1").bind(account.0).execute(&mut *tx).await?;
        tx.commit().await?;
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
        // A comment belongs to its note; a reply to a reply stays under the top-level comment.
        let (root, parent_comment) = match new.in_reply_to_id {
            Some(parent) => {
                let row = bound(sql::COMMENT_PARENT, &[int(parent.0)])
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                match row.try_get::<Option<i64>, _>(0)? {
                    None => (Some(parent.0), None),
                    Some(root) => (Some(root), Some(row.try_get::<Option<i64>, _>(1)?.unwrap_or(parent.0))),
                }
            }
            None => (None, None),
        };
        sqlx::query(
            "INSERT INTO notes (id, account_id, title, body, content_html, language, visibility, spoiler_text, \
             sensitive, in_reply_to_id, created_at, root_id, parent_comment_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
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
        .bind(root)
        .bind(parent_comment)
        .execute(&mut *tx)
        .await?;
        for counted in [root, parent_comment].into_iter().flatten() {
            exec(&mut tx, sql::BUMP_REPLIES, &[int(counted), int(1)]).await?;
        }
        if root.is_none() && new.visibility != Visibility::Direct {
            exec(&mut tx, sql::HOME_FEED_OWN, &[int(new.account_id.0), int(id.0)]).await?;
        }
        let payload = format!("{{\"note_id\":{}}}", id.0);
        let job = [int(next_id()), text(sql::JOB_NOTE_CREATED), text(&payload), int(now), int(now), text("main")];
        exec(&mut tx, sql::ENQUEUE_JOB, &job).await?;
        for (position, media) in new.media_ids.iter().enumerate() {
            let values = [int(id.0), int(position as i64), int(media.0), int(new.account_id.0), int(now)];
            if exec(&mut tx, sql::ATTACH_MEDIA, &values).await? != 1 {
                return Err(StoreError::Conflict("media_unavailable"));
            }
        }
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
        let row =
            bound(sql::COMMENT_PARENT, &[int(id.0)]).fetch_optional(&mut *tx).await?.ok_or(StoreError::NotFound)?;
        let (root, parent_comment): (Option<i64>, Option<i64>) = (row.try_get(0)?, row.try_get(1)?);
        // Comments go with their note (and replies with their comment): keep the counters true.
        let replies_under = optional_i64(&mut tx, sql::COUNT_REPLIES_UNDER, &[int(id.0)]).await?.unwrap_or(0);
        if let Some(root) = root {
            exec(&mut tx, sql::BUMP_REPLIES, &[int(root), int(-1 - replies_under)]).await?;
        }
        if let Some(parent) = parent_comment {
            exec(&mut tx, sql::BUMP_REPLIES, &[int(parent), int(-1)]).await?;
        }
        exec(&mut tx, sql::UNCOUNT_CASCADED, &[int(id.0)]).await?;
        exec(&mut tx, sql::UNPIN_DELETED, &[int(id.0)]).await?;
        let now = now_ms();
        if exec(&mut tx, sql::DETACH_NOTE_MEDIA, &[int(id.0), int(now)]).await? > 0 {
            let job = [int(next_id()), text(sql::JOB_MEDIA_PURGE), text("{}"), int(now), int(now), text("media")];
            exec(&mut tx, sql::ENQUEUE_JOB, &job).await?;
        }
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

    async fn list_comments(
        &self,
        note: NoteId,
        sort: CommentSort,
        after: Option<CommentCursor>,
        filter: FeedFilter,
        limit: u32,
    ) -> Result<Vec<NoteView>> {
        let mut conn = self.pool.acquire().await?;
        query_views(&mut conn, &sql::list_comments(note, sort, after, filter, limit)).await
    }

    async fn first_replies(&self, comments: &[NoteId], per_comment: u32, filter: FeedFilter) -> Result<Vec<NoteView>> {
        if comments.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.pool.acquire().await?;
        query_views(&mut conn, &sql::first_replies(comments, per_comment, filter)).await
    }

    async fn list_replies(
        &self,
        comment: NoteId,
        after: Option<NoteId>,
        filter: FeedFilter,
        limit: u32,
    ) -> Result<Vec<NoteView>> {
        let mut conn = self.pool.acquire().await?;
        query_views(&mut conn, &sql::list_replies(comment, after, filter, limit)).await
    }

    async fn thread(&self, note: NoteId, filter: FeedFilter, limit: u32) -> Result<Vec<NoteView>> {
        let mut conn = self.pool.acquire().await?;
        query_views(&mut conn, &sql::thread(note, filter, limit)).await
    }

    async fn pin_comment(&self, note: NoteId, comment: Option<NoteId>) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        if exec(&mut conn, sql::PIN_COMMENT, &[int(note.0), opt_int(comment.map(|c| c.0))]).await? == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn home_feed(&self, account: AccountId, page: Page) -> Result<Vec<NoteView>> {
        let mut conn = self.pool.acquire().await?;
        query_views(&mut conn, &sql::home_feed(account, page)).await
    }

    async fn public_feed(&self, filter: FeedFilter, page: Page) -> Result<Vec<NoteView>> {
        let mut conn = self.pool.acquire().await?;
        query_views(&mut conn, &sql::public_feed(filter, page)).await
    }

    async fn tag_feed(&self, tag: &str, filter: FeedFilter, page: Page) -> Result<Vec<NoteView>> {
        let mut conn = self.pool.acquire().await?;
        query_views(&mut conn, &sql::tag_feed(tag, filter, page)).await
    }

    async fn discover_candidates(&self, since: i64, limit: u32) -> Result<Vec<NoteView>> {
        let mut conn = self.pool.acquire().await?;
        query_views(&mut conn, &sql::discover_candidates(since, limit)).await
    }

    async fn trending_tags(&self, since: i64, limit: u32) -> Result<Vec<TagTrend>> {
        let query = sql::tag_usage(since);
        let rows = bound(&query.sql, &query.args.0).fetch_all(&self.pool).await?;
        let rows = rows
            .iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?, row.try_get(3)?)))
            .collect::<sqlx::Result<Vec<_>>>()?;
        Ok(sql::rank_tag_usage(rows, limit))
    }

    async fn fan_out(&self, note: NoteId, after: Option<AccountId>, limit: u32) -> Result<Option<AccountId>> {
        let mut tx = self.pool.begin().await?;
        let author = note_author(&mut tx, note).await?;
        let after = after.map_or(i64::MIN, |a| a.0);
        let batch: Vec<i64> = bound(sql::FAN_OUT_BATCH, &[int(author), int(after), int(i64::from(limit))])
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|row| row.try_get(0))
            .collect::<sqlx::Result<Vec<_>>>()?;
        let Some(&last) = batch.last() else { return Ok(None) };
        exec(&mut tx, sql::FAN_OUT_INSERT, &[int(note.0), int(author), int(after), int(last)]).await?;
        tx.commit().await?;
        Ok((batch.len() as u32 >= limit).then_some(AccountId(last)))
    }

    async fn add_note_views(&self, views: &[(NoteId, i64)]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for (note, count) in views {
            exec(&mut tx, sql::ADD_VIEWS, &[int(note.0), int(*count)]).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn favourite(&self, account: AccountId, note: NoteId) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let author = note_author(&mut tx, note).await?;
        if exec(&mut tx, sql::INSERT_FAVOURITE, &[int(next_id()), int(account.0), int(note.0), int(now_ms())]).await?
            == 0
        {
            return Ok(false);
        }
        exec(&mut tx, sql::BUMP_FAVOURITES, &[int(note.0), int(1)]).await?;
        let notification = NewNotification {
            account_id: AccountId(author),
            kind: "favourite",
            from_account_id: account,
            note_id: Some(note),
        };
        notify(&mut tx, &notification).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn unfavourite(&self, account: AccountId, note: NoteId) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let author = note_author(&mut tx, note).await?;
        if exec(&mut tx, sql::DELETE_FAVOURITE, &[int(account.0), int(note.0)]).await? == 0 {
            return Ok(false);
        }
        exec(&mut tx, sql::BUMP_FAVOURITES, &[int(note.0), int(-1)]).await?;
        unnotify(&mut tx, author, "favourite", account, Some(note)).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn favourited_by(&self, note: NoteId, page: Page) -> Result<Vec<Listed<Account>>> {
        let mut conn = self.pool.acquire().await?;
        query_listed_accounts(&mut conn, &sql::favourited_by(note, page)).await
    }

    async fn list_favourites(&self, account: AccountId, page: Page) -> Result<Vec<Listed<NoteView>>> {
        let mut conn = self.pool.acquire().await?;
        query_listed_views(&mut conn, &sql::list_favourites(account, page), true).await
    }

    async fn collect(&self, account: AccountId, note: NoteId, board: Option<BoardId>) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let author = note_author(&mut tx, note).await?;
        let board = match board {
            Some(board) => {
                if optional_i64(&mut tx, sql::BOARD_OWNER, &[int(board.0)]).await? != Some(account.0) {
                    return Err(StoreError::NotFound);
                }
                board.0
            }
            None => default_board(&mut tx, account).await?,
        };
        let changed = match optional_i64(&mut tx, sql::COLLECTED_IN, &[int(account.0), int(note.0)]).await? {
            Some(current) if current == board => false,
            Some(_) => {
                exec(&mut tx, sql::MOVE_COLLECT, &[int(account.0), int(note.0), int(board)]).await?;
                true
            }
            None => {
                let values = [int(next_id()), int(account.0), int(note.0), int(board), int(now_ms())];
                exec(&mut tx, sql::INSERT_COLLECT, &values).await?;
                exec(&mut tx, sql::BUMP_COLLECTS, &[int(note.0), int(1)]).await?;
                let notification = NewNotification {
                    account_id: AccountId(author),
                    kind: "collect",
                    from_account_id: account,
                    note_id: Some(note),
                };
                notify(&mut tx, &notification).await?;
                true
            }
        };
        tx.commit().await?;
        Ok(changed)
    }

    async fn uncollect(&self, account: AccountId, note: NoteId) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let author = note_author(&mut tx, note).await?;
        if exec(&mut tx, sql::DELETE_COLLECT, &[int(account.0), int(note.0)]).await? == 0 {
            return Ok(false);
        }
        exec(&mut tx, sql::BUMP_COLLECTS, &[int(note.0), int(-1)]).await?;
        unnotify(&mut tx, author, "collect", account, Some(note)).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn list_collects(
        &self,
        account: AccountId,
        board: Option<BoardId>,
        page: Page,
    ) -> Result<Vec<Listed<NoteView>>> {
        let mut conn = self.pool.acquire().await?;
        query_listed_views(&mut conn, &sql::list_collects(account, board, page), true).await
    }

    async fn note_interactions(&self, account: AccountId, notes: &[NoteId]) -> Result<Vec<NoteInteraction>> {
        if notes.is_empty() {
            return Ok(Vec::new());
        }
        let mut args = Args::default();
        args.int(account.0);
        let list = args.ints(notes.iter().map(|n| n.0));
        let rows = bound(&format!("{}({list})", sql::INTERACTIONS), &args.0).fetch_all(&self.pool).await?;
        Ok(rows
            .iter()
            .map(|row| -> sqlx::Result<NoteInteraction> {
                Ok(NoteInteraction {
                    note_id: NoteId(row.try_get(0)?),
                    favourited: row.try_get(1)?,
                    board_id: row.try_get::<Option<i64>, _>(2)?.map(BoardId),
                })
            })
            .collect::<sqlx::Result<Vec<_>>>()?)
    }

    async fn create_board(&self, new: NewBoard) -> Result<Board> {
        let mut tx = self.pool.begin().await?;
        // Making the default board first keeps it first in the list.
        default_board(&mut tx, new.account_id).await?;
        let id = next_id();
        let values = [
            int(id),
            int(new.account_id.0),
            text(&new.name),
            text(&new.description),
            Arg::Bool(new.public),
            Arg::Bool(false),
            int(now_ms()),
        ];
        exec(&mut tx, sql::INSERT_BOARD, &values).await?;
        let board = boards(&mut tx, sql::BOARD_BY_ID, id).await?.pop().ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(board)
    }

    async fn update_board(&self, id: BoardId, update: BoardUpdate) -> Result<Board> {
        let mut conn = self.pool.acquire().await?;
        let values = [
            int(id.0),
            opt_text(update.name),
            opt_text(update.description),
            Arg::MaybeBool(update.public),
            int(now_ms()),
        ];
        exec(&mut conn, sql::UPDATE_BOARD, &values).await?;
        boards(&mut conn, sql::BOARD_BY_ID, id.0).await?.pop().ok_or(StoreError::NotFound)
    }

    async fn delete_board(&self, id: BoardId) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let row =
            bound(sql::BOARD_IS_DEFAULT, &[int(id.0)]).fetch_optional(&mut *tx).await?.ok_or(StoreError::NotFound)?;
        let (owner, is_default): (i64, bool) = (row.try_get(0)?, row.try_get(1)?);
        if is_default {
            return Err(StoreError::Conflict("default_board"));
        }
        let fallback = default_board(&mut tx, AccountId(owner)).await?;
        exec(&mut tx, sql::MOVE_BOARD_COLLECTS, &[int(id.0), int(fallback)]).await?;
        exec(&mut tx, sql::DELETE_BOARD, &[int(id.0)]).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn board_by_id(&self, id: BoardId) -> Result<Option<Board>> {
        let mut conn = self.pool.acquire().await?;
        Ok(boards(&mut conn, sql::BOARD_BY_ID, id.0).await?.pop())
    }

    async fn boards_of(&self, account: AccountId) -> Result<Vec<Board>> {
        let mut conn = self.pool.acquire().await?;
        boards(&mut conn, sql::BOARDS_OF, account.0).await
    }

    async fn is_following(&self, follower: AccountId, followee: AccountId) -> Result<bool> {
        let mut conn = self.pool.acquire().await?;
        Ok(optional_i64(&mut conn, sql::IS_FOLLOWING, &[int(follower.0), int(followee.0)]).await?.is_some())
    }

    async fn follow(&self, follower: AccountId, followee: AccountId, request: bool) -> Result<FollowOutcome> {
        let mut tx = self.pool.begin().await?;
        let following = optional_i64(&mut tx, sql::IS_FOLLOWING, &[int(follower.0), int(followee.0)]).await?.is_some();
        let outcome = if following || !request {
            insert_follow(&mut tx, follower, followee).await?;
            FollowOutcome::Following
        } else {
            let values = [int(next_id()), int(follower.0), int(followee.0), int(now_ms())];
            if exec(&mut tx, sql::INSERT_FOLLOW_REQUEST, &values).await? > 0 {
                let notification = NewNotification {
                    account_id: followee,
                    kind: "follow_request",
                    from_account_id: follower,
                    note_id: None,
                };
                notify(&mut tx, &notification).await?;
            }
            FollowOutcome::Requested
        };
        tx.commit().await?;
        Ok(outcome)
    }

    async fn unfollow(&self, follower: AccountId, followee: AccountId) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        remove_follow(&mut tx, follower, followee).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn follow_requests(&self, account: AccountId, page: Page) -> Result<Vec<Listed<Account>>> {
        let mut conn = self.pool.acquire().await?;
        query_listed_accounts(&mut conn, &sql::follow_requests(account, page)).await
    }

    async fn answer_follow_request(&self, followee: AccountId, follower: AccountId, accept: bool) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        if exec(&mut tx, sql::DELETE_FOLLOW_REQUEST, &[int(follower.0), int(followee.0)]).await? == 0 {
            return Ok(false);
        }
        unnotify(&mut tx, followee.0, "follow_request", follower, None).await?;
        if accept {
            insert_follow(&mut tx, follower, followee).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn list_follows(
        &self,
        account: AccountId,
        direction: FollowDirection,
        page: Page,
    ) -> Result<Vec<Listed<Account>>> {
        let mut conn = self.pool.acquire().await?;
        query_listed_accounts(&mut conn, &sql::list_follows(account, direction, page)).await
    }

    async fn relationships(&self, viewer: AccountId, others: &[AccountId]) -> Result<Vec<Relationship>> {
        let query = sql::relationships(viewer, others);
        let rows = bound(&query.sql, &query.args.0).fetch_all(&self.pool).await?;
        let found = rows
            .iter()
            .map(|row| -> sqlx::Result<Relationship> {
                Ok(Relationship {
                    account_id: AccountId(row.try_get(0)?),
                    following: row.try_get(1)?,
                    requested: row.try_get(2)?,
                    followed_by: row.try_get(3)?,
                    requested_by: row.try_get(4)?,
                    blocking: row.try_get(5)?,
                    blocked_by: row.try_get(6)?,
                    muting: row.try_get(7)?,
                    muting_notifications: row.try_get(8)?,
                })
            })
            .collect::<sqlx::Result<Vec<_>>>()?;
        Ok(in_order(others, found))
    }

    async fn block(&self, account: AccountId, target: AccountId) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        exec(&mut tx, sql::INSERT_BLOCK, &[int(next_id()), int(account.0), int(target.0), int(now_ms())]).await?;
        remove_follow(&mut tx, account, target).await?;
        remove_follow(&mut tx, target, account).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn unblock(&self, account: AccountId, target: AccountId) -> Result<()> {
        exec(&mut *self.pool.acquire().await?, sql::DELETE_BLOCK, &[int(account.0), int(target.0)]).await?;
        Ok(())
    }

    async fn mute(
        &self,
        account: AccountId,
        target: AccountId,
        notifications: bool,
        expires_at: Option<i64>,
    ) -> Result<()> {
        let values = [
            int(next_id()),
            int(account.0),
            int(target.0),
            Arg::Bool(notifications),
            opt_int(expires_at),
            int(now_ms()),
        ];
        exec(&mut *self.pool.acquire().await?, sql::UPSERT_MUTE, &values).await?;
        Ok(())
    }

    async fn unmute(&self, account: AccountId, target: AccountId) -> Result<()> {
        exec(&mut *self.pool.acquire().await?, sql::DELETE_MUTE, &[int(account.0), int(target.0)]).await?;
        Ok(())
    }

    async fn list_blocks(&self, account: AccountId, page: Page) -> Result<Vec<Listed<Account>>> {
        let mut conn = self.pool.acquire().await?;
        query_listed_accounts(&mut conn, &sql::list_blocks(account, page)).await
    }

    async fn list_mutes(&self, account: AccountId, page: Page) -> Result<Vec<Listed<Account>>> {
        let mut conn = self.pool.acquire().await?;
        query_listed_accounts(&mut conn, &sql::list_mutes(account, page)).await
    }

    async fn follow_tag(&self, account: AccountId, tag: &str) -> Result<()> {
        exec(&mut *self.pool.acquire().await?, sql::FOLLOW_TAG, &[int(account.0), text(tag), int(now_ms())]).await?;
        Ok(())
    }

    async fn unfollow_tag(&self, account: AccountId, tag: &str) -> Result<()> {
        exec(&mut *self.pool.acquire().await?, sql::UNFOLLOW_TAG, &[int(account.0), text(tag)]).await?;
        Ok(())
    }

    async fn followed_tags(&self, account: AccountId) -> Result<Vec<String>> {
        let rows = bound(sql::FOLLOWED_TAGS, &[int(account.0)]).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(|row| row.try_get(0)).collect::<sqlx::Result<Vec<_>>>()?)
    }

    async fn create_filter(&self, new: NewFilter) -> Result<Filter> {
        let mut tx = self.pool.begin().await?;
        let id = next_id();
        let values = [
            int(id),
            int(new.account_id.0),
            text(&new.title),
            text(&new.context.join(",")),
            text(&new.action),
            opt_int(new.expires_at),
            int(now_ms()),
        ];
        exec(&mut tx, sql::INSERT_FILTER, &values).await?;
        for (keyword, whole_word) in &new.keywords {
            let values = [int(next_id()), int(id), text(keyword), Arg::Bool(*whole_word)];
            exec(&mut tx, sql::INSERT_FILTER_KEYWORD, &values).await?;
        }
        let filter = filters(&mut tx, "WHERE id = $1", id).await?.pop().ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(filter)
    }

    async fn update_filter(&self, id: FilterId, update: FilterUpdate) -> Result<Filter> {
        let mut tx = self.pool.begin().await?;
        let values = [
            int(id.0),
            opt_text(update.title),
            opt_text(update.context.map(|c| c.join(","))),
            opt_text(update.action),
            Arg::Bool(update.expires_at.is_some()),
            opt_int(update.expires_at.flatten()),
        ];
        exec(&mut tx, sql::UPDATE_FILTER, &values).await?;
        for keyword in &update.remove_keyword_ids {
            exec(&mut tx, sql::DELETE_FILTER_KEYWORD, &[int(id.0), int(*keyword)]).await?;
        }
        for (keyword, whole_word) in &update.add_keywords {
            let values = [int(next_id()), int(id.0), text(keyword), Arg::Bool(*whole_word)];
            exec(&mut tx, sql::INSERT_FILTER_KEYWORD, &values).await?;
        }
        let filter = filters(&mut tx, "WHERE id = $1", id.0).await?.pop().ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(filter)
    }

    async fn delete_filter(&self, id: FilterId) -> Result<()> {
        exec(&mut *self.pool.acquire().await?, sql::DELETE_FILTER, &[int(id.0)]).await?;
        Ok(())
    }

    async fn filter_by_id(&self, id: FilterId) -> Result<Option<Filter>> {
        let mut conn = self.pool.acquire().await?;
        Ok(filters(&mut conn, "WHERE id = $1", id.0).await?.pop())
    }

    async fn filters_of(&self, account: AccountId) -> Result<Vec<Filter>> {
        let mut conn = self.pool.acquire().await?;
        filters(&mut conn, "WHERE account_id = $1", account.0).await
    }

    async fn create_notifications(&self, new: Vec<NewNotification>) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for notification in &new {
            notify(&mut tx, notification).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn list_notifications(
        &self,
        account: AccountId,
        filter: NotificationFilter,
        page: Page,
    ) -> Result<Vec<Notification>> {
        let mut conn = self.pool.acquire().await?;
        notification_rows(&mut conn, &sql::list_notifications(account, &filter, page)).await
    }

    async fn list_notification_groups(
        &self,
        account: AccountId,
        filter: NotificationFilter,
        page: Page,
    ) -> Result<Vec<NotificationGroup>> {
        let mut conn = self.pool.acquire().await?;
        let query = sql::notification_groups(account, &filter, page);
        let rows = bound(&query.sql, &query.args.0).fetch_all(&mut *conn).await?;
        let mut rows = rows
            .iter()
            .map(|row| -> sqlx::Result<(NotificationGroup, Option<i64>)> {
                Ok((
                    NotificationGroup {
                        group_key: row.try_get(0)?,
                        kind: row.try_get(1)?,
                        count: row.try_get(2)?,
                        latest_id: row.try_get(3)?,
                        oldest_id: row.try_get(4)?,
                        latest_at: row.try_get(5)?,
                        sample_accounts: Vec::new(),
                        note: None,
                    },
                    row.try_get::<Option<i64>, _>(6)?,
                ))
            })
            .collect::<sqlx::Result<Vec<_>>>()?;
        if query.ascending {
            rows.reverse();
        }
        let keys: Vec<String> = rows.iter().map(|(g, _)| g.group_key.clone()).collect();
        let samples = if keys.is_empty() {
            Vec::new()
        } else {
            let query = sql::notification_samples(account, &keys, NOTIFICATION_SAMPLES);
            bound(&query.sql, &query.args.0)
                .fetch_all(&mut *conn)
                .await?
                .iter()
                .map(|row| Ok((row.try_get::<String, _>(ACCOUNT_WIDTH)?, account_from_row(row, 0)?)))
                .collect::<sqlx::Result<Vec<_>>>()?
        };
        let ids: Vec<NoteId> = rows.iter().filter_map(|(_, note)| note.map(NoteId)).collect();
        let notes = if ids.is_empty() { Vec::new() } else { query_views(&mut conn, &sql::notes_by_ids(&ids)).await? };
        Ok(assemble_groups(rows, samples, notes))
    }

    async fn count_notifications(&self, account: AccountId, after: i64, cap: u32) -> Result<i64> {
        let query = sql::count_notifications(account, after, cap);
        Ok(bound(&query.sql, &query.args.0).fetch_one(&self.pool).await?.try_get(0)?)
    }

    async fn notification_by_id(&self, account: AccountId, id: i64) -> Result<Option<Notification>> {
        let mut conn = self.pool.acquire().await?;
        Ok(notification_rows(&mut conn, &sql::notification_by_id(account, id)).await?.pop())
    }

    async fn dismiss_notification(&self, account: AccountId, id: i64) -> Result<()> {
        exec(&mut *self.pool.acquire().await?, sql::DISMISS_NOTIFICATION, &[int(account.0), int(id)]).await?;
        Ok(())
    }

    async fn clear_notifications(&self, account: AccountId, group_key: Option<&str>) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        match group_key {
            Some(key) => exec(&mut conn, sql::CLEAR_NOTIFICATION_GROUP, &[int(account.0), text(key)]).await?,
            None => exec(&mut conn, sql::CLEAR_NOTIFICATIONS, &[int(account.0)]).await?,
        };
        Ok(())
    }

    async fn markers(&self, account: AccountId) -> Result<Vec<Marker>> {
        let rows = bound(sql::MARKERS, &[int(account.0)]).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(marker_from_row).collect::<sqlx::Result<Vec<_>>>()?)
    }

    async fn set_marker(&self, account: AccountId, timeline: &str, last_read_id: i64) -> Result<Marker> {
        let values = [int(account.0), text(timeline), int(last_read_id), int(now_ms())];
        Ok(marker_from_row(&bound(sql::UPSERT_MARKER, &values).fetch_one(&self.pool).await?)?)
    }

    async fn enqueue_job(&self, kind: &str, payload: &str, run_at: i64) -> Result<i64> {
        let id = next_id();
        let values = [int(id), text(kind), text(payload), int(run_at), int(now_ms()), text(job_queue(kind))];
        exec(&mut *self.pool.acquire().await?, sql::ENQUEUE_JOB, &values).await?;
        Ok(id)
    }

    async fn claim_jobs(&self, queue: &str, limit: u32, lease_ms: i64) -> Result<Vec<Job>> {
        // SKIP LOCKED lets several server processes claim different jobs at once.
        let sql = sql::claim_jobs(true);
        let rows = bound(&sql, &[int(now_ms()), int(lease_ms), int(i64::from(limit)), text(queue)])
            .fetch_all(&self.pool)
            .await?;
        let mut jobs = rows
            .iter()
            .map(|row| -> sqlx::Result<Job> {
                Ok(Job {
                    id: row.try_get(0)?,
                    kind: row.try_get(1)?,
                    payload: row.try_get(2)?,
                    attempts: row.try_get(3)?,
                })
            })
            .collect::<sqlx::Result<Vec<_>>>()?;
        jobs.sort_by_key(|j| j.id);
        Ok(jobs)
    }

    async fn complete_job(&self, id: i64) -> Result<()> {
        exec(&mut *self.pool.acquire().await?, sql::COMPLETE_JOB, &[int(id)]).await?;
        Ok(())
    }

    async fn fail_job(&self, id: i64, error: &str, retry_at: Option<i64>) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        match retry_at {
            Some(at) => exec(&mut conn, sql::RETRY_JOB, &[int(id), int(at), text(error)]).await?,
            None => exec(&mut conn, sql::BURY_JOB, &[int(id), int(now_ms()), text(error)]).await?,
        };
        Ok(())
    }

    async fn pending_jobs(&self) -> Result<i64> {
        Ok(optional_i64(&mut *self.pool.acquire().await?, sql::PENDING_JOBS, &[]).await?.unwrap_or(0))
    }

    async fn create_media(&self, new: NewMedia) -> Result<Media> {
        let mut tx = self.pool.begin().await?;
        let (id, now) = (next_id(), now_ms());
        let values = [
            int(id),
            int(new.account_id.0),
            text(new.kind.as_str()),
            text(new.state.as_str()),
            text(&new.storage_key),
            text(&new.description),
            Arg::Float(Some(new.focus.0)),
            Arg::Float(Some(new.focus.1)),
            text(&new.meta),
            Arg::Text(new.blurhash.clone()),
            int(now),
        ];
        exec(&mut tx, sql::INSERT_MEDIA, &values).await?;
        if new.state == MediaState::Processing {
            let payload = format!("{{\"media_id\":{id}}}");
            let job = [int(next_id()), text(sql::JOB_MEDIA_PROCESS), text(&payload), int(now), int(now), text("media")];
            exec(&mut tx, sql::ENQUEUE_JOB, &job).await?;
        }
        let media = media_where(&mut tx, "WHERE m.id = $1", &[int(id)]).await?.pop().ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(media)
    }

    async fn media_by_id(&self, id: MediaId) -> Result<Option<Media>> {
        Ok(media_where(&mut *self.pool.acquire().await?, "WHERE m.id = $1", &[int(id.0)]).await?.pop())
    }

    async fn media_by_key(&self, key: &str) -> Result<Option<Media>> {
        Ok(media_where(&mut *self.pool.acquire().await?, "WHERE m.storage_key = $1", &[text(key)]).await?.pop())
    }

    async fn update_media(&self, id: MediaId, description: Option<String>, focus: Option<(f64, f64)>) -> Result<Media> {
        let mut conn = self.pool.acquire().await?;
        let values = [
            int(id.0),
            Arg::Text(description),
            Arg::Float(focus.map(|f| f.0)),
            Arg::Float(focus.map(|f| f.1)),
            int(now_ms()),
        ];
        if exec(&mut conn, sql::UPDATE_MEDIA, &values).await? == 0 {
            return Err(StoreError::NotFound);
        }
        media_where(&mut conn, "WHERE m.id = $1", &[int(id.0)]).await?.pop().ok_or(StoreError::NotFound)
    }

    async fn finish_media(&self, id: MediaId, result: MediaResult) -> Result<()> {
        let values = [
            int(id.0),
            text(result.state.as_str()),
            text(result.kind.as_str()),
            Arg::Text(result.error),
            text(&result.meta),
            Arg::Text(result.blurhash),
            int(now_ms()),
        ];
        exec(&mut *self.pool.acquire().await?, sql::FINISH_MEDIA, &values).await?;
        Ok(())
    }

    async fn set_subtitle(&self, id: MediaId, language: &str, file: Option<String>) -> Result<Option<String>> {
        let mut tx = self.pool.begin().await?;
        let media = media_where(&mut tx, "WHERE m.id = $1 FOR UPDATE", &[int(id.0)])
            .await?
            .pop()
            .ok_or(StoreError::NotFound)?;
        let (tracks, replaced) = sql::replace_subtitle(media.subtitles, language, file);
        exec(&mut tx, sql::SET_SUBTITLES, &[int(id.0), text(&sql::format_subtitles(&tracks)), int(now_ms())]).await?;
        tx.commit().await?;
        Ok(replaced)
    }

    async fn expired_media(&self, unattached_before: i64, limit: u32) -> Result<Vec<Media>> {
        let sql = sql::expired_media();
        let rows = bound(&sql, &[int(unattached_before), int(i64::from(limit))]).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(media_from_row).collect::<sqlx::Result<Vec<_>>>()?)
    }

    async fn delete_media(&self, id: MediaId) -> Result<()> {
        exec(&mut *self.pool.acquire().await?, sql::DELETE_MEDIA, &[int(id.0)]).await?;
        Ok(())
    }

    async fn server_secret(&self, name: &str, fresh: &str) -> Result<String> {
        let mut conn = self.pool.acquire().await?;
        exec(&mut conn, sql::INSERT_SECRET, &[text(name), text(fresh), int(now_ms())]).await?;
        Ok(sqlx::query_scalar(sql::SECRET).bind(name).fetch_one(&mut *conn).await?)
    }
}
