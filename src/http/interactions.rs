//! Likes, collects and comments: Mastodon's favourite, bookmark and context
//! endpoints, and pengyou's extensions under `/api/v1/pengyou/` for boards,
//! paged comments with their first replies, and pinning a comment.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use pengyou_store::{
    Account as AccountRow, BoardId, BoardUpdate, CommentCursor, CommentSort, FeedFilter, NewBoard, NoteId, NoteView,
};
use serde::{Deserialize, Serialize};

use crate::api::entities::{Account, BoardEntity, Context, Status};
use crate::api::present;
use crate::domain::validate::{self, ValidationError};
use crate::domain::visibility;
use crate::error::{AppError, AppResult};
use crate::http::extract::{Auth, Input, PageParams, User, lenient_bool, paged};
use crate::http::statuses::visible_note;
use crate::http::timelines::statuses_page;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/statuses/{id}/favourite", post(favourite))
        .route("/api/v1/statuses/{id}/unfavourite", post(unfavourite))
        .route("/api/v1/statuses/{id}/bookmark", post(bookmark))
        .route("/api/v1/statuses/{id}/unbookmark", post(unbookmark))
        .route("/api/v1/statuses/{id}/favourited_by", get(favourited_by))
        .route("/api/v1/statuses/{id}/context", get(context))
        .route("/api/v1/favourites", get(favourites))
        .route("/api/v1/bookmarks", get(bookmarks))
        .route("/api/v1/pengyou/notes/{id}/comments", get(comments))
        .route("/api/v1/pengyou/comments/{id}/replies", get(replies))
        .route("/api/v1/pengyou/notes/{id}/pin_comment", post(pin_comment))
        .route("/api/v1/pengyou/notes/{id}/unpin_comment", post(unpin_comment))
        .route("/api/v1/pengyou/notes/{id}/collect", post(collect))
        .route("/api/v1/pengyou/boards", get(my_boards).post(create_board))
        .route("/api/v1/pengyou/boards/{id}", get(show_board).patch(update_board).delete(delete_board))
        .route("/api/v1/pengyou/boards/{id}/notes", get(board_notes))
        .route("/api/v1/pengyou/accounts/{id}/boards", get(account_boards))
}

/// The status after an action, as the acting reader now sees it.
async fn reread(state: &AppState, user: &User, id: NoteId) -> AppResult<Json<Status>> {
    let view = state.store.note_by_id(id).await?.ok_or(AppError::NotFound)?;
    Ok(Json(present::status(state, Some(&user.account), &view).await?))
}

async fn favourite(State(state): State<AppState>, user: User, Path(id): Path<String>) -> AppResult<Json<Status>> {
    user.require("write:favourites")?;
    let view = visible_note(&state, &id, Some(&user.account)).await?;
    state.store.favourite(user.account.id, view.note.id).await?;
    reread(&state, &user, view.note.id).await
}

async fn unfavourite(State(state): State<AppState>, user: User, Path(id): Path<String>) -> AppResult<Json<Status>> {
    user.require("write:favourites")?;
    let view = visible_note(&state, &id, Some(&user.account)).await?;
    state.store.unfavourite(user.account.id, view.note.id).await?;
    reread(&state, &user, view.note.id).await
}

/// Bookmarking collects into the default board (a note already in another board stays there).
async fn bookmark(State(state): State<AppState>, user: User, Path(id): Path<String>) -> AppResult<Json<Status>> {
    user.require("write:bookmarks")?;
    let view = visible_note(&state, &id, Some(&user.account)).await?;
    let already = state.store.note_interactions(user.account.id, &[view.note.id]).await?;
    if already.first().is_none_or(|i| i.board_id.is_none()) {
        state.store.collect(user.account.id, view.note.id, None).await?;
    }
    reread(&state, &user, view.note.id).await
}

async fn unbookmark(State(state): State<AppState>, user: User, Path(id): Path<String>) -> AppResult<Json<Status>> {
    user.require("write:bookmarks")?;
    let view = visible_note(&state, &id, Some(&user.account)).await?;
    state.store.uncollect(user.account.id, view.note.id).await?;
    reread(&state, &user, view.note.id).await
}

#[derive(Deserialize)]
struct CollectForm {
    board_id: Option<String>,
}

