//! The content type for a file name, from its extension: a short table of
//! the types apps store most (the SDK once used `mime_guess`; this keeps
//! three crates out of the build). Unknown extensions get none, and the
//! upload falls back to `application/octet-stream`.

/// Extension (lower case) → content type.
const TYPES: &[(&str, &str)] = &[
    ("txt", "text/plain"),
    ("text", "text/plain"),
    ("log", "text/plain"),
    ("md", "text/markdown"),
    ("csv", "text/csv"),
    ("tsv", "text/tab-separated-values"),
    ("html", "text/html"),
    ("htm", "text/html"),
    ("css", "text/css"),
    ("js", "text/javascript"),
    ("mjs", "text/javascript"),
    ("json", "application/json"),
    ("xml", "text/xml"),
    ("yaml", "text/x-yaml"),
    ("yml", "text/x-yaml"),
    ("png", "image/png"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("gif", "image/gif"),
    ("webp", "image/webp"),
    ("svg", "image/svg+xml"),
    ("ico", "image/x-icon"),
    ("bmp", "image/bmp"),
    ("tif", "image/tiff"),
    ("tiff", "image/tiff"),
    ("heic", "image/heic"),
    ("pdf", "application/pdf"),
    ("zip", "application/zip"),
    ("gz", "application/gzip"),
    ("tar", "application/x-tar"),
    ("wasm", "application/wasm"),
    ("doc", "application/msword"),
    (
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    ("xls", "application/vnd.ms-excel"),
    (
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    ("ppt", "application/vnd.ms-powerpoint"),
    (
        "pptx",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ),
    ("mp3", "audio/mpeg"),
    ("wav", "audio/wav"),
    ("ogg", "audio/ogg"),
    ("m4a", "audio/mp4"),
    ("mp4", "video/mp4"),
    ("webm", "video/webm"),
    ("mov", "video/quicktime"),
    ("avi", "video/x-msvideo"),
    ("woff", "font/woff"),
    ("woff2", "font/woff2"),
    ("ttf", "font/ttf"),
    ("otf", "font/otf"),
];

/// The content type for `filename`'s extension (any case), if known.
pub(crate) fn guess(filename: &str) -> Option<&'static str> {
    let (stem, ext) = filename.rsplit_once('.')?;
    if stem.is_empty() && !filename.contains('/') {
        return None; // ".png" is a hidden file's name, not an extension.
    }
    let ext = ext.to_ascii_lowercase();
    TYPES.iter().find(|(e, _)| *e == ext).map(|(_, t)| *t)
}

#[cfg(test)]
mod tests {
    use super::guess;

    #[test]
    fn guesses_by_extension_in_any_case() {
        assert_eq!(guess("pixel.png"), Some("image/png"));
        assert_eq!(guess("Report.PDF"), Some("application/pdf"));
        assert_eq!(guess("dir.v2/data.csv"), Some("text/csv"));
        assert_eq!(guess("archive.tar.gz"), Some("application/gzip"));
        assert_eq!(guess("README"), None);
        assert_eq!(guess("blob.unknownext"), None);
        assert_eq!(guess(".png"), None);
        assert_eq!(guess("trailingdot."), None);
    }
}
