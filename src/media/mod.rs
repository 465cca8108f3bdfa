//! Media: photo and video uploads, from the bytes a client sends to the
//! renditions that are served. Uploads are sniffed, checked against limits
//! before any decoding, processed on a bounded worker pool (never on the async
//! runtime's threads) and stored under random keys. Files of notes that not
//! everyone may see are served only through short-lived signed URLs.

pub mod picture;
pub mod sniff;
pub mod storage;
pub mod subtitles;
pub mod video;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use pengyou_store::{Account, Media, MediaKind, MediaResult, MediaState, NewMedia, Store, now_ms};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use tokio::sync::{OnceCell, Semaphore};

use crate::config::Config;
use crate::domain::validate::ValidationError;
use crate::error::{AppError, AppResult};
use picture::{Picture, PictureLimits, names};
use sniff::{Family, Format};
use storage::Storage;
use video::{Ffmpeg, VideoLimits};

/// Images up to this many pixels are processed while the client waits, even on `/api/v2/media`.
pub const INLINE_PIXELS: u64 = 16_000_000;
/// The transcoded video's file name.
pub const VIDEO_FILE: &str = "video.mp4";
/// Unattached uploads are deleted after this long.
pub const UNATTACHED_TTL_MS: i64 = 24 * 60 * 60 * 1000;
/// How long a signed URL stays valid: at least this, at most twice this (expiry
/// is rounded up so that a URL stays the same, and cacheable, for a while).
pub const SIGNED_URL_SECONDS: i64 = 3600;

/// Why an upload was refused: a stable code and a message for people.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaError {
    pub code: &'static str,
    pub message: String,
}

impl MediaError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        MediaError { code, message: message.into() }
    }

    pub fn unreadable(format: Format) -> Self {
        MediaError::new("media_unreadable", format!("The file looks like {} but could not be read.", format.name()))
    }

    pub fn no_decoder(format: Format) -> Self {
        MediaError::new(
            "unsupported_media_type",
            format!(
                "{} images are not supported on this server yet; please upload JPEG, PNG, WebP or GIF.",
                format.name()
            ),
        )
    }

    /// A fault of the server, not of the file.
    pub fn internal(message: impl Into<String>) -> Self {
        MediaError::new("internal", message)
    }

    pub fn is_internal(&self) -> bool {
        self.code == "internal"
    }
}

impl From<MediaError> for AppError {
    fn from(error: MediaError) -> Self {
        if error.is_internal() {
            AppError::Internal(error.message)
        } else {
            AppError::validation(ValidationError::new(error.code, error.message))
        }
    }
}

impl From<sniff::Refusal> for MediaError {
    fn from(refusal: sniff::Refusal) -> Self {
        match refusal {
            sniff::Refusal::Empty => MediaError::new("file_empty", "The file is empty."),
            sniff::Refusal::Svg => MediaError::new(
                "unsupported_media_type",
                "SVG images are not accepted (they can carry scripts); export a PNG instead.",
            ),
            sniff::Refusal::Unknown => MediaError::new(
                "unsupported_media_type",
                "This kind of file is not supported. Photos: JPEG, PNG, WebP, GIF. Videos: MP4, MOV, WebM.",
            ),
        }
    }
}

/// Width and height.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Size {
    pub width: u32,
    pub height: u32,
}

/// What is known about a processed upload, kept as JSON with its row.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct MediaMeta {
    /// The original's displayed size.
    pub original: Size,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub small: Option<Size>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<Size>,
    /// Animated GIFs: the animation's size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub animation: Option<Size>,
    /// Videos: the transcoded size, seconds and frames per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video: Option<Size>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fps: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio: Option<bool>,
}

impl MediaMeta {
    pub fn parse(json: &str) -> MediaMeta {
        serde_json::from_str(json).unwrap_or_default()
    }
}

/// All limits an upload must meet.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_image_bytes: u64,
    pub max_video_bytes: u64,
    pub picture: PictureLimits,
    pub video: VideoLimits,
}

/// Signs and checks media URLs for notes not everyone may see.
#[derive(Clone)]
pub struct Signer {
    key: Arc<Vec<u8>>,
}

impl Signer {
    fn mac(&self, storage_key: &str, expires: i64) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(storage_key.as_bytes());
        mac.update(b"/");
        mac.update(expires.to_string().as_bytes());
        mac
    }

    /// The query string that lets its holder fetch a key's files until about an hour from now.
    pub fn query(&self, storage_key: &str) -> String {
        let now = now_ms() / 1000;
        let expires = (now / SIGNED_URL_SECONDS + 2) * SIGNED_URL_SECONDS;
        let signature = URL_SAFE_NO_PAD.encode(self.mac(storage_key, expires).finalize().into_bytes());
        format!("exp={expires}&sig={signature}")
    }

    /// True when `signature` is this server's, for this key, and not yet expired.
    pub fn verify(&self, storage_key: &str, expires: i64, signature: &str) -> bool {
        if expires < now_ms() / 1000 {
            return false;
        }
        let Ok(signature) = URL_SAFE_NO_PAD.decode(signature) else { return false };
        self.mac(storage_key, expires).verify_slice(&signature).is_ok()
    }
}

