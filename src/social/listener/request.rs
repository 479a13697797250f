//! What the loopback listener makes of the bytes of one request head: a
//! pure, panic-free decision with no socket, so it can be fuzzed.
//!
//! [`judge`] is called with everything read so far. It answers
//! [`Verdict::Incomplete`] while more bytes could still make a request, and
//! decides as early as the bytes allow: a request line longer than the URL
//! limit is refused before its end arrives, an `HTTP/2.0` line before any
//! header, a head over the size cap before its blank line.

use super::super::pkce::constant_time_eq;

/// The longest request target the listener accepts; longer ones get 414.
pub(crate) const MAX_URL_BYTES: usize = 2048;
/// The longest method token (`OPTIONS` is 7; anything near this is junk).
const MAX_METHOD_BYTES: usize = 16;
/// The longest request line: method, target, version, spaces and CRLF.
pub(crate) const MAX_LINE_BYTES: usize = MAX_METHOD_BYTES + 1 + MAX_URL_BYTES + 1 + 8 + 2;
/// The most bytes a whole head (request line and headers) may take; more
/// gets 431. Browsers send every cookie of `127.0.0.1` (of any port), so
/// this leaves room for a few.
pub(crate) const MAX_HEAD_BYTES: usize = 16 * 1024;

/// What a callback must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Expected {
    /// The listener's port (the `Host` header must name it).
    pub(crate) port: u16,
    /// The query parameter holding the value (`challenge` or `state`).
    pub(crate) param: &'static str,
    /// The value; compared in constant time.
    pub(crate) value: String,
}

/// What the browser brought back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Callback {
    /// The browser came back: CloudMine finished the login (ask the status
    /// endpoint), or the OAuth provider sent its authorization `code`.
    Done { code: Option<String> },
    /// The provider or the server refused (`error=…`).
    Failed { code: String, description: String },
}

/// The decision about one request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Not a whole head yet, and nothing wrong so far: read on.
    Incomplete,
    /// The login's callback, with the expected value.
    Callback(Callback),
    /// Anything else: answer `status` with `why` and close.
    Refuse { status: u16, why: &'static str },
}

fn refuse(status: u16, why: &'static str) -> Verdict {
    Verdict::Refuse { status, why }
}

/// Decides what the bytes read so far are (see the module docs).
pub(crate) fn judge(bytes: &[u8], expect: &Expected) -> Verdict {
    let bare_lf =
        bytes.first() == Some(&b'\n') || bytes.windows(2).any(|w| w[1] == b'\n' && w[0] != b'\r');
    if bare_lf {
        return refuse(400, "The request is malformed.");
    }
    let Some(line_end) = find(bytes, b"\r\n") else {
        return if bytes.len() > MAX_LINE_BYTES {
            refuse(414, "The address is too long.")
        } else {
            Verdict::Incomplete
        };
    };
    let line = match request_line(&bytes[..line_end]) {
        Ok(line) => line,
        Err(refusal) => return refusal,
    };
    let rest = &bytes[line_end + 2..];
    // The blank line that ends the head: right away (no headers), or after
    // the last header's CRLF.
    let headers = if rest.starts_with(b"\r\n") {
        &rest[..0]
    } else if let Some(end) = find(rest, b"\r\n\r\n") {
        &rest[..end + 2]
    } else {
        return if bytes.len() > MAX_HEAD_BYTES {
            refuse(431, "The request headers are too large.")
        } else {
            Verdict::Incomplete
        };
    };
    if line_end + 2 + headers.len() + 2 > MAX_HEAD_BYTES {
        return refuse(431, "The request headers are too large.");
    }
    match host(headers) {
        Err(refusal) => refusal,
        Ok(host) if !host_is_ours(host, expect.port) => {
            refuse(400, "This address is not the one this app listens on.")
        }
        Ok(_) => route(&line, expect),
    }
}

/// A parsed request line.
struct Line<'a> {
    method: &'a [u8],
    target: &'a str,
}

