//! SQL shared by both backends for the social features: statements written in
//! the dialect SQLite and PostgreSQL have in common, with `$N` placeholders
//! (the SQLite backend rewrites them to `?N`), and builders for the listings
//! whose WHERE clause depends on the request.

use crate::model::*;

/// A bound value.
#[derive(Clone, Debug)]
pub enum Arg {
    Int(Option<i64>),
    Text(Option<String>),
    Bool(bool),
    MaybeBool(Option<bool>),
    Float(Option<f64>),
}

/// Values for `$1`, `$2`, … in order.
#[derive(Clone, Debug, Default)]
pub struct Args(pub Vec<Arg>);

impl Args {
    /// Binds an integer and returns its placeholder.
    pub fn int(&mut self, value: i64) -> String {
        self.0.push(Arg::Int(Some(value)));
        format!("${}", self.0.len())
    }

    pub fn text(&mut self, value: &str) -> String {
        self.0.push(Arg::Text(Some(value.to_owned())));
        format!("${}", self.0.len())
    }

    /// A comma-separated list of placeholders for `IN (…)`; never empty (an
    /// empty list matches nothing through an impossible id).
    pub fn ints(&mut self, values: impl IntoIterator<Item = i64>) -> String {
        let list: Vec<String> = values.into_iter().map(|v| self.int(v)).collect();
        if list.is_empty() { "-1".to_owned() } else { list.join(",") }
    }

    pub fn texts<'a>(&mut self, values: impl IntoIterator<Item = &'a String>) -> String {
        let list: Vec<String> = values.into_iter().map(|v| self.text(v)).collect();
        if list.is_empty() { "''".to_owned() } else { list.join(",") }
    }
}

/// A statement and its values; `ascending` when rows come oldest first and the
/// caller must reverse them (Mastodon's `min_id`).
#[derive(Clone, Debug)]
pub struct Query {
    pub sql: String,
    pub args: Args,
    pub ascending: bool,
}

pub const ACCOUNT_COLUMNS: &str = "a.id, a.username, a.display_name, a.bio, a.languages, a.ui_language, \
     a.locked, a.is_admin, a.suspended, a.notes_count, a.followers_count, a.following_count, \
     a.last_note_at, a.created_at, a.updated_at";
pub const ACCOUNT_WIDTH: usize = 15;

pub const NOTE_COLUMNS: &str = "n.id, n.account_id, n.title, n.body, n.content_html, n.language, \
     n.visibility, n.spoiler_text, n.sensitive, n.in_reply_to_id, n.created_at, n.edited_at, \
     n.root_id, n.parent_comment_id, n.replies_count, n.favourites_count, n.collects_count, n.views_count, \
     n.pinned_comment_id";
pub const NOTE_WIDTH: usize = 19;

pub const BOARD_COLUMNS: &str = "b.id, b.account_id, b.name, b.description, b.public, b.is_default, \
     (SELECT count(*) FROM collects c WHERE c.board_id = b.id), b.created_at, b.updated_at";

/// Mastodon pagination on `column`: conditions (starting with AND) and the ORDER BY … LIMIT tail.
fn page_clause(args: &mut Args, column: &str, page: &Page) -> (String, String, bool) {
    let mut conditions = String::new();
    if let Some(max) = page.max_id {
        conditions += &format!(" AND {column} < {}", args.int(max));
    }
    if let Some(since) = page.since_id {
        conditions += &format!(" AND {column} > {}", args.int(since));
    }
    if let Some(min) = page.min_id {
        conditions += &format!(" AND {column} > {}", args.int(min));
    }
    let ascending = page.min_id.is_some();
    let order = format!(
        " ORDER BY {column} {} LIMIT {}",
        if ascending { "ASC" } else { "DESC" },
        args.int(i64::from(page.limit.max(1)))
    );
    (conditions, order, ascending)
}

/// Leaves out notes by authors the viewer blocks, is blocked by, or mutes.
fn hidden_authors(args: &mut Args, filter: FeedFilter, author: &str) -> String {
    let Some(viewer) = filter.viewer else { return String::new() };
    let v = args.int(viewer.0);
    let now = args.int(now_ms());
    format!(
        " AND NOT EXISTS (SELECT 1 FROM blocks b WHERE (b.account_id = {v} AND b.target_id = {author}) \
           OR (b.account_id = {author} AND b.target_id = {v})) \
         AND NOT EXISTS (SELECT 1 FROM mutes m WHERE m.account_id = {v} AND m.target_id = {author} \
           AND (m.expires_at IS NULL OR m.expires_at > {now}))"
    )
}

/// Notes with their authors: `SELECT` note and account columns, then `extra`, then `tail`.
fn note_query(extra: &str, tail: String, args: Args, ascending: bool) -> Query {
    let extra = if extra.is_empty() { String::new() } else { format!(", {extra}") };
    Query { sql: format!("SELECT {NOTE_COLUMNS}, {ACCOUNT_COLUMNS}{extra} {tail}"), args, ascending }
}

