//! The public base URL of an emulator behind a load balancer or reverse
//! proxy: the one every instance puts in redirects, callbacks and pages, so
//! a flow started on one instance can go on at any other. Imports no
//! handler.

/// `url` checked and without its trailing `/`: `http` or `https`, a host,
/// no credentials, query, fragment or control characters. `Err` says what is wrong.
pub(crate) fn checked(url: &str) -> Result<String, String> {
    // The URL parser drops tabs and line breaks silently: a pasted value
    // with them is an operator's mistake, not a URL to guess at.
    if url.trim().chars().any(char::is_control) {
        return Err("the public URL must not hold control characters (CR, LF, tab)".into());
    }
    let parsed =
        url::Url::parse(url.trim()).map_err(|e| format!("the public URL is not a URL ({e})"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err("the public URL must start with http:// or https://".into());
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err("the public URL needs a host".into());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("the public URL must not hold credentials".into());
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err("the public URL must not have a query or a fragment".into());
    }
    Ok(parsed.as_str().trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::checked;

    #[test]
    fn public_urls_are_checked_and_trimmed() {
        assert_eq!(
            checked("https://cm.example.com/").unwrap(),
            "https://cm.example.com"
        );
        assert_eq!(
            checked("http://127.0.0.1:8080/api/").unwrap(),
            "http://127.0.0.1:8080/api"
        );
        for bad in [
            "cm.example.com",
            "ftp://cm.example.com",
            "https://user:pw@cm.example.com",
            "https://cm.example.com/?a=1",
            "https://cm.example.com/#x",
            "https://cm.example.com/\r\nSet-Cookie: a=b",
            "https://cm.exa\tmple.com",
        ] {
            assert!(checked(bad).is_err(), "{bad}");
        }
    }
}
