//! Flags shared by every command that reads npm registries (`compare`, `diff`), and turning
//! them into resolved registries and a configured client.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use byteproof_config::{Request, Resolved, ResolvedRegistry, Settings, resolve};
use byteproof_npm::{ClientOptions, NpmClient};

use crate::printer::Printer;

/// Where registries and tokens come from, and how patiently to read them.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct RegistryArgs {
    /// A registry as NAME=URL (repeatable).
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

    /// Largest packument to read, in bytes [default: 256 MiB]. A registry that serves more
    /// is a `too-large` error (exit 3), never read further.
    #[arg(long, value_name = "BYTES")]
    max_packument_size: Option<u64>,
}

fn parse_pair(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() && !value.trim().is_empty() => {
            Ok((name.trim().to_owned(), value.trim().to_owned()))
        }
        _ => Err(format!("expected NAME=VALUE, got {text:?}")),
    }
}

/// Registries with their credentials, and a client configured from flags and settings.
pub(crate) struct Setup {
    pub(crate) registries: Vec<ResolvedRegistry>,
    pub(crate) client: NpmClient,
}

impl RegistryArgs {
    /// Resolves registries and credentials, notes each on stderr (never the token), and builds
    /// the client.
    pub(crate) fn setup(&self, printer: &Printer) -> anyhow::Result<Setup> {
        let resolved = self.request_resolved()?;
        for r in &resolved.registries {
            let auth = match &r.token_source {
                Some(source) => format!("token from {source}"),
                None => "anonymous".to_owned(),
            };
            printer.note(&format!(
                "registry {} {} ({auth})",
                r.registry.name,
                r.registry.base()
            ));
        }
        let client = self.client(&resolved.settings)?;
        Ok(Setup {
            registries: resolved.registries,
            client,
        })
    }

    /// Resolves the configuration only to check `--token-file` names, for a run that reads no
    /// registry (e.g. `diff` of two files): a token file for an unknown registry is an error
    /// there too, never ignored.
    pub(crate) fn check_token_files(&self) -> anyhow::Result<()> {
        if !self.token_files.is_empty() {
            self.request_resolved()?;
        }
        Ok(())
    }

    /// A client from the flags alone (for URL sides, which need no registry configuration).
    pub(crate) fn client_without_config(&self) -> anyhow::Result<NpmClient> {
        self.client(&Settings::default())
    }

    /// Registries and credentials from the flags, the files and the environment.
    fn request_resolved(&self) -> anyhow::Result<Resolved> {
        let request = Request {
            registries: self.registries.clone(),
            token_files: self
                .token_files
                .iter()
                .map(|(n, p)| (n.clone(), PathBuf::from(p)))
                .collect(),
            config: self.config.clone(),
            npmrc: self.npmrc.clone(),
            allow_insecure_token_files: self.allow_insecure_token_file,
        };
        let cwd = std::env::current_dir().context("cannot read the current directory")?;
        Ok(resolve(&request, &cwd, &|name| std::env::var(name).ok())?)
    }

    /// A client configured by the flags, then byteproof.toml's `[settings]`, then defaults.
    fn client(&self, settings: &Settings) -> anyhow::Result<NpmClient> {
        let defaults = ClientOptions::default();
        let options = ClientOptions {
            retries: self
                .retries
                .or(settings.retries)
                .unwrap_or(defaults.retries),
            read_timeout: self
                .timeout
                .or(settings.timeout)
                .map_or(defaults.read_timeout, Duration::from_secs),
            connect_timeout: self
                .connect_timeout
                .or(settings.connect_timeout)
                .map_or(defaults.connect_timeout, Duration::from_secs),
            max_tarball_size: self
                .max_tarball_size
                .or(settings.max_tarball_size)
                .unwrap_or(defaults.max_tarball_size),
            max_packument_size: self
                .max_packument_size
                .unwrap_or(defaults.max_packument_size),
            ..defaults
        };
        NpmClient::new(options).map_err(anyhow::Error::msg)
    }
}

/// The async runtime the registry reads run on.
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}
