//! `byteproof e2e run | cleanup`: wires configuration into `byteproof-e2e`, handles Ctrl-C,
//! prints the step report and picks the exit status.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use byteproof_config::RegistryKind;
use byteproof_e2e::{
    CleanupReport, DEFAULT_NAME, E2e, E2eOptions, Journal, PackerKind, RunReport, Selection,
    Status, Target, Tools, e2e_graph, gitea_name_problem, run_graph,
};
use byteproof_npm::PackageName;
use serde::Serialize;

use crate::exit::ExitStatus;
use crate::printer::{Printer, Style};
use crate::registry_args::{RegistryArgs, Setup, runtime};
use crate::report::{Format, OutputArgs};

pub(crate) const AFTER_HELP: &str = "\
Steps (a graph; cleanup always runs, also after a failure, a timeout or Ctrl-C):
  generate  the package @SCOPE/NAME at the next unused 0.0.1-e2e.<n>
  pack      once, with the real npm (or pnpm with --packer pnpm)
  publish   the same bytes to every registry (npm's PUT body), under --tag, never latest
  verify    every registry lists the version and its dist claims match its bytes
  consumer  a clean `npm install` from each registry, then require() prints this run's id
  compare   byteproof compare across the registries (with a diff on divergence)
  cleanup   delete the version everywhere (npm's sequence; Gitea's version route) and
            verify it is gone

Every publish is recorded in a journal in the state folder before and after it happens,
and so is the run's scratch folder (the consumer's .npmrc in it holds a token);
`byteproof e2e cleanup` removes what a killed run left behind (--all: every version of
the e2e package). Runs may share a state folder: each reserves its own version, and
cleanup leaves runs that are still in progress alone.

Registries and tokens: as for `byteproof compare` (see its --help). byteproof.toml's
`kind = \"gitea\"` selects Gitea's delete route.

Exit status:
  0  every step passed (or was skipped on request)
  1  a check failed: claim mismatch, divergence, wrong consumer output, failed install
  2  usage or configuration error, stdout could not be written
  3  could not run or verify: a registry refused, network, timeout, interrupted
A closed stdout never changes the status; another failed write to stdout gives 2 (or 3).";

/// Arguments of `byteproof e2e`.
#[derive(Debug, clap::Args)]
pub(crate) struct E2eArgs {
    #[command(subcommand)]
    command: E2eCommand,
}

#[derive(Debug, clap::Subcommand)]
enum E2eCommand {
    /// Publish a throwaway package everywhere, verify, install, compare, then delete it.
    #[command(after_help = AFTER_HELP)]
    Run(RunArgs),
    /// Remove what the journal records (and with --all every e2e version) from every registry.
    #[command(after_help = AFTER_HELP)]
    Cleanup(CleanupArgs),
}

/// Flags shared by `run` and `cleanup`.
#[derive(Debug, clap::Args)]
struct Common {
    #[command(flatten)]
    registry: RegistryArgs,

    /// Scope of the throwaway package, without '@'.
    #[arg(long, default_value = "byteproof")]
    scope: String,

    /// Name of the throwaway package, without scope.
    #[arg(long, default_value = DEFAULT_NAME)]
    name: String,

    /// Folder for the journal [default: $BYTEPROOF_STATE_DIR, else ./.byteproof-state].
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,

    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    #[command(flatten)]
    common: Common,

    /// The dist-tag to publish under (never latest).
    #[arg(long, default_value = "e2e")]
    tag: String,

    /// Which real packer makes the tarball.
    #[arg(long, value_enum, default_value_t = Packer::Npm)]
    packer: Packer,

    /// Run only these steps (comma-separated), plus their dependencies and cleanup.
    #[arg(long, value_delimiter = ',', value_name = "STEP,...")]
    only: Vec<String>,

    /// Do not run these steps (comma-separated); cleanup cannot be skipped.
    #[arg(long, value_delimiter = ',', value_name = "STEP,...")]
    skip: Vec<String>,

    /// After the first step that does not pass, skip everything but cleanup.
    #[arg(long)]
    fast_fail: bool,

    /// Seconds one step may take.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    step_timeout: u64,

    /// Print the plan and do nothing.
    #[arg(long)]
    dry_run: bool,

    /// The npm to run (found on PATH unless a path).
    #[arg(long, value_name = "PATH", default_value = "npm")]
    npm: PathBuf,

    /// The pnpm to run for --packer pnpm (found on PATH unless a path).
    #[arg(long, value_name = "PATH", default_value = "pnpm")]
    pnpm: PathBuf,

    /// The node to run (found on PATH unless a path).
    #[arg(long, value_name = "PATH", default_value = "node")]
    node: PathBuf,
}

#[derive(Debug, clap::Args)]
struct CleanupArgs {
    #[command(flatten)]
    common: Common,

