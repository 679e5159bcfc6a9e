//! The interactive shell's line editor (rustyline): a prompt with history
//! (this session only: lines may hold secrets, so none is written to disk),
//! completion ([`complete`]), `\` continuation lines, Ctrl-C to cancel a
//! line and Ctrl-D to quit. Running the lines is the command layer's job.

mod complete;

use std::cell::RefCell;

use rustyline::completion::{Completer, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{CompletionType, Config, EditMode, Editor, Helper};

pub use complete::{CommandInfo, Names};

/// The prompt, as Commander's.
pub const PROMPT: &str = "My Vault> ";

/// What the user entered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A complete line (continuations joined).
    Line(String),
    /// Ctrl-C: the line was abandoned.
    Cancelled,
    /// Ctrl-D on an empty line.
    End,
}

/// A line-editor failure (the terminal went away).
#[derive(Debug, thiserror::Error)]
#[error("the shell's terminal failed: {0}")]
pub struct ShellError(#[from] rustyline::error::ReadlineError);

/// Reads lines at a prompt.
pub struct Shell<'a> {
    editor: Editor<ShellHelper<'a>, DefaultHistory>,
}

impl std::fmt::Debug for Shell<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Shell")
    }
}

impl<'a> Shell<'a> {
    /// A shell completing `commands` and the record titles and folder paths
    /// that `names` returns (asked at the first completion after
    /// [`Shell::refresh`]).
    ///
    /// # Errors
    ///
    /// [`ShellError`] when the terminal cannot be set up.
    pub fn new(
        commands: Vec<CommandInfo>,
        names: Box<dyn Fn() -> Names + 'a>,
    ) -> Result<Self, ShellError> {
        let config = Config::builder()
            .edit_mode(EditMode::Emacs)
            .completion_type(CompletionType::List)
            .auto_add_history(false)
            .history_ignore_dups(true)?
            .history_ignore_space(true)
            .max_history_size(1000)?
            .build();
        let mut editor = Editor::with_config(config)?;
        editor.set_helper(Some(ShellHelper {
            commands,
            names,
            cached: RefCell::new(None),
        }));
        Ok(Self { editor })
    }

    /// Reads one line (several when they end in `\`) and adds it to the
    /// history.
    ///
    /// # Errors
    ///
    /// [`ShellError`] when the terminal fails.
    pub fn read(&mut self) -> Result<Input, ShellError> {
        use rustyline::error::ReadlineError;
        match self.editor.readline(PROMPT) {
            Ok(text) => {
                let line = super::line::join_continued(&text).unwrap_or(text);
                if !line.trim().is_empty() {
                    self.editor.add_history_entry(line.as_str())?;
                }
                Ok(Input::Line(line))
            }
            Err(ReadlineError::Interrupted) => Ok(Input::Cancelled),
            Err(ReadlineError::Eof) => Ok(Input::End),
            Err(e) => Err(e.into()),
        }
    }

    /// Forgets the cached titles and folders (after a command ran).
    pub fn refresh(&mut self) {
        if let Some(h) = self.editor.helper_mut() {
            *h.cached.borrow_mut() = None;
        }
    }
}

/// Completion and continuation for the editor.
struct ShellHelper<'a> {
    commands: Vec<CommandInfo>,
    names: Box<dyn Fn() -> Names + 'a>,
    cached: RefCell<Option<Names>>,
}

impl Completer for ShellHelper<'_> {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let names = || {
            let mut cached = self.cached.borrow_mut();
            cached.get_or_insert_with(|| (self.names)()).clone()
        };
        let (start, found) = complete::complete(&line[..pos], &self.commands, names);
        Ok((
            start,
            found
                .into_iter()
                .map(|(display, replacement)| Pair {
                    display,
                    replacement,
                })
                .collect(),
        ))
    }
}

impl Hinter for ShellHelper<'_> {
    type Hint = String;
}

impl Highlighter for ShellHelper<'_> {}

impl Validator for ShellHelper<'_> {
    fn validate(&self, ctx: &mut ValidationContext<'_>) -> rustyline::Result<ValidationResult> {
        if ctx.input().ends_with('\\') {
            Ok(ValidationResult::Incomplete)
        } else {
            Ok(ValidationResult::Valid(None))
        }
    }
}

impl Helper for ShellHelper<'_> {}
