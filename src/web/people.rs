//! Profiles (`/@name`: header, avatar, bio, counts, follow button, and tabs
//! for notes, public boards, and for the owner their collects and likes) and
//! board pages (`/boards/:id`).

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use pengyou_store::{Account as AccountRow, AccountNotesFilter, Board, BoardId, Relationship};
use serde::Deserialize;

use crate::api::entities::Account;
use crate::domain::visibility;
use crate::error::AppError;
use crate::state::AppState;
use crate::web::feeds::CardsFragment;
use crate::web::note::relationship;
use crate::web::view::{self, NoteItem, Person};
use crate::web::{Ctx, PAGE_SIZE, PageResult, next_link, page_before};

pub fn router() -> Router<AppState> {
    Router::new().route("/@{username}", get(profile)).route("/boards/{id}", get(board_page))
}

pub struct Profile {
    pub person: Person,
    pub bio_html: String,
    pub header: String,
    pub followers: i64,
    pub following: i64,
    pub notes: i64,
    pub locked: bool,
    pub languages: Vec<String>,
    pub joined: i64,
}

impl Profile {
    fn new(state: &AppState, row: &AccountRow) -> Profile {
        let entity = Account::new(&state.base_url, row);
        Profile {
            person: Person::new(state, &entity),
            bio_html: entity.note.clone(),
            header: view::local(state, &entity.header),
            followers: row.followers_count,
            following: row.following_count,
            notes: row.notes_count,
            locked: row.locked,
            languages: row.languages.clone(),
            joined: row.created_at,
        }
    }
}

pub struct BoardCard {
    pub id: String,
    pub name: String,
    pub description: String,
    pub public: bool,
    pub count: i64,
}

impl BoardCard {
    fn new(ctx: &Ctx, board: &Board) -> BoardCard {
        BoardCard {
            id: board.id.to_string(),
            name: if board.is_default { ctx.t.default_board.to_owned() } else { board.name.clone() },
            description: board.description.clone(),
            public: board.public,
            count: board.notes_count,
        }
    }
}

#[derive(Template)]
#[template(path = "profile.html")]
pub struct ProfilePage {
    pub ctx: Ctx,
    pub profile: Profile,
    pub tab: &'static str,
    pub mine: bool,
    pub relationship: Relationship,
    pub notes: Vec<NoteItem>,
    pub boards: Vec<BoardCard>,
    pub next: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct ProfileQuery {
    tab: Option<String>,
    max_id: Option<i64>,
    fragment: Option<String>,
}

async fn profile(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(username): Path<String>,
    Query(query): Query<ProfileQuery>,
) -> PageResult {
    let username = username.strip_prefix('@').unwrap_or(&username);
    let row = state.store.account_by_username(username).await?.ok_or(AppError::NotFound)?;
    let me = ctx.me.as_ref();
    if !visibility::can_see_profile(state.store.as_ref(), &row, me.map(|m| m.id)).await? {
        return Err(AppError::NotFound.into());
    }
    let mine = me.is_some_and(|m| m.id == row.id);
    let tab = match query.tab.as_deref() {
        Some("boards") => "boards",
        Some("collected") if mine => "collected",
        Some("liked") if mine => "liked",
        _ => "notes",
    };
    let base = format!("/@{}", row.username);
    let (notes, next, boards) = match tab {
        "boards" => {
            let boards = state.store.boards_of(row.id).await?;
            let boards = boards.iter().filter(|b| mine || b.public).map(|b| BoardCard::new(&ctx, b)).collect();
            (Vec::new(), None, boards)
        }
        "collected" | "liked" => {
            let me = me.ok_or(AppError::NotFound)?;
            let listed = if tab == "liked" {
                state.store.list_favourites(me.id, page_before(query.max_id, PAGE_SIZE)).await?
            } else {
                state.store.list_collects(me.id, None, page_before(query.max_id, PAGE_SIZE)).await?
            };
            let next = next_link(&listed, PAGE_SIZE, |l| format!("{base}?tab={tab}&max_id={}", l.cursor));
            let views = listed.into_iter().map(|l| l.item).collect();
            let views = visibility::visible(state.store.as_ref(), Some(me), views).await?;
            (view::notes(&state, Some(me), views, "account").await?, next, Vec::new())
        }
        _ => {
            let visibilities = visibility::listable_visibilities(state.store.as_ref(), &row, me.map(|m| m.id)).await?;
            let views = state
                .store
                .list_account_notes(
                    row.id,
                    AccountNotesFilter { visibilities, exclude_replies: true },
                    page_before(query.max_id, PAGE_SIZE),
                )
                .await?;
            let next = next_link(&views, PAGE_SIZE, |v| format!("{base}?max_id={}", v.note.id));
            (view::notes(&state, me, views, "account").await?, next, Vec::new())
        }
    };
    if query.fragment.is_some() {
        let fragment = CardsFragment { ctx, notes, next };
        return fragment.ctx.render(&state, &fragment);
    }
    let relationship = match me {
        Some(me) => relationship(&state, me.id, row.id).await?,
        None => Relationship::default(),
    };
    let page = ProfilePage { profile: Profile::new(&state, &row), tab, mine, relationship, notes, boards, next, ctx };
    page.ctx.render(&state, &page)
}

#[derive(Template)]
#[template(path = "board.html")]
pub struct BoardPage {
    pub ctx: Ctx,
    pub board: BoardCard,
    pub owner: Person,
    pub notes: Vec<NoteItem>,
    pub next: Option<String>,
}

async fn board_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Query(query): Query<ProfileQuery>,
) -> PageResult {
    let id: BoardId = id.parse().map_err(|_| AppError::NotFound)?;
    let board = state.store.board_by_id(id).await?.ok_or(AppError::NotFound)?;
    let me = ctx.me.as_ref();
    let owner = state.store.account_by_id(board.account_id).await?.ok_or(AppError::NotFound)?;
    let mine = me.is_some_and(|m| m.id == owner.id);
    let shown =
        mine || (board.public && visibility::can_see_profile(state.store.as_ref(), &owner, me.map(|m| m.id)).await?);
    if !shown {
        return Err(AppError::NotFound.into());
    }
    let listed = state.store.list_collects(owner.id, Some(board.id), page_before(query.max_id, PAGE_SIZE)).await?;
    let next = next_link(&listed, PAGE_SIZE, |l| format!("/boards/{}?max_id={}", board.id, l.cursor));
    let views = listed.into_iter().map(|l| l.item).collect();
    let views = visibility::visible(state.store.as_ref(), me, views).await?;
    let notes = view::notes(&state, me, views, "account").await?;
    if query.fragment.is_some() {
        let fragment = CardsFragment { ctx, notes, next };
        return fragment.ctx.render(&state, &fragment);
    }
    let page =
        BoardPage { board: BoardCard::new(&ctx, &board), owner: Person::from_row(&state, &owner), notes, next, ctx };
    page.ctx.render(&state, &page)
}
