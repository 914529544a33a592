//! The one place that owns stdout, stderr, colour and progress bars.
//!
//! Data goes to stdout, diagnostics to stderr. Colour is on only when the stream is a terminal,
//! `NO_COLOR` is unset and `TERM` is not `dumb` (or when `--color always` forces it). Progress
//! bars appear only on a stderr terminal and never with `--json` or `--quiet`.
//!
//! Writing never ends the process and never panics. A failed write to stdout is remembered and
//! later writes are dropped; [`Printer::finish`] folds it into the exit status: a closed pipe
//! (`| head`, `| true`) changes nothing, any other failure (a full disk) is an error. A failed
//! write to stderr is ignored: there is nowhere left to say so.

use std::io::{IsTerminal as _, Write as _};
use std::sync::{Mutex, PoisonError};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::exit::ExitStatus;

/// When to colour output (`--color`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ColorChoice {
    /// Colour on a terminal, unless NO_COLOR is set or TERM=dumb.
    #[default]
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// A style for a piece of terminal text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Style {
    /// Good news: identical, pinned, passed.
    Ok,
    /// Bad news: divergent, mismatch, failed.
    Bad,
    /// Could not tell: incomplete, skipped.
    Warn,
    /// Emphasis.
    Bold,
    /// De-emphasis.
    Dim,
}

/// Owns the process's output streams.
#[derive(Debug)]
pub(crate) struct Printer {
    color_stdout: bool,
    color_stderr: bool,
    progress: bool,
    quiet: bool,
    stdout: Mutex<Stdout>,
}

/// What became of stdout.
#[derive(Debug)]
enum Stdout {
    /// Every write so far went through.
    Open,
    /// The reader went away (EPIPE): output disappears, the answer stays.
    Closed,
    /// A write failed for another reason; later writes are dropped.
    Failed(std::io::Error),
}

impl Printer {
    /// Decides colour and progress from the flags and the environment.
    pub(crate) fn new(choice: ColorChoice, quiet: bool, machine_output: bool) -> Self {
        let env_allows = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            && std::env::var("TERM").map_or(true, |t| t != "dumb");
        let decide = |tty: bool| match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => tty && env_allows,
        };
        let stderr_tty = std::io::stderr().is_terminal();
        Self {
            color_stdout: decide(std::io::stdout().is_terminal()),
            color_stderr: decide(stderr_tty),
            progress: stderr_tty && !quiet && !machine_output,
            quiet,
            stdout: Mutex::new(Stdout::Open),
        }
    }

    /// Wraps `text` in the ANSI codes for `style` when stdout is coloured.
    pub(crate) fn paint(&self, style: Style, text: &str) -> String {
        paint(self.color_stdout, style, text)
    }

    /// Writes data to stdout. After a failed write, later writes are dropped; see
    /// [`Printer::finish`].
    pub(crate) fn out(&self, text: &str) {
        let mut state = self.stdout.lock().unwrap_or_else(PoisonError::into_inner);
        if !matches!(*state, Stdout::Open) {
            return;
        }
        let mut stdout = std::io::stdout().lock();
        if let Err(err) = stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush())
        {
            *state = if err.kind() == std::io::ErrorKind::BrokenPipe {
                Stdout::Closed
            } else {
                Stdout::Failed(err)
            };
        }
    }

    /// The exit status once all output is written. A closed pipe leaves `status` as it is; any
    /// other failed write to stdout is reported on stderr and the status becomes at least
    /// [`ExitStatus::Usage`] (a worse one, [`ExitStatus::Unverified`], is kept).
    pub(crate) fn finish(&self, status: ExitStatus) -> ExitStatus {
        let state = self.stdout.lock().unwrap_or_else(PoisonError::into_inner);
        match &*state {
            Stdout::Open | Stdout::Closed => status,
            Stdout::Failed(err) => {
                self.error(&format!("cannot write to standard output: {err}"));
                status.max(ExitStatus::Usage)
            }
        }
    }

    /// Writes one diagnostic line to stderr (suppressed by `--quiet`).
    pub(crate) fn note(&self, text: &str) {
        if !self.quiet {
            to_stderr(format_args!("{text}"));
        }
    }

    /// Writes a warning to stderr; shown even with `--quiet`.
    pub(crate) fn warn(&self, text: &str) {
        let label = paint(self.color_stderr, Style::Warn, "warning");
        to_stderr(format_args!("{label}: {text}"));
    }

    /// Writes an error to stderr; always shown.
    pub(crate) fn error(&self, text: &str) {
        let label = paint(self.color_stderr, Style::Bad, "error");
        to_stderr(format_args!("{label}: {text}"));
    }

    /// A progress bar on stderr, or a hidden one when progress is off.
    pub(crate) fn progress(&self, len: u64, message: &str) -> ProgressBar {
        if !self.progress {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len}") {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(message.to_owned());
        bar
    }
}

/// One line to stderr; a failure is ignored (unlike `eprintln!`, which panics).
fn to_stderr(line: std::fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

fn paint(enabled: bool, style: Style, text: &str) -> String {
    if !enabled {
        return text.to_owned();
    }
    let code = match style {
        Style::Ok => "32",
        Style::Bad => "31",
        Style::Warn => "33",
        Style::Bold => "1",
        Style::Dim => "2",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}
