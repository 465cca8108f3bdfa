//! `/api/v1/accounts`: registration, the signed-in account, profiles, lookup
//! and an account's notes.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use pengyou_store::{Account as AccountRow, AccountId, AccountNotesFilter, AccountUpdate};
use serde::Deserialize;

use crate::api::entities::{Account, CredentialAccount, Status, Token};

use crate::domain::accounts::{Creator, Registration, register};
use crate::domain::validate::{self, ValidationError};
use crate::domain::visibility;
use crate::error::{AppError, AppResult};
use crate::http::extract::{Auth, Input, PageParams, User, lenient_bool, random_token, string_list, token_hash};
use crate::http::rate_limit::ClientIp;
use crate::http::scopes;
use crate::http::timelines::feed_page;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/accounts", post(create_account))
        .route("/api/v1/accounts/verify_credentials", get(verify_credentials))
        .route("/api/v1/accounts/update_credentials", patch(update_credentials))
        .route("/api/v1/accounts/lookup", get(lookup))
        .route("/api/v1/accounts/{id}", get(show))
        .route("/api/v1/accounts/{id}/statuses", get(statuses))
}

#[derive(Deserialize)]
struct RegistrationForm {
    username: Option<String>,
    email: Option<String>,
    password: Option<String>,
    display_name: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    agreement: Option<bool>,
    locale: Option<String>,
    #[serde(default, deserialize_with = "string_list")]
    languages: Option<Vec<String>>,
}

/// `POST /api/v1/accounts`: registration by an app (client-credentials token),
/// answered with a user token for the new account, as Mastodon does.
#[tracing::instrument(skip_all)]
async fn create_account(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Auth(grant): Auth,
    Input(form): Input<RegistrationForm>,
) -> AppResult<Json<Token>> {
    let grant = grant.ok_or(AppError::Unauthorized)?;
    state.limiter.check(state.signup_limit(), ip)?;
    if !scopes::grants(&grant.scopes, "write:accounts") {
        return Err(AppError::Forbidden("insufficient_scope", "This action is outside the authorized scopes".into()));
    }
    if form.agreement != Some(true) {
        return Err(AppError::field(
            "agreement",
            ValidationError::new("agreement_required", "You must agree to the server rules to sign up."),
        ));
    }
    let locale = form.locale.as_deref().and_then(|l| validate::language(l).ok());
    let account = register(
        &state,
        Registration {
            username: form.username.unwrap_or_default(),
            display_name: form.display_name,
            email: form.email,
            password: form.password.unwrap_or_default(),
            languages: form.languages.unwrap_or_default(),
            ui_language: locale,
        },
        Creator::Public,
    )
    .await?;
    let access_token = random_token();
    state
        .store
        .create_token(pengyou_store::NewToken {
            token_hash: token_hash(&access_token),
            app_id: grant.app.id,
            account_id: Some(account.id),
            scopes: grant.scopes.clone(),
        })
        .await?;
    Ok(Json(Token { access_token, token_type: "Bearer", scope: grant.scopes, created_at: account.created_at / 1000 }))
}

async fn verify_credentials(State(state): State<AppState>, user: User) -> AppResult<Json<CredentialAccount>> {
    user.require("read:accounts")?;
    Ok(Json(CredentialAccount::new(&state.base_url, &user.account)))
}

#[derive(Deserialize, Default)]
struct SourceForm {
    language: Option<String>,
}

#[derive(Deserialize)]
struct UpdateForm {
    display_name: Option<String>,
    note: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    locked: Option<bool>,
    source: Option<SourceForm>,
    #[serde(default, deserialize_with = "string_list")]
    languages: Option<Vec<String>>,
    ui_language: Option<String>,
}