/// `POST /api/v1/pengyou/notes/:id/collect` with an optional `board_id`: collects
/// into that board (or the default one), moving the note if it sat in another.
async fn collect(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<String>,
    Input(form): Input<CollectForm>,
) -> AppResult<Json<Status>> {
    user.require("write:bookmarks")?;
    let view = visible_note(&state, &id, Some(&user.account)).await?;
    let board = match form.board_id.as_deref().filter(|b| !b.is_empty()) {
        Some(board) => Some(own_board(&state, board, &user).await?.id),
        None => None,
    };
    state.store.collect(user.account.id, view.note.id, board).await?;
    reread(&state, &user, view.note.id).await
}

async fn favourited_by(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Query(params): Query<PageParams>,
) -> AppResult<Response> {
    let view = visible_note(&state, &id, auth.account()).await?;
    let listed = state.store.favourited_by(view.note.id, params.page()?).await?;
    let cursors: Vec<i64> = listed.iter().map(|l| l.cursor).collect();
    let accounts = visible_accounts(&state, auth.account(), listed.into_iter().map(|l| l.item).collect()).await?;
    Ok(paged(&state, accounts, &format!("/api/v1/statuses/{}/favourited_by", view.note.id), "", &cursors))
}

/// Accounts as entities, leaving out anyone across a block from the viewer.
pub async fn visible_accounts(
    state: &AppState,
    viewer: Option<&AccountRow>,
    accounts: Vec<AccountRow>,
) -> AppResult<Vec<Account>> {
    let audience = visibility::Audience::load(state.store.as_ref(), viewer, accounts.iter().map(|a| a.id)).await?;
    Ok(accounts.iter().filter(|a| !audience.blocked(a.id)).map(|a| Account::new(&state.base_url, a)).collect())
}

async fn favourites(
    State(state): State<AppState>,
    user: User,
    Query(params): Query<PageParams>,
) -> AppResult<Response> {
    user.require("read:favourites")?;
    let listed = state.store.list_favourites(user.account.id, params.page()?).await?;
    statuses_page(&state, Some(&user.account), listed, "account", "/api/v1/favourites", "").await
}

async fn bookmarks(State(state): State<AppState>, user: User, Query(params): Query<PageParams>) -> AppResult<Response> {
    user.require("read:bookmarks")?;
    let listed = state.store.list_collects(user.account.id, None, params.page()?).await?;
    statuses_page(&state, Some(&user.account), listed, "account", "/api/v1/bookmarks", "").await
}

/// The most comments the Mastodon context view returns (clients page comments with the extension endpoint).
const CONTEXT_LIMIT: u32 = 500;

