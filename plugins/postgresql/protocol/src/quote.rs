//! SQL quoting for values that cannot be bound as parameters (role names
//! and stored passwords in `ALTER ROLE`).

use crate::error::{PgError, check_no_nul};

/// Quotes `name` as an identifier: `"` around it, embedded `"` doubled.
/// Always quoted, so the name is taken exactly (no case folding, keywords
/// allowed).
///
/// Fails with [`PgError::InvalidInput`] for a NUL byte.
pub fn quote_ident(name: &str) -> Result<String, PgError> {
    check_no_nul("an identifier", name)?;
    Ok(format!("\"{}\"", name.replace('"', "\"\"")))
}

/// Quotes `text` as a string literal that means the same whatever
/// `standard_conforming_strings` is: `'` doubled, and when a backslash is
/// present, the escape-string form `E'...'` with `\` doubled.
///
/// Fails with [`PgError::InvalidInput`] for a NUL byte.
pub fn quote_literal(text: &str) -> Result<String, PgError> {
    check_no_nul("a string literal", text)?;
    let quoted = text.replace('\'', "''");
    Ok(if text.contains('\\') {
        format!("E'{}'", quoted.replace('\\', "\\\\"))
    } else {
        format!("'{quoted}'")
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn identifiers_are_always_quoted_exactly() {
        assert_eq!(quote_ident("app").unwrap(), "\"app\"");
        assert_eq!(quote_ident("App").unwrap(), "\"App\"");
        assert_eq!(quote_ident("a\"b").unwrap(), "\"a\"\"b\"");
        assert_eq!(
            quote_ident("x\"; DROP ROLE y; --").unwrap(),
            "\"x\"\"; DROP ROLE y; --\""
        );
        assert_eq!(quote_ident("ünï 😀").unwrap(), "\"ünï 😀\"");
        assert!(matches!(quote_ident("a\0"), Err(PgError::InvalidInput(_))));
    }

    #[test]
    fn literals_survive_either_backslash_mode() {
        assert_eq!(quote_literal("plain").unwrap(), "'plain'");
        assert_eq!(quote_literal("o'k").unwrap(), "'o''k'");
        assert_eq!(quote_literal("a\\'b").unwrap(), "E'a\\\\''b'");
        assert!(matches!(quote_literal("\0"), Err(PgError::InvalidInput(_))));
    }
}
