//! The note page: photos in a carousel or the video with its subtitle tracks,
//! the text, like / collect / share, and the comment section (top comments
//! with their first replies, photo comments, the pinned comment), plus the
//! fragments the script loads for more comments and more replies.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use pengyou_store::{AccountId, CommentSort, NoteId, NoteView, Relationship};
use serde::Deserialize;

use crate::error::AppError;
use crate::http::interactions::{Thread, comment_replies, comment_sort, comment_threads, parse_cursor};
use crate::http::rate_limit::ClientIp;
use crate::http::statuses::visible_note;
use crate::state::AppState;
use crate::web::view::{NoteItem, Person};
use crate::web::{Ctx, PageResult};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/@{username}/{id}", get(note_page))
        .route("/@{username}/{id}/comments", get(more_comments))
        .route("/@{username}/{id}/comments/{comment}/replies", get(more_replies))
}

/// Comments per page, and replies per "show more" step.
const COMMENTS_PAGE: u32 = 20;
const REPLIES_PAGE: u32 = 20;

pub struct CommentView {
    pub item: NoteItem,
    pub replies: Vec<NoteItem>,
    pub more_replies: i64,
    pub pinned: bool,
}

impl CommentView {
    fn new(state: &AppState, thread: Thread) -> CommentView {
        CommentView {
            more_replies: (thread.replies_count - thread.replies.len() as i64).max(0),
            item: item(state, thread.comment),
            replies: thread.replies.into_iter().map(|r| item(state, r)).collect(),
            pinned: thread.pinned,
        }
    }
}

fn item(state: &AppState, (view, status): (NoteView, crate::api::entities::Status)) -> NoteItem {
    NoteItem::new(state, &view, &status)
}

pub struct Board {
    pub id: String,
    pub name: String,
}

#[derive(Template)]
#[template(path = "note.html")]
pub struct NotePage {
    pub ctx: Ctx,
    pub note: NoteItem,
    pub comments: Vec<CommentView>,
    pub photo_wall: Vec<(String, String, crate::web::view::Picture)>,
    pub next_comments: Option<String>,
    pub sort: &'static str,
    pub boards: Vec<Board>,
    pub mine: bool,
    pub relationship: Relationship,
    pub author: Person,
}

#[derive(Template)]
#[template(path = "comments.html")]
pub struct CommentsFragment {
    pub ctx: Ctx,
    pub note: NoteItem,
    pub comments: Vec<CommentView>,
    pub next_comments: Option<String>,
    pub mine: bool,
}

#[derive(Template)]
#[template(path = "replies.html")]
pub struct RepliesFragment {
    pub ctx: Ctx,
    pub note: NoteItem,
    pub comment_id: String,
    pub replies: Vec<NoteItem>,
    pub next_replies: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct CommentQuery {
    sort: Option<String>,
    cursor: Option<String>,
}

/// The note as the page's reader sees it, 404 for a comment or a wrong author name.
async fn root_item(state: &AppState, ctx: &Ctx, view: &NoteView, username: &str) -> Result<NoteItem, AppError> {
    if view.note.is_comment() || !view.author.username.eq_ignore_ascii_case(username) {
        return Err(AppError::NotFound);
    }
    crate::web::view::notes(state, ctx.me.as_ref(), vec![view.clone()], "thread").await?.pop().ok_or(AppError::NotFound)
}

/// The note named in the URL, loaded and checked once.
async fn root_note(state: &AppState, ctx: &Ctx, username: &str, id: &str) -> Result<(NoteView, NoteItem), AppError> {
    let view = visible_note(state, id, ctx.me.as_ref()).await?;
    let item = root_item(state, ctx, &view, username).await?;
    Ok((view, item))
}

/// The `sort` value that names `sort` in links.
fn sort_name(sort: CommentSort) -> &'static str {
    match sort {
        CommentSort::Hot => "hot",
        CommentSort::New => "new",
    }
}

