//! `byteproof pin`: resolve container image tags to digests and pin them in workflows and
//! act_runner `config.yaml`, keeping the tag (`name:tag@sha256:…`) and every other byte.
//!
//! Modes: write (default), `--dry-run` (unified diff, nothing written) and `--check` (report each
//! reference as pinned, unpinned, stale, dangling or unscannable; nothing written). The run's
//! outcome is decided by `byteproof_pin::outcome`; this module maps it to the exit status. The
//! JSON report (`byteproof.pin/v1`) has its own types here, separate from the library's.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use byteproof_oci::{CredentialStore, Platform, Resolver, ResolverConfig};
use byteproof_pin::{FilePlan, FileProblem, Finding, Mode, Outcome, Site, SourceFile, Status};
use serde::Serialize;

use crate::exit::ExitStatus;
use crate::printer::{Printer, Style};
use crate::report::{Format, OutputArgs};

/// Text for `byteproof pin --help`.
pub(crate) const AFTER_HELP: &str = "\
Pins jobs.*.container, jobs.*.services.*.image, steps[*].uses: docker://… and act_runner
runner.labels (label:docker://image) to name:tag@sha256:<index digest>, in any YAML style (block
or flow, any quoting, anchors and aliases, merge keys, several documents). A value that cannot be
rewritten in place (a block scalar, a mapping where an image belongs, …) is reported as
unscannable. A line whose comment contains `byteproof: ignore` is left alone; `${{ … }}` values
are skipped. Credentials come from $DOCKER_CONFIG/config.json or ~/.docker/config.json (`auths`).

Exit status:
  0  everything pinned (or, with --check, pinned and current)
  1  --check found unpinned, dangling, unscannable or (without --allow-stale) stale references;
     without --check, a reference was left unpinned (unscannable, or a platform-specific pin
     whose tag moved)
  2  usage error, unreadable file, a file that is not YAML, invalid image reference, or a file
     that could not be rewritten (it is left as it was)
  3  a digest could not be resolved (network, auth, rate limit)";

/// `byteproof pin` arguments.
#[derive(clap::Args, Debug)]
pub(crate) struct PinArgs {
    /// Workflow files, act_runner config.yaml files, or folders of *.yml/*.yaml files.
    /// Default: .gitea/workflows and .github/workflows, where they exist.
    #[arg(value_name = "PATH")]
    pub(crate) paths: Vec<PathBuf>,

    /// Print a unified diff of what would change; write nothing.
    #[arg(long, conflicts_with = "check")]
    pub(crate) dry_run: bool,

    /// Report each reference as pinned, unpinned, stale or dangling; write nothing.
    #[arg(long)]
    pub(crate) check: bool,

    /// With --check, a stale pin (the tag has moved on) does not fail the check.
    #[arg(long, requires = "check")]
    pub(crate) allow_stale: bool,

    /// Pin one platform's manifest (os/arch[/variant]) instead of the multi-arch index.
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub(crate) platform: Option<Platform>,

    /// Send requests for a registry to another base URL, e.g. docker.io=http://127.0.0.1:5000.
    /// Repeatable. Plain http:// only for loopback hosts or with --insecure-registry.
    #[arg(long = "registry-url", value_name = "HOST=URL", value_parser = parse_registry_url)]
    pub(crate) registry_urls: Vec<(String, url::Url)>,

    /// Allow plain HTTP to this registry host (as written in references, or an override's host).
    #[arg(long = "insecure-registry", value_name = "HOST")]
    pub(crate) insecure_registries: Vec<String>,

    /// Output format.
    #[command(flatten)]
    pub(crate) output: OutputArgs,
}