/// `GET /api/v1/statuses/:id/context`: for a note, its comments and replies as
/// descendants; for a comment, its note (and comment) as ancestors and its replies.
async fn context(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> AppResult<Json<Context>> {
    let viewer = auth.account();
    let view = visible_note(&state, &id, viewer).await?;
    let filter = FeedFilter { viewer: viewer.map(|v| v.id) };
    let mut ancestors = Vec::new();
    for ancestor in [view.note.root_id, view.note.parent_comment_id].into_iter().flatten() {
        if let Some(ancestor) = state.store.note_by_id(ancestor).await? {
            ancestors.push(ancestor);
        }
    }
    let descendants = match (view.note.root_id, view.note.parent_comment_id) {
        (None, _) => state.store.thread(view.note.id, filter, CONTEXT_LIMIT).await?,
        (Some(_), None) => state.store.list_replies(view.note.id, None, filter, CONTEXT_LIMIT).await?,
        (Some(_), Some(parent)) => state
            .store
            .list_replies(parent, Some(view.note.id), filter, CONTEXT_LIMIT)
            .await?
            .into_iter()
            .filter(|r| r.note.in_reply_to_id == Some(view.note.id))
            .collect(),
    };
    let ancestors = visibility::visible(state.store.as_ref(), viewer, ancestors).await?;
    let descendants = visibility::visible(state.store.as_ref(), viewer, descendants).await?;
    Ok(Json(Context {
        ancestors: present::statuses(&state, viewer, &ancestors, "thread").await?,
        descendants: present::statuses(&state, viewer, &descendants, "thread").await?,
    }))
}

/// Replies shown under each top-level comment in the comments page.
const FIRST_REPLIES: u32 = 3;

#[derive(Deserialize)]
struct CommentsParams {
    sort: Option<String>,
    cursor: Option<String>,
    limit: Option<u32>,
}

/// A top-level comment with its first replies.
#[derive(Serialize)]
struct CommentThread {
    comment: Status,
    replies: Vec<Status>,
    replies_count: i64,
    pinned: bool,
}

#[derive(Serialize)]
struct CommentsPage {
    comments: Vec<CommentThread>,
    /// Pass back as `cursor` for the next page; `null` at the end.
    next_cursor: Option<String>,
}

pub fn parse_cursor(cursor: Option<&str>, sort: CommentSort) -> AppResult<Option<CommentCursor>> {
    let Some(cursor) = cursor.filter(|c| !c.is_empty()) else { return Ok(None) };
    let invalid = || AppError::BadRequest("invalid_cursor", "cursor is not one this server gave".into());
    let parsed = match (sort, cursor.split_once('.')) {
        (CommentSort::Hot, Some((likes, id))) => {
            CommentCursor { favourites: likes.parse().map_err(|_| invalid())?, id: id.parse().map_err(|_| invalid())? }
        }
        (CommentSort::New, None) => CommentCursor { favourites: 0, id: cursor.parse().map_err(|_| invalid())? },
        _ => return Err(invalid()),
    };
    Ok(Some(parsed))
}

/// `GET /api/v1/pengyou/notes/:id/comments?sort=hot|new&cursor=&limit=`: top-level
/// comments (the pinned one first on the first page), each with its first replies.
async fn comments(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Query(params): Query<CommentsParams>,
) -> AppResult<Json<CommentsPage>> {
    let viewer = auth.account();
    let note = visible_note(&state, &id, viewer).await?;
    if note.note.is_comment() {
        return Err(AppError::NotFound);
    }
    let sort = comment_sort(params.sort.as_deref())?;
    let after = parse_cursor(params.cursor.as_deref(), sort)?;
    let limit = params.limit.unwrap_or(20).clamp(1, 40);
    let (threads, next_cursor) = comment_threads(&state, viewer, &note, sort, after, limit).await?;
    let comments = threads
        .into_iter()
        .map(|t| CommentThread {
            comment: t.comment.1,
            replies: t.replies.into_iter().map(|r| r.1).collect(),
            replies_count: t.replies_count,
            pinned: t.pinned,
        })
        .collect();
    Ok(Json(CommentsPage { comments, next_cursor }))
}

/// `hot` (most liked first, the default) or `new`.
pub fn comment_sort(value: Option<&str>) -> AppResult<CommentSort> {
    match value.unwrap_or("hot") {
        "hot" => Ok(CommentSort::Hot),
        "new" => Ok(CommentSort::New),
        _ => Err(AppError::BadRequest("invalid_sort", "sort must be hot or new".into())),
    }
}

/// A top-level comment and its first replies, each with the status the reader sees.
pub struct Thread {
    pub comment: (NoteView, Status),
    pub replies: Vec<(NoteView, Status)>,
    pub replies_count: i64,
    pub pinned: bool,
}

/// One page of a note's top-level comments (the pinned one first on the first
/// page), each with its first replies, and the cursor for the next page.
pub async fn comment_threads(
    state: &AppState,
    viewer: Option<&AccountRow>,
    note: &NoteView,
    sort: CommentSort,
    after: Option<CommentCursor>,
    limit: u32,
) -> AppResult<(Vec<Thread>, Option<String>)> {
    let filter = FeedFilter { viewer: viewer.map(|v| v.id) };
    let page = state.store.list_comments(note.note.id, sort, after, filter, limit).await?;
    let next_cursor = (page.len() as u32 == limit).then(|| page.last()).flatten().map(|last| match sort {
        CommentSort::Hot => format!("{}.{}", last.note.favourites_count, last.note.id),
        CommentSort::New => last.note.id.to_string(),
    });
    let pinned_id = note.note.pinned_comment_id;
    let mut top: Vec<NoteView> = Vec::new();
    if after.is_none()
        && let Some(pinned) = pinned_id
        && let Some(pinned) = state.store.note_by_id(pinned).await?
    {
        top.push(pinned);
    }
    top.extend(page.into_iter().filter(|c| Some(c.note.id) != pinned_id));
    let top = visibility::visible(state.store.as_ref(), viewer, top).await?;
    let ids: Vec<NoteId> = top.iter().map(|c| c.note.id).collect();
    let replies = state.store.first_replies(&ids, FIRST_REPLIES, filter).await?;
    let replies = visibility::visible(state.store.as_ref(), viewer, replies).await?;
    let top = present::with_statuses(state, viewer, top, "thread").await?;
    let replies = present::with_statuses(state, viewer, replies, "thread").await?;
    let threads = top
        .into_iter()
        .map(|(view, comment)| Thread {
            replies: replies.iter().filter(|(r, _)| r.note.parent_comment_id == Some(view.note.id)).cloned().collect(),
            replies_count: view.note.replies_count,
            pinned: Some(view.note.id) == pinned_id,
            comment: (view, comment),
        })
        .collect();
    Ok((threads, next_cursor))
}

/// One page of the replies under a top-level comment, oldest first, and the next cursor.
pub async fn comment_replies(
    state: &AppState,
    viewer: Option<&AccountRow>,
    comment: &NoteView,
    after: Option<NoteId>,
    limit: u32,
) -> AppResult<(Vec<(NoteView, Status)>, Option<String>)> {
    let filter = FeedFilter { viewer: viewer.map(|v| v.id) };
    let page = state.store.list_replies(comment.note.id, after, filter, limit).await?;
    let next_cursor = (page.len() as u32 == limit).then(|| page.last()).flatten().map(|l| l.note.id.to_string());
    let page = visibility::visible(state.store.as_ref(), viewer, page).await?;
    Ok((present::with_statuses(state, viewer, page, "thread").await?, next_cursor))
}

#[derive(Serialize)]
struct RepliesPage {
    replies: Vec<Status>,
    next_cursor: Option<String>,
}

/// `GET /api/v1/pengyou/comments/:id/replies?cursor=&limit=`: the replies under one comment, oldest first.
async fn replies(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Query(params): Query<CommentsParams>,
) -> AppResult<Json<RepliesPage>> {
    let viewer = auth.account();
    let comment = visible_note(&state, &id, viewer).await?;
    if comment.note.root_id.is_none() || comment.note.parent_comment_id.is_some() {
        return Err(AppError::NotFound);
    }
    let after = match params.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => Some(NoteId(
            c.parse()
                .map_err(|_| AppError::BadRequest("invalid_cursor", "cursor is not one this server gave".into()))?,
        )),
        None => None,
    };
    let limit = params.limit.unwrap_or(20).clamp(1, 40);
    let (replies, next_cursor) = comment_replies(&state, viewer, &comment, after, limit).await?;
    Ok(Json(RepliesPage { replies: replies.into_iter().map(|r| r.1).collect(), next_cursor }))
}

