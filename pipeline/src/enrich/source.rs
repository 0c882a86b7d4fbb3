//! Where enrichment data comes from, and how it is swapped in when it changes.
//!
//! A [`Location`] is a local path or an `s3://bucket/key` URL. A
//! [`Reloadable`] holds the data loaded from one location behind an
//! `ArcSwapOption`: readers take a snapshot per record without locking, and a
//! reload builds the new value off to the side (on a blocking thread) and
//! swaps it in whole, so records are never paused and never see half a list.
//! A change is noticed by the file's modification time and length, or by the
//! S3 object's ETag and Last-Modified, checked every `enrich.reload_interval_secs`.
//!
//! A location that cannot be read leaves the previous data in place (or none:
//! the enricher then does nothing) and is warned about once per distinct error,
//! never per record.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use arc_swap::{ArcSwapOption, Guard};
use futures::future::BoxFuture;
use tracing::{info, warn};

/// A local file or an S3 object holding enrichment data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Local(PathBuf),
    S3 { bucket: String, key: String },
}

impl Location {
    /// `s3://bucket/key`, or anything else as a local path.
    pub fn parse(text: &str) -> Result<Location, String> {
        if text.is_empty() {
            return Err("is empty".into());
        }
        match text.strip_prefix("s3://") {
            None => Ok(Location::Local(PathBuf::from(text))),
            Some(rest) => match rest.split_once('/') {
                Some((bucket, key)) if !bucket.is_empty() && !key.is_empty() => Ok(Location::S3 {
                    bucket: bucket.to_owned(),
                    key: key.to_owned(),
                }),
                _ => Err(format!("{text:?} is not an s3://bucket/key URL")),
            },
        }
    }

    /// The last path segment: the default provider name of a threat list.
    pub fn file_name(&self) -> String {
        let full = match self {
            Location::Local(p) => p.to_string_lossy().into_owned(),
            Location::S3 { key, .. } => key.clone(),
        };
        full.rsplit('/').next().unwrap_or(&full).to_owned()
    }

    pub fn is_s3(&self) -> bool {
        matches!(self, Location::S3 { .. })
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Local(p) => write!(f, "{}", p.display()),
            Location::S3 { bucket, key } => write!(f, "s3://{bucket}/{key}"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{location}: {source}")]
    Io {
        location: String,
        source: std::io::Error,
    },
    #[error("{location}: {message}")]
    S3 { location: String, message: String },
    #[error(
        "{location}: no S3 client (the `normalize` command reads s3:// sources only with --config)"
    )]
    NoS3Client { location: String },
    #[error("{location}: {message}")]
    Load { location: String, message: String },
}

/// What identifies one version of a location's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stamp {
    Local {
        modified: Option<SystemTime>,
        len: u64,
    },
    S3 {
        etag: Option<String>,
        last_modified: Option<String>,
    },
}

/// A readable local copy of a location: the file itself, or a private
/// temporary download that is removed when dropped.
#[derive(Debug)]
pub struct LocalCopy {
    path: PathBuf,
    temporary: bool,
}

