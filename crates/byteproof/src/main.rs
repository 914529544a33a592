//! The `byteproof` command line: glue over the library crates. It parses arguments, resolves
//! configuration, calls the engines, and is the only place that prints or picks an exit code.

mod compare_cmd;
mod diff_cmd;
mod e2e_cmd;
mod exit;
mod hash_cmd;
mod pin_cmd;
mod printer;
mod registry_args;
mod report;
mod route_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::exit::{EXIT_CODES_HELP, ExitStatus};
use crate::printer::{ColorChoice, Printer};

/// Prove a release is reproducible: every registry must serve byte-identical tarballs.
#[derive(Debug, Parser)]
#[command(name = "byteproof", version, about, after_help = EXIT_CODES_HELP)]
struct Cli {
    /// When to use colour (NO_COLOR and TERM=dumb are honoured by `auto`).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    color: ColorChoice,

    /// Only errors and warnings on stderr; no progress.
    #[arg(short, long, global = true)]
    quiet: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Fetch one version from several registries and prove the tarballs are byte-identical.
    #[command(after_help = compare_cmd::AFTER_HELP)]
    Compare(compare_cmd::CompareArgs),
    /// Explain why two tarballs differ, layer by layer: gzip, compression, tar encoding,
    /// metadata, formatting, content.
    #[command(after_help = diff_cmd::AFTER_HELP)]
    Diff(diff_cmd::DiffArgs),
    /// Resolve container image tags to digests and pin them in workflows and act_runner labels.
    #[command(after_help = pin_cmd::AFTER_HELP)]
    Pin(pin_cmd::PinArgs),
    /// Publish a throwaway package to every registry, verify, install, compare, then delete it.
    E2e(e2e_cmd::E2eArgs),
    /// Hash local tarballs (SHA-1, SHA-256, SHA-512 as SRI) in one pass each.
    #[command(after_help = EXIT_CODES_HELP)]
    Hash(hash_cmd::HashArgs),
    /// Choose a CI job's runner labels from its event payload: self-hosted (trusted) or fallback.
    #[command(after_help = route_cmd::AFTER_HELP)]
    Route(route_cmd::RouteArgs),
}

impl Command {
    fn machine_output(&self) -> bool {
        match self {
            Command::Compare(args) => args.output.format() != report::Format::Table,
            Command::Hash(args) => args.json,
            Command::Diff(args) => args.json,
            Command::E2e(args) => args.machine_output(),
            Command::Pin(args) => args.output.format() != report::Format::Table,
            Command::Route(args) => args.output.format() != report::Format::Table,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let printer = Printer::new(cli.color, cli.quiet, cli.command.machine_output());
    let result = match &cli.command {
        Command::Compare(args) => compare_cmd::run(args, &printer),
        Command::Hash(args) => hash_cmd::run(args, &printer),
        Command::Diff(args) => diff_cmd::run(args, &printer),
        Command::E2e(args) => e2e_cmd::run(args, &printer),
        Command::Pin(args) => pin_cmd::run(args, &printer),
        Command::Route(args) => route_cmd::run(args, &printer),
    };
    let status = result.unwrap_or_else(|err| {
        printer.error(&format!("{err:#}"));
        ExitStatus::Usage
    });
    printer.finish(status).into()
}
