//! SQL string-literal quoting for values that cannot be sent as prepared
//! statement parameters (account names and passwords in DDL).
//!
//! The connection uses utf8mb4 and Rust strings are valid UTF-8, so the
//! multi-byte charset escaping attacks (GBK/Big5/SJIS) do not apply.

use crate::error::MysqlError;

/// Quote `s` as a single-quoted SQL string literal.
///
/// With `no_backslash_escapes == false` (the default server mode) this
/// escapes `\0 \n \r \\ ' " \x1a` like `mysql_real_escape_string`. When the
/// session's `sql_mode` contains `NO_BACKSLASH_ESCAPES` a backslash is an
/// ordinary character, so only `'` is escaped (doubled). Pass the flag from
/// [`crate::Conn::no_backslash_escapes`].
pub fn quote_string(s: &str, no_backslash_escapes: bool) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if no_backslash_escapes {
            if c == '\'' {
                out.push_str("''");
            } else {
                out.push(c);
            }
            continue;
        }
        match c {
            '\0' => out.push_str("\\0"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '\x1a' => out.push_str("\\Z"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// Reject values that must not contain NUL bytes (account names, hosts,
/// passwords). `what` names the field; the value itself is never echoed.
pub fn check_no_nul(what: &str, value: &str) -> Result<(), MysqlError> {
    if value.contains('\0') {
        Err(MysqlError::InvalidInput(format!(
            "{what} contains a NUL byte"
        )))
    } else {
        Ok(())
    }
}

/// Quote an account as `'user'@'host'` for `ALTER USER`/`SET PASSWORD FOR`.
///
/// Fails with [`MysqlError::InvalidInput`] if either part contains a NUL byte
/// (rejected, never silently stripped).
pub fn quote_account(
    user: &str,
    host: &str,
    no_backslash_escapes: bool,
) -> Result<String, MysqlError> {
    check_no_nul("user name", user)?;
    check_no_nul("host", host)?;
    Ok(format!(
        "{}@{}",
        quote_string(user, no_backslash_escapes),
        quote_string(host, no_backslash_escapes)
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn backslash_mode_escapes_everything_dangerous() {
        assert_eq!(quote_string("plain", false), "'plain'");
        assert_eq!(
            quote_string("a'b\"c\\d\ne\rf\0g\x1ah", false),
            r#"'a\'b\"c\\d\ne\rf\0g\Zh'"#
        );
        assert_eq!(quote_string("x' OR '1'='1", false), r"'x\' OR \'1\'=\'1'");
        assert_eq!(quote_string("\\'", false), r"'\\\''");
        assert_eq!(quote_string("ünï 😀", false), "'ünï 😀'");
    }

    #[test]
    fn no_backslash_escapes_mode_only_doubles_quotes() {
        assert_eq!(quote_string(r"a\'b", true), r"'a\''b'");
        assert_eq!(quote_string("\"; --", true), "'\"; --'");
        assert_eq!(quote_string("''", true), "''''''");
    }

    #[test]
    fn account_quoting_and_nul_rejection() {
        assert_eq!(quote_account("u", "%", false).unwrap(), "'u'@'%'");
        assert_eq!(quote_account("o'k", "h", false).unwrap(), r"'o\'k'@'h'");
        assert_eq!(quote_account("o'k", "h", true).unwrap(), "'o''k'@'h'");
        assert!(matches!(
            quote_account("a\0b", "%", false),
            Err(MysqlError::InvalidInput(_))
        ));
        assert!(matches!(
            quote_account("a", "%\0", true),
            Err(MysqlError::InvalidInput(_))
        ));
    }
}