pub fn notes_by_ids(ids: &[NoteId]) -> Query {
    let mut args = Args::default();
    let list = args.ints(ids.iter().map(|id| id.0));
    note_query("", format!("FROM notes n JOIN accounts a ON a.id = n.account_id WHERE n.id IN ({list})"), args, false)
}

pub fn list_comments(
    note: NoteId,
    sort: CommentSort,
    after: Option<CommentCursor>,
    filter: FeedFilter,
    limit: u32,
) -> Query {
    let mut args = Args::default();
    let root = args.int(note.0);
    let mut conditions = hidden_authors(&mut args, filter, "n.account_id");
    let order = match sort {
        CommentSort::New => {
            if let Some(after) = after {
                conditions += &format!(" AND n.id < {}", args.int(after.id));
            }
            "n.id DESC"
        }
        CommentSort::Hot => {
            if let Some(after) = after {
                let likes = args.int(after.favourites);
                let id = args.int(after.id);
                conditions +=
                    &format!(" AND (n.favourites_count < {likes} OR (n.favourites_count = {likes} AND n.id < {id}))");
            }
            "n.favourites_count DESC, n.id DESC"
        }
    };
    let limit = args.int(i64::from(limit.max(1)));
    note_query(
        "",
        format!(
            "FROM notes n JOIN accounts a ON a.id = n.account_id \
             WHERE n.root_id = {root} AND n.parent_comment_id IS NULL AND NOT a.suspended{conditions} \
             ORDER BY {order} LIMIT {limit}"
        ),
        args,
        false,
    )
}

pub fn first_replies(comments: &[NoteId], per_comment: u32, filter: FeedFilter) -> Query {
    let mut args = Args::default();
    let list = args.ints(comments.iter().map(|c| c.0));
    let hidden = hidden_authors(&mut args, filter, "r.account_id");
    let per = args.int(i64::from(per_comment));
    note_query(
        "",
        format!(
            "FROM (SELECT r.id, ROW_NUMBER() OVER (PARTITION BY r.parent_comment_id ORDER BY r.id) AS position \
                   FROM notes r JOIN accounts ra ON ra.id = r.account_id \
                   WHERE r.parent_comment_id IN ({list}) AND NOT ra.suspended{hidden}) picked \
             JOIN notes n ON n.id = picked.id JOIN accounts a ON a.id = n.account_id \
             WHERE picked.position <= {per} ORDER BY n.id"
        ),
        args,
        false,
    )
}

pub fn list_replies(comment: NoteId, after: Option<NoteId>, filter: FeedFilter, limit: u32) -> Query {
    let mut args = Args::default();
    let parent = args.int(comment.0);
    let mut conditions = hidden_authors(&mut args, filter, "n.account_id");
    if let Some(after) = after {
        conditions += &format!(" AND n.id > {}", args.int(after.0));
    }
    let limit = args.int(i64::from(limit.max(1)));
    note_query(
        "",
        format!(
            "FROM notes n JOIN accounts a ON a.id = n.account_id \
             WHERE n.parent_comment_id = {parent} AND NOT a.suspended{conditions} ORDER BY n.id LIMIT {limit}"
        ),
        args,
        false,
    )
}

pub fn thread(note: NoteId, filter: FeedFilter, limit: u32) -> Query {
    let mut args = Args::default();
    let root = args.int(note.0);
    let hidden = hidden_authors(&mut args, filter, "n.account_id");
    let limit = args.int(i64::from(limit.max(1)));
    note_query(
        "",
        format!(
            "FROM notes n JOIN accounts a ON a.id = n.account_id \
             WHERE n.root_id = {root} AND NOT a.suspended{hidden} ORDER BY n.id LIMIT {limit}"
        ),
        args,
        false,
    )
}

pub fn home_feed(account: AccountId, page: Page) -> Query {
    let mut args = Args::default();
    let reader = args.int(account.0);
    let hidden = hidden_authors(&mut args, FeedFilter { viewer: Some(account) }, "h.author_id");
    let (conditions, order, ascending) = page_clause(&mut args, "h.note_id", &page);
    note_query(
        "",
        format!(
            "FROM home_feed h JOIN notes n ON n.id = h.note_id JOIN accounts a ON a.id = n.account_id \
             WHERE h.account_id = {reader} AND NOT a.suspended{hidden}{conditions}{order}"
        ),
        args,
        ascending,
    )
}

pub fn public_feed(filter: FeedFilter, page: Page) -> Query {
    let mut args = Args::default();
    let hidden = hidden_authors(&mut args, filter, "n.account_id");
    let (conditions, order, ascending) = page_clause(&mut args, "n.id", &page);
    note_query(
        "",
        format!(
            "FROM notes n JOIN accounts a ON a.id = n.account_id \
             WHERE n.visibility = 'public' AND n.root_id IS NULL AND NOT a.suspended{hidden}{conditions}{order}"
        ),
        args,
        ascending,
    )
}