fn request_line(line: &[u8]) -> Result<Line<'_>, Verdict> {
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(refuse(400, "The request is malformed."));
    };
    if method.is_empty() || method.len() > MAX_METHOD_BYTES || !method.iter().all(is_tchar) {
        return Err(refuse(400, "The request is malformed."));
    }
    match version {
        b"HTTP/1.1" | b"HTTP/1.0" => {}
        v if v.starts_with(b"HTTP/") => {
            return Err(refuse(505, "Only HTTP/1.1 is spoken here."));
        }
        _ => return Err(refuse(400, "The request is malformed.")),
    }
    if target.len() > MAX_URL_BYTES {
        return Err(refuse(414, "The address is too long."));
    }
    if !target.starts_with(b"/") || !target.iter().all(|b| (0x21..0x7f).contains(b)) {
        return Err(refuse(400, "The request is malformed."));
    }
    // Visible ASCII only (checked above), so this cannot fail.
    let Ok(target) = std::str::from_utf8(target) else {
        return Err(refuse(400, "The request is malformed."));
    };
    Ok(Line { method, target })
}

/// The one `Host` header's value, from header lines each ending in CRLF.
fn host(headers: &[u8]) -> Result<&[u8], Verdict> {
    let malformed = || refuse(400, "The request headers are malformed.");
    let mut host = None;
    for line in headers.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let line = line.strip_suffix(b"\r").ok_or_else(malformed)?;
        let colon = line.iter().position(|&b| b == b':').ok_or_else(malformed)?;
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        if name.is_empty() || !name.iter().all(is_tchar) {
            return Err(malformed());
        }
        if value.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
            return Err(malformed());
        }
        if name.eq_ignore_ascii_case(b"host") {
            if host.is_some() {
                return Err(refuse(400, "The request has two Host headers."));
            }
            host = Some(value.trim_ascii());
        }
    }
    host.ok_or_else(|| refuse(400, "This address is not the one this app listens on."))
}

fn host_is_ours(host: &[u8], port: u16) -> bool {
    let port = port.to_string();
    let Some(name) = host
        .strip_suffix(port.as_bytes())
        .and_then(|h| h.strip_suffix(b":"))
    else {
        return false;
    };
    name == b"127.0.0.1" || name.eq_ignore_ascii_case(b"localhost")
}

/// Path, method, then the expected value: the callback or a refusal.
fn route(line: &Line<'_>, expect: &Expected) -> Verdict {
    let (path, query) = line.target.split_once('?').unwrap_or((line.target, ""));
    if path != "/callback" {
        return refuse(404, "Nothing here.");
    }
    if line.method != b"GET" {
        return refuse(405, "Only GET is accepted here.");
    }
    let mut values = Vec::new();
    let (mut error, mut description, mut code) = (None, None, None);
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match name.as_ref() {
            n if n == expect.param => values.push(value.into_owned()),
            "code" => code = Some(value.into_owned()),
            "error" => error = Some(value.into_owned()),
            "error_description" => description = Some(value.into_owned()),
            _ => {}
        }
    }
    // Exactly one value, and the right one: a missing one is a refusal too.
    if !matches!(values.as_slice(), [v] if constant_time_eq(v, &expect.value)) {
        return refuse(400, "This sign-in link is not for this login.");
    }
    Verdict::Callback(match error {
        Some(code) => Callback::Failed {
            description: description.unwrap_or_else(|| code.clone()),
            code,
        },
        None => Callback::Done { code },
    })
}

