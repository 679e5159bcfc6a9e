//! Commander's folder path syntax: components separated by a single
//! backslash, `\\` for a literal backslash inside a name, whitespace around
//! components trimmed, empty components dropped (so leading and trailing
//! separators are allowed).

/// Splits a path into folder (or record title) names.
pub fn components(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if chars.peek() == Some(&'\\') {
                chars.next();
                current.push('\\');
            } else {
                push_component(&mut out, &mut current);
            }
        } else {
            current.push(c);
        }
    }
    push_component(&mut out, &mut current);
    out
}

fn push_component(out: &mut Vec<String>, current: &mut String) {
    let trimmed = current.trim();
    if !trimmed.is_empty() {
        out.push(trimmed.to_string());
    }
    current.clear();
}

/// Escapes one name for use in a path (`a\b` → `a\\b`).
pub fn escape(name: &str) -> String {
    name.replace('\\', "\\\\")
}

/// Joins names into a path, escaping each.
pub fn join<S: AsRef<str>>(names: &[S]) -> String {
    names
        .iter()
        .map(|n| escape(n.as_ref()))
        .collect::<Vec<_>>()
        .join("\\")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commander_vector() {
        // Commander's unit test: 'ww\\\\ww\\wwww' → ['ww\\ww', 'wwww'].
        assert_eq!(components("ww\\\\ww\\wwww"), ["ww\\ww", "wwww"]);
    }

    #[test]
    fn separators_and_whitespace() {
        assert_eq!(components("\\A\\ B \\C\\"), ["A", "B", "C"]);
        assert_eq!(components("\\A\\ B \\\\C\\"), ["A", "B \\C"]);
        assert_eq!(components(""), Vec::<String>::new());
        assert_eq!(
            components("Social Media\\Customer1"),
            ["Social Media", "Customer1"]
        );
    }

    #[test]
    fn escape_round_trip() {
        let names = ["a\\b", "c", "d\\\\e"];
        assert_eq!(components(&join(&names)), names);
    }
}
