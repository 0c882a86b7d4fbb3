//! Private temporary files, for data read whole that is too large for memory:
//! a Parquet object being read, a GeoIP database or a threat list being
//! loaded. Only this process can read or write them (mode 0600).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

/// A new file only this process can read or write, in the temp directory.
pub fn private_temp_file(tag: &str) -> std::io::Result<(PathBuf, std::fs::File)> {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let path = std::env::temp_dir().join(format!(
        "siem-{}-{}-{nanos}-{tag}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).read(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(&path)?;
    Ok((path, file))
}

/// A private temporary file that is removed when dropped.
#[derive(Debug)]
pub struct TempFile {
    path: PathBuf,
}

impl TempFile {
    /// A new, empty file, open for writing.
    pub fn create(tag: &str) -> std::io::Result<(TempFile, std::fs::File)> {
        let (path, file) = private_temp_file(tag)?;
        Ok((TempFile { path }, file))
    }

    pub fn path(&self) -> &std::path::Path {
        &self.path
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
