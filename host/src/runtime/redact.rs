//! Redacting a call's secrets from text a plugin hands back.
//!
//! A plugin that wants to leak a password through an error message or a log
//! line need not echo it as it is: it can change its case or encode it. For
//! every secret of a call the [`Redactor`] therefore looks for
//!
//! - the secret itself, ASCII case-insensitively (`PASSWORD`, `pAsSwOrD`);
//! - its hex encoding (either case);
//! - its base64 encoding, standard and URL-safe alphabets, padded or not,
//!   also where it starts at any byte offset of a longer encoded text (as in
//!   an HTTP `Authorization: Basic base64(login:password)` header): the
//!   characters that depend on the secret's bytes alone are matched;
//! - its JSON string escaping (a secret with `"` or `\` in a JSON body).
//!
//! Encoded forms shorter than [`MIN_ENCODED`] characters (secrets of a few
//! bytes) are not looked for: they would match ordinary text. Matches are
//! replaced by `[redacted]`. The secrets and their forms are zeroized when
//! the redactor is dropped.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use zeroize::Zeroizing;

/// Shortest encoded form that is looked for.
pub const MIN_ENCODED: usize = 8;

/// What replaces a secret.
const REDACTED: &str = "[redacted]";

/// Replaces a call's secrets, in any of the forms above, with `[redacted]`.
#[derive(Default, Clone)]
pub struct Redactor {
    /// Every form of every secret, ASCII lower-cased, longest first.
    forms: Vec<Zeroizing<String>>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor([{} forms redacted])", self.forms.len())
    }
}

impl Redactor {
    /// A redactor for these secrets (empty ones are ignored).
    pub fn new(secrets: &[Zeroizing<String>]) -> Self {
        let mut redactor = Self::default();
        redactor.add(secrets);
        redactor
    }

    /// Adds more secrets (a later step's, the material `prepare` made).
    pub fn add(&mut self, secrets: &[Zeroizing<String>]) {
        let forms = &mut self.forms;
        for secret in secrets.iter().filter(|s| !s.is_empty()) {
            forms.push(Zeroizing::new(secret.to_ascii_lowercase()));
            let bytes = secret.as_bytes();
            let mut encoded = vec![Zeroizing::new(hex::encode(bytes))];
            for offset in 0..3 {
                encoded.extend(base64_cores(bytes, offset));
            }
            if let Ok(json) = serde_json::to_string(secret.as_str()) {
                let inner = Zeroizing::new(json);
                let inner = &inner[1..inner.len() - 1];
                if inner != secret.as_str() {
                    forms.push(Zeroizing::new(inner.to_ascii_lowercase()));
                }
            }
            forms.extend(
                encoded
                    .into_iter()
                    .filter(|form| form.len() >= MIN_ENCODED)
                    .map(|form| Zeroizing::new(form.to_ascii_lowercase())),
            );
        }
        // Longest first, so a secret containing another is replaced whole.
        forms.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        forms.dedup();
    }

    /// Whether there is nothing to redact.
    pub fn is_empty(&self) -> bool {
        self.forms.is_empty()
    }

    /// `text` with every form of every secret replaced.
    pub fn redact(&self, text: &str) -> String {
        if self.is_empty() {
            return text.to_string();
        }
        // ASCII lower-casing keeps every byte offset, and a match of valid
        // UTF-8 in valid UTF-8 starts and ends on character boundaries.
        let lowered = Zeroizing::new(text.to_ascii_lowercase());
        let mut hits: Vec<(usize, usize)> = Vec::new();
        for form in &self.forms {
            hits.extend(
                lowered
                    .match_indices(form.as_str())
                    .map(|(start, m)| (start, start + m.len())),
            );
        }
        if hits.is_empty() {
            return text.to_string();
        }
        hits.sort_unstable();
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (start, end) in hits {
            if end <= at {
                continue;
            }
            if start >= at {
                out.push_str(&text[at..start]);
                out.push_str(REDACTED);
            }
            at = end;
        }
        out.push_str(&text[at..]);
        out
    }
}

