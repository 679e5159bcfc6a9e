//! One command line of a batch, the shell or `commands`: Commander's rules.
//!
//! - Lines with a carriage return, line feed or NUL inside are refused.
//! - Blank lines and lines starting with `#` are skipped.
//! - `q` and `quit` end the batch.
//! - A leading `@` lets the batch go on when the command fails.
//! - `sleep N` pauses N seconds (fractions allowed).
//! - The rest is split like a POSIX shell (Python's `shlex`, as Commander
//!   does) and `${name}` is expanded in each word afterwards.

use std::time::Duration;

use super::variables::{VariableError, Variables};

/// What a line asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    /// Nothing (blank or a comment).
    Skip,
    /// End the batch or shell.
    Quit,
    /// Pause.
    Sleep(Duration),
    /// Run a command.
    Command {
        /// The words, variables expanded.
        words: Vec<String>,
        /// `@`: a failure does not stop the batch.
        tolerate: bool,
    },
}

/// A line that cannot be run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LineError {
    /// CR, LF or NUL inside a line.
    #[error("refusing a command line containing a control character (CR, LF or NUL)")]
    ControlCharacter,
    /// Quotes that do not close.
    #[error("unbalanced quotes in the command line")]
    Quotes,
    /// `sleep` without a number of seconds.
    #[error("sleep takes a number of seconds, e.g. `sleep 5`")]
    Sleep,
    /// A `${name}` problem.
    #[error(transparent)]
    Variable(#[from] VariableError),
}

/// Reads one line (without its line ending).
///
/// # Errors
///
/// [`LineError`] as above.
pub fn parse(text: &str, vars: &Variables) -> Result<Line, LineError> {
    if text.contains(['\r', '\n', '\0']) {
        return Err(LineError::ControlCharacter);
    }
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return Ok(Line::Skip);
    }
    let (tolerate, rest) = match trimmed.strip_prefix('@') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, trimmed),
    };
    if matches!(rest, "q" | "quit") {
        return Ok(Line::Quit);
    }
    let words = shlex::split(rest).ok_or(LineError::Quotes)?;
    if words.first().is_some_and(|w| w == "sleep") {
        let seconds: f64 = match words.as_slice() {
            [_, n] => vars.expand(n)?.parse().map_err(|_| LineError::Sleep)?,
            _ => return Err(LineError::Sleep),
        };
        if !seconds.is_finite() || seconds < 0.0 {
            return Err(LineError::Sleep);
        }
        return Ok(Line::Sleep(Duration::from_secs_f64(seconds)));
    }
    let words = words
        .iter()
        .map(|w| vars.expand(w))
        .collect::<Result<Vec<_>, _>>()?;
    if words.is_empty() {
        return Ok(Line::Skip);
    }
    Ok(Line::Command { words, tolerate })
}

/// `text` as it may be shown in messages and logs: the values of password
/// options (`--pass`, `--password`) and of secret-looking fields
/// (`password=…`, `c.secret.pin=…`, any name with pass, secret, pin, key or
/// token in it) replaced by `****`.
pub fn redacted(text: &str) -> String {
    let Some(words) = shlex::split(text.trim()) else {
        return "<a command line with unbalanced quotes>".into();
    };
    let mut out = Vec::with_capacity(words.len());
    let mut hide_next = false;
    for word in words {
        if hide_next {
            out.push("****".to_string());
            hide_next = false;
            continue;
        }
        if matches!(word.as_str(), "--pass" | "--password") {
            hide_next = true;
            out.push(word);
            continue;
        }
        match word.split_once('=') {
            Some((name, _)) if secret_name(name) => out.push(format!("{name}=****")),
            _ => out.push(word),
        }
    }
    out.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ")
}

/// A word as this module's splitting reads it back: as is, or in single
/// quotes when it is empty or holds blanks, quotes or backslashes.
fn quote(word: &str) -> String {
    if !word.is_empty()
        && !word
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '\'' | '"' | '\\'))
    {
        return word.to_string();
    }
    format!("'{}'", word.replace('\'', r"'\''"))
}

fn secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["pass", "secret", "pin", "key", "token"]
        .iter()
        .any(|s| n.contains(s))
}

/// Joins shell continuation lines: a line ending in `\` continues on the
/// next. Returns `None` while the text still ends in a continuation.
pub fn join_continued(text: &str) -> Option<String> {
    let mut out = String::new();
    let mut lines = text.split('\n').peekable();
    while let Some(line) = lines.next() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        match line.strip_suffix('\\') {
            Some(head) => {
                out.push_str(head);
                lines.peek()?;
            }
            None => {
                out.push_str(line);
                if lines.peek().is_some() {
                    out.push(' ');
                }
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &Line) -> Vec<&str> {
        match line {
            Line::Command { words, .. } => words.iter().map(String::as_str).collect(),
            other => panic!("not a command: {other:?}"),
        }
    }

    #[test]
    fn commander_batch_rules() {
        let v = Variables::default();
        v.set("uid", "R1").expect("set");
        assert_eq!(parse("  ", &v), Ok(Line::Skip));
        assert_eq!(parse("# note", &v), Ok(Line::Skip));
        assert_eq!(parse("q", &v), Ok(Line::Quit));
        assert_eq!(parse("quit", &v), Ok(Line::Quit));
        assert_eq!(
            parse("sleep 0.5", &v),
            Ok(Line::Sleep(Duration::from_millis(500)))
        );
        assert_eq!(parse("sleep", &v), Err(LineError::Sleep));
        assert_eq!(parse("ls\0", &v), Err(LineError::ControlCharacter));
        assert_eq!(parse("get \"x", &v), Err(LineError::Quotes));
        let line = parse(
            r#"add --login=user@gmail.com --pass=somemasterpass --url=https://google.com --force "Some Record Title""#,
            &v,
        )
        .expect("parse");
        assert_eq!(words(&line)[5], "Some Record Title");
        let line = parse("@get ${uid} --format json", &v).expect("parse");
        assert!(matches!(line, Line::Command { tolerate: true, .. }));
        assert_eq!(words(&line), ["get", "R1", "--format", "json"]);
        let line =
            parse(r#"run-batch -d 10 "C:\My Drive\Keeper\commands.txt""#, &v).expect("parse");
        assert_eq!(words(&line)[3], r"C:\My Drive\Keeper\commands.txt");
        assert!(matches!(
            parse("get ${nope}", &v),
            Err(LineError::Variable(_))
        ));
    }

    #[test]
    fn redaction_hides_passwords_in_echoed_lines() {
        let shown = redacted(
            r#"add --login=user@gmail.com --pass=somemasterpass --url=https://google.com "Some Record Title""#,
        );
        assert!(!shown.contains("somemasterpass"), "{shown}");
        assert!(
            shown.contains("--pass=****") && shown.contains("'Some Record Title'"),
            "{shown}"
        );
        for line in [
            "add --pass hunter2 -t x",
            "add -t x password=hunter2",
            "edit -r x c.secret.pin=hunter2",
        ] {
            assert!(!redacted(line).contains("hunter2"), "{line}");
        }
        assert_eq!(redacted("get Web --format json"), "get Web --format json");
    }

    #[test]
    fn continuation_lines_join() {
        assert_eq!(join_continued("ls \\"), None);
        assert_eq!(
            join_continued("add -t x \\\nlogin=me").as_deref(),
            Some("add -t x login=me")
        );
        assert_eq!(join_continued("ls").as_deref(), Some("ls"));
    }
}
