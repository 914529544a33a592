//! `byteproof compare <pkg>@<version>`: wires configuration, the npm client and the compare
//! engine together, then prints the report and picks the exit status.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use byteproof_compare::{CompareOptions, compare};
use byteproof_config::{Request, resolve};
use byteproof_npm::{ClientOptions, NpmClient, PackageSpec};

use crate::exit::ExitStatus;
use crate::printer::Printer;
use crate::report::{self, CompareJson, Format, OutputArgs};

pub(crate) const AFTER_HELP: &str = "\
Registries, first found wins:
  1. --registry NAME=URL (repeatable)
  2. byteproof.toml: --config PATH, else $BYTEPROOF_CONFIG, else ./byteproof.toml
  3. .npmrc: registry= (named 'default') and @scope:registry= (named '@scope');
     --npmrc PATH, else ~/.npmrc ($NPM_CONFIG_USERCONFIG) then ./.npmrc

Tokens for each registry, first found wins:
  1. --token-file NAME=PATH (must not be readable by group or others, unless
     --allow-insecure-token-file)
  2. byteproof.toml: token-file, then token-env
  3. $BYTEPROOF_TOKEN_<NAME> (upper case; other characters become '_')
  4. .npmrc: //host/path/:_authToken=, _auth, or username + _password (${ENV} expanded)
A token is only ever sent to its registry's own scheme, host and port; a dist.tarball
elsewhere is fetched without it. Tokens never appear in output.

Verdicts: identical, divergent, claim-mismatch, incomplete.

Exit status:
  0  identical: every registry read, every claim holds, all bytes equal
  1  divergent or claim-mismatch
  2  usage or configuration error
  3  could not verify: a registry could not be read (and nothing else was wrong)";

/// Arguments of `byteproof compare`.
#[derive(Debug, clap::Args)]
pub(crate) struct CompareArgs {
    /// The package version, e.g. @bytelyst/errors@1.4.2.
    spec: String,

    /// A registry as NAME=URL (repeatable; at least two registries are needed).
    #[arg(long = "registry", value_name = "NAME=URL", value_parser = parse_pair)]
    registries: Vec<(String, String)>,

    /// byteproof.toml to read (default: $BYTEPROOF_CONFIG, else ./byteproof.toml if present).
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,

    /// .npmrc to read instead of ~/.npmrc and ./.npmrc.
    #[arg(long, value_name = "PATH")]
    npmrc: Option<PathBuf>,

    /// Read the token for registry NAME from PATH (repeatable).
    #[arg(long = "token-file", value_name = "NAME=PATH", value_parser = parse_pair)]
    token_files: Vec<(String, String)>,

    /// Accept token files that group or others can read.
    #[arg(long)]
    allow_insecure_token_file: bool,

    /// Retries after the first attempt on 5xx, 429, connection errors and timeouts
    /// [default: 3, or settings.retries].
    #[arg(long, value_name = "N")]
    retries: Option<u32>,

    /// Seconds of silence before a request is abandoned [default: 30, or settings.timeout].
    #[arg(long, value_name = "SECS")]
    timeout: Option<u64>,

    /// Seconds allowed to connect [default: 10, or settings.connect-timeout].
    #[arg(long, value_name = "SECS")]
    connect_timeout: Option<u64>,

    /// Largest tarball to read, in bytes [default: 1 GiB, or settings.max-tarball-size].
    #[arg(long, value_name = "BYTES")]
    max_tarball_size: Option<u64>,

    #[command(flatten)]
    pub(crate) output: OutputArgs,
}

fn parse_pair(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() && !value.trim().is_empty() => {
            Ok((name.trim().to_owned(), value.trim().to_owned()))
        }
        _ => Err(format!("expected NAME=VALUE, got {text:?}")),
    }
}

pub(crate) fn run(args: &CompareArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let spec = PackageSpec::parse(&args.spec)?;
    let request = Request {
        registries: args.registries.clone(),
        token_files: args.token_files.iter().map(|(n, p)| (n.clone(), PathBuf::from(p))).collect(),
        config: args.config.clone(),
        npmrc: args.npmrc.clone(),
        allow_insecure_token_files: args.allow_insecure_token_file,
    };
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let resolved = resolve(&request, &cwd, &|name| std::env::var(name).ok())?;
    if resolved.registries.len() < 2 {
        anyhow::bail!(
            "compare needs at least two registries, got {} ({}); add another with --registry NAME=URL",
            resolved.registries.len(),
            resolved.registries.iter().map(|r| r.registry.name.as_str()).collect::<Vec<_>>().join(", ")
        );
    }
    for r in &resolved.registries {
        let auth = match &r.token_source {
            Some(source) => format!("token from {source}"),
            None => "anonymous".to_owned(),
        };
        printer.note(&format!("registry {} {} ({auth})", r.registry.name, r.registry.base()));
    }

    let settings = &resolved.settings;
    let defaults = ClientOptions::default();
    let options = ClientOptions {
        retries: args.retries.or(settings.retries).unwrap_or(defaults.retries),
        read_timeout: args
            .timeout
            .or(settings.timeout)
            .map_or(defaults.read_timeout, Duration::from_secs),
        connect_timeout: args
            .connect_timeout
            .or(settings.connect_timeout)
            .map_or(defaults.connect_timeout, Duration::from_secs),
        max_tarball_size: args
            .max_tarball_size
            .or(settings.max_tarball_size)
            .unwrap_or(defaults.max_tarball_size),
        ..defaults
    };
    let client = NpmClient::new(options).map_err(anyhow::Error::msg)?;
    let registries: Vec<_> = resolved.registries.into_iter().map(|r| r.registry).collect();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let bar = printer.progress(registries.len() as u64, &format!("reading {spec}"));
    let comparison = runtime.block_on(compare(
        &client,
        &spec,
        &registries,
        &CompareOptions::default(),
        &|_| bar.inc(1),
    ));
    bar.finish_and_clear();

    let json = CompareJson::new(&comparison);
    match args.output.format() {
        Format::Json => printer.out(&format!("{}\n", serde_json::to_string_pretty(&json)?)),
        Format::Markdown => printer.out(&report::markdown(&json)),
        Format::Table => printer.out(&report::table(&json, printer)),
    }
    Ok(report::exit_status(comparison.verdict))
}
