//! Request extractors: bearer-token and session authentication, request bodies
//! in any encoding Mastodon clients send, and cursor pagination.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use pengyou_store::{Account, Page, TokenGrant, WebSession, now_ms};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::error::{AppError, AppResult};
use crate::http::scopes;
use crate::state::AppState;

/// SHA-256 of a secret token: what the database keeps instead of the token.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// A fresh random token: 256 bits, URL-safe base64.
pub fn random_token() -> String {
    use base64::Engine;
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The bearer token's grant, if the request carried one. A token that is
/// present but unknown is refused with 401 rather than treated as anonymous.
pub struct Auth(pub Option<TokenGrant>);

impl FromRequestParts<AppState> for Auth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> AppResult<Self> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return session_grant(parts, state).await.map(Auth);
        };
        let value = value.to_str().map_err(|_| AppError::Unauthorized)?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(AppError::Unauthorized)?;
        let grant = state.store.token_grant(&token_hash(token)).await?.ok_or(AppError::Unauthorized)?;
        if grant.account.as_ref().is_some_and(|a| a.suspended) {
            return Err(AppError::Forbidden("account_suspended", "Your login is currently disabled".into()));
        }
        Ok(Auth(Some(grant)))
    }
}

/// Scopes a signed-in browser has on the API: everything but administration.
pub const SESSION_SCOPES: &str = "read write follow push profile";

/// The header the web pages' scripts send with the CSRF cookie's value.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The API as the signed-in browser uses it: the session cookie stands for a
/// token, and every request that changes something must also carry the CSRF
/// cookie's value in `X-CSRF-Token` (which another site cannot read or send).
async fn session_grant(parts: &Parts, state: &AppState) -> AppResult<Option<TokenGrant>> {
    let Some(session) = web_session(&parts.headers, state).await? else { return Ok(None) };
    if !parts.method.is_safe() {
        let expected = cookie(&parts.headers, crate::web::CSRF_COOKIE).unwrap_or_default();
        let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default();
        crate::web::check_csrf_value(&expected, sent)?;
    }
    Ok(Some(TokenGrant {
        app: pengyou_store::App {
            id: pengyou_store::AppId(0),
            client_id: String::new(),
            secret_hash: Vec::new(),
            name: "pengyou web".into(),
            website: None,
            redirect_uris: Vec::new(),
            scopes: SESSION_SCOPES.into(),
            created_at: session.created_at,
        },
        account: Some(session.account),
        scopes: SESSION_SCOPES.into(),
        created_at: session.created_at,
    }))
}

impl Auth {
    /// The signed-in account, if any (app-only tokens have none).
    pub fn account(&self) -> Option<&Account> {
        self.0.as_ref().and_then(|g| g.account.as_ref())
    }
}

/// A request made on behalf of a signed-in account.
pub struct User {
    pub account: Account,
    pub scopes: String,
}

impl User {
    /// Refuses with 403 unless the token was granted `scope` (or a broader one).
    pub fn require(&self, scope: &str) -> AppResult<()> {
        if scopes::grants(&self.scopes, scope) {
            Ok(())
        } else {
            Err(AppError::Forbidden("insufficient_scope", "This action is outside the authorized scopes".into()))
        }
    }
}

impl FromRequestParts<AppState> for User {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> AppResult<Self> {
        let Auth(grant) = Auth::from_request_parts(parts, state).await?;
        let grant = grant.ok_or(AppError::Unauthorized)?;
        let account = grant
            .account
            .ok_or_else(|| AppError::Forbidden("user_required", "This method requires an authenticated user".into()))?;
        Ok(User { account, scopes: grant.scopes })
    }
}

