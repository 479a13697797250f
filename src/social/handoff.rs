//! The hand-off page: how [`SystemBrowser`](super::SystemBrowser) gives the
//! browser the login URL without putting it on a command line.
//!
//! A browser launcher's arguments are readable by every local user
//! (`/proc/PID/cmdline`, `ps`), and the start URL is enough to finish the
//! login first, as someone else. So the launcher gets only the path of a
//! small HTML file, `0600` in a fresh `0700` directory, that sends the
//! browser on (a meta refresh, and `location.replace` allowed by its
//! Content-Security-Policy hash). The file is removed when the login that
//! made it ends ([`PageLease`]); pages left behind (a process that died)
//! are removed by the next login after [`PAGE_TTL`].
//!
//! The directory's parent is `$CLOUDMINE_LOGIN_PAGE_DIR` when set, else the
//! system temporary directory; see `docs/SOCIAL_LOGIN.md` for browsers that
//! cannot read it (snap-confined ones).

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

/// Where the pages' directories go instead of the temporary directory.
pub(crate) const PAGE_DIR_ENV: &str = "CLOUDMINE_LOGIN_PAGE_DIR";

/// The name every page directory starts with.
const PREFIX: &str = "cloudmine-login-";

/// How long a page may outlive its login at worst (longer than any login
/// the server keeps: ten minutes).
const PAGE_TTL: Duration = Duration::from_secs(15 * 60);

/// A page on disk: the directory (removed with it), and the SHA-256 of the
/// URL it leads to (the URL itself is not kept).
struct Page {
    url_sha256: [u8; 32],
    _dir: tempfile::TempDir,
    made: Instant,
}

/// The pages of this process.
static PAGES: Mutex<Vec<Page>> = Mutex::new(Vec::new());

fn digest(url: &str) -> [u8; 32] {
    Sha256::digest(url.as_bytes()).into()
}

fn pages() -> std::sync::MutexGuard<'static, Vec<Page>> {
    PAGES.lock().unwrap_or_else(|p| p.into_inner())
}

/// Removes the page of `url` when dropped: held by a login for as long as
/// it runs, so the page is gone when the login finishes, fails or is
/// dropped. A no-op when no page was made for `url`.
pub(crate) struct PageLease {
    url_sha256: [u8; 32],
}

impl PageLease {
    pub(crate) fn new(url: &str) -> Self {
        PageLease {
            url_sha256: digest(url),
        }
    }
}

impl Drop for PageLease {
    fn drop(&mut self) {
        // Dropping the `TempDir` removes the directory and the page.
        pages().retain(|p| p.url_sha256 != self.url_sha256);
    }
}

/// Writes the page that leads to `url`; returns its path. `Err` says why
/// it could not (the login then shows the URL instead).
pub(crate) fn write(url: &str) -> Result<PathBuf, String> {
    let parent = std::env::var_os(PAGE_DIR_ENV)
        .filter(|p| !p.is_empty())
        .map_or_else(std::env::temp_dir, PathBuf::from);
    safe_parent(&parent)?;
    let dir = private_dir(&parent)?;
    sweep(&parent, dir.path());
    let path = dir.path().join("login.html");
    write_private(&path, page(url).as_bytes())
        .map_err(|e| format!("cannot write the login page {}: {e}", path.display()))?;
    pages().push(Page {
        url_sha256: digest(url),
        _dir: dir,
        made: Instant::now(),
    });
    Ok(path)
}

/// Refuses a parent that others may write to without the sticky bit
/// (`chmod 777`, not `1777` like `/tmp`): another user could rename the
/// page's directory away and put one of theirs, with their page, in its
/// place before the browser reads it.
#[cfg(unix)]
fn safe_parent(parent: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(parent)
        .map_err(|e| format!("cannot use {}: {e}", parent.display()))?
        .permissions()
        .mode();
    if mode & 0o022 != 0 && mode & 0o1000 == 0 {
        return Err(format!(
            "{} is writable by other users and not sticky: set {PAGE_DIR_ENV} to a private directory",
            parent.display()
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn safe_parent(_parent: &Path) -> Result<(), String> {
    Ok(())
}

/// A fresh directory only this user can enter.
fn private_dir(parent: &Path) -> Result<tempfile::TempDir, String> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(PREFIX);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o700));
    }
    builder.tempdir_in(parent).map_err(|e| {
        format!(
            "cannot make a private directory in {}: {e}",
            parent.display()
        )
    })
}

/// Creates `path` (it must not exist) readable and writable by its owner
/// only, with `bytes`.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Forgets this process's pages older than [`PAGE_TTL`], and removes page
/// directories in `parent` older than that with the owner of `ours` (left
/// by a process that ended without cleaning up), and nothing else in them.
fn sweep(parent: &Path, ours: &Path) {
    pages().retain(|p| p.made.elapsed() < PAGE_TTL);
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    let now = SystemTime::now();
    for entry in entries.flatten().take(10_000) {
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with(PREFIX) {
            continue;
        }
        let Ok(meta) = entry.path().symlink_metadata() else {
            continue;
        };
        let old = meta
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .is_some_and(|age| age > PAGE_TTL);
        if old && meta.is_dir() && same_owner(&meta, ours) {
            remove_page_dir(&entry.path());
        }
    }
}