/// The media subsystem every handler and worker shares.
pub struct MediaService {
    pub storage: Storage,
    pub limits: Limits,
    /// Processing slots: one per core by default.
    slots: Arc<Semaphore>,
    pub workers: usize,
    ffmpeg_names: (String, String),
    ffmpeg: OnceCell<Option<Ffmpeg>>,
    signer: OnceCell<Signer>,
    temp_dir: PathBuf,
}

/// What `inspect` found out about an upload.
pub struct Inspected {
    pub format: Format,
    pub pixels: u64,
    /// An image's bytes, already read.
    pub image: Option<Vec<u8>>,
}

/// An upload that passed `inspect`, with what came with it.
pub struct Upload<'a> {
    pub file: &'a std::path::Path,
    pub inspected: Inspected,
    /// Process before answering, whatever the size.
    pub wait: bool,
    pub description: String,
    pub focus: (f64, f64),
}

/// What processing made, ready to be stored.
pub struct Processed {
    pub kind: MediaKind,
    pub meta: MediaMeta,
    pub blurhash: String,
    pub picture: Picture,
    /// The transcoded video, for videos.
    pub video: Option<tempfile::TempPath>,
}

impl MediaService {
    pub fn new(config: &Config) -> AppResult<MediaService> {
        let workers = config
            .media_workers
            .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
            .max(1);
        let temp_dir = config.data_dir.join("tmp");
        std::fs::create_dir_all(&temp_dir)
            .map_err(|e| AppError::Internal(format!("cannot create {}: {e}", temp_dir.display())))?;
        Ok(MediaService {
            storage: Storage::from_config(config)?,
            limits: Limits {
                max_image_bytes: config.media_max_image_bytes,
                max_video_bytes: config.media_max_video_bytes,
                picture: PictureLimits {
                    max_pixels: config.media_max_megapixels * 1_000_000,
                    ..PictureLimits::default()
                },
                video: VideoLimits {
                    max_seconds: config.media_max_video_seconds as f64,
                    max_side: config.media_max_video_side,
                    output_side: 1920,
                    timeout: Duration::from_secs(config.media_transcode_seconds),
                },
            },
            slots: Arc::new(Semaphore::new(workers)),
            workers,
            ffmpeg_names: (config.ffmpeg.clone(), config.ffprobe.clone()),
            ffmpeg: OnceCell::new(),
            signer: OnceCell::new(),
            temp_dir,
        })
    }

    /// The ffmpeg tools, looked for once.
    pub async fn ffmpeg(&self) -> Option<&Ffmpeg> {
        self.ffmpeg
            .get_or_init(|| async {
                let found = Ffmpeg::detect(&self.ffmpeg_names.0, &self.ffmpeg_names.1).await;
                if found.is_none() {
                    tracing::warn!("ffmpeg/ffprobe not found: video uploads are refused (images work)");
                }
                found
            })
            .await
            .as_ref()
    }

    /// The URL signer, its key shared by every node through the database.
    pub async fn signer(&self, store: &dyn Store) -> AppResult<Signer> {
        let signer = self
            .signer
            .get_or_try_init(|| async {
                let mut fresh = [0u8; 32];
                rand::rng().fill_bytes(&mut fresh);
                let value = store.server_secret("media_url", &URL_SAFE_NO_PAD.encode(fresh)).await?;
                let key =
                    URL_SAFE_NO_PAD.decode(value).map_err(|e| AppError::Internal(format!("media secret: {e}")))?;
                Ok::<_, AppError>(Signer { key: Arc::new(key) })
            })
            .await?;
        Ok(signer.clone())
    }

    /// A temporary file in the data directory (same disk as local media, never /tmp in memory).
    pub fn temp_file(&self) -> AppResult<tempfile::NamedTempFile> {
        tempfile::NamedTempFile::new_in(&self.temp_dir).map_err(|e| AppError::Internal(format!("temp file: {e}")))
    }