impl LocalCopy {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for LocalCopy {
    fn drop(&mut self) {
        if self.temporary {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

pub use crate::temp_file::private_temp_file;

/// Reads locations: local files directly, S3 objects with the pipeline's
/// S3 client.
#[derive(Debug, Clone, Default)]
pub struct Fetcher {
    pub s3: Option<aws_sdk_s3::Client>,
}

impl Fetcher {
    pub async fn stamp(&self, location: &Location) -> Result<Stamp, SourceError> {
        match location {
            Location::Local(path) => {
                let meta = tokio::fs::metadata(path)
                    .await
                    .map_err(|source| SourceError::Io {
                        location: location.to_string(),
                        source,
                    })?;
                Ok(Stamp::Local {
                    modified: meta.modified().ok(),
                    len: meta.len(),
                })
            }
            Location::S3 { bucket, key } => {
                let client = self.s3(location)?;
                let head = client
                    .head_object()
                    .bucket(bucket)
                    .key(key)
                    .send()
                    .await
                    .map_err(|e| SourceError::S3 {
                        location: location.to_string(),
                        message: aws_sdk_s3::error::DisplayErrorContext(e).to_string(),
                    })?;
                Ok(Stamp::S3 {
                    etag: head.e_tag,
                    last_modified: head.last_modified.map(|t| t.to_string()),
                })
            }
        }
    }

    /// A local copy of the location's current content.
    pub async fn fetch(&self, location: &Location) -> Result<LocalCopy, SourceError> {
        match location {
            Location::Local(path) => Ok(LocalCopy {
                path: path.clone(),
                temporary: false,
            }),
            Location::S3 { bucket, key } => {
                let client = self.s3(location)?;
                let s3_error = |message: String| SourceError::S3 {
                    location: location.to_string(),
                    message,
                };
                let io_error = |source| SourceError::Io {
                    location: location.to_string(),
                    source,
                };
                let mut object = client
                    .get_object()
                    .bucket(bucket)
                    .key(key)
                    .send()
                    .await
                    .map_err(|e| s3_error(aws_sdk_s3::error::DisplayErrorContext(e).to_string()))?;
                let (path, file) = private_temp_file("download").map_err(io_error)?;
                // Removed on every early return from here on.
                let copy = LocalCopy {
                    path,
                    temporary: true,
                };
                let mut file = tokio::fs::File::from_std(file);
                while let Some(chunk) = object.body.next().await {
                    let chunk = chunk.map_err(|e| s3_error(e.to_string()))?;
                    tokio::io::AsyncWriteExt::write_all(&mut file, &chunk)
                        .await
                        .map_err(io_error)?;
                }
                tokio::io::AsyncWriteExt::flush(&mut file)
                    .await
                    .map_err(io_error)?;
                Ok(copy)
            }
        }
    }

    fn s3(&self, location: &Location) -> Result<&aws_sdk_s3::Client, SourceError> {
        self.s3.as_ref().ok_or_else(|| SourceError::NoS3Client {
            location: location.to_string(),
        })
    }
}

type Loader<T> = Arc<dyn Fn(&Path) -> Result<T, String> + Send + Sync>;

/// What a refresh did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refresh {
    Unchanged,
    Loaded,
    Failed(String),
}

/// Data loaded from a [`Location`], replaced whole when the location changes.
pub struct Reloadable<T> {
    /// The config key it comes from (`enrich.geoip_city`), for logs.
    what: String,
    location: Location,
    current: ArcSwapOption<T>,
    stamp: Mutex<Option<Stamp>>,
    last_error: Mutex<Option<String>>,
    load: Loader<T>,
}

impl<T> fmt::Debug for Reloadable<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reloadable")
            .field("what", &self.what)
            .field("location", &self.location)
            .field("loaded", &self.current.load().is_some())
            .finish()
    }
}

impl<T: Send + Sync + 'static> Reloadable<T> {
    /// Nothing loaded yet: [`Reloadable::refresh`] loads it.
    pub fn new(
        what: impl Into<String>,
        location: Location,
        load: impl Fn(&Path) -> Result<T, String> + Send + Sync + 'static,
    ) -> Self {
        Reloadable {
            what: what.into(),
            location,
            current: ArcSwapOption::empty(),
            stamp: Mutex::new(None),
            last_error: Mutex::new(None),
            load: Arc::new(load),
        }
    }

    /// Data already at hand (tests, benches): never refreshed from anywhere.
    pub fn fixed(what: impl Into<String>, value: T) -> Self {
        let r = Reloadable::new(what, Location::Local(PathBuf::new()), |_| {
            Err("fixed data".into())
        });
        r.replace(value);
        r
    }

    /// A snapshot of the current data: cheap, lock-free, and unaffected by a
    /// swap that happens while it is held.
    pub fn get(&self) -> Guard<Option<Arc<T>>> {
        self.current.load()
    }

    /// Swaps in new data at once.
    pub fn replace(&self, value: T) {
        self.current.store(Some(Arc::new(value)));
    }

    pub fn location(&self) -> &Location {
        &self.location
    }

    /// Loads the location's content when it changed since the last load.
    /// Errors keep the previous data and are logged once per distinct error.
    pub async fn refresh(&self, fetcher: &Fetcher) -> Refresh {
        let result = self.try_refresh(fetcher).await;
        let mut last_error = self.last_error.lock().unwrap_or_else(|p| p.into_inner());
        match result {
            Ok(r) => {
                *last_error = None;
                r
            }
            Err(error) => {
                let message = error.to_string();
                if last_error.as_deref() != Some(message.as_str()) {
                    let loaded = self.current.load().is_some();
                    if loaded {
                        warn!(key = %self.what, %error, "cannot reload enrichment data; keeping the previous version");
                    } else {
                        warn!(key = %self.what, %error, "enrichment data unavailable; this enricher is off until it can be read");
                    }
                    super::metrics::reload(&self.what, "failed");
                    *last_error = Some(message.clone());
                }
                Refresh::Failed(message)
            }
        }
    }

