//! The CI rule of `support::skip`: which values of `$CI` make a missing
//! dependency a failure instead of a visible skip.

#[allow(dead_code)]
#[path = "support/skip.rs"]
mod skip;

#[test]
fn ci_is_any_value_but_empty_false_or_zero() {
    for ci in ["true", "TRUE", "1", "yes", "github", "False-ish", "on"] {
        assert!(skip::is_ci_value(Some(ci)), "{ci:?} means CI");
    }
    for not in [
        None,
        Some(""),
        Some(" "),
        Some("0"),
        Some("false"),
        Some("FALSE"),
        Some("False"),
    ] {
        assert!(!skip::is_ci_value(not), "{not:?} is not CI");
    }
}