pub fn tag_feed(tag: &str, filter: FeedFilter, page: Page) -> Query {
    let mut args = Args::default();
    let tag = args.text(tag);
    let hidden = hidden_authors(&mut args, filter, "n.account_id");
    let (conditions, order, ascending) = page_clause(&mut args, "t.note_id", &page);
    note_query(
        "",
        format!(
            "FROM note_tags t JOIN notes n ON n.id = t.note_id JOIN accounts a ON a.id = n.account_id \
             WHERE t.tag = {tag} AND n.visibility = 'public' AND n.root_id IS NULL AND NOT a.suspended\
             {hidden}{conditions}{order}"
        ),
        args,
        ascending,
    )
}

pub fn discover_candidates(since: i64, limit: u32) -> Query {
    let mut args = Args::default();
    let floor = args.int(id_floor_for_time(since));
    let limit = args.int(i64::from(limit));
    note_query(
        "",
        format!(
            "FROM notes n JOIN accounts a ON a.id = n.account_id \
             WHERE n.visibility = 'public' AND n.root_id IS NULL AND n.id > {floor} AND NOT a.suspended \
             ORDER BY n.favourites_count + 2 * n.collects_count + n.replies_count + n.views_count / 50 DESC, n.id DESC \
             LIMIT {limit}"
        ),
        args,
        false,
    )
}

/// Rows of (tag, day number, uses, distinct accounts) for public notes since `since`.
pub fn tag_usage(since: i64) -> Query {
    let mut args = Args::default();
    let floor = args.int(id_floor_for_time(since));
    Query {
        sql: format!(
            "SELECT t.tag, n.created_at / 86400000 AS day, count(*), count(DISTINCT n.account_id) \
             FROM note_tags t JOIN notes n ON n.id = t.note_id JOIN accounts a ON a.id = n.account_id \
             WHERE n.id > {floor} AND n.visibility = 'public' AND NOT a.suspended \
             GROUP BY t.tag, n.created_at / 86400000"
        ),
        args,
        ascending: false,
    }
}

/// Ranks tag usage rows into trends: most distinct accounts over the window, then most uses.
pub fn rank_tag_usage(rows: Vec<(String, i64, i64, i64)>, limit: u32) -> Vec<TagTrend> {
    let mut trends: Vec<(TagTrend, i64, i64)> = Vec::new();
    for (tag, day, uses, accounts) in rows {
        let index = match trends.iter().position(|(t, _, _)| t.name == tag) {
            Some(index) => index,
            None => {
                trends.push((TagTrend { name: tag, days: Vec::new() }, 0, 0));
                trends.len() - 1
            }
        };
        let entry = &mut trends[index];
        entry.0.days.push(TagDay { day: day * 86_400_000, uses, accounts });
        entry.1 += accounts;
        entry.2 += uses;
    }
    trends.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.cmp(&a.2)).then(a.0.name.cmp(&b.0.name)));
    trends
        .into_iter()
        .take(limit as usize)
        .map(|(mut trend, _, _)| {
            trend.days.sort_by_key(|d| std::cmp::Reverse(d.day));
            trend
        })
        .collect()
}

pub fn list_favourites(account: AccountId, page: Page) -> Query {
    let mut args = Args::default();
    let owner = args.int(account.0);
    let (conditions, order, ascending) = page_clause(&mut args, "f.id", &page);
    note_query(
        "f.id",
        format!(
            "FROM favourites f JOIN notes n ON n.id = f.note_id JOIN accounts a ON a.id = n.account_id \
             WHERE f.account_id = {owner}{conditions}{order}"
        ),
        args,
        ascending,
    )
}

pub fn list_collects(account: AccountId, board: Option<BoardId>, page: Page) -> Query {
    let mut args = Args::default();
    let owner = args.int(account.0);
    let board = match board {
        Some(board) => format!(" AND c.board_id = {}", args.int(board.0)),
        None => String::new(),
    };
    let (conditions, order, ascending) = page_clause(&mut args, "c.id", &page);
    note_query(
        "c.id",
        format!(
            "FROM collects c JOIN notes n ON n.id = c.note_id JOIN accounts a ON a.id = n.account_id \
             WHERE c.account_id = {owner}{board}{conditions}{order}"
        ),
        args,
        ascending,
    )
}

/// Accounts with a cursor column: `SELECT account columns, cursor FROM …`.
fn account_query(cursor: &str, from: &str, args: Args, page: &Page) -> Query {
    let mut args = args;
    let (conditions, order, ascending) = page_clause(&mut args, cursor, page);
    Query {
        sql: format!("SELECT {ACCOUNT_COLUMNS}, {cursor} {from} AND NOT a.suspended{conditions}{order}"),
        args,
        ascending,
    }
}

pub fn favourited_by(note: NoteId, page: Page) -> Query {
    let mut args = Args::default();
    let note = args.int(note.0);
    account_query(
        "f.id",
        &format!("FROM favourites f JOIN accounts a ON a.id = f.account_id WHERE f.note_id = {note}"),
        args,
        &page,
    )
}

pub fn follow_requests(account: AccountId, page: Page) -> Query {
    let mut args = Args::default();
    let owner = args.int(account.0);
    account_query(
        "r.id",
        &format!("FROM follow_requests r JOIN accounts a ON a.id = r.follower_id WHERE r.followee_id = {owner}"),
        args,
        &page,
    )
}

