//! Ways to run: one command, a batch file, stdin, a quoted command line,
//! the config's `commands` (once, or every `timedelay` seconds), the shell
//! and `run-batch`; and `sleep` and `set`. Every line runs in this process
//! against the vault unlocked once ([`crate::automation::Session`]).

use std::ffi::OsString;
use std::io::{BufRead as _, IsTerminal as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::bail;
use clap::{CommandFactory as _, Parser as _};

use crate::automation::shell::{CommandInfo, Input, Names, Shell};
use crate::automation::{Line, batch_file, line};
use crate::cli::automation::{AutomationCommand, RunBatchArgs};
use crate::cli::{self, Command};
use crate::context::Context;

/// What happened to one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Done,
    Failed,
    Quit,
}

/// Exit code for usage errors (as clap's).
const USAGE: u8 = 2;
/// `run-batch` files may run `run-batch`, this deep.
const MAX_DEPTH: usize = 8;
static DEPTH: AtomicUsize = AtomicUsize::new(0);

/// Runs this invocation: `command` as parsed from the command line, after
/// the config's `commands`.
pub(crate) async fn start(mut ctx: Context, command: Option<Command>) -> anyhow::Result<ExitCode> {
    let commands = ctx.config.commands.clone();
    if ctx.config.timedelay >= 1 && !commands.is_empty() {
        return schedule(&ctx, &commands, Duration::from_secs(ctx.config.timedelay)).await;
    }
    let what = match command {
        None if !commands.is_empty() => None,
        None if ctx.options.batch_mode => Some(Source::Stdin),
        None if std::io::stdin().is_terminal() => Some(Source::Shell),
        None => {
            let mut help = cli::Cli::command();
            help.print_help()?;
            return Ok(ExitCode::from(USAGE));
        }
        Some(Command::External(args)) => match external(&args) {
            Ok(source) => Some(source),
            Err(message) => {
                let usage = cli::Cli::command().render_usage();
                eprintln!("error: {message}\n\n{usage}\n\nFor more information, try '--help'.");
                return Ok(ExitCode::from(USAGE));
            }
        },
        Some(Command::Automation(AutomationCommand::Shell)) => Some(Source::Shell),
        Some(command) => Some(Source::Command(Box::new(command))),
    };
    if matches!(what, Some(Source::Stdin)) {
        ctx.options.stdin_is_commands = true;
    }
    if !commands.is_empty() {
        let code = run_lines(&ctx, commands.into_iter()).await;
        if code != ExitCode::SUCCESS {
            return Ok(code);
        }
    }
    match what {
        None => Ok(ExitCode::SUCCESS),
        Some(Source::Command(command)) => super::dispatch(&ctx, *command).await,
        Some(Source::Line(text)) => Ok(run_lines(&ctx, std::iter::once(text)).await),
        Some(Source::File(path)) => {
            let lines = batch_file::read_lines(&path)?;
            Ok(run_lines(&ctx, lines.into_iter()).await)
        }
        Some(Source::Stdin) => {
            let lines = std::io::stdin().lock().lines().map_while(|l| match l {
                Ok(line) => Some(line),
                Err(e) => {
                    eprintln!("error: cannot read stdin: {e}");
                    None
                }
            });
            Ok(run_lines(&ctx, lines).await)
        }
        Some(Source::Shell) => shell(&ctx).await,
    }
}

/// Where the commands come from.
enum Source {
    Command(Box<Command>),
    Line(String),
    File(PathBuf),
    Stdin,
    Shell,
}

/// `keeper -`, `keeper FILE` or `keeper "CMD ARGS"`; else an unknown
/// command, with suggestions.
fn external(args: &[OsString]) -> Result<Source, String> {
    let first = args
        .first()
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_default();
    if args.len() == 1 {
        if first == "-" {
            return Ok(Source::Stdin);
        }
        let path = PathBuf::from(&first);
        if path.is_file() {
            return Ok(Source::File(path));
        }
        if first.trim().contains(char::is_whitespace) {
            return Ok(Source::Line(first));
        }
    }
    Err(unknown_command(&first))
}

