//! Where media files live, behind the `object_store` interface: a directory
//! under the data directory by default, any S3-compatible bucket by config.
//! Paths are built only from server-made random keys and fixed file names.

use std::ops::Range;
use std::path::Path as FsPath;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use rand::RngCore;
use tokio::io::AsyncReadExt;

use crate::config::Config;
use crate::error::{AppError, AppResult};

/// Files larger than this are written in parts.
const PART: usize = 8 * 1024 * 1024;

/// The media file store.
#[derive(Clone)]
pub struct Storage {
    inner: Arc<dyn ObjectStore>,
    /// Names the backend in logs and `/healthz`-style diagnostics.
    pub description: String,
}

/// A new random storage key: 128 bits as 32 lowercase hex digits.
pub fn new_key() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// True for strings `new_key` can make, so a request path can be checked before any lookup.
pub fn is_key(value: &str) -> bool {
    value.len() == 32 && value.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The object path of a media file: `<key>/<name>`.
pub fn file_path(key: &str, name: &str) -> Path {
    Path::from(format!("{key}/{name}"))
}

/// Where an upload waits for background processing: never served.
pub fn incoming_path(key: &str) -> Path {
    Path::from(format!("incoming/{key}"))
}

/// One file's bytes, or a range of them, as a stream.
pub struct Fetched {
    pub size: u64,
    pub range: Range<u64>,
    pub stream: BoxStream<'static, Result<Bytes, std::io::Error>>,
}

impl Storage {
    /// The store the configuration names: S3 when a bucket is set, else `<data>/media`.
    pub fn from_config(config: &Config) -> AppResult<Storage> {
        if let Some(bucket) = &config.media_s3_bucket {
            let mut builder = AmazonS3Builder::new()
                .with_bucket_name(bucket)
                .with_region(&config.media_s3_region)
                .with_virtual_hosted_style_request(false);
            if let Some(endpoint) = &config.media_s3_endpoint {
                builder = builder.with_endpoint(endpoint).with_allow_http(endpoint.starts_with("http://"));
            }
            if let Some(key) = &config.media_s3_access_key_id {
                builder = builder.with_access_key_id(key);
            }
            if let Some(secret) = &config.media_s3_secret_access_key {
                builder = builder.with_secret_access_key(secret);
            }
            let store = builder.build().map_err(|e| AppError::Internal(format!("S3 media storage: {e}")))?;
            return Ok(Storage { inner: Arc::new(store), description: format!("s3://{bucket}") });
        }
        let dir = config.data_dir.join("media");
        std::fs::create_dir_all(&dir)
            .map_err(|e| AppError::Internal(format!("cannot create media directory {}: {e}", dir.display())))?;
        let store = LocalFileSystem::new_with_prefix(&dir)
            .map_err(|e| AppError::Internal(format!("media directory {}: {e}", dir.display())))?;
        Ok(Storage { inner: Arc::new(store), description: dir.display().to_string() })
    }

    pub async fn put(&self, path: &Path, bytes: Vec<u8>) -> AppResult<()> {
        self.inner.put(path, PutPayload::from(bytes)).await.map_err(storage_error)?;
        Ok(())
    }

    /// Copies a local file into the store, in parts when it is large.
    pub async fn put_file(&self, path: &Path, file: &FsPath) -> AppResult<()> {
        let size = tokio::fs::metadata(file).await.map_err(io_error)?.len();
        if size <= PART as u64 {
            let bytes = tokio::fs::read(file).await.map_err(io_error)?;
            return self.put(path, bytes).await;
        }
        let upload = self.inner.put_multipart(path).await.map_err(storage_error)?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART);
        let mut source = tokio::fs::File::open(file).await.map_err(io_error)?;
        let mut buffer = vec![0u8; PART];
        loop {
            let read = source.read(&mut buffer).await.map_err(io_error)?;
            if read == 0 {
                break;
            }
            writer.wait_for_capacity(2).await.map_err(storage_error)?;
            writer.write(&buffer[..read]);
        }
        writer.finish().await.map_err(storage_error)?;
        Ok(())
    }

    pub async fn get(&self, path: &Path) -> AppResult<Bytes> {
        let result = self.inner.get(path).await.map_err(storage_error)?;
        result.bytes().await.map_err(storage_error)
    }

    /// Copies an object into a local file (for tools that need a path, such as ffmpeg).
    pub async fn get_to_file(&self, path: &Path, file: &FsPath) -> AppResult<()> {
        use tokio::io::AsyncWriteExt;
        let mut stream = self.inner.get(path).await.map_err(storage_error)?.into_stream();
        let mut out = tokio::fs::File::create(file).await.map_err(io_error)?;
        while let Some(chunk) = stream.next().await {
            out.write_all(&chunk.map_err(storage_error)?).await.map_err(io_error)?;
        }
        out.flush().await.map_err(io_error)?;
        Ok(())
    }

    /// A file, or the byte range `range` of it (`None`: all of it), in one request to the
    /// store. `Ok(None)` if it does not exist; an unsatisfiable range is `RangeNotSatisfiable`.
    pub async fn fetch(&self, path: &Path, range: Option<ByteRange>) -> AppResult<Option<Fetched>> {
        let wanted = match range.map(ByteRange::get_range) {
            Some(None) => return self.unsatisfiable(path, None).await,
            wanted => wanted.flatten(),
        };
        let options = GetOptions { range: wanted, ..GetOptions::default() };
        match self.inner.get_opts(path, options).await {
            Ok(result) => {
                let (size, range) = (result.meta.size, result.range.clone());
                let stream = result.into_stream().map_err(std::io::Error::other).boxed();
                Ok(Some(Fetched { size, range, stream }))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            // Stores word a range past the end differently: the file's size tells.
            Err(error) => match range {
                Some(range) => self.unsatisfiable(path, Some((range, error))).await,
                None => Err(storage_error(error)),
            },
        }
    }

    /// After a ranged read failed (or could not be asked): 416 with the file's size when
    /// the range lies outside it, `Ok(None)` when there is no file, else the read's error.
    async fn unsatisfiable(
        &self,
        path: &Path,
        failed: Option<(ByteRange, object_store::Error)>,
    ) -> AppResult<Option<Fetched>> {
        match (self.inner.head(path).await, failed) {
            (Err(object_store::Error::NotFound { .. }), _) => Ok(None),
            (Err(error), _) => Err(storage_error(error)),
            (Ok(meta), Some((range, error))) if range.resolve(meta.size).is_some() => Err(storage_error(error)),
            (Ok(meta), _) => Err(AppError::RangeNotSatisfiable(meta.size)),
        }
    }

    pub async fn delete(&self, path: &Path) -> AppResult<()> {
        match self.inner.delete(path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(storage_error(error)),
        }
    }

    /// Deletes every file under a media's key.
    pub async fn delete_key(&self, key: &str) -> AppResult<()> {
        let prefix = Path::from(key);
        let files: Vec<_> = self.inner.list(Some(&prefix)).try_collect().await.map_err(storage_error)?;
        for file in files {
            self.delete(&file.location).await?;
        }
        self.delete(&incoming_path(key)).await
    }

    /// Paths under `prefix`, for tests and diagnostics.
    pub async fn list(&self, prefix: Option<&str>) -> AppResult<Vec<String>> {
        let prefix = prefix.map(Path::from);
        let files: Vec<_> = self.inner.list(prefix.as_ref()).try_collect().await.map_err(storage_error)?;
        let mut names: Vec<String> = files.into_iter().map(|f| f.location.to_string()).collect();
        names.sort();
        Ok(names)
    }
}

/// An HTTP `Range: bytes=…` request (one range).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ByteRange {
    /// `bytes=a-b` (inclusive) or `bytes=a-`.
    From { start: u64, end: Option<u64> },
    /// `bytes=-n`: the last n bytes.
    Last(u64),
}