pub fn list_follows(account: AccountId, direction: FollowDirection, page: Page) -> Query {
    let mut args = Args::default();
    let owner = args.int(account.0);
    let from = match direction {
        FollowDirection::Followers => {
            format!("FROM follows f JOIN accounts a ON a.id = f.follower_id WHERE f.followee_id = {owner}")
        }
        FollowDirection::Following => {
            format!("FROM follows f JOIN accounts a ON a.id = f.followee_id WHERE f.follower_id = {owner}")
        }
    };
    account_query("f.id", &from, args, &page)
}

pub fn list_blocks(account: AccountId, page: Page) -> Query {
    let mut args = Args::default();
    let owner = args.int(account.0);
    account_query(
        "b.id",
        &format!("FROM blocks b JOIN accounts a ON a.id = b.target_id WHERE b.account_id = {owner}"),
        args,
        &page,
    )
}

pub fn list_mutes(account: AccountId, page: Page) -> Query {
    let mut args = Args::default();
    let owner = args.int(account.0);
    let now = args.int(now_ms());
    account_query(
        "m.id",
        &format!(
            "FROM mutes m JOIN accounts a ON a.id = m.target_id WHERE m.account_id = {owner} \
             AND (m.expires_at IS NULL OR m.expires_at > {now})"
        ),
        args,
        &page,
    )
}

/// Columns: other id, following, requested, followed_by, requested_by, blocking, blocked_by, muting, muting notifications.
pub fn relationships(viewer: AccountId, others: &[AccountId]) -> Query {
    let mut args = Args::default();
    let me = args.int(viewer.0);
    let now = args.int(now_ms());
    let list = args.ints(others.iter().map(|a| a.0));
    let active_mute = format!(
        "FROM mutes m WHERE m.account_id = {me} AND m.target_id = a.id AND (m.expires_at IS NULL OR m.expires_at > {now})"
    );
    Query {
        sql: format!(
            "SELECT a.id, \
               EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = {me} AND f.followee_id = a.id), \
               EXISTS (SELECT 1 FROM follow_requests r WHERE r.follower_id = {me} AND r.followee_id = a.id), \
               EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = a.id AND f.followee_id = {me}), \
               EXISTS (SELECT 1 FROM follow_requests r WHERE r.follower_id = a.id AND r.followee_id = {me}), \
               EXISTS (SELECT 1 FROM blocks b WHERE b.account_id = {me} AND b.target_id = a.id), \
               EXISTS (SELECT 1 FROM blocks b WHERE b.account_id = a.id AND b.target_id = {me}), \
               EXISTS (SELECT 1 {active_mute}), \
               EXISTS (SELECT 1 {active_mute} AND m.notifications) \
             FROM accounts a WHERE a.id IN ({list})"
        ),
        args,
        ascending: false,
    }
}

/// Conditions on `notifications x` joined with the sender `accounts a`.
fn notification_conditions(args: &mut Args, account: AccountId, filter: &NotificationFilter) -> String {
    let me = args.int(account.0);
    let now = args.int(now_ms());
    let mut sql = format!(
        "x.account_id = {me} AND NOT a.suspended \
         AND NOT EXISTS (SELECT 1 FROM blocks b WHERE (b.account_id = {me} AND b.target_id = x.from_account_id) \
           OR (b.account_id = x.from_account_id AND b.target_id = {me})) \
         AND NOT EXISTS (SELECT 1 FROM mutes m WHERE m.account_id = {me} AND m.target_id = x.from_account_id \
           AND m.notifications AND (m.expires_at IS NULL OR m.expires_at > {now}))"
    );
    if !filter.kinds.is_empty() {
        sql += &format!(" AND x.kind IN ({})", args.texts(&filter.kinds));
    }
    if !filter.exclude_kinds.is_empty() {
        sql += &format!(" AND x.kind NOT IN ({})", args.texts(&filter.exclude_kinds));
    }
    if let Some(from) = filter.from_account {
        sql += &format!(" AND x.from_account_id = {}", args.int(from.0));
    }
    sql
}

/// Columns: sender account, then id, kind, note id, group key, created_at.
pub const NOTIFICATION_TAIL: &str = "x.id, x.kind, x.note_id, x.group_key, x.created_at";

pub fn list_notifications(account: AccountId, filter: &NotificationFilter, page: Page) -> Query {
    let mut args = Args::default();
    let conditions = notification_conditions(&mut args, account, filter);
    let (paging, order, ascending) = page_clause(&mut args, "x.id", &page);
    Query {
        sql: format!(
            "SELECT {ACCOUNT_COLUMNS}, {NOTIFICATION_TAIL} FROM notifications x \
             JOIN accounts a ON a.id = x.from_account_id WHERE {conditions}{paging}{order}"
        ),
        args,
        ascending,
    }
}

