//! `byteproof compare <pkg>@<version>`: wires configuration, the npm client and the compare
//! engine together, then prints the report and picks the exit status.

use byteproof_compare::{CompareOptions, Comparison, compare};
use byteproof_npm::PackageSpec;

use crate::exit::ExitStatus;
use crate::printer::Printer;
use crate::registry_args::{RegistryArgs, Setup, runtime};
use crate::report::{self, CompareJson, DiffJson, Format, OutputArgs};

/// Tarballs up to this size are kept in memory so a divergence can be explained.
const DIFF_KEEP_BYTES: u64 = 64 << 20;

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
  2  usage or configuration error, stdout could not be written
  3  could not verify: a registry could not be read (and nothing else was wrong)
A closed stdout never changes the status; another failed write to stdout gives 2 (or 3).";

/// Arguments of `byteproof compare`.
#[derive(Debug, clap::Args)]
pub(crate) struct CompareArgs {
    /// The package version, e.g. @bytelyst/errors@1.4.2.
    spec: String,

    #[command(flatten)]
    registry: RegistryArgs,

    /// Do not explain a divergence with `byteproof diff` (which keeps each tarball of up to
    /// 64 MiB in memory).
    #[arg(long)]
    no_diff: bool,

    #[command(flatten)]
    pub(crate) output: OutputArgs,
}

pub(crate) fn run(args: &CompareArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let spec = PackageSpec::parse(&args.spec)?;
    let Setup { registries, client } = args.registry.setup(printer)?;
    if registries.len() < 2 {
        anyhow::bail!(
            "compare needs at least two registries, got {} ({}); add another with --registry NAME=URL",
            registries.len(),
            registries
                .iter()
                .map(|r| r.registry.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let registries: Vec<_> = registries.into_iter().map(|r| r.registry).collect();

    let runtime = runtime()?;
    let bar = printer.progress(registries.len() as u64, &format!("reading {spec}"));
    let comparison = runtime.block_on(compare(
        &client,
        &spec,
        &registries,
        &CompareOptions {
            keep_bytes_up_to: if args.no_diff { 0 } else { DIFF_KEEP_BYTES },
        },
        &|_| bar.inc(1),
    ));
    bar.finish_and_clear();
    for r in comparison
        .registries
        .iter()
        .filter(|r| r.tarball_url_constructed)
    {
        printer.warn(&format!(
            "registry {} gave no dist.tarball for {spec}; read the npm-standard URL instead",
            r.name
        ));
    }

    let diffs = if args.no_diff {
        Vec::new()
    } else {
        explain(&comparison)
    };
    let json = CompareJson::new(&comparison, diffs);
    match args.output.format() {
        Format::Json => printer.out(&format!("{}\n", serde_json::to_string_pretty(&json)?)),
        Format::Markdown => printer.out(&report::markdown(&json)),
        Format::Table => printer.out(&report::table(&json, printer)),
    }
    Ok(report::exit_status(comparison.verdict))
}

/// Explains each divergence ([`Comparison::divergences`]) with `byteproof diff`.
fn explain(c: &Comparison) -> Vec<DiffJson> {
    c.divergences()
        .into_iter()
        .map(|d| {
            let (Some((a_name, a)), Some((b_name, b))) = (d.a, d.b) else {
                return DiffJson::unavailable(
                    d.a_group,
                    d.b_group,
                    "a tarball was too large to keep for the diff",
                );
            };
            let mut nodes = crate::diff_cmd::node_engines(&[]);
            let mut engines: Vec<&mut dyn byteproof_diff::Compressor> = nodes
                .iter_mut()
                .map(|n| n as &mut dyn byteproof_diff::Compressor)
                .collect();
            match byteproof_diff::diff_with(
                a,
                b,
                &byteproof_diff::DiffOptions::default(),
                &mut engines,
            ) {
                Ok(report) => DiffJson::new(
                    a_name.to_owned(),
                    b_name.to_owned(),
                    d.a_group,
                    d.b_group,
                    report,
                ),
                Err(err) => DiffJson::unavailable(d.a_group, d.b_group, &err.to_string()),
            }
        })
        .collect()
}