async fn note_page(
    State(state): State<AppState>,
    ctx: Ctx,
    ClientIp(ip): ClientIp,
    Path((username, id)): Path<(String, String)>,
    Query(query): Query<CommentQuery>,
) -> PageResult {
    let view = visible_note(&state, &id, ctx.me.as_ref()).await?;
    // A comment's link opens its note at the comment.
    if let Some(root) = view.note.root_id
        && let Some(root) = state.store.note_by_id(root).await?
    {
        let anchor = view.note.parent_comment_id.unwrap_or(view.note.id);
        return Ok(
            Redirect::to(&format!("/@{}/{}#comment-{anchor}", root.author.username, root.note.id)).into_response()
        );
    }
    let mut note = root_item(&state, &ctx, &view, &username).await?;
    let counted = match &ctx.me {
        Some(me) => state.views.record(view.note.id, ("account", me.id.0)),
        None => state.views.record(view.note.id, ("address", ip)),
    };
    // The count on the page includes this view.
    note.views += i64::from(counted);
    let sort = comment_sort(query.sort.as_deref())?;
    let (threads, cursor) = comment_threads(&state, ctx.me.as_ref(), &view, sort, None, COMMENTS_PAGE).await?;
    let comments: Vec<CommentView> = threads.into_iter().map(|t| CommentView::new(&state, t)).collect();
    let photo_wall = comments
        .iter()
        .flat_map(|c| std::iter::once(&c.item).chain(c.replies.iter()))
        .filter_map(|c| c.pictures.first().map(|p| (c.id.clone(), c.author.name.clone(), p.clone())))
        .collect();
    let sort_name = sort_name(sort);
    let next_comments = cursor.map(|c| format!("{}/comments?sort={sort_name}&cursor={c}", note.url));
    let (boards, relationship) = match &ctx.me {
        Some(me) => {
            let boards = state.store.boards_of(me.id).await?;
            let boards = boards
                .into_iter()
                .map(|b| Board {
                    id: b.id.to_string(),
                    name: if b.is_default { ctx.t.default_board.to_owned() } else { b.name },
                })
                .collect();
            (boards, relationship(&state, me.id, view.author.id).await?)
        }
        None => (Vec::new(), Relationship::default()),
    };
    let page = NotePage {
        mine: ctx.is_me(&note.author.id),
        author: note.author.clone(),
        note,
        comments,
        photo_wall,
        next_comments,
        sort: sort_name,
        boards,
        relationship,
        ctx,
    };
    page.ctx.render(&state, &page)
}

pub async fn relationship(state: &AppState, me: AccountId, other: AccountId) -> Result<Relationship, AppError> {
    if me == other {
        return Ok(Relationship::default());
    }
    Ok(state.store.relationships(me, &[other]).await?.pop().unwrap_or_default())
}

async fn more_comments(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((username, id)): Path<(String, String)>,
    Query(query): Query<CommentQuery>,
) -> PageResult {
    let (view, note) = root_note(&state, &ctx, &username, &id).await?;
    let sort = comment_sort(query.sort.as_deref())?;
    let after = parse_cursor(query.cursor.as_deref(), sort)?;
    let (threads, cursor) = comment_threads(&state, ctx.me.as_ref(), &view, sort, after, COMMENTS_PAGE).await?;
    let sort_name = sort_name(sort);
    let fragment = CommentsFragment {
        mine: ctx.is_me(&note.author.id),
        next_comments: cursor.map(|c| format!("{}/comments?sort={sort_name}&cursor={c}", note.url)),
        comments: threads.into_iter().map(|t| CommentView::new(&state, t)).collect(),
        note,
        ctx,
    };
    fragment.ctx.render(&state, &fragment)
}

async fn more_replies(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((username, id, comment)): Path<(String, String, String)>,
    Query(query): Query<CommentQuery>,
) -> PageResult {
    let (view, note) = root_note(&state, &ctx, &username, &id).await?;
    let comment = visible_note(&state, &comment, ctx.me.as_ref()).await?;
    if comment.note.root_id != Some(view.note.id) || comment.note.parent_comment_id.is_some() {
        return Err(AppError::NotFound.into());
    }
    let after = match query.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => Some(NoteId(c.parse().map_err(|_| AppError::NotFound)?)),
        None => None,
    };
    let (replies, cursor) = comment_replies(&state, ctx.me.as_ref(), &comment, after, REPLIES_PAGE).await?;
    let comment_id = comment.note.id.to_string();
    let fragment = RepliesFragment {
        next_replies: cursor.map(|c| format!("{}/comments/{comment_id}/replies?cursor={c}", note.url)),
        replies: replies.into_iter().map(|r| item(&state, r)).collect(),
        comment_id,
        note,
        ctx,
    };
    fragment.ctx.render(&state, &fragment)
}