pub fn notification_by_id(account: AccountId, id: i64) -> Query {
    let mut args = Args::default();
    let conditions = notification_conditions(&mut args, account, &NotificationFilter::default());
    let id = args.int(id);
    Query {
        sql: format!(
            "SELECT {ACCOUNT_COLUMNS}, {NOTIFICATION_TAIL} FROM notifications x \
             JOIN accounts a ON a.id = x.from_account_id WHERE {conditions} AND x.id = {id}"
        ),
        args,
        ascending: false,
    }
}

/// Columns: group key, kind, count, latest id, oldest id, latest time, note id.
pub fn notification_groups(account: AccountId, filter: &NotificationFilter, page: Page) -> Query {
    let mut args = Args::default();
    let conditions = notification_conditions(&mut args, account, filter);
    let (paging, order, ascending) = page_clause(&mut args, "max(x.id)", &page);
    // HAVING takes the page bounds on the group's latest id.
    let having = paging.strip_prefix(" AND ").map(|p| format!(" HAVING {p}")).unwrap_or_default();
    Query {
        sql: format!(
            "SELECT x.group_key, min(x.kind), count(*), max(x.id), min(x.id), max(x.created_at), max(x.note_id) \
             FROM notifications x JOIN accounts a ON a.id = x.from_account_id WHERE {conditions} \
             GROUP BY x.group_key{having}{order}"
        ),
        args,
        ascending,
    }
}

/// The latest `per_group` senders of each group: account columns, then the group key.
pub fn notification_samples(account: AccountId, groups: &[String], per_group: u32) -> Query {
    let mut args = Args::default();
    let conditions = notification_conditions(&mut args, account, &NotificationFilter::default());
    let keys = args.texts(groups);
    let per = args.int(i64::from(per_group));
    Query {
        sql: format!(
            "SELECT {ACCOUNT_COLUMNS}, s.group_key FROM \
               (SELECT x.from_account_id, x.group_key, x.id, \
                  ROW_NUMBER() OVER (PARTITION BY x.group_key ORDER BY x.id DESC) AS position \
                FROM notifications x JOIN accounts a ON a.id = x.from_account_id \
                WHERE {conditions} AND x.group_key IN ({keys})) s \
             JOIN accounts a ON a.id = s.from_account_id WHERE s.position <= {per} ORDER BY s.group_key, s.id DESC"
        ),
        args,
        ascending: false,
    }
}

pub fn count_notifications(account: AccountId, after: i64, cap: u32) -> Query {
    let mut args = Args::default();
    let conditions = notification_conditions(&mut args, account, &NotificationFilter::default());
    let after = args.int(after);
    let cap = args.int(i64::from(cap));
    Query {
        sql: format!(
            "SELECT count(*) FROM (SELECT 1 FROM notifications x JOIN accounts a ON a.id = x.from_account_id \
             WHERE {conditions} AND x.id > {after} LIMIT {cap}) counted"
        ),
        args,
        ascending: false,
    }
}

// ---- statements with fixed shape ----

pub const SESSIONS_OF: &str = "SELECT token_hash, user_agent, created_at, expires_at FROM web_sessions \
     WHERE account_id = $1 AND expires_at > $2 ORDER BY created_at DESC LIMIT 100";
pub const COMMENT_PARENT: &str = "SELECT root_id, parent_comment_id FROM notes WHERE id = $1";
pub const BUMP_REPLIES: &str = "UPDATE notes SET replies_count = replies_count + $2 WHERE id = $1";
pub const HOME_FEED_OWN: &str =
    "INSERT INTO home_feed (account_id, note_id, author_id) VALUES ($1, $2, $1) ON CONFLICT DO NOTHING";
pub const ENQUEUE_JOB: &str =
    "INSERT INTO jobs (id, kind, payload, run_at, created_at, queue) VALUES ($1, $2, $3, $4, $5, $6)";
/// Lowers comment authors' note counts before a note's comments go with it.
pub const UNCOUNT_CASCADED: &str = "UPDATE accounts SET notes_count = notes_count - \
     (SELECT count(*) FROM notes c WHERE (c.root_id = $1 OR c.parent_comment_id = $1) AND c.account_id = accounts.id) \
     WHERE id IN (SELECT account_id FROM notes WHERE root_id = $1 OR parent_comment_id = $1)";
pub const COUNT_REPLIES_UNDER: &str = "SELECT count(*) FROM notes WHERE parent_comment_id = $1";
pub const UNPIN_DELETED: &str = "UPDATE notes SET pinned_comment_id = NULL WHERE pinned_comment_id = $1";
pub const PIN_COMMENT: &str = "UPDATE notes SET pinned_comment_id = $2 WHERE id = $1";

/// The followers of `$2` with ids above `$3`, in order, at most `$4`.
pub const FAN_OUT_BATCH: &str = "SELECT follower_id FROM follows WHERE followee_id = $1 AND follower_id > $2 \
     ORDER BY follower_id LIMIT $3";
pub const FAN_OUT_INSERT: &str = "INSERT INTO home_feed (account_id, note_id, author_id) \
     SELECT f.follower_id, $1, $2 FROM follows f WHERE f.followee_id = $2 AND f.follower_id > $3 AND f.follower_id <= $4 \
     ON CONFLICT DO NOTHING";