    /// Also remove every version of the e2e package found on any registry.
    #[arg(long)]
    all: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Packer {
    /// npm pack.
    Npm,
    /// pnpm pack.
    Pnpm,
}

impl E2eArgs {
    pub(crate) fn machine_output(&self) -> bool {
        let common = match &self.command {
            E2eCommand::Run(a) => &a.common,
            E2eCommand::Cleanup(a) => &a.common,
        };
        common.output.format() != Format::Table
    }
}

pub(crate) fn run(args: &E2eArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    match &args.command {
        E2eCommand::Run(a) => run_e2e(a, printer),
        E2eCommand::Cleanup(a) => run_cleanup(a, printer),
    }
}

fn kind_name(kind: RegistryKind) -> &'static str {
    match kind {
        RegistryKind::Npm => "npm",
        RegistryKind::Verdaccio => "verdaccio",
        RegistryKind::Gitea => "gitea",
    }
}

fn delete_method(kind: RegistryKind) -> &'static str {
    match kind {
        RegistryKind::Gitea => "DELETE /{pkg}/-/{version}/{file}/-rev/x",
        RegistryKind::Npm | RegistryKind::Verdaccio => {
            "npm: GET ?write=true, PUT /-rev/<rev>, DELETE tarball/-rev/<rev>"
        }
    }
}

impl Common {
    fn package(&self) -> anyhow::Result<PackageName> {
        let scope = self.scope.trim().trim_start_matches('@');
        Ok(PackageName::parse(&format!(
            "@{scope}/{}",
            self.name.trim()
        ))?)
    }

    fn state_dir(&self) -> anyhow::Result<PathBuf> {
        if let Some(dir) = &self.state_dir {
            return Ok(dir.clone());
        }
        if let Some(dir) = std::env::var_os("BYTEPROOF_STATE_DIR").filter(|d| !d.is_empty()) {
            return Ok(PathBuf::from(dir));
        }
        Ok(std::env::current_dir()
            .context("cannot read the current directory")?
            .join(".byteproof-state"))
    }

    fn targets(
        &self,
        printer: &Printer,
    ) -> anyhow::Result<(Vec<Target>, byteproof_npm::NpmClient)> {
        let Setup { registries, client } = self.registry.setup(printer)?;
        let targets = registries
            .into_iter()
            .map(|r| Target {
                registry: r.registry,
                kind: r.kind,
            })
            .collect();
        Ok((targets, client))
    }
}

#[derive(Serialize)]
struct StepJson<'a> {
    name: &'a str,
    status: &'static str,
    duration_ms: u128,
    message: &'a str,
    evidence: &'a [String],
}

#[derive(Serialize)]
struct RunJson<'a> {
    schema: &'static str,
    package: String,
    version: Option<String>,
    run_id: &'a str,
    status: &'static str,
    interrupted: bool,
    journal: String,
    steps: Vec<StepJson<'a>>,
}

#[derive(Serialize)]
struct PlanJson {
    schema: &'static str,
    dry_run: bool,
    package: String,
    version: String,
    tag: String,
    packer: &'static str,
    state_dir: String,
    step_timeout_secs: u64,
    registries: Vec<PlanRegistry>,
    phases: Vec<Vec<PlanStep>>,
}

#[derive(Serialize)]
struct PlanRegistry {
    name: String,
    url: String,
    kind: &'static str,
    delete: &'static str,
}

#[derive(Serialize)]
struct PlanStep {
    name: String,
    runs: bool,
    reason: Option<String>,
}

