//! CSRF protection for the dashboard's forms: each session has a random
//! token, put in a hidden `csrf` field of every form; a POST whose token is
//! missing or differs (compared in constant time) is refused with 403 and
//! changes nothing. Also the one parser of form bodies.

use std::collections::HashMap;

use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};

use super::layout::refusal;
use super::session::Session;
use crate::crypto::constant_time_eq;

/// A form body's fields (the first value of each name).
#[derive(Debug, Default)]
pub(crate) struct Form {
    fields: HashMap<String, String>,
}

impl Form {
    /// Parses an `application/x-www-form-urlencoded` body.
    pub(crate) fn parse(body: &[u8]) -> Self {
        let mut fields = HashMap::new();
        for (k, v) in form_urlencoded::parse(body) {
            fields
                .entry(k.into_owned())
                .or_insert_with(|| v.into_owned());
        }
        Form { fields }
    }

    /// A field's value.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

/// The hidden field every form carries.
pub(crate) fn field(session: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(session.csrf); }
}

/// `None` when the form carries the session's token; else the 403 page.
pub(crate) fn refused(session: &Session, form: &Form) -> Option<Response> {
    let given = form.get("csrf").unwrap_or_default();
    if !given.is_empty() && constant_time_eq(given.as_bytes(), session.csrf.as_bytes()) {
        return None;
    }
    Some(refusal(
        StatusCode::FORBIDDEN,
        "Refused",
        "This form was sent without this session's CSRF token (or with a wrong one), so \
         nothing was changed. Reload the page and submit the form again.",
        Some(session),
    ))
}