pub const NOTE_AUTHOR: &str = "SELECT account_id FROM notes WHERE id = $1";
pub const ADD_VIEWS: &str = "UPDATE notes SET views_count = views_count + $2 WHERE id = $1";

pub const INSERT_FAVOURITE: &str = "INSERT INTO favourites (id, account_id, note_id, created_at) \
     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";
pub const DELETE_FAVOURITE: &str = "DELETE FROM favourites WHERE account_id = $1 AND note_id = $2";
pub const BUMP_FAVOURITES: &str = "UPDATE notes SET favourites_count = CASE WHEN favourites_count + $2 < 0 THEN 0 \
     ELSE favourites_count + $2 END WHERE id = $1";
pub const BUMP_COLLECTS: &str = "UPDATE notes SET collects_count = CASE WHEN collects_count + $2 < 0 THEN 0 \
     ELSE collects_count + $2 END WHERE id = $1";
pub const INSERT_NOTIFICATION: &str = "INSERT INTO notifications \
     (id, account_id, kind, from_account_id, note_id, group_key, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
     ON CONFLICT DO NOTHING";
pub const DELETE_NOTIFICATION_OF: &str = "DELETE FROM notifications WHERE account_id = $1 AND kind = $2 \
     AND from_account_id = $3 AND coalesce(note_id, 0) = $4";

pub const DEFAULT_BOARD: &str = "SELECT id FROM boards WHERE account_id = $1 AND is_default";
pub const INSERT_BOARD: &str = "INSERT INTO boards (id, account_id, name, description, public, is_default, \
     created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)";
pub const BOARD_OWNER: &str = "SELECT account_id FROM boards WHERE id = $1";
pub const COLLECTED_IN: &str = "SELECT board_id FROM collects WHERE account_id = $1 AND note_id = $2";
pub const MOVE_COLLECT: &str = "UPDATE collects SET board_id = $3 WHERE account_id = $1 AND note_id = $2";
pub const INSERT_COLLECT: &str = "INSERT INTO collects (id, account_id, note_id, board_id, created_at) \
     VALUES ($1, $2, $3, $4, $5)";
pub const DELETE_COLLECT: &str = "DELETE FROM collects WHERE account_id = $1 AND note_id = $2";
pub const UPDATE_BOARD: &str = "UPDATE boards SET name = coalesce($2, name), description = coalesce($3, description), \
     public = coalesce($4, public), updated_at = $5 WHERE id = $1";
pub const BOARD_IS_DEFAULT: &str = "SELECT account_id, is_default FROM boards WHERE id = $1";
pub const MOVE_BOARD_COLLECTS: &str = "UPDATE collects SET board_id = $2 WHERE board_id = $1";
pub const DELETE_BOARD: &str = "DELETE FROM boards WHERE id = $1";
pub const BOARD_BY_ID: &str = "WHERE b.id = $1";
pub const BOARDS_OF: &str = "WHERE b.account_id = $1 ORDER BY b.is_default DESC, b.id";

pub const INTERACTIONS: &str = "SELECT n.id, \
     EXISTS (SELECT 1 FROM favourites f WHERE f.account_id = $1 AND f.note_id = n.id), \
     (SELECT c.board_id FROM collects c WHERE c.account_id = $1 AND c.note_id = n.id) \
     FROM notes n WHERE n.id IN ";

pub const IS_FOLLOWING: &str = "SELECT follower_id FROM follows WHERE follower_id = $1 AND followee_id = $2";
pub const INSERT_FOLLOW_REQUEST: &str = "INSERT INTO follow_requests (id, follower_id, followee_id, created_at) \
     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";
pub const DELETE_FOLLOW_REQUEST: &str = "DELETE FROM follow_requests WHERE follower_id = $1 AND followee_id = $2";
pub const INSERT_FOLLOW: &str = "INSERT INTO follows (id, follower_id, followee_id, created_at) \
     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";
pub const DELETE_FOLLOW: &str = "DELETE FROM follows WHERE follower_id = $1 AND followee_id = $2";
pub const BUMP_FOLLOWING: &str = "UPDATE accounts SET following_count = CASE WHEN following_count + $2 < 0 THEN 0 \
     ELSE following_count + $2 END WHERE id = $1";
pub const BUMP_FOLLOWERS: &str = "UPDATE accounts SET followers_count = CASE WHEN followers_count + $2 < 0 THEN 0 \
     ELSE followers_count + $2 END WHERE id = $1";
/// The newest notes of a newly followed account, copied into the follower's home feed.
pub const BACKFILL_HOME: &str = "INSERT INTO home_feed (account_id, note_id, author_id) \
     SELECT $1, n.id, n.account_id FROM notes n WHERE n.account_id = $2 AND n.root_id IS NULL \
     AND n.visibility IN ('public', 'unlisted', 'private') ORDER BY n.id DESC LIMIT 40 ON CONFLICT DO NOTHING";
pub const CLEAR_HOME_OF_AUTHOR: &str = "DELETE FROM home_feed WHERE account_id = $1 AND author_id = $2";
pub const INSERT_BLOCK: &str =
    "INSERT INTO blocks (id, account_id, target_id, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";