fn parse_registry_url(value: &str) -> Result<(String, url::Url), String> {
    let (host, url) = value
        .split_once('=')
        .ok_or_else(|| format!("expected HOST=URL, got {value:?}"))?;
    if host.is_empty() {
        return Err(format!("empty HOST in {value:?}"));
    }
    let url = url::Url::parse(url).map_err(|e| format!("invalid URL {url:?}: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!("URL {url} must be http:// or https:// with a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("put credentials in the Docker config, not in --registry-url".to_owned());
    }
    Ok((host.to_owned(), url))
}

/// Runs `byteproof pin`.
pub(crate) fn run(args: &PinArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let paths = match input_files(&args.paths) {
        Ok(paths) => paths,
        Err(err) => {
            printer.error(&format!("{err:#}"));
            return Ok(ExitStatus::Usage);
        }
    };
    let mut sources = Vec::new();
    for path in &paths {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(err) => {
                printer.error(&format!("cannot read {}: {err}", path.display()));
                return Ok(ExitStatus::Usage);
            }
        };
        sources.push(SourceFile::new(path.clone(), text));
    }

    let credentials =
        CredentialStore::from_docker_config_env().context("loading Docker credentials")?;
    let mut config = ResolverConfig {
        credentials,
        platform: args.platform.clone(),
        ..ResolverConfig::default()
    };
    for (host, url) in &args.registry_urls {
        config.map_registry(host, url.clone());
    }
    config.insecure_registries = args.insecure_registries.iter().cloned().collect();
    let resolver = Resolver::new(config).context("building the registry client")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let mut plans = runtime.block_on(byteproof_pin::plan(&resolver, &sources));
    for registry in resolver.loopback_over_http() {
        printer.note(&format!(
            "{registry} is a loopback registry: plain HTTP, as Docker does"
        ));
    }

    let mode = if args.check {
        Mode::Check
    } else if args.dry_run {
        Mode::DryRun
    } else {
        Mode::Write
    };
    if mode == Mode::Write {
        for plan in plans.iter_mut().filter(|p| p.changed()) {
            if let Err(err) = byteproof_fs::write_atomic(&plan.path, plan.updated.as_bytes(), None)
            {
                plan.fail_rewrite(FileProblem::WriteFailed(err.to_string()));
            }
        }
    }
    let status = exit_status(byteproof_pin::outcome(&plans, mode, args.allow_stale));

    match args.output.format() {
        Format::Json => {
            let report = PinJson::new(&plans, mode, status);
            printer.out(&format!("{}\n", serde_json::to_string_pretty(&report)?));
        }
        Format::Markdown => printer.out(&markdown(&plans, mode)),
        Format::Table => {
            if mode == Mode::DryRun {
                printer.out(&diffs(&plans));
            }
            printer.out(&table(&plans, mode, printer));
        }
    }
    for plan in &plans {
        if let Some(problem) = &plan.problem {
            printer.error(&format!("{}: {problem}", plan.path.display()));
        }
    }
    for finding in plans.iter().flat_map(|p| &p.findings) {
        if let Some(error) = finding_error(finding) {
            printer.warn(&format!(
                "{}:{}: {error}",
                finding.path.display(),
                finding.found.line
            ));
        }
    }
    Ok(status)
}

/// Files to scan: the arguments (folders expanded to their *.yml/*.yaml files, sorted), or the
/// default workflow folders.
fn input_files(args: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let roots: Vec<PathBuf> = if args.is_empty() {
        let defaults: Vec<PathBuf> = [".gitea/workflows", ".github/workflows"]
            .iter()
            .map(PathBuf::from)
            .filter(|p| p.is_dir())
            .collect();
        if defaults.is_empty() {
            anyhow::bail!(
                "no .gitea/workflows or .github/workflows here; pass workflow files, folders or an act_runner config.yaml"
            );
        }
        defaults
    } else {
        args.to_vec()
    };
    let mut files = BTreeSet::new();
    for root in roots {
        let meta =
            std::fs::metadata(&root).with_context(|| format!("cannot read {}", root.display()))?;
        if meta.is_dir() {
            collect_yaml(&root, &mut files)?;
        } else {
            files.insert(root);
        }
    }
    if files.is_empty() {
        anyhow::bail!("no *.yml or *.yaml files found");
    }
    Ok(files.into_iter().collect())
}

fn collect_yaml(dir: &Path, out: &mut BTreeSet<PathBuf>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let path = entry
            .with_context(|| format!("cannot read {}", dir.display()))?
            .path();
        if path.is_dir() {
            collect_yaml(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
            out.insert(path);
        }
    }
    Ok(())
}

/// The exit status for a run's outcome (the policy itself lives in `byteproof_pin::outcome`).
fn exit_status(outcome: Outcome) -> ExitStatus {
    match outcome {
        Outcome::Pass => ExitStatus::Success,
        Outcome::Fail => ExitStatus::Differs,
        Outcome::Invalid => ExitStatus::Usage,
        Outcome::Unverified => ExitStatus::Unverified,
    }
}

