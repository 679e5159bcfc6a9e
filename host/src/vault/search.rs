//! `search`: a case-insensitive regex over every non-secret field, with a
//! literal prefilter that skips parsing records which cannot match.
//!
//! Titles and fields are encrypted, so a search decrypts every record the
//! user can open. Parsing the decrypted JSON costs more than decrypting it;
//! the prefilter looks for the literals every match must start with (from
//! the regex's syntax tree) in the decrypted bytes first. Every searched
//! text is a JSON string (or number) in the payload, and serde_json writes
//! strings verbatim except `"`, `\` and control characters, so a record
//! whose payload holds none of the literals cannot match: the prefilter
//! only ever skips records, it never decides a match. Literals containing
//! escaped characters, and patterns without required prefixes, disable it.

use regex::Regex;
use regex_syntax::hir::literal::{ExtractKind, Extractor};

use super::model::{RecordData, fields};

/// A compiled search pattern.
#[derive(Debug, Clone)]
pub struct SearchPattern {
    regex: Regex,
    prefilter: Option<regex::bytes::Regex>,
}

impl SearchPattern {
    /// Compiles `pattern` (case-insensitive, size-limited).
    ///
    /// # Errors
    ///
    /// An invalid or too large regular expression.
    pub fn new(pattern: &str) -> Result<Self, regex::Error> {
        let regex = regex::RegexBuilder::new(pattern)
            .case_insensitive(true)
            .size_limit(1 << 20)
            .build()?;
        Ok(Self {
            regex,
            prefilter: prefilter(pattern),
        })
    }

    /// The regular expression fields are matched against.
    pub fn regex(&self) -> &Regex {
        &self.regex
    }

    /// Whether a decrypted payload may hold a match (false: it cannot).
    pub(crate) fn may_match(&self, payload: &[u8]) -> bool {
        self.prefilter.as_ref().is_none_or(|p| p.is_match(payload))
    }

    /// Whether the record matches: title, notes, type, field labels,
    /// non-secret field values and attachment names.
    pub fn matches(&self, d: &RecordData) -> bool {
        let pattern = &self.regex;
        if pattern.is_match(&d.title)
            || pattern.is_match(&d.notes)
            || pattern.is_match(&d.record_type)
        {
            return true;
        }
        let mut texts = Vec::new();
        for f in d.fields.iter().chain(&d.custom) {
            if f.label.as_deref().is_some_and(|l| pattern.is_match(l)) {
                return true;
            }
            if fields::is_secret(&f.kind) {
                continue;
            }
            texts.clear();
            f.value
                .iter()
                .for_each(|v| fields::flatten_text(v, &mut texts));
            if texts.iter().any(|t| pattern.is_match(t)) {
                return true;
            }
        }
        d.attachments.iter().any(|a| pattern.is_match(&a.name))
    }
}

/// A regex over the literals every match of `pattern` starts with, if
/// there is a finite set of them that JSON writes verbatim.
fn prefilter(pattern: &str) -> Option<regex::bytes::Regex> {
    let hir = regex_syntax::ParserBuilder::new()
        .case_insensitive(true)
        .build()
        .parse(pattern)
        .ok()?;
    let mut extractor = Extractor::new();
    extractor.kind(ExtractKind::Prefix);
    let seq = extractor.extract(&hir);
    let literals = seq.literals()?;
    let verbatim = |bytes: &[u8]| {
        !bytes.is_empty() && !bytes.iter().any(|&b| b == b'"' || b == b'\\' || b < 0x20)
    };
    if literals.is_empty() || !literals.iter().all(|l| verbatim(l.as_bytes())) {
        return None;
    }
    let alternation = literals
        .iter()
        .map(|l| regex::escape(std::str::from_utf8(l.as_bytes()).ok()?).into())
        .collect::<Option<Vec<String>>>()?
        .join("|");
    regex::bytes::RegexBuilder::new(&alternation)
        .unicode(false)
        .size_limit(1 << 22)
        .build()
        .ok()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn record(title: &str, login: &str, password: &str) -> RecordData {
        let mut d = RecordData::new("login", title);
        d.set_field(false, "login", None, vec![json!(login)], 0);
        d.set_field(false, "password", None, vec![json!(password)], 0);
        d
    }

    /// What the vault does: prefilter on the payload, then the full match.
    fn found(pattern: &str, d: &RecordData) -> bool {
        let p = SearchPattern::new(pattern).expect("pattern");
        let payload = serde_json::to_vec(d).expect("json");
        let full = p.matches(d);
        if full {
            assert!(
                p.may_match(&payload),
                "the prefilter dropped a match of {pattern:?}"
            );
        }
        p.may_match(&payload) && full
    }

    #[test]
    fn prefilter_never_drops_a_match() {
        let d = record(
            "Prod DB \"main\" \\ tab\there",
            "Ängström.Admin",
            "s3cret-pw",
        );
        for (pattern, expected) in [
            ("prod db", true),
            ("PROD", true),
            ("ängström", true),
            ("ÄNGSTRÖM", true),
            ("admin$", true),
            ("^prod", true),
            ("\"main\"", true),
            ("\\\\", true),
            ("tab\\there", true),
            ("db|nothing", true),
            ("[pq]rod", true),
            ("login", true),
            ("s3cret", false),
            ("staging", false),
            ("", true),
            (".*", true),
        ] {
            assert_eq!(found(pattern, &d), expected, "{pattern:?}");
        }
    }

    #[test]
    fn literal_patterns_get_a_prefilter_and_escapes_do_not() {
        assert!(prefilter("service 0424.. account").is_some());
        assert!(prefilter("(?-i)exact").is_some());
        for none in ["", ".*", "\"quoted\"", "back\\\\slash", "a\\nb", "\\w+"] {
            assert!(prefilter(none).is_none(), "{none:?}");
        }
        let p = SearchPattern::new("service").expect("pattern");
        assert!(p.may_match(br#"{"title":"SERVICE x"}"#));
        assert!(p.may_match("{\"title\":\"ſervice\"}".as_bytes()));
        assert!(!p.may_match(br#"{"title":"other"}"#));
    }
}
