//! Unit tests of `Error`'s `Display` and accessors.

use super::*;

#[test]
fn status_error_display_lists_messages() {
    let e = Error::Status {
        status: 404,
        messages: vec!["unknown application".into()],
        body: Box::new(Value::Null),
        raw: bytes::Bytes::new(),
        method: "GET".into(),
        url: "http://127.0.0.1:1/v1/app/x/text".into(),
    };
    assert_eq!(
        e.to_string(),
        "GET http://127.0.0.1:1/v1/app/x/text failed with HTTP 404: unknown application"
    );
    assert!(e.is_not_found());
    assert!(!e.is_unauthorized());
    assert_eq!(e.server_messages(), ["unknown application".to_string()]);
}

#[test]
fn remote_text_is_escaped_and_bounded_when_shown() {
    let e = Error::Login {
        code: "server_error\u{7}".into(),
        description: "\u{1b}[31mred\r\nforged line\u{202e}".into(),
    };
    let shown = e.to_string();
    assert_eq!(
        shown,
        "social login failed: \\u{1b}[31mred\\u{d}\\u{a}forged line\\u{202e} (server_error\\u{7})"
    );
    assert!(!shown.chars().any(char::is_control));
    let long = Error::Decode {
        what: "x".into(),
        message: "a".repeat(5000),
    };
    assert!(long.to_string().len() < 1100, "bounded");
    assert!(long.to_string().ends_with("(4000 more characters)"));
}

#[test]
fn key_errors_display() {
    let mut errors = BTreeMap::new();
    errors.insert(
        "a".to_string(),
        KeyError {
            status: 404,
            message: "key does not exist".into(),
        },
    );
    let e = Error::Keys { errors };
    assert_eq!(
        e.to_string(),
        "1 key(s) failed: \"a\": key does not exist (404)"
    );
    assert_eq!(e.key_errors().map(|m| m.len()), Some(1));
    assert_eq!(e.status(), None);
}

#[test]
fn each_predicate_names_one_variant() {
    let option = Error::invalid_option("limit", "negative");
    let argument = Error::invalid_argument("keys", "empty");
    let blocking = Error::BlockingInRuntime;
    type Predicate = fn(&Error) -> bool;
    let preds: [(&str, Predicate); 3] = [
        ("options", Error::is_invalid_options),
        ("argument", Error::is_invalid_argument),
        ("blocking", Error::is_blocking_in_runtime),
    ];
    for (i, e) in [&option, &argument, &blocking].into_iter().enumerate() {
        let hits: Vec<&str> = preds
            .iter()
            .filter(|(_, p)| p(e))
            .map(|(n, _)| *n)
            .collect();
        assert_eq!(hits, [preds[i].0], "{e}");
    }
    assert!(option.is_invalid() && argument.is_invalid() && !blocking.is_invalid());
}