pub const DELETE_BLOCK: &str = "DELETE FROM blocks WHERE account_id = $1 AND target_id = $2";
pub const UPSERT_MUTE: &str = "INSERT INTO mutes (id, account_id, target_id, notifications, expires_at, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (account_id, target_id) \
     DO UPDATE SET notifications = excluded.notifications, expires_at = excluded.expires_at";
pub const DELETE_MUTE: &str = "DELETE FROM mutes WHERE account_id = $1 AND target_id = $2";
pub const FOLLOW_TAG: &str =
    "INSERT INTO followed_tags (account_id, tag, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
pub const UNFOLLOW_TAG: &str = "DELETE FROM followed_tags WHERE account_id = $1 AND tag = $2";
pub const FOLLOWED_TAGS: &str = "SELECT tag FROM followed_tags WHERE account_id = $1 ORDER BY tag";

pub const INSERT_FILTER: &str = "INSERT INTO filters (id, account_id, title, context, action, expires_at, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)";
pub const INSERT_FILTER_KEYWORD: &str =
    "INSERT INTO filter_keywords (id, filter_id, keyword, whole_word) VALUES ($1, $2, $3, $4)";
pub const UPDATE_FILTER: &str = "UPDATE filters SET title = coalesce($2, title), context = coalesce($3, context), \
     action = coalesce($4, action), expires_at = CASE WHEN $5 THEN $6 ELSE expires_at END WHERE id = $1";
pub const DELETE_FILTER_KEYWORD: &str = "DELETE FROM filter_keywords WHERE filter_id = $1 AND id = $2";
pub const DELETE_FILTER: &str = "DELETE FROM filters WHERE id = $1";
pub const FILTER_COLUMNS: &str = "SELECT id, account_id, title, context, action, expires_at FROM filters";
pub const FILTER_KEYWORDS: &str = "SELECT filter_id, id, keyword, whole_word FROM filter_keywords WHERE filter_id IN ";

pub const DISMISS_NOTIFICATION: &str = "DELETE FROM notifications WHERE account_id = $1 AND id = $2";
pub const CLEAR_NOTIFICATIONS: &str = "DELETE FROM notifications WHERE account_id = $1";
pub const CLEAR_NOTIFICATION_GROUP: &str = "DELETE FROM notifications WHERE account_id = $1 AND group_key = $2";
pub const MARKERS: &str =
    "SELECT timeline, last_read_id, version, updated_at FROM markers WHERE account_id = $1 ORDER BY timeline";
pub const UPSERT_MARKER: &str = "INSERT INTO markers (account_id, timeline, last_read_id, version, updated_at) \
     VALUES ($1, $2, $3, 1, $4) ON CONFLICT (account_id, timeline) DO UPDATE SET \
     last_read_id = excluded.last_read_id, version = markers.version + 1, updated_at = excluded.updated_at \
     RETURNING timeline, last_read_id, version, updated_at";

pub const COMPLETE_JOB: &str = "DELETE FROM jobs WHERE id = $1";
pub const RETRY_JOB: &str = "UPDATE jobs SET run_at = $2, locked_until = NULL, last_error = $3 WHERE id = $1";
pub const BURY_JOB: &str = "UPDATE jobs SET failed_at = $2, locked_until = NULL, last_error = $3 WHERE id = $1";
pub const PENDING_JOBS: &str = "SELECT count(*) FROM jobs WHERE failed_at IS NULL";

/// The kind of job enqueued with every new note: notifications, then fan-out.
pub const JOB_NOTE_CREATED: &str = "note_created";

/// How many recent senders a notification group shows.
pub const NOTIFICATION_SAMPLES: u32 = 3;

/// Relationships in the order asked for; accounts not found get an empty one.
pub fn in_order(others: &[AccountId], found: Vec<Relationship>) -> Vec<Relationship> {
    others
        .iter()
        .map(|id| {
            found
                .iter()
                .find(|r| r.account_id == *id)
                .cloned()
                .unwrap_or(Relationship { account_id: *id, ..Relationship::default() })
        })
        .collect()
}

/// Puts each notification's note in place. Notifications about a deleted note are dropped.
pub fn attach_notes(rows: Vec<(Notification, Option<i64>)>, notes: Vec<NoteView>) -> Vec<Notification> {
    rows.into_iter()
        .filter_map(|(mut notification, note)| {
            if let Some(id) = note {
                notification.note = Some(notes.iter().find(|v| v.note.id.0 == id)?.clone());
            }
            Some(notification)
        })
        .collect()
}

/// Puts each group's sample senders and note in place. Groups about a deleted note are dropped.
pub fn assemble_groups(
    rows: Vec<(NotificationGroup, Option<i64>)>,
    samples: Vec<(String, Account)>,
    notes: Vec<NoteView>,
) -> Vec<NotificationGroup> {
    rows.into_iter()
        .filter_map(|(mut group, note)| {
            group.sample_accounts =
                samples.iter().filter(|(key, _)| *key == group.group_key).map(|(_, a)| a.clone()).collect();
            if let Some(id) = note {
                group.note = Some(notes.iter().find(|v| v.note.id.0 == id)?.clone());
            }
            Some(group)
        })
        .collect()
}

