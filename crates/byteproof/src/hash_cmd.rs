//! `byteproof hash FILE...`: the same one-pass hashing as `compare`, for local tarballs.

use std::path::PathBuf;

use anyhow::Context as _;
use serde::Serialize;

use crate::exit::ExitStatus;
use crate::printer::{Printer, Style};

/// Arguments of `byteproof hash`.
#[derive(Debug, clap::Args)]
pub(crate) struct HashArgs {
    /// Files to hash (`-` for standard input).
    #[arg(required = true)]
    files: Vec<PathBuf>,

    /// Print a JSON array instead of text.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Serialize)]
struct HashJson {
    file: String,
    size: u64,
    sha1: String,
    sha256: String,
    sha512: String,
    integrity: String,
}

pub(crate) fn run(args: &HashArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let mut rows = Vec::new();
    let mut failed = false;
    for path in &args.files {
        let result = if path.as_os_str() == "-" {
            byteproof_hash::hash_reader(std::io::stdin().lock())
                .context("cannot read standard input")
        } else {
            std::fs::File::open(path)
                .and_then(byteproof_hash::hash_reader)
                .with_context(|| format!("cannot read {}", path.display()))
        };
        match result {
            Ok(digests) => rows.push(HashJson {
                file: path.display().to_string(),
                size: digests.size,
                sha1: digests.sha1_hex(),
                sha256: digests.sha256_hex(),
                sha512: digests.sha512_hex(),
                integrity: digests.integrity(),
            }),
            Err(err) => {
                // Keep going: every readable file is still reported.
                printer.error(&format!("{err:#}"));
                failed = true;
            }
        }
    }
    if args.json {
        printer.out(&format!("{}\n", serde_json::to_string_pretty(&rows)?));
    } else {
        let mut text = String::new();
        for row in &rows {
            text.push_str(&format!(
                "{}\n  size       {}\n  sha1       {}\n  sha256     {}\n  integrity  {}\n",
                printer.paint(Style::Bold, &row.file),
                row.size,
                row.sha1,
                row.sha256,
                row.integrity
            ));
        }
        printer.out(&text);
    }
    Ok(if failed {
        ExitStatus::Usage
    } else {
        ExitStatus::Success
    })
}