async fn update_credentials(
    State(state): State<AppState>,
    user: User,
    Input(form): Input<UpdateForm>,
) -> AppResult<Json<CredentialAccount>> {
    user.require("write:accounts")?;
    let mut update = AccountUpdate::default();
    if let Some(name) = form.display_name {
        update.display_name = Some(validate::display_name(&name).map_err(|e| AppError::field("display_name", e))?);
    }
    if let Some(note) = form.note {
        update.bio = Some(validate::bio(&note).map_err(|e| AppError::field("note", e))?);
    }
    update.locked = form.locked;
    // `languages` is pengyou's list of languages read; Mastodon's `source[language]`
    // (the default posting language) moves that language to the front.
    let mut languages = match form.languages {
        Some(list) => Some(validate::languages(&list).map_err(|e| AppError::field("languages", e))?),
        None => None,
    };
    if let Some(language) = form.source.and_then(|s| s.language).filter(|l| !l.is_empty()) {
        let language = validate::language(&language).map_err(|e| AppError::field("source[language]", e))?;
        let list = languages.get_or_insert_with(|| user.account.languages.clone());
        list.retain(|l| *l != language);
        list.insert(0, language);
    }
    if languages.as_ref().is_some_and(Vec::is_empty) {
        return Err(AppError::field(
            "languages",
            ValidationError::new("languages_blank", "Choose at least one language you read."),
        ));
    }
    update.languages = languages;
    if let Some(ui) = form.ui_language {
        update.ui_language = Some(match ui.trim() {
            "" => None,
            code => Some(validate::language(code).map_err(|e| AppError::field("ui_language", e))?),
        });
    }
    let account = state.store.update_account(user.account.id, update).await?;
    Ok(Json(CredentialAccount::new(&state.base_url, &account)))
}

/// An account the viewer may see: exists, is not suspended, and does not block them.
pub async fn visible_account(state: &AppState, id: &str, viewer: Option<&AccountRow>) -> AppResult<AccountRow> {
    let id: AccountId = id.parse().map_err(|_| AppError::NotFound)?;
    let account = state.store.account_by_id(id).await?.ok_or(AppError::NotFound)?;
    if visibility::can_see_profile(state.store.as_ref(), &account, viewer.map(|v| v.id)).await? {
        Ok(account)
    } else {
        Err(AppError::NotFound)
    }
}

async fn show(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> AppResult<Json<Account>> {
    let account = visible_account(&state, &id, auth.account()).await?;
    Ok(Json(Account::new(&state.base_url, &account)))
}

#[derive(Deserialize)]
struct LookupParams {
    acct: Option<String>,
}

async fn lookup(
    State(state): State<AppState>,
    auth: Auth,
    Query(params): Query<LookupParams>,
) -> AppResult<Json<Account>> {
    let acct = params.acct.unwrap_or_default();
    let acct = acct.trim().trim_start_matches('@');
    let username = match acct.split_once('@') {
        Some((name, domain)) if domain.eq_ignore_ascii_case(&state.config.domain()) => name,
        Some(_) => return Err(AppError::NotFound),
        None => acct,
    };
    let account = state.store.account_by_username(username).await?.ok_or(AppError::NotFound)?;
    if !visibility::can_see_profile(state.store.as_ref(), &account, auth.account().map(|a| a.id)).await? {
        return Err(AppError::NotFound);
    }
    Ok(Json(Account::new(&state.base_url, &account)))
}

#[derive(Deserialize)]
struct StatusesParams {
    #[serde(flatten)]
    page: PageParams,
    #[serde(default, deserialize_with = "lenient_bool")]
    exclude_replies: Option<bool>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pinned: Option<bool>,
    #[serde(default, deserialize_with = "lenient_bool")]
    only_media: Option<bool>,
}

async fn statuses(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Query(params): Query<StatusesParams>,
) -> AppResult<Response> {
    let viewer = auth.account();
    let author = visible_account(&state, &id, viewer).await?;
    let page = params.page.page()?;
    // Pinning and media arrive with later features; until then no note matches these filters.
    if params.pinned == Some(true) || params.only_media == Some(true) {
        return Ok(Json(Vec::<Status>::new()).into_response());
    }
    let visibilities = visibility::listable_visibilities(state.store.as_ref(), &author, viewer.map(|v| v.id)).await?;
    let views = state
        .store
        .list_account_notes(
            author.id,
            AccountNotesFilter { visibilities, exclude_replies: params.exclude_replies.unwrap_or(false) },
            page,
        )
        .await?;
    let extra = if params.exclude_replies == Some(true) { "exclude_replies=true" } else { "" };
    let path = format!("/api/v1/accounts/{}/statuses", author.id);
    feed_page(&state, viewer, views, "account", &path, extra).await
}
