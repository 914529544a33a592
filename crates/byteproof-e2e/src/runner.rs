//! The e2e steps themselves: generate, pack, publish, verify, consumer, compare, cleanup.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use byteproof_compare::{CompareOptions, Verdict, compare};
use byteproof_config::RegistryKind;
use byteproof_fs::FileLock;
use byteproof_hash::{ClaimCheck, check_integrity, check_shasum, hash_bytes};
use byteproof_npm::{
    Auth, Keep, NpmClient, PackageName, PackageSpec, Registry, UnpublishStyle, Unpublished,
};
use serde_json::{Value, json};

use crate::graph::{Graph, Status, StepDef, StepOutcome, StepRunner};
use crate::journal::{Entry, EntryState, Journal, JournalError};
use crate::tools::{PackerKind, Tools, run_tool};

/// The name prefix of every run's scratch folder (cleanup removes nothing else).
pub const SCRATCH_PREFIX: &str = "byteproof-e2e-";

/// Step names, in order.
pub const STEPS: [&str; 7] = [
    "generate", "pack", "publish", "verify", "consumer", "compare", "cleanup",
];

/// The e2e step graph: generate → pack → publish → {verify → compare, consumer}; cleanup
/// always runs last.
pub fn e2e_graph() -> Graph {
    Graph::new(vec![
        StepDef::new("generate", &[]),
        StepDef::new("pack", &["generate"]),
        StepDef::new("publish", &["pack"]),
        StepDef::new("verify", &["publish"]),
        StepDef::new("consumer", &["publish"]),
        StepDef::new("compare", &["verify"]),
        StepDef::always(
            "cleanup",
            &[
                "generate", "pack", "publish", "verify", "consumer", "compare",
            ],
        ),
    ])
    .unwrap_or_else(|e| unreachable!("the e2e graph is valid: {e}"))
}

/// One registry under test.
#[derive(Clone, Debug)]
pub struct Target {
    /// The registry, with its credentials.
    pub registry: Registry,
    /// Its kind (decides how a version is removed).
    pub kind: RegistryKind,
}

impl Target {
    /// How this registry removes one version.
    pub fn unpublish_style(&self) -> UnpublishStyle {
        match self.kind {
            RegistryKind::Gitea => UnpublishStyle::Gitea,
            RegistryKind::Npm | RegistryKind::Verdaccio => UnpublishStyle::Npm,
        }
    }
}

/// What the probe publishes and how.
#[derive(Clone, Debug)]
pub struct E2eOptions {
    /// The throwaway package (`@scope/_runner-e2e-test`).
    pub package: PackageName,
    /// The dist-tag published under (never `latest`).
    pub tag: String,
    /// Which packer makes the tarball.
    pub packer: PackerKind,
    /// Where npm, pnpm and node are.
    pub tools: Tools,
    /// The state folder (journal).
    pub state_dir: PathBuf,
}

/// A problem before any step runs.
#[derive(Debug, thiserror::Error)]
pub enum E2eError {
    /// The dist-tag is `latest` or not a valid tag.
    #[error(
        "dist-tag {0:?} cannot be used: e2e versions never go to latest, and a tag must not look like a version"
    )]
    BadTag(String),
    /// The journal could not be read.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// The scratch folder could not be made.
    #[error("cannot create a scratch folder: {0}")]
    Scratch(std::io::Error),
}

/// The prerelease versions the probe uses: `0.0.1-e2e.<n>`.
pub fn e2e_version(n: u64) -> semver::Version {
    semver::Version::parse(&format!("0.0.1-e2e.{n}"))
        .unwrap_or_else(|e| unreachable!("a valid version: {e}"))
}

/// The `n` of `0.0.1-e2e.<n>`, if `version` is one.
pub fn e2e_number(version: &str) -> Option<u64> {
    version.strip_prefix("0.0.1-e2e.")?.parse().ok()
}

/// The next unused version: above every `0.0.1-e2e.<n>` in `existing`.
pub fn next_version<'a>(existing: impl IntoIterator<Item = &'a str>) -> semver::Version {
    let n = existing
        .into_iter()
        .filter_map(e2e_number)
        .max()
        .unwrap_or(0);
    e2e_version(n + 1)
}