fn finding_error(f: &Finding) -> Option<String> {
    match &f.status {
        Status::Invalid(e) | Status::Unresolved(e) | Status::Unscannable(e) => Some(e.clone()),
        _ => f.error.clone(),
    }
}

fn verdict(f: &Finding, mode: Mode) -> &'static str {
    match (&f.status, mode) {
        (Status::Unpinned | Status::Stale | Status::Dangling, Mode::Write)
            if f.replacement.is_some() =>
        {
            "pinned now"
        }
        (Status::Unpinned | Status::Stale | Status::Dangling, Mode::DryRun)
            if f.replacement.is_some() =>
        {
            "would pin"
        }
        (status, _) => status.name(),
    }
}

fn style(status: &Status) -> Style {
    match status {
        Status::Pinned => Style::Ok,
        Status::Unpinned | Status::Dangling | Status::Invalid(_) | Status::Unscannable(_) => {
            Style::Bad
        }
        Status::Stale | Status::Unresolved(_) => Style::Warn,
        Status::Ignored | Status::Expression => Style::Dim,
    }
}

fn table(plans: &[FilePlan], mode: Mode, printer: &Printer) -> String {
    let rows: Vec<(String, &Finding)> = plans
        .iter()
        .flat_map(|p| {
            p.findings
                .iter()
                .map(move |f| (format!("{}:{}", p.path.display(), f.found.line), f))
        })
        .collect();
    let problems = plans.iter().filter(|p| p.problem.is_some()).count();
    if rows.is_empty() && problems == 0 {
        return "no image references found\n".to_owned();
    }
    let width = rows.iter().map(|(w, _)| w.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (place, f) in &rows {
        let word = verdict(f, mode);
        let padded = format!("{word:<11}");
        let mut line = format!(
            "{}  {place:<width$}  {}",
            printer.paint(style(&f.status), &padded),
            f.found.image
        );
        let target = f
            .replacement
            .as_ref()
            .filter(|_| mode != Mode::Check)
            .map(|r| format!(" -> {r}"));
        match (&f.status, target) {
            (_, Some(target)) => line.push_str(&target),
            (Status::Stale, None) => {
                if let Some(current) = &f.current {
                    line.push_str(&format!("  (tag now {current})"));
                }
            }
            _ => {}
        }
        if let Site::Alias {
            anchor,
            anchor_line,
            ..
        } = &f.found.site
        {
            line.push_str(&format!("  (alias of &{anchor}, line {anchor_line})"));
        }
        if let Some(note) = f.note.as_deref().or(f.found.unscannable()) {
            line.push_str(&format!("  [{note}]"));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    let count = |name: &str| rows.iter().filter(|(_, f)| f.status.name() == name).count();
    let changed = plans.iter().filter(|p| p.changed()).count();
    out.push_str(&format!(
        "\n{} references: {} pinned, {} unpinned, {} stale, {} dangling",
        rows.len(),
        count("pinned"),
        count("unpinned"),
        count("stale"),
        count("dangling")
    ));
    for other in [
        "unscannable",
        "unresolved",
        "invalid",
        "ignored",
        "expression",
    ] {
        let n = count(other);
        if n > 0 {
            out.push_str(&format!(", {n} {other}"));
        }
    }
    match mode {
        Mode::Write => out.push_str(&format!("; {changed} file(s) rewritten\n")),
        Mode::DryRun => out.push_str(&format!("; {changed} file(s) would change\n")),
        Mode::Check => out.push('\n'),
    }
    if problems > 0 {
        out.push_str(&format!(
            "{problems} file(s) could not be read or rewritten\n"
        ));
    }
    out
}

fn markdown(plans: &[FilePlan], mode: Mode) -> String {
    let mut out = String::from(
        "| status | file | line | location | image | pinned to |\n|---|---|---|---|---|---|\n",
    );
    for plan in plans {
        for f in &plan.findings {
            let target = match (&f.replacement, mode) {
                (Some(r), Mode::Write | Mode::DryRun) => format!("`{r}`"),
                _ => match f.found.unscannable() {
                    Some(reason) => reason.replace('|', "\\|"),
                    None => f
                        .current
                        .as_ref()
                        .map(|d| format!("`{d}`"))
                        .unwrap_or_default(),
                },
            };
            out.push_str(&format!(
                "| {} | `{}` | {} | `{}` | `{}` | {} |\n",
                verdict(f, mode),
                plan.path.display(),
                f.found.line,
                f.found.location,
                f.found.image.replace('|', "\\|"),
                target
            ));
        }
    }
    for plan in plans {
        if let Some(problem) = &plan.problem {
            out.push_str(&format!("\n**`{}`**: {problem}\n", plan.path.display()));
        }
    }
    out
}

fn unified_diff(plan: &FilePlan) -> String {
    let name = plan.path.display().to_string();
    similar::TextDiff::from_lines(&plan.original, &plan.updated)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{name}"), &format!("b/{name}"))
        .to_string()
}

fn diffs(plans: &[FilePlan]) -> String {
    plans
        .iter()
        .filter(|p| p.changed())
        .map(unified_diff)
        .collect::<Vec<_>>()
        .join("")
}

/// The JSON report of `byteproof pin` (`byteproof.pin/v1`).
#[derive(Debug, Serialize)]
struct PinJson {
    /// Always `byteproof.pin/v1`.
    schema: &'static str,
    /// `write`, `dry-run` or `check`.
    mode: &'static str,
    /// The exit status this run ends with.
    exit_code: u8,
    files: Vec<FileJson>,
}

#[derive(Debug, Serialize)]
struct FileJson {
    path: String,
    /// Whether pinning changes (or changed) the file.
    changed: bool,
    /// Unified diff, in dry-run mode when the file would change.
    #[serde(skip_serializing_if = "Option::is_none")]
    diff: Option<String>,
    /// Why the file could not be read or rewritten (it is then left as it was).
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    references: Vec<ReferenceJson>,
}

#[derive(Debug, Serialize)]
struct ReferenceJson {
    line: usize,
    location: String,
    /// The reference as written in the file.
    image: String,
    /// The normalised reference (registry/repository:tag), when valid.
    reference: Option<String>,
    /// pinned, unpinned, stale, dangling, unscannable, ignored, expression, invalid, unresolved.
    status: &'static str,
    /// For a use through an alias: the anchor whose scalar is rewritten, and its line.
    #[serde(skip_serializing_if = "Option::is_none")]
    alias: Option<AliasJson>,
    /// The digest written in the file.
    pinned: Option<String>,
    /// The digest the tag points at now.
    current: Option<String>,
    /// The new text of the reference, when it changes.
    replacement: Option<String>,
    error: Option<String>,
    /// Extra information, e.g. a platform-specific pin.
    note: Option<String>,
}

#[derive(Debug, Serialize)]
struct AliasJson {
    anchor: String,
    line: usize,
}

impl PinJson {
    fn new(plans: &[FilePlan], mode: Mode, status: ExitStatus) -> Self {
        let files = plans
            .iter()
            .map(|plan| FileJson {
                path: plan.path.display().to_string(),
                changed: plan.changed(),
                diff: (mode == Mode::DryRun && plan.changed()).then(|| unified_diff(plan)),
                error: plan.problem.as_ref().map(ToString::to_string),
                references: plan
                    .findings
                    .iter()
                    .map(|f| ReferenceJson {
                        line: f.found.line,
                        location: f.found.location.to_string(),
                        image: f.found.image.clone(),
                        reference: f.reference.as_ref().map(ToString::to_string),
                        status: f.status.name(),
                        alias: match &f.found.site {
                            Site::Alias {
                                anchor,
                                anchor_line,
                                ..
                            } => Some(AliasJson {
                                anchor: anchor.clone(),
                                line: *anchor_line,
                            }),
                            _ => None,
                        },
                        pinned: f.pinned.as_ref().map(ToString::to_string),
                        current: f.current.as_ref().map(ToString::to_string),
                        replacement: f.replacement.clone(),
                        error: finding_error(f),
                        note: f.note.clone(),
                    })
                    .collect(),
            })
            .collect();
        Self {
            schema: "byteproof.pin/v1",
            mode: mode.name(),
            exit_code: status as u8,
            files,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_url_flag() {
        let (host, url) = parse_registry_url("docker.io=http://127.0.0.1:5000").unwrap();
        assert_eq!(host, "docker.io");
        assert_eq!(url.as_str(), "http://127.0.0.1:5000/");
        assert!(parse_registry_url("docker.io").is_err());
        assert!(parse_registry_url("=http://x").is_err());
        assert!(parse_registry_url("h=ftp://x").is_err());
        assert!(parse_registry_url("h=http://u:p@x").is_err());
    }
}
