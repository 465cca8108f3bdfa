//! The one error type at the HTTP edge. Every variant has a stable snake_case
//! code; the Mastodon API answers with the `{"error": …}` body its clients expect.
//! Internal errors are logged once here and return no internals.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pengyou_store::StoreError;
use serde_json::{Value, json};

use crate::domain::password::HashOverloaded;
use crate::domain::validate::ValidationError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Input broke a rule: 422 with the rule's code. `field` names the form field.
    #[error("{error}")]
    Validation { error: ValidationError, field: Option<&'static str> },
    /// A malformed request (unparseable body, missing parameter): 400.
    #[error("{1}")]
    BadRequest(&'static str, String),
    /// No or bad credentials: 401.
    #[error("unauthorized")]
    Unauthorized,
    /// Authenticated but not allowed: 403.
    #[error("{1}")]
    Forbidden(&'static str, String),
    /// The request body is over the size limit: 413.
    #[error("payload too large")]
    TooLarge,
    /// An uploaded file is over its size limit: 413 `file_too_large`.
    #[error("{0}")]
    FileTooLarge(String),
    /// A byte range outside the file (the file's size is carried): 416.
    #[error("range not satisfiable")]
    RangeNotSatisfiable(u64),
    /// Unknown, or not visible to this viewer (the two are indistinguishable on purpose): 404.
    #[error("not found")]
    NotFound,
    /// Too many requests: 429 with Retry-After.
    #[error("rate limited")]
    RateLimited { retry_after_secs: u64 },
    /// The server sheds load: 503 with Retry-After.
    #[error("overloaded")]
    Overloaded,
    /// An OAuth 2 error (RFC 6749 §5.2): `error` and `error_description`.
    #[error("{code}: {description}")]
    OAuth { status: StatusCode, code: &'static str, description: String },
    /// A bug or an unreachable database: 500 (or 503), logged, details withheld.
    #[error("internal error: {0}")]
    Internal(String),
    #[error("database unavailable: {0}")]
    Unavailable(String),
}

impl AppError {
    pub fn validation(error: ValidationError) -> Self {
        AppError::Validation { error, field: None }
    }

    pub fn field(field: &'static str, error: ValidationError) -> Self {
        AppError::Validation { error, field: Some(field) }
    }

    pub fn oauth(code: &'static str, description: impl Into<String>) -> Self {
        let status = if code == "invalid_client" { StatusCode::UNAUTHORIZED } else { StatusCode::BAD_REQUEST };
        AppError::OAuth { status, code, description: description.into() }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::BadRequest(..) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(..) => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::TooLarge | AppError::FileTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::RangeNotSatisfiable(_) => StatusCode::RANGE_NOT_SATISFIABLE,
            AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Overloaded | AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::OAuth { status, .. } => *status,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable code the UI translates.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Validation { error, .. } => error.code,
            AppError::BadRequest(code, _) | AppError::Forbidden(code, _) => code,
            AppError::Unauthorized => "unauthorized",
            AppError::NotFound => "not_found",
            AppError::TooLarge => "payload_too_large",
            AppError::FileTooLarge(_) => "file_too_large",
            AppError::RangeNotSatisfiable(_) => "range_not_satisfiable",
            AppError::RateLimited { .. } => "rate_limited",
            AppError::Overloaded => "overloaded",
            AppError::OAuth { code, .. } => code,
            AppError::Internal(_) => "internal_error",
            AppError::Unavailable(_) => "unavailable",
        }
    }

    /// A message for people; never internals.
    pub fn message(&self) -> String {
        match self {
            AppError::Validation { error, .. } => error.message.clone(),
            AppError::BadRequest(_, message) | AppError::Forbidden(_, message) => message.clone(),
            AppError::Unauthorized => "The access token is invalid".into(),
            AppError::NotFound => "Record not found".into(),
            AppError::TooLarge => "The request is too large".into(),
            AppError::FileTooLarge(message) => message.clone(),
            AppError::RangeNotSatisfiable(_) => "The requested range is outside the file".into(),
            AppError::RateLimited { .. } => "Too many requests".into(),
            AppError::Overloaded | AppError::Unavailable(_) => "The server is busy; try again shortly".into(),
            AppError::OAuth { description, .. } => description.clone(),
            AppError::Internal(_) => "Internal server error".into(),
        }
    }

    /// Mastodon's error category for a registration field (`ERR_TAKEN`, …).
    fn mastodon_detail(code: &str) -> &'static str {
        if code.ends_with("_taken") {
            "ERR_TAKEN"
        } else if code.ends_with("_blank") {
            "ERR_BLANK"
        } else if code.ends_with("_too_long") {
            "ERR_TOO_LONG"
        } else if code.ends_with("_too_short") {
            "ERR_TOO_SHORT"
        } else if code.ends_with("_reserved") {
            "ERR_RESERVED"
        } else if code == "agreement_required" {
            "ERR_ACCEPTED"
        } else {
            "ERR_INVALID"
        }
    }

    fn body(&self) -> Value {
        match self {
            AppError::OAuth { code, description, .. } => json!({ "error": code, "error_description": description }),
            AppError::Validation { error, field: Some(field) } => json!({
                "error": format!("Validation failed: {}", error.message),
                "error_code": error.code,
                "details": { *field: [{ "error": Self::mastodon_detail(error.code), "description": error.message }] },
            }),
            other => json!({ "error": other.message(), "error_code": other.code() }),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => AppError::NotFound,
            StoreError::Conflict(code) => AppError::validation(ValidationError::new(code, conflict_message(code))),
            StoreError::Unavailable(message) => AppError::Unavailable(message),
            StoreError::Internal(message) => AppError::Internal(message),
        }
    }
}

fn conflict_message(code: &str) -> &'static str {
    match code {
        "username_taken" => "That username is taken.",
        "email_taken" => "That e-mail address is already in use.",
        "media_unavailable" => "One of the files can no longer be attached; upload it again.",
        _ => "That already exists.",
    }
}

impl From<ValidationError> for AppError {
    fn from(error: ValidationError) -> Self {
        AppError::validation(error)
    }
}

impl From<HashOverloaded> for AppError {
    fn from(_: HashOverloaded) -> Self {
        AppError::Overloaded
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match &self {
            AppError::Internal(message) => tracing::error!(error.message = %message, "internal error"),
            AppError::Unavailable(message) => tracing::warn!(error.message = %message, "database unavailable"),
            _ => {}
        }
        let mut response = (self.status(), axum::Json(self.body())).into_response();
        let retry_after = match &self {
            AppError::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            AppError::Overloaded | AppError::Unavailable(_) => Some(1),
            _ => None,
        };
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let AppError::RangeNotSatisfiable(size) = &self
            && let Ok(value) = HeaderValue::from_str(&format!("bytes */{size}"))
        {
            response.headers_mut().insert(header::CONTENT_RANGE, value);
        }
        if matches!(self, AppError::Unauthorized) {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"pengyou\", error=\"invalid_token\""),
            );
        }
        response
    }
}

/// Shorthand for handlers.
pub type AppResult<T> = Result<T, AppError>;