fn run_e2e(args: &RunArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let package = args.common.package()?;
    let state_dir = args.common.state_dir()?;
    let graph = e2e_graph();
    let selection = Selection {
        only: args.only.clone(),
        skip: args.skip.clone(),
        fast_fail: args.fast_fail,
        step_timeout: Duration::from_secs(args.step_timeout.max(1)),
    };
    let not_run = graph.select(&selection)?;
    let (targets, client) = args.common.targets(printer)?;
    if targets.iter().any(|t| t.kind == RegistryKind::Gitea) {
        if let Some(why) = gitea_name_problem(&package) {
            anyhow::bail!(why);
        }
    }
    let packer = match args.packer {
        Packer::Npm => PackerKind::Npm,
        Packer::Pnpm => PackerKind::Pnpm,
    };
    if args.dry_run {
        let plan = PlanJson {
            schema: "byteproof.e2e-plan/v1",
            dry_run: true,
            package: package.to_string(),
            version: "0.0.1-e2e.<n>, n above every e2e version on any registry".into(),
            tag: args.tag.clone(),
            packer: packer.as_str(),
            state_dir: state_dir.display().to_string(),
            step_timeout_secs: selection.step_timeout.as_secs(),
            registries: targets
                .iter()
                .map(|t| PlanRegistry {
                    name: t.registry.name.clone(),
                    url: t.registry.base().to_string(),
                    kind: kind_name(t.kind),
                    delete: delete_method(t.kind),
                })
                .collect(),
            phases: graph
                .phases()
                .into_iter()
                .map(|phase| {
                    phase
                        .into_iter()
                        .map(|name| PlanStep {
                            name: name.to_owned(),
                            runs: !not_run.contains_key(name),
                            reason: not_run.get(name).cloned(),
                        })
                        .collect()
                })
                .collect(),
        };
        match args.common.output.format() {
            Format::Json => printer.out(&format!("{}\n", serde_json::to_string_pretty(&plan)?)),
            _ => printer.out(&plan_text(&plan)),
        }
        return Ok(ExitStatus::Success);
    }
    let options = E2eOptions {
        package: package.clone(),
        tag: args.tag.clone(),
        packer,
        tools: Tools {
            npm: args.npm.clone(),
            pnpm: args.pnpm.clone(),
            node: args.node.clone(),
        },
        state_dir,
    };
    let mut e2e = E2e::new(targets, client, options)?;
    let journal_path = e2e.journal_path().display().to_string();
    let runtime = runtime()?;
    printer.note(&format!("e2e run {} of {package}", e2e.run_id()));
    let report = runtime.block_on(run_graph(
        &graph,
        &selection,
        &not_run,
        &mut e2e,
        byteproof_e2e::interrupted(),
    ));
    if report.interrupted {
        printer.warn("interrupted: cleanup ran before exiting");
    }
    let json = RunJson {
        schema: "byteproof.e2e/v1",
        package: package.to_string(),
        version: e2e.version().map(ToString::to_string),
        run_id: e2e.run_id(),
        status: report.status.as_str(),
        interrupted: report.interrupted,
        journal: journal_path,
        steps: report
            .steps
            .iter()
            .map(|s| StepJson {
                name: &s.name,
                status: s.status.as_str(),
                duration_ms: s.duration.as_millis(),
                message: &s.message,
                evidence: &s.evidence,
            })
            .collect(),
    };
    match args.common.output.format() {
        Format::Json => printer.out(&format!("{}\n", serde_json::to_string_pretty(&json)?)),
        Format::Markdown => printer.out(&run_markdown(&json)),
        Format::Table => printer.out(&run_table(&json, &report, printer)),
    }
    Ok(exit_status(report.status))
}

fn exit_status(status: Status) -> ExitStatus {
    match status {
        Status::Passed | Status::Skipped => ExitStatus::Success,
        Status::Failed => ExitStatus::Differs,
        Status::Error | Status::TimedOut => ExitStatus::Unverified,
    }
}

fn style(status: Status) -> Style {
    match status {
        Status::Passed => Style::Ok,
        Status::Skipped => Style::Warn,
        _ => Style::Bad,
    }
}

fn plan_text(plan: &PlanJson) -> String {
    let mut out = format!(
        "plan (dry run): {} at {}, tag {}, packed with {}\njournal in {}; step timeout {} s\n\nregistries:\n",
        plan.package, plan.version, plan.tag, plan.packer, plan.state_dir, plan.step_timeout_secs
    );
    for r in &plan.registries {
        out.push_str(&format!(
            "  {}  {}  ({}; delete: {})\n",
            r.name, r.url, r.kind, r.delete
        ));
    }
    out.push_str("\nsteps:\n");
    for (i, phase) in plan.phases.iter().enumerate() {
        for step in phase {
            out.push_str(&format!(
                "  {}. {}{}\n",
                i + 1,
                step.name,
                step.reason
                    .as_deref()
                    .map(|r| format!(" — not run: {r}"))
                    .unwrap_or_default()
            ));
        }
    }
    out
}

fn run_table(json: &RunJson<'_>, report: &RunReport, printer: &Printer) -> String {
    let mut out = format!(
        "e2e {}@{}: {}\n\n",
        json.package,
        json.version.as_deref().unwrap_or("-"),
        printer.paint(style(report.status), &report.status.as_str().to_uppercase())
    );
    let width = report.steps.iter().map(|s| s.name.len()).max().unwrap_or(4);
    for step in &report.steps {
        let status = format!("{:<9}", step.status.as_str());
        out.push_str(&format!(
            "{:<width$}  {}  {:>7.1} s  {}\n",
            step.name,
            printer.paint(style(step.status), &status),
            step.duration.as_secs_f64(),
            step.message
        ));
        for line in &step.evidence {
            out.push_str(&format!(
                "{:<width$}    {}\n",
                "",
                printer.paint(Style::Dim, line)
            ));
        }
    }
    out
}