/// Rewrites `$N` placeholders as SQLite's `?N`.
pub fn sqlite_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

/// Claims due jobs of one queue; PostgreSQL appends `FOR UPDATE SKIP LOCKED` to the inner select.
pub fn claim_jobs(skip_locked: bool) -> String {
    format!(
        "UPDATE jobs SET locked_until = $1 + $2, attempts = attempts + 1 WHERE id IN \
         (SELECT id FROM jobs WHERE queue = $4 AND failed_at IS NULL AND run_at <= $1 \
          AND (locked_until IS NULL OR locked_until < $1) ORDER BY run_at, id LIMIT $3{}) \
         RETURNING id, kind, payload, attempts",
        if skip_locked { " FOR UPDATE SKIP LOCKED" } else { "" }
    )
}

/// Processes an upload that was accepted for background work.
pub const JOB_MEDIA_PROCESS: &str = "media_process";
/// Deletes the files of media whose note was deleted.
pub const JOB_MEDIA_PURGE: &str = "media_purge";

pub const MEDIA_COLUMNS: &str = "m.id, m.account_id, m.note_id, m.position, m.kind, m.state, m.error, m.storage_key, \
     m.description, m.focus_x, m.focus_y, m.meta, m.subtitles, m.blurhash, m.created_at, m.updated_at";
pub const INSERT_MEDIA: &str = "INSERT INTO media (id, account_id, kind, state, storage_key, description, focus_x, \
     focus_y, meta, blurhash, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)";
pub const UPDATE_MEDIA: &str = "UPDATE media SET description = COALESCE($2, description), \
     focus_x = COALESCE($3, focus_x), focus_y = COALESCE($4, focus_y), updated_at = $5 WHERE id = $1";
pub const FINISH_MEDIA: &str = "UPDATE media SET state = $2, kind = $3, error = $4, meta = $5, blurhash = $6, \
     updated_at = $7 WHERE id = $1";
pub const SET_SUBTITLES: &str = "UPDATE media SET subtitles = $2, updated_at = $3 WHERE id = $1";
/// Attaches one upload; matches nothing unless it is the author's, finished and free.
pub const ATTACH_MEDIA: &str = "UPDATE media SET note_id = $1, position = $2, updated_at = $5 \
     WHERE id = $3 AND account_id = $4 AND note_id IS NULL AND detached_at IS NULL AND state = 'ready'";
/// Lets go of the media of a note, its comments and their replies, before they are deleted.
pub const DETACH_NOTE_MEDIA: &str = "UPDATE media SET note_id = NULL, detached_at = $2 \
     WHERE note_id IN (SELECT id FROM notes WHERE id = $1 OR root_id = $1 OR parent_comment_id = $1)";
/// Media whose files are due for deletion: detached from a deleted note, never
/// attached for a day, or left by a deleted account.
pub fn expired_media() -> String {
    format!(
        "SELECT {MEDIA_COLUMNS} FROM media m WHERE (m.note_id IS NULL AND (m.detached_at IS NOT NULL OR m.created_at < $1)) \
         OR NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = m.account_id) ORDER BY m.id LIMIT $2"
    )
}
pub const DELETE_MEDIA: &str = "DELETE FROM media WHERE id = $1";
pub const INSERT_SECRET: &str =
    "INSERT INTO server_secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING";
pub const SECRET: &str = "SELECT value FROM server_secrets WHERE name = $1";

/// Subtitle tracks as stored: one `language=file` per line.
pub fn parse_subtitles(value: &str) -> Vec<(String, String)> {
    value
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(language, file)| (language.to_owned(), file.to_owned()))
        .collect()
}

/// The tracks with `language`'s replaced (or removed, when `file` is `None`), and the file it had.
pub fn replace_subtitle(
    mut tracks: Vec<(String, String)>,
    language: &str,
    file: Option<String>,
) -> (Vec<(String, String)>, Option<String>) {
    let replaced = tracks.iter().position(|(l, _)| l == language).map(|i| tracks.remove(i).1);
    if let Some(file) = file {
        tracks.push((language.to_owned(), file));
        tracks.sort();
    }
    (tracks, replaced)
}

pub fn format_subtitles(tracks: &[(String, String)]) -> String {
    tracks.iter().map(|(language, file)| format!("{language}={file}\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_rewrite() {
        assert_eq!(sqlite_placeholders("a = $1 AND b = $12 AND c = '$'"), "a = ?1 AND b = ?12 AND c = '$'");
    }

    #[test]
    fn tag_ranking_prefers_more_people() {
        let rows = vec![("cat".to_owned(), 10, 9, 1), ("dog".to_owned(), 10, 3, 3), ("dog".to_owned(), 11, 1, 1)];
        let trends = rank_tag_usage(rows, 10);
        assert_eq!(trends[0].name, "dog");
        assert_eq!(trends[0].days[0].day, 11 * 86_400_000);
        assert_eq!(trends[1].name, "cat");
    }
}