/// Removes a page directory as [`write`] leaves it: one holding nothing
/// but `login.html`. Anything else in it (a directory of the user's that
/// only shares the prefix, in `$CLOUDMINE_LOGIN_PAGE_DIR`, which may be any
/// directory) keeps it. `remove_dir_all` does not follow symbolic links.
fn remove_page_dir(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let only_a_page = entries
        .take(2)
        .all(|e| e.is_ok_and(|e| e.file_name() == "login.html"));
    if only_a_page {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// True when `meta` has the owner of `ours` (a directory this process made).
#[cfg(unix)]
fn same_owner(meta: &std::fs::Metadata, ours: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    ours.metadata().is_ok_and(|o| o.uid() == meta.uid())
}

#[cfg(not(unix))]
fn same_owner(_meta: &std::fs::Metadata, _ours: &Path) -> bool {
    true
}

/// The page: it sends the browser to `url` and holds nothing else.
fn page(url: &str) -> String {
    let script = format!("location.replace({});", js_string(url));
    let hash = STANDARD.encode(Sha256::digest(script.as_bytes()));
    let attr = html_attr(url);
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'sha256-{hash}'\">\
         <meta name=\"referrer\" content=\"no-referrer\">\
         <meta http-equiv=\"refresh\" content=\"0; url={attr}\">\
         <title>Continue to sign in</title></head>\
         <body><p><a href=\"{attr}\">Continue to sign in</a></p><script>{script}</script></body></html>\n"
    )
}

/// `text` as a JavaScript string literal that cannot end the script.
fn js_string(text: &str) -> String {
    serde_json::to_string(text)
        .unwrap_or_else(|_| "\"\"".into())
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// `text` escaped for a double-quoted HTML attribute.
fn html_attr(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_leads_to_the_url_and_allows_only_its_script() {
        let url = "http://127.0.0.1:1/v1/app/a/account/social/login?service=x&challenge=c<\"'>";
        let html = page(url);
        assert!(html.contains("url=http://127.0.0.1:1/v1/app/a/account/social/login?service=x&amp;challenge=c&lt;&quot;&#39;&gt;\""));
        let script = html
            .split("<script>")
            .nth(1)
            .unwrap()
            .split("</script>")
            .next()
            .unwrap();
        assert!(!script.contains('<') && !script.contains('>'), "{script}");
        let hash = STANDARD.encode(Sha256::digest(script.as_bytes()));
        assert!(html.contains(&format!("script-src 'sha256-{hash}'")));
        assert!(html.contains("default-src 'none'"));
    }

    #[cfg(unix)]
    #[test]
    fn a_page_is_private_and_goes_with_its_lease() {
        use std::os::unix::fs::PermissionsExt;
        let url = "http://127.0.0.1:1/lease-test";
        let lease = PageLease::new(url);
        let path = write(url).unwrap();
        let mode = |p: &Path| p.metadata().unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        assert!(std::fs::read_to_string(&path).unwrap().contains(url));
        drop(lease);
        assert!(!path.exists() && !path.parent().unwrap().exists());
    }

    /// A stale directory that only shares the prefix keeps what it holds
    /// besides a page; a stale page directory goes.
    #[cfg(unix)]
    #[test]
    fn the_sweep_removes_only_pages() {
        let parent = tempfile::tempdir().unwrap();
        let old = SystemTime::now() - PAGE_TTL * 2;
        let make_old = |dir: &Path| {
            std::fs::File::open(dir).unwrap().set_modified(old).unwrap();
        };
        let notes = parent.path().join(format!("{PREFIX}notes"));
        std::fs::create_dir(&notes).unwrap();
        std::fs::write(notes.join("important.txt"), "keep me").unwrap();
        std::fs::write(notes.join("login.html"), "a page").unwrap();
        make_old(&notes);
        let stale = parent.path().join(format!("{PREFIX}Ab12Cd"));
        std::fs::create_dir(&stale).unwrap();
        std::fs::write(stale.join("login.html"), "a page").unwrap();
        make_old(&stale);
        let ours = private_dir(parent.path()).unwrap();

        sweep(parent.path(), ours.path());
        assert!(notes.join("important.txt").exists(), "not ours to remove");
        assert!(!stale.exists(), "a stale page directory goes");
        assert!(ours.path().exists());
    }

    /// A parent others may write to without the sticky bit is refused; a
    /// sticky one (like `/tmp`) and a private one are used.
    #[cfg(unix)]
    #[test]
    fn a_parent_others_can_write_to_is_refused_unless_sticky() {
        use std::os::unix::fs::PermissionsExt;
        let parent = tempfile::tempdir().unwrap();
        let set = |mode| {
            std::fs::set_permissions(parent.path(), std::fs::Permissions::from_mode(mode)).unwrap()
        };
        for (mode, ok) in [
            (0o777, false),
            (0o770, false),
            (0o1777, true),
            (0o700, true),
        ] {
            set(mode);
            assert_eq!(safe_parent(parent.path()).is_ok(), ok, "{mode:o}");
        }
    }
}