#[derive(Deserialize)]
struct PinForm {
    comment_id: Option<String>,
}

/// The note's author pins one of its top-level comments (pinning another replaces it).
async fn pin_comment(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<String>,
    Input(form): Input<PinForm>,
) -> AppResult<Json<Status>> {
    user.require("write:statuses")?;
    let note = own_root_note(&state, &id, &user).await?;
    let comment_id = form.comment_id.unwrap_or_default();
    let comment = visible_note(&state, &comment_id, Some(&user.account)).await.map_err(|_| {
        AppError::field("comment_id", ValidationError::new("comment_not_found", "No such comment on this note."))
    })?;
    if comment.note.root_id != Some(note.note.id) || comment.note.parent_comment_id.is_some() {
        return Err(AppError::field(
            "comment_id",
            ValidationError::new("comment_not_found", "Only a top-level comment on this note can be pinned."),
        ));
    }
    state.store.pin_comment(note.note.id, Some(comment.note.id)).await?;
    reread(&state, &user, note.note.id).await
}

async fn unpin_comment(State(state): State<AppState>, user: User, Path(id): Path<String>) -> AppResult<Json<Status>> {
    user.require("write:statuses")?;
    let note = own_root_note(&state, &id, &user).await?;
    state.store.pin_comment(note.note.id, None).await?;
    reread(&state, &user, note.note.id).await
}

async fn own_root_note(state: &AppState, id: &str, user: &User) -> AppResult<NoteView> {
    let note = visible_note(state, id, Some(&user.account)).await?;
    if note.note.account_id != user.account.id {
        return Err(AppError::Forbidden("not_author", "Only the note's author can pin a comment".into()));
    }
    if note.note.is_comment() {
        return Err(AppError::NotFound);
    }
    Ok(note)
}

