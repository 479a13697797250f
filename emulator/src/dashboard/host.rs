//! The open dashboard's `Host` allow-list, against DNS rebinding: a page on
//! another site whose name is made to resolve to 127.0.0.1 would otherwise
//! read the no-login dashboard as its own origin (the browser sends that
//! name as `Host`). Without a password, only loopback names and addresses
//! (`localhost`, `*.localhost`, `127.0.0.0/8`, `::1`) and the public URL's
//! host are served; anything else is refused with 421 before any page or
//! session. With a password the login guards the dashboard and any `Host`
//! (a reverse proxy's name) is served.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

use super::layout::refusal;
use super::shared::Dash;

/// Refuses a request to the open dashboard under a foreign `Host`.
pub(crate) async fn check(State(dash): State<Arc<Dash>>, request: Request, next: Next) -> Response {
    if dash.auth.password_sha.is_some() {
        return next.run(request).await;
    }
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| request.uri().authority().map(|a| a.as_str()));
    if host.is_some_and(|h| allowed(h, &dash.app.base_url)) {
        return next.run(request).await;
    }
    refusal(
        StatusCode::MISDIRECTED_REQUEST,
        "Refused",
        "This dashboard has no login, so it answers only under a loopback name (localhost, \
         127.0.0.1, [::1]) or the public URL's host: the request's Host header named another \
         (a DNS rebinding attempt, or a proxy: then set --dashboard-password).",
        None,
    )
}

/// Whether `host` (a `Host` value: a name or address, maybe a port) is a
/// loopback name or address, or the host of `public_url`.
fn allowed(host: &str, public_url: &str) -> bool {
    let Some(name) = name_of(host) else {
        return false;
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if name == "localhost" || name.ends_with(".localhost") {
        return true;
    }
    let bare = name.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return ip.to_canonical().is_loopback();
    }
    url::Url::parse(public_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .is_some_and(|public| public.trim_end_matches('.') == name)
}

/// The name or address of a `Host` value, without its port; `None` when
/// it is not one (empty, or not `host[:port]`).
fn name_of(host: &str) -> Option<&str> {
    if host.starts_with('[') {
        let end = host.find(']')?;
        let rest = &host[end + 1..];
        let port_ok = rest.is_empty()
            || rest
                .strip_prefix(':')
                .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()));
        return port_ok.then_some(&host[..=end]);
    }
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        Some(_) => return None,
        None => host,
    };
    (!name.is_empty() && !name.contains(['/', '@', ' '])).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PUBLIC: &str = "http://127.0.0.1:8080";

    #[test]
    fn loopback_names_and_addresses_pass() {
        for host in [
            "localhost",
            "localhost:8080",
            "LOCALHOST.:1",
            "app.localhost:3",
            "127.0.0.1:8080",
            "127.9.9.9",
            "[::1]:8080",
            "[::1]",
            "[::ffff:127.0.0.1]:80",
        ] {
            assert!(allowed(host, PUBLIC), "{host}");
        }
    }

    #[test]
    fn other_names_fail_unless_public() {
        for host in [
            "",
            ":80",
            "evil.example",
            "evil.example:8080",
            "localhost.evil.example",
            "127.0.0.1.evil.example",
            "10.0.0.1:80",
            "[::2]:80",
            "[::1]x",
            "localhost:x",
            "a@localhost",
        ] {
            assert!(!allowed(host, PUBLIC), "{host}");
        }
        assert!(allowed("dev.example:9000", "http://dev.example:9000/"));
        assert!(allowed("DEV.example", "http://dev.example:9000/"));
    }
}
