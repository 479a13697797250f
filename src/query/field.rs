//! The one rule for a field name in CloudMine's query language, as the
//! emulator's parser reads it: parts of letters, digits, `_` and `-`, not
//! starting with a digit or `-`, joined by `.`. The language has no way to
//! quote a name, so anything else is refused.

use crate::error::{Error, Result};

/// Checks a field name or dotted path (`make`, `place.location`, `__id__`);
/// one the query language cannot write is [`Error::InvalidArgument`] for
/// `argument`.
pub(crate) fn check_path(argument: &'static str, path: &str) -> Result<()> {
    let part_ok = |p: &str| {
        p.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    if path.split('.').all(part_ok) {
        return Ok(());
    }
    Err(Error::invalid_argument(
        argument,
        format!(
            "{path:?} is not a field name: letters, digits, `_` and `-`, not starting with a \
             digit, parts joined by `.` (CloudMine's query language cannot quote a name)"
        ),
    ))
}
