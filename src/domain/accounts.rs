//! Creating accounts: the same rules for web sign-up, API registration and the
//! admin CLI.

use pengyou_store::{Account, NewAccount};

use super::password::check_strength;
use super::validate::{self, Username, ValidationError};
use crate::config::Registrations;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// What a person (or an admin) submits to create an account.
#[derive(Clone, Debug, Default)]
pub struct Registration {
    pub username: String,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub password: String,
    pub languages: Vec<String>,
    pub ui_language: Option<String>,
}

/// Who is creating the account: the public (subject to the signup mode and
/// reserved names) or an admin at the shell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Creator {
    Public,
    Admin { make_admin: bool },
}

pub async fn register(state: &AppState, registration: Registration, creator: Creator) -> AppResult<Account> {
    if creator == Creator::Public && state.config.registrations == Registrations::Closed {
        return Err(AppError::Forbidden("registrations_closed", "This server is not accepting new accounts.".into()));
    }
    let username = match creator {
        Creator::Public => Username::parse_for_signup(&registration.username),
        Creator::Admin { .. } => Username::parse(&registration.username),
    }
    .map_err(|e| AppError::field("username", e))?;
    let display_name = validate::display_name(registration.display_name.as_deref().unwrap_or_default())
        .map_err(|e| AppError::field("display_name", e))?;
    let email = match registration.email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
        Some(email) => Some(validate::email(email).map_err(|e| AppError::field("email", e))?),
        None => None,
    };
    let mut languages = validate::languages(&registration.languages).map_err(|e| AppError::field("languages", e))?;
    let ui_language = match registration.ui_language.as_deref().filter(|l| !l.is_empty()) {
        Some(code) => Some(validate::language(code).map_err(|e| AppError::field("locale", e))?),
        None => None,
    };
    // Everyone reads at least the language of the interface they chose.
    if languages.is_empty() {
        languages.push(ui_language.clone().unwrap_or_else(|| "en".into()));
    }
    let mut context = vec![username.as_str(), display_name.as_str()];
    if let Some(email) = &email {
        context.extend(email.split(['@', '.']));
    }
    check_strength(&registration.password, &context).map_err(|e| AppError::field("password", e))?;
    // Cheap duplicate check before the expensive hash; the unique index decides races.
    if state.store.account_by_username(username.as_str()).await?.is_some() {
        return Err(AppError::field("username", ValidationError::new("username_taken", "That username is taken.")));
    }
    let password_hash = state.hasher.hash(registration.password).await?;
    let account = state
        .store
        .create_account(NewAccount {
            display_name: if display_name.is_empty() { username.as_str().to_owned() } else { display_name },
            username: username.as_str().to_owned(),
            email,
            password_hash,
            languages,
            ui_language,
            is_admin: matches!(creator, Creator::Admin { make_admin: true }),
        })
        .await
        .map_err(|e| match e {
            pengyou_store::StoreError::Conflict(code) => {
                let field = if code == "email_taken" { "email" } else { "username" };
                AppError::field(
                    field,
                    ValidationError::new(code, AppError::from(pengyou_store::StoreError::Conflict(code)).message()),
                )
            }
            other => other.into(),
        })?;
    tracing::info!(account.id = %account.id, account.username = %account.username, "account created");
    Ok(account)
}