/// RFC 9110 token characters.
fn is_tchar(b: &u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(b)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expect() -> Expected {
        Expected {
            port: 4321,
            param: "challenge",
            value: "abc".into(),
        }
    }

    fn status(bytes: &[u8]) -> u16 {
        match judge(bytes, &expect()) {
            Verdict::Refuse { status, .. } => status,
            Verdict::Callback(_) => 200,
            Verdict::Incomplete => 0,
        }
    }

    #[test]
    fn decides_as_early_as_the_bytes_allow() {
        assert_eq!(status(b""), 0);
        assert_eq!(status(b"GET /callback?challenge=abc HTTP/1.1\r\n"), 0);
        assert_eq!(status(b"GET / HTTP/2.0\r\n"), 505, "before any header");
        assert_eq!(status(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 505);
        assert_eq!(
            status(&[b'a'; MAX_LINE_BYTES + 1]),
            414,
            "before the line ends"
        );
        let mut big = b"GET / HTTP/1.1\r\n".to_vec();
        big.extend(std::iter::repeat_n(b"X-A: b\r\n".as_slice(), 3000).flatten());
        assert_eq!(status(&big), 431, "before the blank line");
        assert_eq!(status(b"GET / HTTP/1.1\nHost: x\n\n"), 400, "bare LF");
        assert_eq!(status(b"\n"), 400);
    }

    #[test]
    fn only_the_callback_with_the_value_completes() {
        let ok = b"GET /callback?challenge=abc HTTP/1.1\r\nHost: 127.0.0.1:4321\r\n\r\n";
        assert_eq!(
            judge(ok, &expect()),
            Verdict::Callback(Callback::Done { code: None })
        );
        assert_eq!(
            status(b"GET /callback?challenge=abc HTTP/1.1\r\nhost: LOCALHOST:4321\r\n\r\n"),
            200
        );
        for (bytes, want) in [
            (&b"GET /callback?challenge=abd HTTP/1.1\r\nHost: 127.0.0.1:4321\r\n\r\n"[..], 400),
            (b"GET /callback?challenge=abc HTTP/1.1\r\nHost: 127.0.0.1:14321\r\n\r\n", 400),
            (b"GET /callback?challenge=abc HTTP/1.1\r\nHost: 127.0.0.1:4321\r\nHost: 127.0.0.1:4321\r\n\r\n", 400),
            (b"GET /callback?challenge=abc HTTP/1.1\r\n\r\n", 400),
            (b"POST /callback?challenge=abc HTTP/1.1\r\nHost: 127.0.0.1:4321\r\n\r\n", 405),
            (b"GET /x?challenge=abc HTTP/1.1\r\nHost: 127.0.0.1:4321\r\n\r\n", 404),
            (b"GET http://127.0.0.1:4321/callback?challenge=abc HTTP/1.1\r\nHost: 127.0.0.1:4321\r\n\r\n", 400),
            (b"GET /callback?challenge=abc HTTP/1.1\r\nHost 127.0.0.1:4321\r\n\r\n", 400),
            (b"GET /callback?challenge=abc HTTP/1.1\r\nHost: 127.0.0.1:4321\r\n folded\r\n\r\n", 400),
            (b"GET  /callback?challenge=abc HTTP/1.1\r\nHost: 127.0.0.1:4321\r\n\r\n", 400),
            (b"GET /callback?challenge=abc\x01 HTTP/1.1\r\nHost: 127.0.0.1:4321\r\n\r\n", 400),
            (b"GET /callback?challenge=abc HTTP/1.1\r\nHost: 127.0.0.1:4321\x00\r\n\r\n", 400),
        ] {
            assert_eq!(status(bytes), want, "{}", String::from_utf8_lossy(bytes));
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // A cheap stand-in for the fuzz target: every prefix of some heads,
        // and every single-byte change of one.
        let good = b"GET /callback?challenge=abc&error=x HTTP/1.1\r\nHost: 127.0.0.1:4321\r\n\r\n";
        for end in 0..=good.len() {
            let _ = judge(&good[..end], &expect());
        }
        for i in 0..good.len() {
            for b in [0u8, b'\r', b'\n', b' ', b':', b'?', 0x80, 0xff] {
                let mut bytes = good.to_vec();
                bytes[i] = b;
                let _ = judge(&bytes, &expect());
            }
        }
    }
}