/// A request body as JSON, `application/x-www-form-urlencoded` (with Rails-style
/// `key[]` arrays and `key[sub]` objects, as Mastodon clients send), or empty.
pub struct Input<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Input<T> {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> AppResult<Self> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json") || v.contains("+json"));
        let query = request.uri().query().unwrap_or_default().to_owned();
        let bytes = Bytes::from_request(request, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                AppError::TooLarge
            } else {
                AppError::BadRequest("body_unreadable", e.body_text())
            }
        })?;
        let value = if is_json && !bytes.is_empty() {
            serde_json::from_slice::<Value>(&bytes)
                .map_err(|e| AppError::BadRequest("invalid_json", format!("Invalid JSON: {e}")))?
        } else {
            // Parameters may come in the query string too; the body wins.
            let mut value = form_to_value(query.as_bytes());
            if let (Value::Object(fields), Value::Object(body)) = (&mut value, form_to_value(&bytes)) {
                fields.extend(body);
            }
            value
        };
        serde_json::from_value(value)
            .map(Input)
            .map_err(|e| AppError::BadRequest("invalid_parameters", format!("Invalid parameters: {e}")))
    }
}

/// Turns form pairs into a JSON object: `a=1` → `{"a":"1"}`, `a[]=1&a[]=2` →
/// `{"a":["1","2"]}`, `source[note]=x` → `{"source":{"note":"x"}}`, and Rails'
/// lists of objects: `k[][word]=x&k[][word]=y` → `{"k":[{"word":"x"},{"word":"y"}]}`,
/// `k[0][word]=x` → `{"k":{"0":{"word":"x"}}}`.
pub fn form_to_value(bytes: &[u8]) -> Value {
    let mut root = Map::new();
    for (key, value) in url::form_urlencoded::parse(bytes) {
        let value = Value::String(value.into_owned());
        let (name, parts) = match key.split_once('[') {
            Some((name, rest)) if rest.ends_with(']') => (name, rest[..rest.len() - 1].split("][").collect::<Vec<_>>()),
            _ => {
                root.insert(key.into_owned(), value);
                continue;
            }
        };
        let slot = root.entry(name.to_owned());
        match parts.as_slice() {
            [""] => match slot.or_insert_with(|| Value::Array(Vec::new())) {
                Value::Array(items) => items.push(value),
                other => *other = Value::Array(vec![other.take(), value]),
            },
            [field] => {
                if let Value::Object(map) = slot.or_insert_with(|| Value::Object(Map::new())) {
                    map.insert((*field).to_owned(), value);
                }
            }
            ["", field] => {
                if let Value::Array(items) = slot.or_insert_with(|| Value::Array(Vec::new())) {
                    match items.last_mut() {
                        Some(Value::Object(last)) if !last.contains_key(*field) => {
                            last.insert((*field).to_owned(), value);
                        }
                        _ => items.push(Value::Object(Map::from_iter([((*field).to_owned(), value)]))),
                    }
                }
            }
            [index, field] => {
                if let Value::Object(map) = slot.or_insert_with(|| Value::Object(Map::new()))
                    && let Value::Object(entry) =
                        map.entry((*index).to_owned()).or_insert_with(|| Value::Object(Map::new()))
                {
                    entry.insert((*field).to_owned(), value);
                }
            }
            _ => {}
        }
    }
    Value::Object(root)
}

/// Deserialises a boolean from `true`, `"true"`, `"1"`, `"on"` and friends,
/// since form-encoded clients send strings.
pub fn lenient_bool<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Bool(bool),
        Int(i64),
        Text(String),
    }
    Ok(match Option::<Raw>::deserialize(deserializer)? {
        None => None,
        Some(Raw::Bool(b)) => Some(b),
        Some(Raw::Int(i)) => Some(i != 0),
        Some(Raw::Text(t)) => match t.to_ascii_lowercase().as_str() {
            "true" | "1" | "on" | "yes" | "t" => Some(true),
            "false" | "0" | "off" | "no" | "f" | "" => Some(false),
            _ => return Err(serde::de::Error::custom(format!("'{t}' is not a boolean"))),
        },
    })
}

/// Deserialises a string list from an array or a single (possibly comma-separated) string.
pub fn string_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        One(String),
        Many(Vec<String>),
    }
    Ok(Option::<Raw>::deserialize(deserializer)?.map(|raw| match raw {
        Raw::One(s) => s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect(),
        Raw::Many(v) => v,
    }))
}

