//! Password rules and hashing: argon2id with OWASP's parameters (19 MiB, 2
//! iterations, 1 lane) on a bounded pool, so a signup surge queues for a few
//! hashing threads (and is shed with 503 when the queue is full) instead of
//! taking every core away from readers.

use std::sync::Arc;

use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier as _, Version};
use tokio::sync::Semaphore;

use super::validate::ValidationError;

pub const MIN_PASSWORD: usize = 8;
pub const MAX_PASSWORD: usize = 128;

/// OWASP's first argon2id recommendation: m=19 MiB, t=2, p=1.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("OWASP argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Refuses passwords outside 8–128 characters or that a real strength estimator
/// (zxcvbn) scores below 3 of 4 ("safely unguessable: moderate protection from
/// offline slow-hash scenario"). `context` holds words the person gave us (their
/// username, display name), which make a password weak when it contains them.
pub fn check_strength(password: &str, context: &[&str]) -> Result<(), ValidationError> {
    let length = password.chars().count();
    if length < MIN_PASSWORD {
        return Err(ValidationError::new("password_too_short", "A password needs at least 8 characters."));
    }
    if length > MAX_PASSWORD {
        return Err(ValidationError::new("password_too_long", "A password has at most 128 characters."));
    }
    let estimate = zxcvbn::zxcvbn(password, context);
    if estimate.score() < zxcvbn::Score::Three {
        let reason = estimate.feedback().and_then(|f| f.warning()).map(|w| format!(" ({w})")).unwrap_or_default();
        return Err(ValidationError::new(
            "password_too_weak",
            format!("That password is too easy to guess{reason}. Try a longer phrase of unrelated words."),
        ));
    }
    Ok(())
}

/// The hashing pool is full: the caller should answer 503 with Retry-After.
#[derive(Debug, thiserror::Error)]
#[error("password hashing is overloaded")]
pub struct HashOverloaded;

/// A bounded pool for argon2 work.
#[derive(Clone)]
pub struct PasswordHasher {
    workers: Arc<Semaphore>,
    queue: Arc<Semaphore>,
}

impl PasswordHasher {
    /// `workers` hashes run at once; up to `queue` more wait their turn.
    pub fn new(workers: usize, queue: usize) -> Self {
        PasswordHasher {
            workers: Arc::new(Semaphore::new(workers.max(1))),
            queue: Arc::new(Semaphore::new(workers.max(1) + queue)),
        }
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, HashOverloaded> {
        let _queued = self.queue.clone().try_acquire_owned().map_err(|_| HashOverloaded)?;
        let _worker = self.workers.clone().acquire_owned().await.map_err(|_| HashOverloaded)?;
        tokio::task::spawn_blocking(work).await.map_err(|_| HashOverloaded)
    }

    /// Hashes a password into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
    pub async fn hash(&self, password: String) -> Result<String, HashOverloaded> {
        self.run(move || {
            argon2().hash_password(password.as_bytes()).map(|h| h.to_string()).expect("argon2 hashing cannot fail")
        })
        .await
    }

    /// Checks a password against a stored hash. With no hash (unknown account) it
    /// still does the same work, so response times do not reveal which names exist.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, HashOverloaded> {
        self.run(move || match hash.as_deref().map(PasswordHash::new) {
            Some(Ok(parsed)) => argon2().verify_password(password.as_bytes(), &parsed).is_ok(),
            _ => {
                let _ = argon2().hash_password(password.as_bytes());
                false
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strength() {
        assert_eq!(check_strength("short", &[]).unwrap_err().code, "password_too_short");
        assert_eq!(check_strength("password123", &[]).unwrap_err().code, "password_too_weak");
        assert_eq!(check_strength("alice2024!", &["alice"]).unwrap_err().code, "password_too_weak");
        assert!(check_strength("correct horse battery staple", &[]).is_ok());
        assert_eq!(check_strength(&"x".repeat(129), &[]).unwrap_err().code, "password_too_long");
    }

    #[tokio::test]
    async fn hash_and_verify() {
        let hasher = PasswordHasher::new(1, 4);
        let hash = hasher.hash("correct horse battery staple".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(hasher.verify("correct horse battery staple".into(), Some(hash.clone())).await.unwrap());
        assert!(!hasher.verify("wrong horse battery staple".into(), Some(hash)).await.unwrap());
        assert!(!hasher.verify("anything at all here".into(), None).await.unwrap());
    }
}