fn run_markdown(json: &RunJson<'_>) -> String {
    let mut out = format!(
        "### byteproof e2e: `{}@{}` — **{}**\n\n| step | status | duration | details |\n|---|---|---|---|\n",
        json.package,
        json.version.as_deref().unwrap_or("-"),
        json.status
    );
    for s in &json.steps {
        let mut details = s.message.replace('|', "\\|");
        for e in s.evidence {
            details.push_str(&format!(
                "<br>`{}`",
                e.replace('|', "\\|").replace('`', "'")
            ));
        }
        out.push_str(&format!(
            "| {} | {} | {:.1} s | {} |\n",
            s.name,
            s.status,
            s.duration_ms as f64 / 1000.0,
            details
        ));
    }
    out
}

#[derive(Serialize)]
struct CleanupJson {
    schema: &'static str,
    complete: bool,
    journal: String,
    removals: Vec<RemovalJson>,
    folders: Vec<FolderJson>,
    reservations_dropped: usize,
    running: Vec<String>,
    unknown_registries: Vec<String>,
    errors: Vec<String>,
}

#[derive(Serialize)]
struct FolderJson {
    run: String,
    path: String,
    removed: bool,
    problem: Option<String>,
}

#[derive(Serialize)]
struct RemovalJson {
    registry: String,
    spec: String,
    action: &'static str,
    verified_absent: bool,
    detail: Vec<String>,
}

fn run_cleanup(args: &CleanupArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let package = args.common.package()?;
    let state_dir = args.common.state_dir()?;
    let (targets, client) = args.common.targets(printer)?;
    let journal = Journal::open(&state_dir)?;
    let runtime = runtime()?;
    let report: CleanupReport = runtime.block_on(byteproof_e2e::cleanup(
        &client,
        &targets,
        &journal,
        args.all.then_some(&package),
    ));
    let entry_text = |e: &byteproof_e2e::Entry| {
        format!("{} ({}@{} at {})", e.registry, e.package, e.version, e.url)
    };
    let json = CleanupJson {
        schema: "byteproof.e2e-cleanup/v1",
        complete: report.complete(),
        journal: journal.path().display().to_string(),
        removals: report
            .removals
            .iter()
            .map(|r| RemovalJson {
                registry: r.registry.clone(),
                spec: r.spec.clone(),
                action: r.action.as_str(),
                verified_absent: r.verified_absent,
                detail: r.detail.clone(),
            })
            .collect(),
        folders: report
            .folders
            .iter()
            .map(|f| FolderJson {
                run: f.run.clone(),
                path: f.path.display().to_string(),
                removed: f.problem.is_none(),
                problem: f.problem.clone(),
            })
            .collect(),
        reservations_dropped: report.reservations_dropped,
        running: report
            .running
            .iter()
            .map(|e| format!("{} (run {})", entry_text(e), e.run))
            .collect(),
        unknown_registries: report.unknown_registries.iter().map(entry_text).collect(),
        errors: report.errors.clone(),
    };
    match args.common.output.format() {
        Format::Json => printer.out(&format!("{}\n", serde_json::to_string_pretty(&json)?)),
        _ => printer.out(&cleanup_text(&json, printer)),
    }
    Ok(if json.complete {
        ExitStatus::Success
    } else {
        ExitStatus::Unverified
    })
}

fn cleanup_text(json: &CleanupJson, printer: &Printer) -> String {
    let mut out = String::new();
    let nothing = json.removals.is_empty()
        && json.folders.is_empty()
        && json.running.is_empty()
        && json.reservations_dropped == 0;
    if nothing && json.complete {
        out.push_str("nothing to remove: the journal is empty and no e2e versions were found\n");
    }
    for r in &json.removals {
        let style = if r.verified_absent {
            Style::Ok
        } else {
            Style::Bad
        };
        out.push_str(&format!(
            "{}  {}  {}{}\n",
            r.registry,
            r.spec,
            printer.paint(style, r.action),
            if r.verified_absent {
                ", verified absent"
            } else {
                ", NOT verified absent"
            }
        ));
        for d in &r.detail {
            out.push_str(&format!("    {}\n", printer.paint(Style::Dim, d)));
        }
    }
    for f in &json.folders {
        match &f.problem {
            None => out.push_str(&format!(
                "removed the scratch folder {} of run {}\n",
                f.path, f.run
            )),
            Some(problem) => out.push_str(&format!(
                "{}: {problem}\n",
                printer.paint(Style::Bad, "scratch folder NOT removed")
            )),
        }
    }
    if json.reservations_dropped > 0 {
        out.push_str(&format!(
            "dropped {} reservation(s) of versions that were never published\n",
            json.reservations_dropped
        ));
    }
    for r in &json.running {
        out.push_str(&format!("left to the run still in progress: {r}\n"));
    }
    for u in &json.unknown_registries {
        out.push_str(&format!(
            "not configured, left in the journal: {u}; pass --registry NAME=URL to clean it\n"
        ));
    }
    for e in &json.errors {
        out.push_str(&format!("error: {e}\n"));
    }
    out
}
