//! Checks that a SQLite store file is whole before the gateway writes into it: that it is a
//! SQLite database at all, that it is not truncated, and (with `PRAGMA quick_check`) that its
//! pages hold together. It reports what is wrong; it never repairs, rewrites or deletes a file.

use crate::store::StoreError;
// Only numbers are formatted into the PRAGMAs below.
use sqlx::{AssertSqlSafe, SqlitePool};
use std::io::Read;
use std::path::Path;

/// The first 16 bytes of every SQLite database file.
const MAGIC: &[u8; 16] = b"SQLite format 3\0";
/// The size of the database header at the start of page 1.
const HEADER_LEN: usize = 100;
/// Files up to this size get a full `PRAGMA quick_check` at open: it reads every page, about
/// 0.1 s for 100k events (~60 MB), so a 512 MiB file costs around a second. Larger files get
/// the header checks only; `switchyard events verify` reads them whole.
pub const QUICK_CHECK_MAX_BYTES: u64 = 512 * 1024 * 1024;
/// The page cache quick_check reads through (KiB); pages are read once, so a cache saves
/// nothing.
const QUICK_CHECK_CACHE_KIB: u32 = 256;

/// At most this many of quick_check's findings go into the error message.
const FINDINGS_SHOWN: usize = 5;

/// A damaged-file error for `path`.
pub(crate) fn damaged(path: &Path, problem: impl Into<String>) -> StoreError {
    StoreError::Damaged {
        path: path.display().to_string(),
        problem: problem.into(),
    }
}

/// Reads the file's header, before SQLite opens it: a file that is not a SQLite database, or
/// that is shorter than its header says, is refused. A missing or empty file is fine (it is
/// created). While a non-empty write-ahead log sits beside the file, its size is not judged:
/// replaying the log may legitimately grow it.
pub(crate) fn check_header(path: &Path) -> Result<(), StoreError> {
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(damaged(path, format!("cannot be read ({e})"))),
    };
    let len = file
        .metadata()
        .map_err(|e| damaged(path, format!("cannot be read ({e})")))?
        .len();
    if len == 0 {
        return Ok(());
    }
    let mut header = [0u8; HEADER_LEN];
    let mut got = 0;
    while got < HEADER_LEN {
        match file.read(&mut header[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) => return Err(damaged(path, format!("cannot be read ({e})"))),
        }
    }
    if got < MAGIC.len() || header[..MAGIC.len()] != MAGIC[..] {
        let shown: Vec<String> = header[..got.min(8)]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        return Err(damaged(
            path,
            format!(
                "is not a SQLite database (it starts with bytes {}, not \"SQLite format 3\")",
                shown.join(" ")
            ),
        ));
    }
    if got < HEADER_LEN {
        return Err(damaged(
            path,
            format!("is truncated: it holds {len} bytes, less than the 100-byte SQLite header"),
        ));
    }
    let page_size = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65_536u64,
        n => u64::from(n),
    };
    if !page_size.is_power_of_two() || !(512..=65_536).contains(&page_size) {
        return Err(damaged(
            path,
            format!(
                "has a damaged header (page size {page_size} is not a power of two from 512 to 65536)"
            ),
        ));
    }
    if wal_has_frames(path) {
        return Ok(());
    }
    if len % page_size != 0 {
        return Err(damaged(
            path,
            format!(
                "is truncated mid-page: {len} bytes is not a whole number of {page_size}-byte pages"
            ),
        ));
    }
    let word = |at: usize| {
        u32::from_be_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
    };
    let pages = u64::from(word(28));
    // The header's page count is only meaningful when the writer that set it also stamped
    // the matching "version valid for" number (SQLite's own rule).
    if pages > 0 && word(24) == word(92) && len < pages * page_size {
        return Err(damaged(
            path,
            format!(
                "is truncated: its header says {pages} pages of {page_size} bytes ({} bytes) but the file holds {len}",
                pages * page_size
            ),
        ));
    }
    Ok(())
}

/// Whether `PATH-wal` exists and holds more than its header.
fn wal_has_frames(path: &Path) -> bool {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    std::fs::metadata(Path::new(&wal)).is_ok_and(|m| m.len() > 32)
}

