//! The feed pages: discover (the home page), following, and tag pages, each a
//! waterfall of note cards that the script extends by loading the next page
//! as a fragment (`?fragment=1`); without script the "load more" link pages.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use pengyou_store::FeedFilter;
use serde::Deserialize;

use crate::error::AppError;
use crate::http::timelines::{discover_page, trending};
use crate::state::AppState;
use crate::web::view::{self, NoteItem};
use crate::web::{Ctx, PAGE_SIZE, PageResult, encode, next_link, page_before};

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(discover)).route("/following", get(following)).route("/tags/{name}", get(tag))
}

#[derive(Deserialize, Default)]
pub struct FeedQuery {
    seed: Option<u64>,
    offset: Option<usize>,
    max_id: Option<i64>,
    fragment: Option<String>,
}

impl FeedQuery {
    fn is_fragment(&self) -> bool {
        self.fragment.is_some()
    }
}

/// The cards of one page and the link to the next, alone (for infinite scroll).
#[derive(Template)]
#[template(path = "cards.html")]
pub struct CardsFragment {
    pub ctx: Ctx,
    pub notes: Vec<NoteItem>,
    pub next: Option<String>,
}

pub struct TagHeader {
    pub name: String,
    pub following: bool,
}

#[derive(Template)]
#[template(path = "feed.html")]
pub struct FeedPage {
    pub ctx: Ctx,
    pub kind: &'static str,
    pub heading: String,
    pub notes: Vec<NoteItem>,
    pub next: Option<String>,
    pub trending: Vec<String>,
    pub empty: String,
    pub tag: Option<TagHeader>,
}

/// Answers with the whole page, or only the cards when the script asks for more.
fn respond(state: &AppState, query: &FeedQuery, page: FeedPage) -> PageResult {
    if query.is_fragment() {
        let fragment = CardsFragment { ctx: page.ctx, notes: page.notes, next: page.next };
        return fragment.ctx.render(state, &fragment);
    }
    page.ctx.render(state, &page)
}

/// The names of the `n` most trending tags.
pub async fn trending_names(state: &AppState, n: usize) -> Result<Vec<String>, AppError> {
    Ok(trending(state).await?.iter().take(n).map(|t| t.name.clone()).collect())
}

async fn discover(State(state): State<AppState>, ctx: Ctx, Query(query): Query<FeedQuery>) -> PageResult {
    let seed = query.seed.unwrap_or_else(|| u64::from(rand::random::<u32>()));
    let offset = query.offset.unwrap_or(0);
    let me = ctx.me.as_ref();
    let ranked = discover_page(&state, me, ctx.lang.code(), seed, offset, PAGE_SIZE as usize).await?;
    let next = next_link(&ranked, PAGE_SIZE, |_| format!("/?seed={seed}&offset={}", offset + PAGE_SIZE as usize));
    let views: Vec<_> = ranked.into_iter().map(|r| r.view).collect();
    let notes = view::notes(&state, me, views, "public").await?;
    let trending = if query.is_fragment() { Vec::new() } else { trending_names(&state, 12).await? };
    let page = FeedPage {
        kind: "discover",
        heading: ctx.t.discover_title.into(),
        notes,
        next,
        trending,
        empty: ctx.t.discover_empty.into(),
        tag: None,
        ctx,
    };
    respond(&state, &query, page)
}

async fn following(State(state): State<AppState>, ctx: Ctx, Query(query): Query<FeedQuery>) -> PageResult {
    let (notes, next) = match &ctx.me {
        Some(me) => {
            let views = state.store.home_feed(me.id, page_before(query.max_id, PAGE_SIZE)).await?;
            let next = next_link(&views, PAGE_SIZE, |v| format!("/following?max_id={}", v.note.id));
            let views = crate::domain::visibility::visible(state.store.as_ref(), Some(me), views).await?;
            (view::notes(&state, Some(me), views, "home").await?, next)
        }
        None => (Vec::new(), None),
    };
    let empty = if ctx.me.is_some() { ctx.t.following_empty } else { ctx.t.following_signed_out };
    let page = FeedPage {
        kind: "following",
        heading: ctx.t.following_title.into(),
        notes,
        next,
        trending: Vec::new(),
        empty: empty.into(),
        tag: None,
        ctx,
    };
    respond(&state, &query, page)
}

async fn tag(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(name): Path<String>,
    Query(query): Query<FeedQuery>,
) -> PageResult {
    let name = crate::http::relationships::tag_name(&name)?;
    let me = ctx.me.as_ref();
    let filter = FeedFilter { viewer: me.map(|m| m.id) };
    let views = state.store.tag_feed(&name, filter, page_before(query.max_id, PAGE_SIZE)).await?;
    let next = next_link(&views, PAGE_SIZE, |v| format!("/tags/{}?max_id={}", encode(&name), v.note.id));
    let views = crate::domain::visibility::visible(state.store.as_ref(), me, views).await?;
    let notes = view::notes(&state, me, views, "public").await?;
    let following = match me {
        Some(me) => state.store.followed_tags(me.id).await?.contains(&name),
        None => false,
    };
    let page = FeedPage {
        kind: "tag",
        heading: format!("#{name}"),
        notes,
        next,
        trending: Vec::new(),
        empty: ctx.t.tag_empty.into(),
        tag: Some(TagHeader { name, following }),
        ctx,
    };
    respond(&state, &query, page)
}
