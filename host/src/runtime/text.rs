//! Text a plugin hands the host, made safe to show a person.
//!
//! A plugin's error messages, log lines, panic messages, descriptions,
//! names and an importer's skipped-item reasons end up in tables, JSON,
//! logs and terminals. Escape sequences in them could rewrite the screen
//! (ESC, CSI, alternate screen), set the window title or the clipboard
//! (OSC 52), ring the bell, move the cursor back over a line (CR, BS), or
//! forge a log line (LF); bidirectional overrides can make text read other
//! than it is. [`escape_controls`] is applied once, where such text enters
//! the host (`runtime::plugin`, `capability::log`, `manifest`), so no print
//! site has to remember it. Data an importer hands over (titles, folder
//! paths, member names) is the user's and is stored exactly as the source
//! gave it; it is escaped where it is printed instead (`output::table`
//! with [`escaped_lines`], `tree`, an import's plan and what `--users` did
//! not apply).

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` must not reach a terminal as it is: C0 and C1 control
/// characters and DEL (`char::is_control`), the Unicode line and paragraph
/// separators, and the bidirectional formatting characters.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}'  // line / paragraph separator
            | '\u{061c}' | '\u{200e}' | '\u{200f}'  // bidi marks
            | '\u{202a}'..='\u{202e}'  // bidi embeddings and overrides
            | '\u{2066}'..='\u{2069}' // bidi isolates
        )
}

/// `text` with every unsafe character written as a visible escape: `\n`,
/// `\r`, `\t`, else `\u{1b}` style. Text without any is borrowed as is.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if !is_unsafe(c) {
            out.push(c);
        } else if matches!(c, '\n' | '\r' | '\t') {
            let _ = write!(out, "{}", c.escape_debug());
        } else {
            let _ = write!(out, "{}", c.escape_unicode());
        }
    }
    Cow::Owned(out)
}

/// [`escape_controls`] into an owned string.
pub fn escaped(text: &str) -> String {
    escape_controls(text).into_owned()
}

/// [`escape_controls`] of each line of `text`, its line breaks kept: for
/// a table cell, which may span lines but must not reach the terminal
/// with any other control or bidirectional character.
pub fn escaped_lines(text: &str) -> String {
    text.split('\n')
        .map(escape_controls)
        .collect::<Vec<_>>()
        .join("\n")
}

/// [`escape_controls`] applied in place.
pub fn escape_in_place(text: &mut String) {
    if let Cow::Owned(escaped) = escape_controls(text) {
        *text = escaped;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_controls_are_escaped() {
        let cases = [
            ("\x1b[2J\x1b[H", "\\u{1b}[2J\\u{1b}[H"), // clear screen
            ("\x1b]52;c;aGk=\x07", "\\u{1b}]52;c;aGk=\\u{7}"), // OSC 52 clipboard
            ("\x1b[?1049h", "\\u{1b}[?1049h"),        // alternate screen
            ("ok\rforged", "ok\\rforged"),
            ("one\nINFO forged line", "one\\nINFO forged line"),
            ("tab\there", "tab\\there"),
            ("bell\x07", "bell\\u{7}"),
            ("\u{9b}31m", "\\u{9b}31m"),   // C1 CSI
            ("\u{85}next", "\\u{85}next"), // C1 NEL
            ("del\x7f", "del\\u{7f}"),
            ("nul\0", "nul\\u{0}"),
            ("a\u{2028}b", "a\\u{2028}b"),
            ("evil\u{202e}txt.exe", "evil\\u{202e}txt.exe"),
        ];
        for (input, expected) in cases {
            assert_eq!(escape_controls(input), expected, "{input:?}");
        }
    }

    #[test]
    fn a_cells_lines_are_kept_and_its_controls_escaped() {
        assert_eq!(
            escaped_lines("a\tb\u{200f}\nc\u{1b}[2J\r"),
            "a\\tb\\u{200f}\nc\\u{1b}[2J\\r"
        );
        assert_eq!(escaped_lines("one\ntwo"), "one\ntwo");
    }

    #[test]
    fn ordinary_text_is_untouched_and_borrowed() {
        for text in ["", "plain text", "héllo wörld ✓ 日本", "a \\u{1b} literal"] {
            assert!(matches!(escape_controls(text), Cow::Borrowed(t) if t == text));
        }
        let mut s = "x\x1by".to_string();
        escape_in_place(&mut s);
        assert_eq!(s, "x\\u{1b}y");
    }
}