impl ByteRange {
    /// Parses a single-range header; anything else (several ranges, other units) is ignored,
    /// as RFC 9110 allows, and the whole file is sent.
    pub fn parse(header: &str) -> Option<ByteRange> {
        let spec = header.trim().strip_prefix("bytes=")?;
        if spec.contains(',') {
            return None;
        }
        let (start, end) = spec.split_once('-')?;
        let (start, end) = (start.trim(), end.trim());
        if start.is_empty() {
            return Some(ByteRange::Last(end.parse().ok()?));
        }
        let start = start.parse().ok()?;
        let end = if end.is_empty() { None } else { Some(end.parse().ok()?) };
        if end.is_some_and(|end| end < start) {
            return None;
        }
        Some(ByteRange::From { start, end })
    }

    /// The same request for the object store; `None` for one no file can satisfy (`bytes=-0`).
    fn get_range(self) -> Option<GetRange> {
        match self {
            ByteRange::From { start, end: None } => Some(GetRange::Offset(start)),
            ByteRange::From { start, end: Some(end) } => Some(GetRange::Bounded(start..end + 1)),
            ByteRange::Last(0) => None,
            ByteRange::Last(n) => Some(GetRange::Suffix(n)),
        }
    }

    /// The half-open byte range within a file of `size` bytes, or `None` if unsatisfiable.
    pub fn resolve(self, size: u64) -> Option<Range<u64>> {
        match self {
            ByteRange::From { start, end } => {
                (start < size).then(|| start..end.map_or(size, |end| (end + 1).min(size)))
            }
            ByteRange::Last(0) => None,
            ByteRange::Last(n) => (size > 0).then(|| size.saturating_sub(n)..size),
        }
    }
}

fn storage_error(error: object_store::Error) -> AppError {
    AppError::Internal(format!("media storage: {error}"))
}

fn io_error(error: std::io::Error) -> AppError {
    AppError::Internal(format!("media file: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(ByteRange::parse("bytes=0-99").unwrap().resolve(1000), Some(0..100));
        assert_eq!(ByteRange::parse("bytes=900-").unwrap().resolve(1000), Some(900..1000));
        assert_eq!(ByteRange::parse("bytes=-100").unwrap().resolve(1000), Some(900..1000));
        assert_eq!(ByteRange::parse("bytes=-5000").unwrap().resolve(1000), Some(0..1000));
        assert_eq!(ByteRange::parse("bytes=990-2000").unwrap().resolve(1000), Some(990..1000));
        assert_eq!(ByteRange::parse("bytes=1000-").unwrap().resolve(1000), None);
        assert_eq!(ByteRange::parse("bytes=5-1"), None);
        assert_eq!(ByteRange::parse("bytes=0-1,5-9"), None);
        assert_eq!(ByteRange::parse("items=0-1"), None);
    }

    #[test]
    fn keys_are_hex_and_checked() {
        let key = new_key();
        assert!(is_key(&key));
        assert!(!is_key("../../etc/passwd"));
        assert!(!is_key(&key.to_uppercase()));
    }
}