/// One e2e run: the registries, the client, and what earlier steps produced.
#[derive(Debug)]
pub struct E2e {
    targets: Vec<Target>,
    client: NpmClient,
    options: E2eOptions,
    journal: Journal,
    run_id: String,
    /// This run's liveness lock ([`Journal::claim_run`]), held until the run is dropped.
    alive: Option<FileLock>,
    /// The scratch folder, until the cleanup step removes it.
    work: Option<tempfile::TempDir>,
    version: Option<semver::Version>,
    package_dir: Option<PathBuf>,
    manifest: Value,
    tarball: Option<Vec<u8>>,
}

impl E2e {
    /// Prepares a run (no network yet): claims a run id and records the scratch folder in the
    /// journal before anything is written into it.
    pub fn new(
        targets: Vec<Target>,
        client: NpmClient,
        options: E2eOptions,
    ) -> Result<Self, E2eError> {
        let tag = options.tag.trim();
        if tag.is_empty()
            || tag == "latest"
            || semver::Version::parse(tag.trim_start_matches('v')).is_ok()
            || tag.contains(['/', ' ', '%'])
        {
            return Err(E2eError::BadTag(options.tag.clone()));
        }
        let journal = Journal::open(&options.state_dir)?;
        let work = tempfile::Builder::new()
            .prefix(SCRATCH_PREFIX)
            .tempdir()
            .map_err(E2eError::Scratch)?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let seed = format!("{nanos}-{}-{}", std::process::id(), work.path().display());
        let run_id = hash_bytes(seed.as_bytes()).sha256_hex()[..16].to_owned();
        let alive = journal.claim_run(&run_id)?;
        journal.record_folder(&run_id, work.path())?;
        Ok(Self {
            targets,
            client,
            options,
            journal,
            run_id,
            alive: Some(alive),
            work: Some(work),
            version: None,
            package_dir: None,
            manifest: Value::Null,
            tarball: None,
        })
    }

    /// This run's identifier (also what the generated package exports).
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The journal file.
    pub fn journal_path(&self) -> &Path {
        self.journal.path()
    }

    /// The version chosen by `generate`, once it ran.
    pub fn version(&self) -> Option<&semver::Version> {
        self.version.as_ref()
    }

    /// The scratch folder, until cleanup removed it.
    fn scratch(&self) -> Option<PathBuf> {
        self.work.as_ref().map(|w| w.path().to_owned())
    }

    fn spec(&self) -> Option<PackageSpec> {
        Some(PackageSpec {
            name: self.options.package.clone(),
            version: self.version.clone()?,
        })
    }

