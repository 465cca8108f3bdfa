//! pengyou's configuration: one typed struct from built-in defaults, an optional
//! TOML file, and `PENGYOU_*` / `DATABASE_URL` environment overrides, in that order.
//! No configuration at all serves on 127.0.0.1:8080 with data in `./data`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// Who may create an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Registrations {
    /// Anyone may sign up.
    Open,
    /// Only admins create accounts (`pengyou admin create-user`).
    Closed,
}

/// Log line format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address to listen on (`PENGYOU_LISTEN`).
    pub listen: SocketAddr,
    /// Where the SQLite database and media live (`PENGYOU_DATA_DIR`).
    pub data_dir: PathBuf,
    /// The URL people reach this server at (`PENGYOU_PUBLIC_URL`); defaults to `http://<listen>`.
    pub public_url: Option<String>,
    /// `postgres://…` to run on PostgreSQL (`DATABASE_URL`); default: SQLite in the data directory.
    pub database_url: Option<String>,
    /// The instance's name, shown on pages and in `/api/v1/instance`.
    pub title: String,
    /// A line about the instance.
    pub description: String,
    /// A contact address for the instance, if the operator wants one shown.
    pub contact_email: Option<String>,
    pub registrations: Registrations,
    /// Argon2 hashes that may run at once; default: one less than the cores (at least 1),
    /// so reads always keep a core during a signup surge.
    pub password_workers: Option<usize>,
    /// Hashing requests that may wait before new ones get 503.
    pub password_queue: usize,
    /// How long a web login lasts, in days.
    pub session_days: u32,
    pub log_format: LogFormat,
    /// Set the `Secure` flag on cookies; default: when the public URL is https.
    pub secure_cookies: Option<bool>,
    /// Sign-ups allowed per client address (IPv6: per /64) per hour; 0 turns the limit off.
    pub signups_per_hour: u32,
    /// Login attempts allowed per client address per minute; 0 turns the limit off.
    pub logins_per_minute: u32,
    /// Take the client address from `X-Forwarded-For` (set only behind a proxy that
    /// writes it; otherwise clients could forge it).
    pub trust_forwarded_for: bool,
    /// Seconds between writes of absorbed view counts; a crash loses at most this much.
    pub view_flush_seconds: u64,
    /// Share (0–1) of the discover feed given to notes in languages the reader does
    /// not read: the cross-border mix, shown with their translation.
    pub discover_cross_border_share: f64,
    /// Process background jobs (fan-out, notifications, media) in this server process.
    pub run_jobs: bool,
    /// Largest image upload, in bytes.
    pub media_max_image_bytes: u64,
    /// Largest video upload, in bytes.
    pub media_max_video_bytes: u64,
    /// Largest image, in megapixels (checked from the header, before decoding).
    pub media_max_megapixels: u64,
    /// Longest video, in seconds.
    pub media_max_video_seconds: u64,
    /// Longest side of an uploaded video, in pixels; output is at most 1920.
    pub media_max_video_side: u32,
    /// Time limit for transcoding one video, in seconds.
    pub media_transcode_seconds: u64,
    /// Media processed at once; default: the number of cores.
    pub media_workers: Option<usize>,
    /// The ffmpeg and ffprobe commands (name on PATH or path); video needs both.
    pub ffmpeg: String,
    pub ffprobe: String,
    /// Store media in this S3-compatible bucket instead of `<data_dir>/media`.
    pub media_s3_bucket: Option<String>,
    /// The S3 endpoint URL (for S3-compatible services); default: AWS.
    pub media_s3_endpoint: Option<String>,
    pub media_s3_region: String,
    pub media_s3_access_key_id: Option<String>,
    pub media_s3_secret_access_key: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("data"),
            public_url: None,
            database_url: None,
            title: "pengyou".into(),
            description: "Photo and video notes, in Chinese and English. 朋友。".into(),
            contact_email: None,
            registrations: Registrations::Open,
            password_workers: None,
            password_queue: 256,
            session_days: 30,
            log_format: LogFormat::Text,
            secure_cookies: None,
            signups_per_hour: 30,
            logins_per_minute: 30,
            trust_forwarded_for: false,
            view_flush_seconds: 5,
            discover_cross_border_share: 0.2,
            run_jobs: true,
            media_max_image_bytes: 20 * 1024 * 1024,
            media_max_video_bytes: 300 * 1024 * 1024,
            media_max_megapixels: 50,
            media_max_video_seconds: 900,
            media_max_video_side: 4096,
            media_transcode_seconds: 600,
            media_workers: None,
            ffmpeg: "ffmpeg".into(),
            ffprobe: "ffprobe".into(),
            media_s3_bucket: None,
            media_s3_endpoint: None,
            media_s3_region: "us-east-1".into(),
            media_s3_access_key_id: None,
            media_s3_secret_access_key: None,
        }
    }
}

impl Config {
    /// Loads defaults, then the TOML file (if given), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Config, Box<figment::Error>> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            if !file.exists() {
                return Err(Box::new(figment::Error::from(format!("config file {} does not exist", file.display()))));
            }
            figment = figment.merge(Toml::file(file));
        }
        figment
            .merge(Env::prefixed("PENGYOU_").ignore(&["CONFIG"]))
            .merge(Env::raw().only(&["DATABASE_URL"]))
            .extract()
            .map_err(Box::new)
    }

    /// The public base URL without a trailing slash.
    pub fn base_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.listen),
        }
    }

    /// The host part of the public URL, used as the instance's domain.
    pub fn domain(&self) -> String {
        url::Url::parse(&self.base_url())
            .ok()
            .and_then(|u| {
                u.host_str().map(|h| match u.port() {
                    Some(port) => format!("{h}:{port}"),
                    None => h.to_owned(),
                })
            })
            .unwrap_or_else(|| self.listen.to_string())
    }

    /// The database to open: `DATABASE_URL`, else `<data_dir>/pengyou.db`.
    pub fn effective_database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("pengyou.db").display()),
        }
    }

    pub fn password_workers(&self) -> usize {
        self.password_workers
            .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).saturating_sub(1))
            .max(1)
    }

    pub fn secure_cookies(&self) -> bool {
        self.secure_cookies.unwrap_or_else(|| self.base_url().starts_with("https://"))
    }

    /// The configuration as TOML with secrets (a database password) hidden.
    pub fn to_redacted_toml(&self) -> String {
        let mut shown = self.clone();
        shown.database_url = Some(redact_url(&self.effective_database_url()));
        if shown.media_s3_secret_access_key.is_some() {
            shown.media_s3_secret_access_key = Some("********".into());
        }
        shown.public_url = Some(self.base_url());
        shown.password_workers = Some(self.password_workers());
        toml::to_string_pretty(&shown).unwrap_or_else(|e| format!("# could not render config: {e}\n"))
    }
}

/// Replaces a URL's password with `********`.
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("********"));
            url.to_string()
        }
        _ => raw.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_database_password() {
        assert_eq!(redact_url("postgres://app:s3cret@db:5432/pengyou"), "postgres://app:********@db:5432/pengyou");
        assert_eq!(redact_url("sqlite://data/pengyou.db"), "sqlite://data/pengyou.db");
    }

    #[test]
    fn defaults() {
        let config = Config::default();
        assert_eq!(config.base_url(), "http://127.0.0.1:8080");
        assert_eq!(config.domain(), "127.0.0.1:8080");
        assert!(config.effective_database_url().ends_with("pengyou.db"));
    }
}