/// A number of seconds, sent as a JSON number or a string (forms send strings).
/// Blank or null is `Some(None)`; anything that is not a whole number is `None`.
pub fn seconds(value: &Value) -> Option<Option<i64>> {
    match value {
        Value::Null => Some(None),
        Value::String(s) if s.is_empty() => Some(None),
        Value::String(s) => s.parse().ok().map(Some),
        Value::Number(n) => n.as_i64().map(Some),
        _ => None,
    }
}

/// Mastodon's pagination parameters.
#[derive(Debug, Default, Deserialize)]
pub struct PageParams {
    pub max_id: Option<String>,
    pub since_id: Option<String>,
    pub min_id: Option<String>,
    pub limit: Option<String>,
}

pub const DEFAULT_PAGE: u32 = 20;
pub const MAX_PAGE: u32 = 40;

fn cursor(value: &Option<String>, name: &'static str) -> AppResult<Option<i64>> {
    match value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v
            .parse::<i64>()
            .map(Some)
            .map_err(|_| AppError::BadRequest("invalid_cursor", format!("{name} must be an id"))),
    }
}

impl PageParams {
    pub fn page(&self) -> AppResult<Page> {
        let limit = match self.limit.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            None => DEFAULT_PAGE,
            Some(v) => {
                v.parse::<u32>().map_err(|_| AppError::BadRequest("invalid_limit", "limit must be a number".into()))?
            }
        };
        Ok(Page {
            max_id: cursor(&self.max_id, "max_id")?,
            since_id: cursor(&self.since_id, "since_id")?,
            min_id: cursor(&self.min_id, "min_id")?,
            limit: limit.clamp(1, MAX_PAGE),
        })
    }
}

/// The `Link` header for a page of results, newest first: `next` pages older
/// items, `prev` newer ones. `None` when the page is empty. `cursors` are the
/// ids the list pages by (note ids, or the list's own row ids).
pub fn link_header(base: &str, path: &str, extra_query: &str, cursors: &[i64]) -> Option<String> {
    let (newest, oldest) = (cursors.first()?, cursors.last()?);
    let sep = if extra_query.is_empty() { String::new() } else { format!("{extra_query}&") };
    Some(format!(
        "<{base}{path}?{sep}max_id={oldest}>; rel=\"next\", <{base}{path}?{sep}min_id={newest}>; rel=\"prev\""
    ))
}

/// A JSON answer with a `Link` header for the next and previous pages.
pub fn paged<T: Serialize>(state: &AppState, body: T, path: &str, extra_query: &str, cursors: &[i64]) -> Response {
    let mut response = Json(body).into_response();
    if let Some(value) =
        link_header(&state.base_url, path, extra_query, cursors).and_then(|l| HeaderValue::from_str(&l).ok())
    {
        response.headers_mut().insert(header::LINK, value);
    }
    response
}

/// Reads one cookie's value.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

pub const SESSION_COOKIE: &str = "pengyou_session";

/// The browser's signed-in session, when its cookie names a live session of
/// an account that is not suspended.
pub async fn web_session(headers: &HeaderMap, state: &AppState) -> AppResult<Option<WebSession>> {
    let Some(token) = cookie(headers, SESSION_COOKIE) else { return Ok(None) };
    let session = state.store.session_by_token(&token_hash(&token), now_ms()).await?;
    Ok(session.filter(|s| !s.account.suspended))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rails_style_forms() {
        let value = form_to_value(b"status=hi&media_ids[]=1&media_ids[]=2&source[note]=bio&x=%E7%8C%AB");
        assert_eq!(value["status"], "hi");
        assert_eq!(value["media_ids"], serde_json::json!(["1", "2"]));
        assert_eq!(value["source"]["note"], "bio");
        assert_eq!(value["x"], "猫");
        let value = form_to_value(b"k[][keyword]=a&k[][whole_word]=true&k[][keyword]=b&m[0][keyword]=c");
        assert_eq!(value["k"], serde_json::json!([{"keyword": "a", "whole_word": "true"}, {"keyword": "b"}]));
        assert_eq!(value["m"]["0"]["keyword"], "c");
    }
}