// ---- boards ----

#[derive(Deserialize)]
struct BoardForm {
    name: Option<String>,
    description: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    public: Option<bool>,
}

fn board_name(name: &str) -> AppResult<String> {
    validate::board_name(name).map_err(|e| AppError::field("name", e))
}

fn board_description(description: &str) -> AppResult<String> {
    validate::board_description(description).map_err(|e| AppError::field("description", e))
}

async fn create_board(
    State(state): State<AppState>,
    user: User,
    Input(form): Input<BoardForm>,
) -> AppResult<Json<BoardEntity>> {
    user.require("write:bookmarks")?;
    let board = state
        .store
        .create_board(NewBoard {
            account_id: user.account.id,
            name: board_name(form.name.as_deref().unwrap_or_default())?,
            description: board_description(form.description.as_deref().unwrap_or_default())?,
            public: form.public.unwrap_or(true),
        })
        .await?;
    Ok(Json(BoardEntity::new(&board)))
}

/// A board the signed-in user owns; anyone else's is 404.
async fn own_board(state: &AppState, id: &str, user: &User) -> AppResult<pengyou_store::Board> {
    let id: BoardId = id.parse().map_err(|_| AppError::NotFound)?;
    state.store.board_by_id(id).await?.filter(|b| b.account_id == user.account.id).ok_or(AppError::NotFound)
}

/// A board the viewer may see: their own, or a public board of a profile they may see.
async fn visible_board(state: &AppState, id: &str, viewer: Option<&AccountRow>) -> AppResult<pengyou_store::Board> {
    let id: BoardId = id.parse().map_err(|_| AppError::NotFound)?;
    let board = state.store.board_by_id(id).await?.ok_or(AppError::NotFound)?;
    if viewer.is_some_and(|v| v.id == board.account_id) {
        return Ok(board);
    }
    let owner = state.store.account_by_id(board.account_id).await?.ok_or(AppError::NotFound)?;
    if board.public && visibility::can_see_profile(state.store.as_ref(), &owner, viewer.map(|v| v.id)).await? {
        Ok(board)
    } else {
        Err(AppError::NotFound)
    }
}

async fn update_board(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<String>,
    Input(form): Input<BoardForm>,
) -> AppResult<Json<BoardEntity>> {
    user.require("write:bookmarks")?;
    let board = own_board(&state, &id, &user).await?;
    let update = BoardUpdate {
        name: form.name.as_deref().map(board_name).transpose()?,
        description: form.description.as_deref().map(board_description).transpose()?,
        public: form.public,
    };
    Ok(Json(BoardEntity::new(&state.store.update_board(board.id, update).await?)))
}

async fn delete_board(State(state): State<AppState>, user: User, Path(id): Path<String>) -> AppResult<Json<()>> {
    user.require("write:bookmarks")?;
    let board = own_board(&state, &id, &user).await?;
    state.store.delete_board(board.id).await?;
    Ok(Json(()))
}

async fn show_board(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> AppResult<Json<BoardEntity>> {
    Ok(Json(BoardEntity::new(&visible_board(&state, &id, auth.account()).await?)))
}

async fn my_boards(State(state): State<AppState>, user: User) -> AppResult<Json<Vec<BoardEntity>>> {
    user.require("read:bookmarks")?;
    Ok(Json(state.store.boards_of(user.account.id).await?.iter().map(BoardEntity::new).collect()))
}

/// Someone's boards: all of them for the owner, the public ones for everyone else.
async fn account_boards(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> AppResult<Json<Vec<BoardEntity>>> {
    let viewer = auth.account();
    let owner = crate::http::accounts::visible_account(&state, &id, viewer).await?;
    let mine = viewer.is_some_and(|v| v.id == owner.id);
    let boards = state.store.boards_of(owner.id).await?;
    Ok(Json(boards.iter().filter(|b| mine || b.public).map(BoardEntity::new).collect()))
}

async fn board_notes(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Query(params): Query<PageParams>,
) -> AppResult<Response> {
    let viewer = auth.account();
    let board = visible_board(&state, &id, viewer).await?;
    let listed = state.store.list_collects(board.account_id, Some(board.id), params.page()?).await?;
    let path = format!("/api/v1/pengyou/boards/{}/notes", board.id);
    statuses_page(&state, viewer, listed, "account", &path, "").await
}
