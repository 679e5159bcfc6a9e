//! What Tab completes: command names at the start of a line, a command's
//! flags after `-`, and record titles and folder paths elsewhere, quoted
//! when they hold spaces.

/// A command the shell knows: its names and flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandInfo {
    /// Name and visible aliases.
    pub names: Vec<String>,
    /// `--long` and `-s` flags.
    pub flags: Vec<String>,
}

/// Record titles and folder paths of the unlocked vault.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Names {
    /// Record titles.
    pub titles: Vec<String>,
    /// Folder paths (`A\B`).
    pub folders: Vec<String>,
}

/// Completions of the last word of `before` (the line up to the cursor):
/// where the word starts, and `(display, replacement)` pairs.
pub fn complete(
    before: &str,
    commands: &[CommandInfo],
    names: impl FnOnce() -> Names,
) -> (usize, Vec<(String, String)>) {
    let (start, quoted, word) = last_word(before);
    let previous: Vec<&str> = before[..start].split_whitespace().collect();
    let mut out: Vec<(String, String)> = Vec::new();
    let Some(first) = previous.first().map(|w| w.trim_start_matches('@')) else {
        for c in commands {
            for n in c.names.iter().filter(|n| n.starts_with(word)) {
                out.push((n.clone(), format!("{n} ")));
            }
        }
        out.sort();
        return (start, out);
    };
    if word.starts_with('-') && !quoted {
        if let Some(c) = commands.iter().find(|c| c.names.iter().any(|n| n == first)) {
            for f in c.flags.iter().filter(|f| f.starts_with(word)) {
                out.push((f.clone(), format!("{f} ")));
            }
        }
        out.sort();
        return (start, out);
    }
    let names = names();
    let lower = word.to_lowercase();
    let mut seen = std::collections::BTreeSet::new();
    for candidate in names.titles.iter().chain(&names.folders) {
        if candidate.to_lowercase().starts_with(&lower) && seen.insert(candidate.clone()) {
            out.push((candidate.clone(), quote(candidate)));
        }
    }
    (start, out)
}

/// The word being typed: its start (at an opening quote, if any), whether
/// it is quoted, and its text so far.
fn last_word(before: &str) -> (usize, bool, &str) {
    let mut start = 0;
    let mut quote: Option<(char, usize)> = None;
    for (i, c) in before.char_indices() {
        match quote {
            Some((q, _)) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some((c, i)),
            None if c.is_whitespace() => start = i + c.len_utf8(),
            None => {}
        }
    }
    match quote {
        Some((q, at)) => (at, true, &before[at + q.len_utf8()..]),
        None => (start, false, &before[start..]),
    }
}

/// A shell word for `text`: as is when plain, else in double quotes.
fn quote(text: &str) -> String {
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_alphanumeric() || "-_./:@+,=".contains(c))
    {
        return format!("{text} ");
    }
    let escaped = text.replace('\\', "\\\\").replace('"', "\\\"");
    format!("\"{escaped}\" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commands() -> Vec<CommandInfo> {
        vec![
            CommandInfo {
                names: vec!["get".into()],
                flags: vec!["--format".into(), "--unmask".into()],
            },
            CommandInfo {
                names: vec!["run-batch".into(), "run".into()],
                flags: vec!["--delay".into(), "-d".into()],
            },
        ]
    }

    fn names() -> Names {
        Names {
            titles: vec!["Secret Record".into(), "server1".into()],
            folders: vec![r"Team\Ops".into()],
        }
    }

    #[test]
    fn commands_flags_titles_and_folders() {
        let c = commands();
        let (start, found) = complete("ru", &c, names);
        assert_eq!(start, 0);
        assert_eq!(
            found.iter().map(|f| f.0.as_str()).collect::<Vec<_>>(),
            ["run", "run-batch"]
        );
        let (start, found) = complete("get --f", &c, names);
        assert_eq!((start, found[0].1.as_str()), (4, "--format "));
        let (start, found) = complete("get sec", &c, names);
        assert_eq!((start, found.len()), (4, 1));
        assert_eq!(found[0].1, "\"Secret Record\" ");
        let (start, found) = complete("get \"Secret R", &c, names);
        assert_eq!((start, found[0].1.as_str()), (4, "\"Secret Record\" "));
        let (_, found) = complete("ls te", &c, names);
        assert_eq!(found[0].1, "\"Team\\\\Ops\" ");
        let (_, found) = complete("get ser", &c, names);
        assert_eq!(found[0].1, "server1 ");
    }
}