    async fn generate(&mut self) -> StepOutcome {
        let Some(work) = self.scratch() else {
            return StepOutcome::with(Status::Error, "no scratch folder", Vec::new());
        };
        let mut existing: Vec<String> = Vec::new();
        let mut evidence = Vec::new();
        for target in &self.targets {
            match self
                .client
                .versions(&target.registry, &self.options.package)
                .await
            {
                Ok(versions) => {
                    let highest = versions.iter().filter_map(|v| e2e_number(v)).max();
                    evidence.push(format!(
                        "{}: {} e2e version(s){}",
                        target.registry.name,
                        versions.iter().filter(|v| e2e_number(v).is_some()).count(),
                        highest
                            .map(|n| format!(", highest 0.0.1-e2e.{n}"))
                            .unwrap_or_default()
                    ));
                    existing.extend(versions);
                }
                Err(err) => {
                    return StepOutcome::with(
                        Status::Error,
                        format!("cannot list versions on {}: {err}", target.registry.name),
                        evidence,
                    );
                }
            }
        }
        let name = self.options.package.to_string();
        let version = match self.reserve(&name, &existing) {
            Ok(version) => version,
            Err(err) => {
                return StepOutcome::with(
                    Status::Error,
                    format!("cannot reserve a version in the journal: {err}"),
                    evidence,
                );
            }
        };
        let dir = work.join("package");
        let manifest = json!({
            "name": name,
            "version": version.to_string(),
            "description": "throwaway byteproof e2e package; deleted at the end of every run",
            "main": "index.js",
            "license": "MIT",
        });
        let index = format!(
            "'use strict';\n// byteproof e2e run {id}\nmodule.exports = {{ runId: '{id}', version: '{version}' }};\n",
            id = self.run_id
        );
        let readme = format!(
            "# {name}\n\nThrowaway package published by `byteproof e2e run` and deleted again.\n"
        );
        let package_json = match serde_json::to_vec_pretty(&manifest) {
            Ok(json) => json,
            Err(err) => {
                return StepOutcome::with(
                    Status::Error,
                    format!("cannot serialise package.json: {err}"),
                    evidence,
                );
            }
        };
        let written = std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::write(dir.join("package.json"), package_json))
            .and_then(|()| std::fs::write(dir.join("index.js"), index))
            .and_then(|()| std::fs::write(dir.join("README.md"), readme));
        if let Err(err) = written {
            return StepOutcome::with(
                Status::Error,
                format!("cannot write the package folder: {err}"),
                evidence,
            );
        }
        evidence.push(format!("run id {}", self.run_id));
        self.manifest = manifest;
        self.package_dir = Some(dir);
        self.version = Some(version.clone());
        StepOutcome::passed(format!("{name}@{version}"), evidence)
    }

    /// Picks the next version above every e2e version on the registries (`listed`) and in the
    /// journal, and reserves it there for every target in one locked change, so a concurrent
    /// run sharing the state folder picks another.
    fn reserve(&self, package: &str, listed: &[String]) -> Result<semver::Version, JournalError> {
        self.journal.update(|contents| {
            let journaled = contents
                .entries
                .iter()
                .filter(|e| e.package == package)
                .map(|e| e.version.as_str());
            let version = next_version(listed.iter().map(String::as_str).chain(journaled));
            let spec = PackageSpec {
                name: self.options.package.clone(),
                version: version.clone(),
            };
            for target in &self.targets {
                contents.record(self.journal_entry(target, &spec, EntryState::Reserved));
            }
            version
        })
    }

    async fn pack(&mut self) -> StepOutcome {
        let (Some(dir), Some(work)) = (self.package_dir.clone(), self.scratch()) else {
            return StepOutcome::with(Status::Error, "no package folder", Vec::new());
        };
        let out = work.join("packed");
        let config = work.join("pack-npmrc");
        if let Err(err) = std::fs::create_dir_all(&out).and_then(|()| {
            std::fs::write(&config, "update-notifier=false\nfund=false\naudit=false\n")
        }) {
            return StepOutcome::with(Status::Error, format!("cannot prepare: {err}"), Vec::new());
        }
        let (program, mut args) = match self.options.packer {
            PackerKind::Npm => (&self.options.tools.npm, vec!["pack"]),
            PackerKind::Pnpm => (&self.options.tools.pnpm, vec!["pack"]),
        };
        let out_str = out.display().to_string();
        let config_str = config.display().to_string();
        args.extend(["--pack-destination", &out_str]);
        if self.options.packer == PackerKind::Npm {
            args.extend(["--userconfig", &config_str]);
        }
        let run = match run_tool(program, &args, &dir, &[], &[]).await {
            Ok(run) => run,
            Err(err) => return StepOutcome::with(Status::Error, err, Vec::new()),
        };
        if !run.ok {
            return StepOutcome::with(
                Status::Error,
                format!("{} pack failed: {}", self.options.packer.as_str(), run.tail),
                Vec::new(),
            );
        }
        let tgzs: Vec<PathBuf> = match std::fs::read_dir(&out).and_then(|d| {
            d.map(|e| e.map(|e| e.path()))
                .collect::<Result<Vec<_>, _>>()
        }) {
            Ok(paths) => paths
                .into_iter()
                .filter(|p| p.extension().is_some_and(|x| x == "tgz"))
                .collect(),
            Err(err) => {
                return StepOutcome::with(
                    Status::Error,
                    format!("cannot list {}: {err}", out.display()),
                    Vec::new(),
                );
            }
        };
        let [path] = tgzs.as_slice() else {
            return StepOutcome::with(
                Status::Error,
                format!("pack left {} .tgz files", tgzs.len()),
                Vec::new(),
            );
        };
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(err) => {
                return StepOutcome::with(Status::Error, format!("cannot read: {err}"), Vec::new());
            }
        };
        let d = hash_bytes(&bytes);
        let evidence = vec![
            format!("sha256 {}", d.sha256_hex()),
            format!("integrity {}", d.integrity()),
            format!("{} bytes", bytes.len()),
        ];
        self.tarball = Some(bytes);
        StepOutcome::passed(
            format!("packed with {}", self.options.packer.as_str()),
            evidence,
        )
    }

    fn journal_entry(&self, target: &Target, spec: &PackageSpec, state: EntryState) -> Entry {
        Entry {
            run: self.run_id.clone(),
            package: spec.name.to_string(),
            version: spec.version.to_string(),
            registry: target.registry.name.clone(),
            url: target.registry.base().to_string(),
            state,
            at: 0,
        }
    }

    async fn publish(&mut self) -> StepOutcome {
        let (Some(spec), Some(tarball)) = (self.spec(), self.tarball.clone()) else {
            return StepOutcome::with(Status::Error, "nothing packed", Vec::new());
        };
        let mut evidence = Vec::new();
        let mut failures = Vec::new();
        for target in self.targets.clone() {
            let before = self.journal_entry(&target, &spec, EntryState::Publishing);
            if let Err(err) = self.journal.record(before) {
                return StepOutcome::with(
                    Status::Error,
                    format!("not publishing: the journal cannot be written ({err})"),
                    evidence,
                );
            }
            let result = self
                .client
                .publish(
                    &target.registry,
                    &spec.name,
                    &spec.version,
                    &tarball,
                    &self.options.tag,
                    &self.manifest,
                )
                .await;
            let state = if result.is_ok() {
                EntryState::Published
            } else {
                EntryState::PublishFailed
            };
            let after = self.journal_entry(&target, &spec, state);
            let journaled = self.journal.record(after);
            match result {
                Ok(p) => evidence.push(format!(
                    "{}: PUT {} {} (tag {})",
                    target.registry.name, p.url, p.status, self.options.tag
                )),
                Err(err) => failures.push(format!("{}: {err}", target.registry.name)),
            }
            if let Err(err) = journaled {
                failures.push(format!("journal: {err}"));
            }
        }
        if failures.is_empty() {
            StepOutcome::passed(
                format!(
                    "{spec} published to {}",
                    plural(self.targets.len(), "registry", "registries")
                ),
                evidence,
            )
        } else {
            evidence.extend(failures.iter().cloned());
            StepOutcome::with(
                Status::Error,
                format!("publish refused: {}", failures.join("; ")),
                evidence,
            )
        }
    }

    async fn verify(&mut self) -> StepOutcome {
        let (Some(spec), Some(tarball)) = (self.spec(), self.tarball.as_ref()) else {
            return StepOutcome::with(Status::Error, "nothing published", Vec::new());
        };
        let packed = hash_bytes(tarball).sha256_hex();
        let mut evidence = Vec::new();
        let mut status = Status::Passed;
        let mut problems = Vec::new();
        for target in &self.targets {
            let name = &target.registry.name;
            let dist = match self.client.dist(&target.registry, &spec).await {
                Ok(dist) => dist,
                Err(err) => {
                    status = Status::worst([status, Status::Error]);
                    problems.push(format!("{name}: {err}"));
                    continue;
                }
            };
            let fetched = match self
                .client
                .tarball(&target.registry, &dist.tarball, Keep::Nothing)
                .await
            {
                Ok(f) => f,
                Err(err) => {
                    status = Status::worst([status, Status::Error]);
                    problems.push(format!("{name}: {err}"));
                    continue;
                }
            };
            let shasum = check_shasum(dist.shasum.as_deref(), &fetched.digests);
            let integrity = check_integrity(dist.integrity.as_deref(), &fetched.digests);
            let served = fetched.digests.sha256_hex();
            evidence.push(format!(
                "{name}: {} sha256 {served}{}",
                byteproof_npm::SafeUrl::new(&dist.tarball),
                if served == packed {
                    " (= packed)"
                } else {
                    " (differs from packed)"
                }
            ));
            if shasum.is_problem() || integrity.is_problem() {
                status = Status::worst([status, Status::Failed]);
                let why: Vec<String> = [("dist.shasum", &shasum), ("dist.integrity", &integrity)]
                    .into_iter()
                    .filter_map(|(what, check)| match check {
                        ClaimCheck::Mismatch { claimed, actual } => {
                            Some(format!("{what} claims {claimed}, bytes are {actual}"))
                        }
                        ClaimCheck::Unverifiable { reason } => {
                            Some(format!("{what} cannot be checked: {reason}"))
                        }
                        ClaimCheck::Absent | ClaimCheck::Match => None,
                    })
                    .collect();
                problems.push(format!(
                    "{name}: claims do not match the served bytes ({})",
                    why.join("; ")
                ));
            }
        }
        if problems.is_empty() {
            StepOutcome::passed(
                format!("every registry lists {spec} and its claims hold"),
                evidence,
            )
        } else {
            StepOutcome::with(status, problems.join("; "), evidence)
        }
    }

    async fn consumer(&mut self) -> StepOutcome {
        let Some(spec) = self.spec() else {
            return StepOutcome::with(Status::Error, "nothing published", Vec::new());
        };
        let Some(work) = self.scratch() else {
            return StepOutcome::with(Status::Error, "no scratch folder", Vec::new());
        };
        let mut evidence = Vec::new();
        let mut status = Status::Passed;
        let mut problems = Vec::new();
        for (i, target) in self.targets.iter().enumerate() {
            let name = &target.registry.name;
            let dir = work.join(format!("consumer-{i}"));
            match consume(&self.options.tools, target, &spec, &dir).await {
                Ok(Ok(out)) if out == self.run_id => {
                    evidence.push(format!("{name}: npm install {spec} ok; require() → {out}"));
                }
                Ok(Ok(out)) => {
                    status = Status::worst([status, Status::Failed]);
                    problems.push(format!(
                        "{name}: require() printed {out:?}, expected {:?}",
                        self.run_id
                    ));
                }
                Ok(Err(why)) => {
                    status = Status::worst([status, Status::Failed]);
                    problems.push(format!("{name}: {why}"));
                }
                Err(err) => {
                    status = Status::worst([status, Status::Error]);
                    problems.push(format!("{name}: {err}"));
                }
            }
        }
        if problems.is_empty() {
            StepOutcome::passed("a clean npm install works from every registry", evidence)
        } else {
            StepOutcome::with(status, problems.join("; "), evidence)
        }
    }

    async fn compare(&mut self) -> StepOutcome {
        let (Some(spec), Some(tarball)) = (self.spec(), self.tarball.as_ref()) else {
            return StepOutcome::with(Status::Error, "nothing published", Vec::new());
        };
        let packed = hash_bytes(tarball).sha256_hex();
        let registries: Vec<Registry> = self.targets.iter().map(|t| t.registry.clone()).collect();
        let comparison = compare(
            &self.client,
            &spec,
            &registries,
            &CompareOptions {
                keep_bytes_up_to: 64 << 20,
            },
            &|_| {},
        )
        .await;
        let mut evidence: Vec<String> = comparison
            .groups
            .iter()
            .map(|g| {
                let names: Vec<&str> = g
                    .members
                    .iter()
                    .map(|&i| comparison.registries[i].name.as_str())
                    .collect();
                format!("sha256 {} served by {}", g.sha256, names.join(", "))
            })
            .collect();
        match comparison.verdict {
            Verdict::Identical => {
                if comparison.groups.iter().all(|g| g.sha256 == packed) {
                    StepOutcome::passed(
                        "identical: every registry serves the packed bytes",
                        evidence,
                    )
                } else {
                    StepOutcome::with(
                        Status::Failed,
                        format!(
                            "the registries agree but not with the packed tarball (sha256 {packed})"
                        ),
                        evidence,
                    )
                }
            }
            Verdict::Incomplete => {
                let why: Vec<String> = comparison
                    .registries
                    .iter()
                    .filter_map(|r| r.outcome.as_ref().err().map(|e| format!("{}: {e}", r.name)))
                    .collect();
                StepOutcome::with(
                    Status::Error,
                    format!("incomplete: {}", why.join("; ")),
                    evidence,
                )
            }
            verdict => {
                // Explain each divergence, as `compare` does.
                for d in comparison.divergences() {
                    if let (Some((a_name, a)), Some((b_name, b))) = (d.a, d.b) {
                        let line = match byteproof_diff::diff(
                            a,
                            b,
                            &byteproof_diff::DiffOptions::default(),
                        ) {
                            Ok(report) => report.summary_line(),
                            Err(err) => format!("diff unavailable: {err}"),
                        };
                        evidence.push(format!("diff {a_name} vs {b_name}: {line}"));
                    }
                }
                StepOutcome::with(
                    Status::Failed,
                    format!(
                        "{}: the registries do not serve the same bytes",
                        verdict.as_str()
                    ),
                    evidence,
                )
            }
        }
    }

    /// Removes this run's version everywhere it may have gone, then the scratch folder (it holds
    /// the consumer's token). Both always run; the worse outcome wins.
    async fn cleanup(&mut self) -> StepOutcome {
        let mut outcome = self.remove_version().await;
        match self.remove_scratch() {
            Ok(line) => outcome.evidence.push(line),
            Err(problem) => {
                outcome.status = Status::worst([outcome.status, Status::Error]);
                outcome.message = format!("{}; {problem}", outcome.message);
            }
        }
        outcome
    }

    async fn remove_version(&mut self) -> StepOutcome {
        let Some(spec) = self.spec() else {
            return StepOutcome::passed("nothing was published", Vec::new());
        };
        let (package, version) = (spec.name.to_string(), spec.version.to_string());
        let is_mine = |e: &Entry| e.package == package && e.version == version;
        // Reservations were never published anywhere: forget them without asking.
        let forgotten = self.journal.update(|c| {
            c.entries.retain(|e| {
                !(is_mine(e) && e.run == self.run_id && e.state == EntryState::Reserved)
            });
        });
        let entries = match forgotten.and_then(|()| self.journal.entries()) {
            Ok(entries) => entries,
            Err(err) => {
                return StepOutcome::with(
                    Status::Error,
                    format!("cannot read the journal, so nothing was removed: {err}"),
                    Vec::new(),
                );
            }
        };
        let published: BTreeSet<String> = entries
            .iter()
            .filter(|e| is_mine(e))
            .map(|e| e.registry.clone())
            .collect();
        if published.is_empty() {
            return StepOutcome::passed("nothing was published", Vec::new());
        }
        let targets: Vec<Target> = self
            .targets
            .iter()
            .filter(|t| published.contains(&t.registry.name))
            .cloned()
            .collect();
        let results = remove_everywhere(&self.client, &targets, &spec, &self.journal).await;
        outcome_of(&results)
    }

    /// Removes the scratch folder and forgets it in the journal.
    fn remove_scratch(&mut self) -> Result<String, String> {
        let Some(work) = self.work.take() else {
            return Ok("the scratch folder was already removed".to_owned());
        };
        let path = work.path().to_owned();
        work.close().map_err(|err| {
            format!(
                "cannot remove the scratch folder {} (it holds the consumer's token): {err}",
                path.display()
            )
        })?;
        self.journal
            .forget_folder(&path)
            .map_err(|err| format!("journal: {err}"))?;
        Ok(format!("removed the scratch folder {}", path.display()))
    }
}