fn unknown_command(name: &str) -> String {
    let hints = cli::suggest(name);
    let hint = match hints.as_slice() {
        [] => String::new(),
        [one] => format!("; did you mean '{one}'?"),
        many => format!(
            "; did you mean one of: {}?",
            many.iter()
                .map(|m| format!("'{m}'"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    format!(
        "unknown command '{name}'{hint} (`keeper help` lists the commands; a batch file must exist)"
    )
}

/// Runs `lines` as a batch: the first failure without `@` stops it with
/// exit code 1; `q` ends it.
async fn run_lines(ctx: &Context, lines: impl Iterator<Item = String>) -> ExitCode {
    for text in lines {
        match run_line(ctx, &text).await {
            (Outcome::Quit, _) => break,
            (Outcome::Failed, false) => {
                eprintln!(
                    "error: stopped at the failing command: {}",
                    line::redacted(&text)
                );
                return ExitCode::FAILURE;
            }
            _ => {}
        }
    }
    ExitCode::SUCCESS
}

/// Parses and runs one line, printing its errors. Returns what happened and
/// whether a failure is tolerated (`@`).
async fn run_line(ctx: &Context, text: &str) -> (Outcome, bool) {
    let parsed = match line::parse(text, ctx.variables()) {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("error: {e}");
            return (Outcome::Failed, text.trim_start().starts_with('@'));
        }
    };
    match parsed {
        Line::Skip => (Outcome::Done, false),
        Line::Quit => (Outcome::Quit, false),
        Line::Sleep(d) => {
            tokio::time::sleep(d).await;
            (Outcome::Done, false)
        }
        Line::Command { words, tolerate } => (run_words(ctx, words).await, tolerate),
    }
}

async fn run_words(ctx: &Context, words: Vec<String>) -> Outcome {
    let args = cli::commander_args(words.into_iter().map(OsString::from));
    let parsed = match cli::Line::try_parse_from(args) {
        Ok(parsed) => parsed,
        Err(e) => {
            use clap::error::ErrorKind;
            let shown = e.print();
            return match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion if shown.is_ok() => {
                    Outcome::Done
                }
                _ => Outcome::Failed,
            };
        }
    };
    match parsed.command {
        Command::External(args) => {
            let name = args
                .first()
                .map(|a| a.to_string_lossy().into_owned())
                .unwrap_or_default();
            eprintln!("error: {}", unknown_command(&name));
            Outcome::Failed
        }
        Command::Automation(AutomationCommand::Shell) => {
            eprintln!("error: `shell` cannot run inside a batch or another shell");
            Outcome::Failed
        }
        command => match super::dispatch(ctx, command).await {
            Ok(code) if code == ExitCode::SUCCESS => Outcome::Done,
            Ok(_) => Outcome::Failed,
            Err(err) => {
                super::print_error(&err);
                Outcome::Failed
            }
        },
    }
}

/// The config's `commands` every `delay`, until interrupted. Each round
/// logs in afresh (so an expired or ended session shows); failures are
/// logged and the loop goes on.
async fn schedule(ctx: &Context, commands: &[String], delay: Duration) -> anyhow::Result<ExitCode> {
    eprintln!(
        "Running {} command(s) from {} every {} s; Ctrl-C stops.",
        commands.len(),
        ctx.config_path.display(),
        delay.as_secs()
    );
    loop {
        ctx.session.forget();
        for text in commands {
            let (outcome, _) = run_line(ctx, text).await;
            if outcome == Outcome::Failed {
                eprintln!(
                    "{} UTC: command failed: {}",
                    crate::vault::model::fields::format_time(crate::vault::now_ms()),
                    line::redacted(text)
                );
            }
        }
        tokio::time::sleep(delay).await;
    }
}

/// Runs `run-batch`.
pub(crate) async fn run_batch(ctx: &Context, args: &RunBatchArgs) -> anyhow::Result<ExitCode> {
    if !args.delay.is_finite() || args.delay < 0.0 {
        bail!("--delay takes a number of seconds");
    }
    let files = batch_file::expand(&args.patterns)?;
    if DEPTH.fetch_add(1, Ordering::SeqCst) >= MAX_DEPTH {
        DEPTH.fetch_sub(1, Ordering::SeqCst);
        bail!("run-batch is nested more than {MAX_DEPTH} deep (does a batch file run itself?)");
    }
    let result = run_batch_files(ctx, args, &files).await;
    DEPTH.fetch_sub(1, Ordering::SeqCst);
    result
}

async fn run_batch_files(
    ctx: &Context,
    args: &RunBatchArgs,
    files: &[PathBuf],
) -> anyhow::Result<ExitCode> {
    let delay = Duration::from_secs_f64(args.delay);
    let mut failed = 0usize;
    let mut first = true;
    for path in files {
        let lines = batch_file::read_lines(path)?;
        if !args.quiet {
            eprintln!("Running batch file {}", path.display());
        }
        for text in lines {
            let trimmed = text.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            if args.dry_run {
                println!("{}", line::redacted(trimmed));
                continue;
            }
            if !first && !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            first = false;
            if !args.quiet {
                eprintln!("> {}", line::redacted(trimmed));
            }
            match run_line(ctx, &text).await {
                (Outcome::Quit, _) => return Ok(summary(failed)),
                (Outcome::Failed, false) => failed += 1,
                _ => {}
            }
        }
    }
    Ok(summary(failed))
}

fn summary(failed: usize) -> ExitCode {
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        eprintln!("error: {failed} command(s) in the batch failed");
        ExitCode::FAILURE
    }
}

/// `sleep SECONDS`.
pub(crate) async fn sleep(seconds: f64) -> anyhow::Result<ExitCode> {
    if !seconds.is_finite() || seconds < 0.0 {
        bail!("sleep takes a number of seconds");
    }
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    Ok(ExitCode::SUCCESS)
}

/// `set [NAME [VALUE]]`.
pub(crate) fn set(
    ctx: &Context,
    name: Option<&str>,
    value: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let vars = ctx.variables();
    match (name, value) {
        (None, _) => {
            for (name, value) in vars.all() {
                println!("{name}={value}");
            }
        }
        (Some(name), None) => {
            vars.remove(name);
        }
        (Some(name), Some(value)) => vars.set(name, value)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `keeper shell`: log in, then read and run lines until `quit` or Ctrl-D.
async fn shell(ctx: &Context) -> anyhow::Result<ExitCode> {
    let location = ctx.vault_location()?;
    if location.file().is_none_or(std::path::Path::exists) {
        if let Err(err) = super::vault::unlock(ctx) {
            super::print_error(&err);
        }
    } else {
        eprintln!("No vault yet: `init --user EMAIL` creates one.");
    }
    let names = Box::new(|| names(ctx));
    let mut shell = Shell::new(command_infos(), names)?;
    loop {
        match shell.read()? {
            Input::Line(text) => {
                let (outcome, _) = run_line(ctx, &text).await;
                if outcome == Outcome::Quit {
                    break;
                }
                shell.refresh();
            }
            Input::Cancelled => {}
            Input::End => break,
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The commands and their flags, for completion.
fn command_infos() -> Vec<CommandInfo> {
    cli::Line::command()
        .get_subcommands()
        .map(|c| CommandInfo {
            names: std::iter::once(c.get_name().to_string())
                .chain(c.get_visible_aliases().map(str::to_string))
                .collect(),
            flags: c
                .get_arguments()
                .flat_map(|a| {
                    a.get_long()
                        .map(|l| format!("--{l}"))
                        .into_iter()
                        .chain(a.get_short().map(|s| format!("-{s}")))
                })
                .collect(),
        })
        .collect()
}

/// Titles and folder paths of the vault this shell has unlocked (nothing
/// when it has not: completion never prompts for a password).
fn names(ctx: &Context) -> Names {
    if !ctx.session.is_logged_in() {
        return Names::default();
    }
    let Ok(location) = ctx.vault_location() else {
        return Names::default();
    };
    let Ok(Some(vault)) = ctx.session.resume(&location) else {
        return Names::default();
    };
    let titles = vault
        .records()
        .map(|rs| rs.into_iter().map(|r| r.data.title.clone()).collect())
        .unwrap_or_default();
    let folders = vault
        .folder_tree()
        .map(|tree| {
            tree.all()
                .filter(|f| f.uid != tree.root())
                .map(|f| tree.path_of(&f.uid))
                .collect()
        })
        .unwrap_or_default();
    Names { titles, folders }
}