    /// Runs CPU-heavy work in a processing slot on a blocking thread; a panic
    /// inside a decoder becomes a refusal of the file, not a crash.
    pub async fn run_blocking<T, F>(&self, work: F) -> Result<T, MediaError>
    where
        F: FnOnce() -> Result<T, MediaError> + Send + 'static,
        T: Send + 'static,
    {
        let _slot = self.slots.acquire().await.map_err(|_| MediaError::internal("media pool closed"))?;
        match tokio::task::spawn_blocking(work).await {
            Ok(result) => result,
            Err(error) if error.is_panic() => Err(MediaError::new("media_unreadable", "The file could not be read.")),
            Err(error) => Err(MediaError::internal(format!("media worker: {error}"))),
        }
    }

    /// Checks an upload's bytes on disk against the limits of its kind, cheaply:
    /// the image header or ffprobe. An image's bytes are read here once and kept.
    pub async fn inspect(&self, file: &std::path::Path, head: &[u8]) -> Result<Inspected, MediaError> {
        let format = sniff::sniff(head)?;
        match format.family() {
            Family::Image => {
                let bytes = tokio::fs::read(file).await.map_err(|e| MediaError::internal(e.to_string()))?;
                let dims = picture::dimensions(&bytes, format)?;
                picture::check_size(dims, &self.limits.picture)?;
                Ok(Inspected { format, pixels: u64::from(dims.0) * u64::from(dims.1), image: Some(bytes) })
            }
            Family::Video => {
                let ffmpeg = self.ffmpeg().await.ok_or_else(video_unavailable)?;
                let probe = ffmpeg.probe(file, &self.limits.video).await?;
                Ok(Inspected { format, pixels: u64::from(probe.width) * u64::from(probe.height), image: None })
            }
        }
    }

    /// Makes every rendition of an upload.
    pub async fn process(&self, format: Format, file: &std::path::Path) -> Result<Processed, MediaError> {
        match format.family() {
            Family::Image => {
                let bytes = tokio::fs::read(file).await.map_err(|e| MediaError::internal(e.to_string()))?;
                self.process_image(bytes, format).await
            }
            Family::Video => self.process_video(file).await,
        }
    }

    async fn process_image(&self, bytes: Vec<u8>, format: Format) -> Result<Processed, MediaError> {
        let limits = self.limits.picture;
        let picture = self.run_blocking(move || picture::process(&bytes, format, &limits)).await?;
        let meta = picture_meta(&picture);
        let kind = if picture.animated { MediaKind::Gifv } else { MediaKind::Image };
        Ok(Processed { kind, meta, blurhash: picture.blurhash.clone(), picture, video: None })
    }

    async fn process_video(&self, file: &std::path::Path) -> Result<Processed, MediaError> {
        let ffmpeg = self.ffmpeg().await.ok_or_else(video_unavailable)?.clone();
        let limits = self.limits.video;
        let probe = ffmpeg.probe(file, &limits).await?;
        let output = self.temp_file().map_err(|e| MediaError::internal(e.to_string()))?.into_temp_path();
        {
            // ffmpeg is a process of its own; the slot keeps the number of transcodes bounded.
            let _slot = self.slots.acquire().await.map_err(|_| MediaError::internal("media pool closed"))?;
            ffmpeg.transcode(file, &output, &limits).await?;
        }
        let transcoded =
            ffmpeg.probe(&output, &VideoLimits { max_seconds: f64::MAX, max_side: u32::MAX, ..limits }).await?;
        let png = ffmpeg.poster(&output, (transcoded.seconds / 3.0).min(1.0)).await?;
        let picture_limits = self.limits.picture;
        let picture = self.run_blocking(move || picture::process(&png, Format::Png, &picture_limits)).await?;
        let mut meta = picture_meta(&picture);
        meta.original = Size { width: probe.width, height: probe.height };
        meta.video = Some(Size { width: transcoded.width, height: transcoded.height });
        meta.duration = Some(transcoded.seconds);
        meta.fps = Some(transcoded.fps);
        meta.audio = Some(transcoded.has_audio);
        Ok(Processed { kind: MediaKind::Video, meta, blurhash: picture.blurhash.clone(), picture, video: Some(output) })
    }

    /// Writes a processed upload's files under `key`.
    pub async fn store_files(&self, key: &str, processed: &Processed) -> AppResult<()> {
        for file in &processed.picture.files {
            self.storage.put(&storage::file_path(key, file.name), file.bytes.clone()).await?;
        }
        if let Some(video) = &processed.video {
            self.storage.put_file(&storage::file_path(key, VIDEO_FILE), video).await?;
        }
        Ok(())
    }