impl Drop for E2e {
    fn drop(&mut self) {
        // The run is over: its liveness lock file goes (a leftover one is harmless; cleanup
        // sweeps it).
        if let Some(alive) = self.alive.take() {
            let _ = alive.remove();
        }
    }
}

impl StepRunner for E2e {
    async fn run_step(&mut self, name: &str) -> StepOutcome {
        match name {
            "generate" => self.generate().await,
            "pack" => self.pack().await,
            "publish" => self.publish().await,
            "verify" => self.verify().await,
            "consumer" => self.consumer().await,
            "compare" => self.compare().await,
            "cleanup" => self.cleanup().await,
            other => StepOutcome::with(Status::Error, format!("no step {other}"), Vec::new()),
        }
    }
}

/// A clean install of `spec` from `target` in `dir`, then `require()` of it; `Ok(Ok(out))` is
/// what the package's `runId` printed, `Ok(Err(..))` a failed install or require.
async fn consume(
    tools: &Tools,
    target: &Target,
    spec: &PackageSpec,
    dir: &Path,
) -> Result<Result<String, String>, String> {
    let project = dir.join("project");
    let cache = dir.join("cache");
    std::fs::create_dir_all(&project)
        .and_then(|()| std::fs::create_dir_all(&cache))
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let base = target.registry.base();
    let nerf = byteproof_config::nerf_dart(base);
    let mut npmrc = format!(
        "registry={base}\nupdate-notifier=false\naudit=false\nfund=false\ncache={}\n\
         fetch-retries=1\nfetch-retry-mintimeout=1000\nfetch-retry-maxtimeout=3000\n",
        cache.display()
    );
    if let Some(scope) = spec.name.scope() {
        npmrc.push_str(&format!("@{scope}:registry={base}\n"));
    }
    let mut secrets: Vec<String> = Vec::new();
    match &target.registry.auth {
        Some(Auth::Bearer(token)) => {
            npmrc.push_str(&format!("{nerf}:_authToken={}\n", token.expose()));
            secrets.push(token.expose().to_owned());
        }
        Some(Auth::Basic { username, password }) => {
            use base64::Engine as _;
            let raw = format!("{username}:{}", password.expose());
            let encoded = base64::engine::general_purpose::STANDARD.encode(raw);
            npmrc.push_str(&format!("{nerf}:_auth={encoded}\n"));
            secrets.push(password.expose().to_owned());
            secrets.push(encoded);
        }
        None => {}
    }
    let userconfig = dir.join("npmrc");
    let globalconfig = dir.join("global-npmrc");
    write_private(&userconfig, &npmrc).map_err(|e| format!("cannot write the npmrc: {e}"))?;
    std::fs::write(&globalconfig, "").map_err(|e| format!("cannot write: {e}"))?;
    std::fs::write(
        project.join("package.json"),
        "{\"name\":\"byteproof-e2e-consumer\",\"version\":\"1.0.0\",\"private\":true}\n",
    )
    .map_err(|e| format!("cannot write: {e}"))?;
    let scrub: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let user = userconfig.display().to_string();
    let global = globalconfig.display().to_string();
    let wanted = spec.to_string();
    let install = run_tool(
        &tools.npm,
        &[
            "install",
            &wanted,
            "--userconfig",
            &user,
            "--globalconfig",
            &global,
            "--no-audit",
            "--no-fund",
        ],
        &project,
        &[],
        &scrub,
    )
    .await?;
    if !install.ok {
        return Ok(Err(format!(
            "npm install {wanted} failed: {}",
            install.tail
        )));
    }
    let quoted = serde_json::to_string(&spec.name.to_string())
        .map_err(|e| format!("cannot quote the package name for node: {e}"))?;
    let script = format!("process.stdout.write(String(require({quoted}).runId))");
    let node = run_tool(&tools.node, &["-e", &script], &project, &[], &scrub).await?;
    if !node.ok {
        return Ok(Err(format!("require() failed: {}", node.tail)));
    }
    Ok(Ok(node.stdout.trim().to_owned()))
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())
}

