//! Sign up, sign in and sign out. Sessions live in the database: a fresh
//! 256-bit random token per login in an HttpOnly cookie, stored only as its
//! SHA-256. Every form carries a CSRF token checked against a cookie (double
//! submit), rotated at login so nothing issued before it stays valid.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use pengyou_store::{Account, NewSession, now_ms};
use serde::Deserialize;

use crate::config::Registrations;
use crate::domain::accounts::{Creator, Registration, register};
use crate::error::AppError;
use crate::http::extract::{Input, SESSION_COOKIE, cookie, random_token, string_list, token_hash};
use crate::http::rate_limit::ClientIp;
use crate::state::AppState;
use crate::web::{CSRF_COOKIE, Ctx, PageResult, check_csrf, encode, safe_return_to, set_cookie};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/sign_in", get(sign_in_page).post(sign_in))
        .route("/auth/sign_up", get(sign_up_page).post(sign_up))
        .route("/auth/sign_out", post(sign_out))
}

#[derive(Deserialize, Default)]
struct ReturnTo {
    return_to: Option<String>,
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    ctx: Ctx,
    return_to: String,
    return_to_encoded: String,
    login: String,
    error: Option<(String, String)>,
}

async fn sign_in_page(State(state): State<AppState>, ctx: Ctx, Query(query): Query<ReturnTo>) -> PageResult {
    let return_to = safe_return_to(query.return_to.as_deref());
    let page = SignInPage { return_to_encoded: encode(&return_to), return_to, login: String::new(), error: None, ctx };
    page.ctx.render(&state, &page)
}

#[derive(Deserialize)]
struct SignInForm {
    csrf_token: String,
    login: String,
    password: String,
    return_to: Option<String>,
}

async fn sign_in(
    State(state): State<AppState>,
    ctx: Ctx,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Input(form): Input<SignInForm>,
) -> PageResult {
    check_csrf(&headers, &form.csrf_token)?;
    state.limiter.check(state.login_limit(), ip)?;
    let return_to = safe_return_to(form.return_to.as_deref());
    let credentials = state.store.credentials_by_login(&form.login).await?;
    let ok = state
        .hasher
        .verify(form.password, credentials.as_ref().map(|c| c.password_hash.clone()))
        .await
        .map_err(AppError::from)?;
    match credentials {
        Some(credentials) if ok && !credentials.account.suspended => {
            start_session(&state, &headers, &credentials.account, &return_to).await
        }
        _ => {
            let page = SignInPage {
                return_to_encoded: encode(&return_to),
                return_to,
                login: form.login,
                error: Some(("invalid_login".into(), ctx.t.wrong_login.into())),
                ctx,
            };
            page.ctx.render_status(&state, StatusCode::UNAUTHORIZED, &page)
        }
    }
}

/// Creates a session with a fresh token, sets its cookie and a fresh CSRF token
/// (so nothing issued before login stays valid), and redirects.
async fn start_session(state: &AppState, headers: &HeaderMap, account: &Account, return_to: &str) -> PageResult {
    let token = random_token();
    let now = now_ms();
    let lifetime_ms = i64::from(state.config.session_days) * 86_400_000;
    state
        .store
        .create_session(NewSession {
            token_hash: token_hash(&token),
            account_id: account.id,
            user_agent: headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.chars().take(200).collect()),
            created_at: now,
            expires_at: now + lifetime_ms,
        })
        .await
        .map_err(AppError::from)?;
    tracing::info!(account.id = %account.id, "web login");
    let mut response = Redirect::to(return_to).into_response();
    set_cookie(&mut response, state, SESSION_COOKIE, &token, Some(lifetime_ms / 1000));
    set_cookie(&mut response, state, CSRF_COOKIE, &random_token(), None);
    Ok(response)
}

#[derive(Template)]
#[template(path = "sign_up.html")]
struct SignUpPage {
    ctx: Ctx,
    return_to: String,
    return_to_encoded: String,
    open: bool,
    username: String,
    display_name: String,
    reads_zh: bool,
    reads_en: bool,
    error: Option<(String, String)>,
}

async fn sign_up_page(State(state): State<AppState>, ctx: Ctx, Query(query): Query<ReturnTo>) -> PageResult {
    let return_to = safe_return_to(query.return_to.as_deref());
    let page = SignUpPage {
        return_to_encoded: encode(&return_to),
        return_to,
        open: state.config.registrations == Registrations::Open,
        username: String::new(),
        display_name: String::new(),
        reads_zh: ctx.lang == crate::web::i18n::Lang::Zh,
        reads_en: ctx.lang == crate::web::i18n::Lang::En,
        error: None,
        ctx,
    };
    page.ctx.render(&state, &page)
}

#[derive(Deserialize)]
struct SignUpForm {
    csrf_token: String,
    username: String,
    #[serde(default)]
    display_name: String,
    password: String,
    #[serde(default, deserialize_with = "string_list")]
    languages: Option<Vec<String>>,
    return_to: Option<String>,
}

async fn sign_up(
    State(state): State<AppState>,
    ctx: Ctx,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Input(form): Input<SignUpForm>,
) -> PageResult {
    check_csrf(&headers, &form.csrf_token)?;
    state.limiter.check(state.signup_limit(), ip)?;
    let return_to = safe_return_to(form.return_to.as_deref());
    let languages = form.languages.clone().unwrap_or_default();
    let registration = Registration {
        username: form.username.clone(),
        display_name: Some(form.display_name.clone()),
        email: None,
        password: form.password,
        languages: languages.clone(),
        ui_language: Some(ctx.lang.code().to_owned()),
    };
    match register(&state, registration, Creator::Public).await {
        Ok(account) => start_session(&state, &headers, &account, &return_to).await,
        Err(error @ (AppError::Validation { .. } | AppError::Forbidden(..))) => {
            let page = SignUpPage {
                return_to_encoded: encode(&return_to),
                return_to,
                open: state.config.registrations == Registrations::Open,
                username: form.username,
                display_name: form.display_name,
                reads_zh: languages.iter().any(|l| l == "zh"),
                reads_en: languages.iter().any(|l| l == "en"),
                error: Some((error.code().into(), error.message())),
                ctx,
            };
            page.ctx.render_status(&state, error.status(), &page)
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Deserialize)]
struct SignOutForm {
    csrf_token: String,
}

async fn sign_out(State(state): State<AppState>, headers: HeaderMap, Input(form): Input<SignOutForm>) -> PageResult {
    check_csrf(&headers, &form.csrf_token)?;
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        state.store.delete_session(&token_hash(&token)).await.map_err(AppError::from)?;
    }
    let mut response = Redirect::to("/").into_response();
    set_cookie(&mut response, &state, SESSION_COOKIE, "", Some(0));
    set_cookie(&mut response, &state, CSRF_COOKIE, &random_token(), None);
    Ok(response)
}