/// The base64 characters (both alphabets) that depend only on `secret`'s
/// bytes when it starts `offset` bytes into a longer encoded text.
fn base64_cores(secret: &[u8], offset: usize) -> Vec<Zeroizing<String>> {
    let mut shifted = Zeroizing::new(vec![0u8; offset]);
    shifted.extend_from_slice(secret);
    // Characters whose bits come partly from the bytes before the secret.
    let skip = match offset {
        0 => 0,
        1 => 2,
        _ => 3,
    };
    // The last character is partial unless the bits end on a character.
    let whole = (shifted.len() * 8) / 6;
    [
        STANDARD_NO_PAD.encode(&*shifted),
        URL_SAFE_NO_PAD.encode(&*shifted),
    ]
    .into_iter()
    .map(Zeroizing::new)
    .filter(|encoded| whole > skip && encoded.len() >= whole)
    .map(|encoded| Zeroizing::new(encoded[skip..whole].to_string()))
    .collect()
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE};

    use super::*;

    fn redactor(secrets: &[&str]) -> Redactor {
        let secrets: Vec<Zeroizing<String>> = secrets
            .iter()
            .map(|s| Zeroizing::new(s.to_string()))
            .collect();
        Redactor::new(&secrets)
    }

    #[test]
    fn redacts_every_secret_longest_first() {
        let r = redactor(&["pw", "pw-long", ""]);
        assert_eq!(r.redact("a pw-long b pw c"), "a [redacted] b [redacted] c");
        assert_eq!(r.redact("nothing here"), "nothing here");
        assert!(redactor(&[""]).is_empty());
    }

    #[test]
    fn redacts_case_variants() {
        let r = redactor(&["Secret-Pass-9"]);
        for text in [
            "Secret-Pass-9",
            "SECRET-PASS-9",
            "secret-pass-9",
            "sEcReT-pAsS-9",
        ] {
            assert_eq!(r.redact(&format!("<{text}>")), "<[redacted]>", "{text}");
        }
    }

    #[test]
    fn redacts_hex_and_base64_forms() {
        // Bytes that give `+` / `/` (standard) and `-` / `_` (URL-safe).
        let secret = "p>?w~~s?>x-Secret";
        let r = redactor(&[secret]);
        let b = secret.as_bytes();
        let forms = [
            hex::encode(b),
            hex::encode_upper(b),
            STANDARD.encode(b),
            STANDARD_NO_PAD.encode(b),
            URL_SAFE.encode(b),
            URL_SAFE_NO_PAD.encode(b),
        ];
        for form in forms {
            let out = r.redact(&format!("leak: {form} end"));
            assert!(out.starts_with("leak: [redacted]"), "{form} -> {out}");
            assert!(!out.contains(&form[2..form.len() - 2]), "{form} -> {out}");
        }
    }

    #[test]
    fn redacts_base64_at_any_offset_as_in_basic_auth() {
        let secret = "N3w-Secret-Passw0rd";
        let r = redactor(&[secret]);
        for login in ["u", "us", "usr", "user", "admin"] {
            let header = STANDARD.encode(format!("{login}:{secret}"));
            let out = r.redact(&format!("Authorization: Basic {header}"));
            assert!(out.contains("[redacted]"), "{login}: {out}");
            // What is left of the header is the login's part and at most a
            // character or two either side of the secret, plus padding.
            let left: String = out
                .trim_start_matches("Authorization: Basic ")
                .replace("[redacted]", "");
            let login_part = STANDARD.encode(format!("{login}:")).len();
            assert!(
                left.len() <= login_part + 4,
                "{login}: too much left: {out}"
            );
        }
    }

    #[test]
    fn redacts_json_escaped_secrets() {
        let secret = r#"pa"ss\word-42"#;
        let r = redactor(&[secret]);
        let body = serde_json::json!({ "password": secret }).to_string();
        assert_eq!(r.redact(&body), r#"{"password":"[redacted]"}"#);
    }

    #[test]
    fn keeps_non_ascii_text_intact() {
        let r = redactor(&["Ünïcode-Secret"]);
        assert_eq!(r.redact("é Ünïcode-Secret ü"), "é [redacted] ü");
        assert_eq!(r.redact("héllo wörld"), "héllo wörld");
    }

    #[test]
    fn short_secrets_do_not_redact_ordinary_text_through_encodings() {
        let r = redactor(&["ab"]);
        assert_eq!(r.redact("YWI= 6162 plain"), "YWI= 6162 plain");
        assert_eq!(r.redact("xaby"), "x[redacted]y");
    }
}