/// What happened to one version on one registry during cleanup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Removal {
    /// The registry's name.
    pub registry: String,
    /// `@scope/name@version`.
    pub spec: String,
    /// `removed`, `already-absent` or `failed`.
    pub action: RemovalAction,
    /// True when a read afterwards showed the version gone.
    pub verified_absent: bool,
    /// Requests sent, or the error.
    pub detail: Vec<String>,
}

/// The result of removing one version from one registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RemovalAction {
    /// The registry had it and removed it.
    Removed,
    /// The registry did not have it.
    AlreadyAbsent,
    /// It could not be removed (or its absence could not be verified).
    Failed,
}

impl RemovalAction {
    /// Stable name for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            RemovalAction::Removed => "removed",
            RemovalAction::AlreadyAbsent => "already-absent",
            RemovalAction::Failed => "failed",
        }
    }
}

/// Removes `spec` from every target and verifies it is gone; journal entries of verified
/// absences are forgotten.
pub async fn remove_everywhere(
    client: &NpmClient,
    targets: &[Target],
    spec: &PackageSpec,
    journal: &Journal,
) -> Vec<Removal> {
    let mut out = Vec::new();
    for target in targets {
        let mut removal = remove_one(client, target, spec).await;
        if removal.verified_absent {
            if let Err(err) = journal.forget(
                &spec.name.to_string(),
                &spec.version.to_string(),
                &target.registry.name,
            ) {
                removal.detail.push(format!("journal: {err}"));
            }
        }
        out.push(removal);
    }
    out
}

