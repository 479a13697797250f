//! A dashboard visitor over plain HTTP: its session cookie, kept by hand,
//! and the CSRF token read from the pages' forms.

use reqwest::header::HeaderMap;
use reqwest::{Client, StatusCode};

use super::http;

/// The password the dashboard tests start emulators with.
pub const PASSWORD: &str = "dash-pass-correct";

/// Every security header a dashboard answer carries, with its value.
pub const HEADERS: [(&str, &str); 5] = [
    (
        "content-security-policy",
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; \
         frame-ancestors 'none'; base-uri 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("cache-control", "no-store"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
];

/// An answer: status, headers, text.
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Page {
    /// The `Location` of a redirect.
    pub fn location(&self) -> &str {
        self.headers
            .get("location")
            .map(|v| v.to_str().unwrap())
            .unwrap_or_default()
    }

    /// The value of the first `name="csrf"` field.
    pub fn csrf(&self) -> String {
        let at = self
            .text
            .find("name=\"csrf\" value=\"")
            .expect("a csrf field");
        let rest = &self.text[at + 19..];
        rest[..rest.find('"').unwrap()].to_owned()
    }

    /// Panics unless every security header is there with its value.
    pub fn assert_secure(&self, what: &str) {
        for (name, value) in HEADERS {
            assert_eq!(
                self.headers.get(name).map(|v| v.to_str().unwrap()),
                Some(value),
                "{what}: {name}"
            );
        }
    }
}

/// A browser-like visitor at `base` (the emulator's root URL).
pub struct Visitor {
    pub base: String,
    pub cookie: Option<String>,
    client: Client,
}

impl Visitor {
    pub fn new(base: &str) -> Visitor {
        Visitor {
            base: base.to_owned(),
            cookie: None,
            client: http(),
        }
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Page {
        let req = match &self.cookie {
            Some(c) => req.header("cookie", c),
            None => req,
        };
        let resp = req.send().await.unwrap();
        Page {
            status: resp.status(),
            headers: resp.headers().clone(),
            text: resp.text().await.unwrap_or_default(),
        }
    }

    /// `GET {base}{path}`.
    pub async fn get(&self, path: &str) -> Page {
        self.send(self.client.get(format!("{}{path}", self.base)))
            .await
    }

    /// `GET` with extra headers.
    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Page {
        let mut req = self.client.get(format!("{}{path}", self.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req).await
    }

    /// `POST {base}{path}` with a form.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let req = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        self.send(req).await
    }

    /// Logs in with `password`; keeps the cookie when one is set.
    pub async fn login(&mut self, password: &str) -> Page {
        let page = self
            .post("/_dashboard/login", &[("password", password)])
            .await;
        if let Some(set) = page.headers.get("set-cookie") {
            let pair = set.to_str().unwrap().split(';').next().unwrap().to_owned();
            self.cookie = Some(pair);
        }
        page
    }

    /// A visitor logged in with [`PASSWORD`].
    pub async fn logged_in(base: &str) -> Visitor {
        let mut v = Visitor::new(base);
        let page = v.login(PASSWORD).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.text);
        v
    }

    /// The CSRF token of this visitor's session.
    pub async fn csrf(&self) -> String {
        self.get("/_dashboard/").await.csrf()
    }
}

/// A key as one percent-encoded path or query segment.
pub fn key_segment(key: &str) -> String {
    url::form_urlencoded::byte_serialize(key.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}