/// Runs `PRAGMA quick_check` (every page read, every b-tree walked; indexes not compared
/// with their tables) when the file is at most [`QUICK_CHECK_MAX_BYTES`]. It runs on one pooled
/// connection with its page cache cut to [`QUICK_CHECK_CACHE_KIB`] and restored to
/// `cache_kib` afterwards: with the connection's own cache, reading every page left that cache
/// full (8 MiB of RSS) for the life of the process.
pub(crate) async fn quick_check(
    pool: &SqlitePool,
    path: &Path,
    cache_kib: u32,
) -> Result<(), StoreError> {
    let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    if len > QUICK_CHECK_MAX_BYTES {
        tracing::info!(
            path = %path.display(),
            bytes = len,
            "store file is large: quick_check skipped at open; `switchyard events verify` reads it whole"
        );
        return Ok(());
    }
    let failed = |e: sqlx::Error| {
        damaged(
            path,
            format!("fails its integrity check ({})", sqlite_message(&e)),
        )
    };
    let mut conn = pool.acquire().await.map_err(failed)?;
    sqlx::query(AssertSqlSafe(format!(
        "PRAGMA cache_size = -{QUICK_CHECK_CACHE_KIB}"
    )))
    .execute(&mut *conn)
    .await
    .map_err(failed)?;
    let findings: Result<Vec<String>, _> = sqlx::query_scalar("PRAGMA quick_check")
        .fetch_all(&mut *conn)
        .await;
    sqlx::query(AssertSqlSafe(format!("PRAGMA cache_size = -{cache_kib}")))
        .execute(&mut *conn)
        .await
        .map_err(failed)?;
    let findings = findings.map_err(failed)?;
    if findings.len() == 1 && findings[0] == "ok" {
        return Ok(());
    }
    let shown: Vec<&str> = findings
        .iter()
        .take(FINDINGS_SHOWN)
        .map(String::as_str)
        .collect();
    Err(damaged(
        path,
        format!(
            "is damaged: quick_check found {} problem(s): {}",
            findings.len(),
            shown.join("; ")
        ),
    ))
}

/// The SQLite extended result code of an error, if it came from SQLite.
pub(crate) fn sqlite_code(e: &sqlx::Error) -> Option<i32> {
    match e {
        sqlx::Error::Database(db) => db
            .try_downcast_ref::<sqlx::sqlite::SqliteError>()
            .and_then(sqlx::error::DatabaseError::code)
            .and_then(|c| c.parse().ok()),
        _ => None,
    }
}

/// SQLite's message for an error, without sqlx's wrapping.
pub(crate) fn sqlite_message(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => db.message().to_owned(),
        other => other.to_string(),
    }
}

/// What a SQLite result code says about the file, for codes that mean it is damaged.
pub(crate) fn damage_of(code: i32) -> Option<&'static str> {
    match code & 0xff {
        26 => Some("is not a SQLite database (SQLite: file is not a database)"),
        11 => Some("is damaged (SQLite: database disk image is malformed)"),
        // SQLITE_IOERR_SHORT_READ: a page the file should hold is missing.
        10 if code == 522 => Some("is truncated (SQLite read past its end)"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn file(name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "switchyard-integrity-{}-{}",
            std::process::id(),
            crate::event::now_ms()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn headers_are_judged_without_opening_the_file() {
        assert!(check_header(Path::new("/nonexistent/switchyard.db")).is_ok());
        assert!(check_header(&file("empty.db", b"")).is_ok());
        let text = check_header(&file("text.db", b"hello, I am a text file\n"))
            .unwrap_err()
            .to_string();
        assert!(text.contains("is not a SQLite database"), "{text}");
        assert!(text.contains("68 65 6c 6c"), "{text}");
        let short = check_header(&file("short.db", b"SQLite format 3\0abc"))
            .unwrap_err()
            .to_string();
        assert!(
            short.contains("less than the 100-byte SQLite header"),
            "{short}"
        );
        // A valid header claiming 4 pages of 4096 bytes, on a 2-page file.
        let mut page = vec![0u8; 8192];
        page[..16].copy_from_slice(MAGIC);
        page[16..18].copy_from_slice(&4096u16.to_be_bytes());
        page[28..32].copy_from_slice(&4u32.to_be_bytes());
        page[24..28].copy_from_slice(&7u32.to_be_bytes());
        page[92..96].copy_from_slice(&7u32.to_be_bytes());
        let cut = check_header(&file("cut.db", &page))
            .unwrap_err()
            .to_string();
        assert!(cut.contains("header says 4 pages"), "{cut}");
        let mid = check_header(&file("mid.db", &page[..6000]))
            .unwrap_err()
            .to_string();
        assert!(mid.contains("truncated mid-page"), "{mid}");
    }
}