async fn remove_one(client: &NpmClient, target: &Target, spec: &PackageSpec) -> Removal {
    let mut removal = Removal {
        registry: target.registry.name.clone(),
        spec: spec.to_string(),
        action: RemovalAction::Failed,
        verified_absent: false,
        detail: Vec::new(),
    };
    match client
        .unpublish(&target.registry, target.unpublish_style(), spec)
        .await
    {
        Ok(Unpublished::Removed(log)) => {
            removal.action = RemovalAction::Removed;
            removal.detail = log;
        }
        Ok(Unpublished::AlreadyAbsent) => removal.action = RemovalAction::AlreadyAbsent,
        Err(err) => {
            removal.detail.push(err.to_string());
            return removal;
        }
    }
    match client.version_absent(&target.registry, spec).await {
        Ok(true) => removal.verified_absent = true,
        Ok(false) => {
            removal.action = RemovalAction::Failed;
            removal
                .detail
                .push("the registry still lists the version after the delete".into());
        }
        Err(err) => {
            removal.action = RemovalAction::Failed;
            removal.detail.push(format!("cannot verify: {err}"));
        }
    }
    removal
}

/// The cleanup step's outcome from its removals: passed when every version is verified gone.
pub fn outcome_of(results: &[Removal]) -> StepOutcome {
    let evidence: Vec<String> = results
        .iter()
        .map(|r| {
            format!(
                "{}: {} {}{}{}",
                r.registry,
                r.spec,
                r.action.as_str(),
                if r.verified_absent {
                    ", verified absent"
                } else {
                    ""
                },
                if r.detail.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", r.detail.join("; "))
                }
            )
        })
        .collect();
    if results.iter().all(|r| r.verified_absent) {
        StepOutcome::passed(
            format!(
                "{} removal(s), every version verified absent",
                results.len()
            ),
            evidence,
        )
    } else {
        StepOutcome::with(
            Status::Error,
            "some versions could not be removed or verified absent",
            evidence,
        )
    }
}

/// `1 registry`, `2 registries`.
fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_version_is_above_every_e2e_version() {
        assert_eq!(next_version([]).to_string(), "0.0.1-e2e.1");
        assert_eq!(
            next_version(["0.0.1-e2e.3", "1.0.0", "0.0.1-e2e.12", "0.0.1-e2e.x"]).to_string(),
            "0.0.1-e2e.13"
        );
        assert!(!next_version([]).pre.is_empty());
    }

    #[test]
    fn the_graph_orders_cleanup_last() {
        let graph = e2e_graph();
        let phases = graph.phases();
        assert_eq!(phases.last().unwrap(), &vec!["cleanup"]);
        assert_eq!(graph.steps().len(), STEPS.len());
    }
}