    /// Accepts an upload that passed `inspect`: processes it now (`wait`, or a
    /// small image) or stores it for the job queue and returns it still processing.
    pub async fn accept(&self, store: &dyn Store, account: &Account, upload: Upload<'_>) -> AppResult<Media> {
        let Upload { file: upload, inspected: Inspected { format, pixels, image }, wait, description, focus } = upload;
        let key = storage::new_key();
        let inline = wait || (format.family() == Family::Image && pixels <= INLINE_PIXELS);
        if !inline {
            match image {
                Some(bytes) => self.storage.put(&storage::incoming_path(&key), bytes).await?,
                None => self.storage.put_file(&storage::incoming_path(&key), upload).await?,
            }
            let kind = if format.family() == Family::Video { MediaKind::Video } else { MediaKind::Image };
            let new = NewMedia {
                account_id: account.id,
                kind,
                state: MediaState::Processing,
                storage_key: key,
                description,
                focus,
                meta: "{}".into(),
                blurhash: None,
            };
            return Ok(store.create_media(new).await?);
        }
        let processed = match image {
            Some(bytes) => self.process_image(bytes, format).await?,
            None => self.process(format, upload).await?,
        };
        self.store_files(&key, &processed).await?;
        let new = NewMedia {
            account_id: account.id,
            kind: processed.kind,
            state: MediaState::Ready,
            storage_key: key,
            description,
            focus,
            meta: serde_json::to_string(&processed.meta).unwrap_or_default(),
            blurhash: Some(processed.blurhash),
        };
        Ok(store.create_media(new).await?)
    }

    /// The background half of `accept`: processes a stored upload and records the outcome.
    /// A file that cannot be processed marks the media failed (with its code); a fault of
    /// the server is returned so the job is tried again.
    pub async fn process_stored(&self, store: &dyn Store, media: &Media) -> AppResult<()> {
        if media.state != MediaState::Processing {
            return Ok(());
        }
        let incoming = storage::incoming_path(&media.storage_key);
        let local = self.temp_file()?.into_temp_path();
        self.storage.get_to_file(&incoming, &local).await?;
        let head = read_head(&local).await?;
        let outcome = match sniff::sniff(&head) {
            Ok(format) => self.process(format, &local).await,
            Err(refusal) => Err(refusal.into()),
        };
        let result = match outcome {
            Ok(processed) => {
                self.store_files(&media.storage_key, &processed).await?;
                MediaResult {
                    state: MediaState::Ready,
                    kind: processed.kind,
                    error: None,
                    meta: serde_json::to_string(&processed.meta).unwrap_or_default(),
                    blurhash: Some(processed.blurhash),
                }
            }
            Err(error) if error.is_internal() => return Err(error.into()),
            Err(error) => {
                tracing::info!(media.id = %media.id, code = error.code, "upload refused in processing");
                MediaResult {
                    state: MediaState::Failed,
                    kind: media.kind,
                    error: Some(error.code.to_owned()),
                    meta: "{}".into(),
                    blurhash: None,
                }
            }
        };
        store.finish_media(media.id, result).await?;
        self.storage.delete(&incoming).await
    }

    /// Deletes the files and rows of media that are due (see `Store::expired_media`); returns how many.
    pub async fn purge(&self, store: &dyn Store) -> AppResult<usize> {
        self.purge_unattached_before(store, now_ms() - UNATTACHED_TTL_MS).await
    }

    /// `purge`, with uploads never attached counted stale when made before `cutoff` (ms).
    pub async fn purge_unattached_before(&self, store: &dyn Store, cutoff: i64) -> AppResult<usize> {
        let mut purged = 0;
        loop {
            let due = store.expired_media(cutoff, 200).await?;
            if due.is_empty() {
                return Ok(purged);
            }
            for media in &due {
                self.storage.delete_key(&media.storage_key).await?;
                store.delete_media(media.id).await?;
            }
            purged += due.len();
        }
    }
}

/// The first bytes of a file, for sniffing.
pub async fn read_head(file: &std::path::Path) -> AppResult<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    let mut head = vec![0u8; sniff::SNIFF_LEN];
    let mut opened = tokio::fs::File::open(file).await.map_err(|e| AppError::Internal(format!("upload: {e}")))?;
    let mut filled = 0;
    while filled < head.len() {
        let read = opened.read(&mut head[filled..]).await.map_err(|e| AppError::Internal(format!("upload: {e}")))?;
        if read == 0 {
            break;
        }
        filled += read;
    }
    head.truncate(filled);
    Ok(head)
}

pub fn video_unavailable() -> MediaError {
    MediaError::new(
        "video_processing_unavailable",
        "This server cannot process videos right now (ffmpeg is not installed); photos still work.",
    )
}

fn picture_meta(picture: &Picture) -> MediaMeta {
    let size =
        |name: &str| picture.files.iter().find(|f| f.name == name).map(|f| Size { width: f.width, height: f.height });
    MediaMeta {
        original: Size { width: picture.width, height: picture.height },
        small: size(names::SMALL_WEBP),
        display: size(names::DISPLAY_WEBP),
        animation: size(names::ANIMATION),
        ..MediaMeta::default()
    }
}