    async fn try_refresh(&self, fetcher: &Fetcher) -> Result<Refresh, SourceError> {
        let stamp = fetcher.stamp(&self.location).await?;
        if self
            .stamp
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            == Some(&stamp)
        {
            return Ok(Refresh::Unchanged);
        }
        let copy = fetcher.fetch(&self.location).await?;
        let load = self.load.clone();
        let location = self.location.to_string();
        let value = tokio::task::spawn_blocking(move || {
            let value = load(copy.path());
            drop(copy);
            value
        })
        .await
        .map_err(|e| SourceError::Load {
            location: location.clone(),
            message: format!("loading panicked: {e}"),
        })?
        .map_err(|message| SourceError::Load { location, message })?;
        self.replace(value);
        *self.stamp.lock().unwrap_or_else(|p| p.into_inner()) = Some(stamp);
        info!(key = %self.what, location = %self.location, "enrichment data loaded");
        super::metrics::reload(&self.what, "loaded");
        Ok(Refresh::Loaded)
    }
}

/// A [`Reloadable`] of any type, for the watcher.
pub trait Refreshable: Send + Sync {
    fn refresh<'a>(&'a self, fetcher: &'a Fetcher) -> BoxFuture<'a, Refresh>;
}

impl<T: Send + Sync + 'static> Refreshable for Reloadable<T> {
    fn refresh<'a>(&'a self, fetcher: &'a Fetcher) -> BoxFuture<'a, Refresh> {
        Box::pin(Reloadable::refresh(self, fetcher))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_urls_name_a_bucket_and_a_key_and_anything_else_is_a_path() {
        assert_eq!(
            Location::parse("s3://ti/feeds/stix.json"),
            Ok(Location::S3 {
                bucket: "ti".into(),
                key: "feeds/stix.json".into()
            })
        );
        assert_eq!(
            Location::parse("/data/x.mmdb"),
            Ok(Location::Local("/data/x.mmdb".into()))
        );
        assert!(Location::parse("s3://bucket-only").is_err());
        assert_eq!(
            Location::parse("s3://ti/feeds/stix.json").map(|l| l.file_name()),
            Ok("stix.json".into())
        );
    }

    #[tokio::test]
    async fn a_changed_file_is_reloaded_and_an_unreadable_one_keeps_the_previous_data() {
        let (path, _) = private_temp_file("reload-test.txt").expect("temp file");
        std::fs::write(&path, "v1").expect("write");
        let r = Reloadable::new("test", Location::Local(path.clone()), |p: &Path| {
            std::fs::read_to_string(p).map_err(|e| e.to_string())
        });
        let fetcher = Fetcher::default();
        assert_eq!(r.refresh(&fetcher).await, Refresh::Loaded);
        assert_eq!(r.refresh(&fetcher).await, Refresh::Unchanged);
        std::fs::write(&path, "v2, longer").expect("rewrite");
        assert_eq!(r.refresh(&fetcher).await, Refresh::Loaded);
        assert_eq!(r.get().as_deref().map(String::as_str), Some("v2, longer"));
        std::fs::remove_file(&path).expect("remove");
        assert!(matches!(r.refresh(&fetcher).await, Refresh::Failed(_)));
        assert_eq!(r.get().as_deref().map(String::as_str), Some("v2, longer"));
    }

    #[tokio::test]
    async fn an_s3_location_without_a_client_is_an_error_not_a_panic() {
        let r = Reloadable::new(
            "test",
            Location::parse("s3://b/k").expect("url"),
            |_: &Path| Ok(()),
        );
        assert!(
            matches!(r.refresh(&Fetcher::default()).await, Refresh::Failed(m) if m.contains("s3://b/k"))
        );
        assert!(r.get().is_none());
    }

    #[test]
    fn a_snapshot_taken_before_a_swap_keeps_the_old_data() {
        let r = Reloadable::fixed("test", 1);
        let before = r.get();
        r.replace(2);
        assert_eq!(before.as_deref(), Some(&1));
        assert_eq!(r.get().as_deref(), Some(&2));
    }
}
