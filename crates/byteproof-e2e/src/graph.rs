//! The step graph and its status rules, independent of what the steps do.
//!
//! Steps have dependencies and are run in phases (topological layers). A step runs when every
//! dependency passed, whichever earlier phase it ran in; otherwise it is skipped and says why.
//! "Always" steps (cleanup) run after their dependencies are resolved whatever their outcome,
//! also after `--fast-fail`, a timeout or an interrupt. The run's status is the worst status of
//! any step, so a failure is never masked by later steps that pass.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

use serde::Serialize;

/// How a step ended. Ordered by [`Status::severity`], not by declaration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// The step ran and every check held.
    Passed,
    /// The step did not run (not selected, `--skip`, a dependency did not pass, `--fast-fail`).
    Skipped,
    /// The step could not do its work (registry refused, network, a tool missing): exit 3.
    Error,
    /// The step ran out of time: exit 3.
    TimedOut,
    /// The step ran and a check failed (divergence, claim mismatch, wrong consumer output):
    /// exit 1.
    Failed,
}

impl Status {
    /// Stable name for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Passed => "passed",
            Status::Skipped => "skipped",
            Status::Error => "error",
            Status::TimedOut => "timed-out",
            Status::Failed => "failed",
        }
    }

    /// How bad it is: passed < skipped < error = timed-out < failed. A proven problem (a
    /// failed check) outranks an unproven one (could not run), as in `compare`'s verdicts.
    pub fn severity(self) -> u8 {
        match self {
            Status::Passed => 0,
            Status::Skipped => 1,
            Status::Error | Status::TimedOut => 2,
            Status::Failed => 3,
        }
    }

    /// True for error, timed-out and failed.
    pub fn is_problem(self) -> bool {
        self.severity() >= 2
    }

    /// The worst of `statuses` ([`Status::Passed`] for none). Between equally severe statuses
    /// the first one wins.
    pub fn worst(statuses: impl IntoIterator<Item = Status>) -> Status {
        statuses.into_iter().fold(Status::Passed, |acc, s| {
            if s.severity() > acc.severity() {
                s
            } else {
                acc
            }
        })
    }
}

/// One step of a graph.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepDef {
    /// Unique name (`publish`).
    pub name: String,
    /// Names of the steps that must pass first.
    pub deps: Vec<String>,
    /// Runs once its dependencies are resolved, whatever their outcome (cleanup).
    pub always: bool,
}

impl StepDef {
    /// A step that needs `deps` to pass.
    pub fn new(name: &str, deps: &[&str]) -> Self {
        Self {
            name: name.to_owned(),
            deps: deps.iter().map(|d| (*d).to_owned()).collect(),
            always: false,
        }
    }

    /// A step that always runs, after `deps` are resolved.
    pub fn always(name: &str, deps: &[&str]) -> Self {
        Self {
            always: true,
            ..Self::new(name, deps)
        }
    }
}

/// A problem with the graph or with `--only` / `--skip`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    /// A name that is not a step.
    #[error("unknown step {name:?}; the steps are: {known}")]
    UnknownStep {
        /// The name given.
        name: String,
        /// The known names, comma-separated.
        known: String,
    },
    /// Two steps share a name.
    #[error("step {0:?} is defined twice")]
    Duplicate(String),
    /// The dependencies form a cycle.
    #[error("the steps {0} depend on each other in a cycle")]
    Cycle(String),
    /// `--skip` of a step that always runs.
    #[error("step {0:?} always runs and cannot be skipped")]
    CannotSkip(String),
}

/// A validated step graph with its phases.
#[derive(Clone, Debug)]
pub struct Graph {
    steps: Vec<StepDef>,
    /// Indices into `steps`, phase by phase.
    phases: Vec<Vec<usize>>,
}

impl Graph {
    /// Validates names and dependencies and computes the phases.
    pub fn new(steps: Vec<StepDef>) -> Result<Self, GraphError> {
        let known = steps
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let mut index = BTreeMap::new();
        for (i, step) in steps.iter().enumerate() {
            if index.insert(step.name.clone(), i).is_some() {
                return Err(GraphError::Duplicate(step.name.clone()));
            }
        }
        for step in &steps {
            for dep in &step.deps {
                if !index.contains_key(dep) {
                    return Err(GraphError::UnknownStep {
                        name: dep.clone(),
                        known: known.clone(),
                    });
                }
            }
        }
        let mut phase_of: Vec<Option<usize>> = vec![None; steps.len()];
        let mut phases: Vec<Vec<usize>> = Vec::new();
        let mut placed = 0;
        while placed < steps.len() {
            let ready: Vec<usize> = (0..steps.len())
                .filter(|&i| phase_of[i].is_none())
                .filter(|&i| {
                    steps[i]
                        .deps
                        .iter()
                        .all(|d| phase_of[index[d]].is_some_and(|p| p < phases.len()))
                })
                .collect();
            if ready.is_empty() {
                let stuck: Vec<&str> = (0..steps.len())
                    .filter(|&i| phase_of[i].is_none())
                    .map(|i| steps[i].name.as_str())
                    .collect();
                return Err(GraphError::Cycle(stuck.join(", ")));
            }
            for &i in &ready {
                phase_of[i] = Some(phases.len());
            }
            placed += ready.len();
            phases.push(ready);
        }
        Ok(Self { steps, phases })
    }

    /// The steps, in definition order.
    pub fn steps(&self) -> &[StepDef] {
        &self.steps
    }

    /// Step names phase by phase.
    pub fn phases(&self) -> Vec<Vec<&str>> {
        self.phases
            .iter()
            .map(|p| p.iter().map(|&i| self.steps[i].name.as_str()).collect())
            .collect()
    }

    fn find(&self, name: &str) -> Result<&StepDef, GraphError> {
        self.steps
            .iter()
            .find(|s| s.name == name)
            .ok_or_else(|| GraphError::UnknownStep {
                name: name.to_owned(),
                known: self
                    .steps
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// Checks `--only` and `--skip` against the graph; returns why each unselected step is not
    /// run. `--only` keeps the named steps, their dependencies (transitively) and the always
    /// steps; `--skip` drops named steps (not always steps).
    pub fn select(&self, selection: &Selection) -> Result<BTreeMap<String, String>, GraphError> {
        let mut not_run = BTreeMap::new();
        if !selection.only.is_empty() {
            let mut keep: Vec<String> = Vec::new();
            let mut todo: Vec<String> = selection.only.clone();
            while let Some(name) = todo.pop() {
                let step = self.find(&name)?;
                if !keep.contains(&step.name) {
                    keep.push(step.name.clone());
                    todo.extend(step.deps.iter().cloned());
                }
            }
            for step in &self.steps {
                if !step.always && !keep.contains(&step.name) {
                    not_run.insert(step.name.clone(), "not selected by --only".to_owned());
                }
            }
        }
        for name in &selection.skip {
            let step = self.find(name)?;
            if step.always {
                return Err(GraphError::CannotSkip(step.name.clone()));
            }
            not_run.insert(step.name.clone(), "skipped by --skip".to_owned());
        }
        Ok(not_run)
    }
}

/// Which steps to run and how.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// `--only`: run these (plus their dependencies and the always steps).
    pub only: Vec<String>,
    /// `--skip`: do not run these.
    pub skip: Vec<String>,
    /// `--fast-fail`: after the first problem, skip everything but the always steps.
    pub fast_fail: bool,
    /// Longest time one step may take.
    pub step_timeout: Duration,
}

/// What a step reports when it ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepOutcome {
    /// How it ended.
    pub status: Status,
    /// One line on what happened.
    pub message: String,
    /// Evidence: URLs, hashes, versions (never secrets).
    pub evidence: Vec<String>,
}

impl StepOutcome {
    /// A passed step.
    pub fn passed(message: impl Into<String>, evidence: Vec<String>) -> Self {
        Self {
            status: Status::Passed,
            message: message.into(),
            evidence,
        }
    }

    /// A step that ended with `status`.
    pub fn with(status: Status, message: impl Into<String>, evidence: Vec<String>) -> Self {
        Self {
            status,
            message: message.into(),
            evidence,
        }
    }
}

/// One step in the report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepReport {
    /// The step's name.
    pub name: String,
    /// How it ended.
    pub status: Status,
    /// Time it took (zero when it did not run).
    pub duration: Duration,
    /// One line on what happened or why it did not run.
    pub message: String,
    /// Evidence.
    pub evidence: Vec<String>,
}

/// The whole run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunReport {
    /// Every step, in the order they were resolved.
    pub steps: Vec<StepReport>,
    /// The worst step status.
    pub status: Status,
    /// True when the run was interrupted (Ctrl-C).
    pub interrupted: bool,
}

impl RunReport {
    /// The report of step `name`.
    pub fn step(&self, name: &str) -> Option<&StepReport> {
        self.steps.iter().find(|s| s.name == name)
    }
}

/// Runs the steps.
pub trait StepRunner {
    /// Runs step `name` to its end.
    fn run_step(&mut self, name: &str) -> impl Future<Output = StepOutcome>;
}

/// Runs `graph` phase by phase with `runner`. `interrupt` resolving (Ctrl-C) stops the step in
/// progress (reported as an error) and skips every later step except the always steps, which
/// still run. Every step is bounded by `selection.step_timeout`.
pub async fn run_graph<R: StepRunner>(
    graph: &Graph,
    selection: &Selection,
    not_run: &BTreeMap<String, String>,
    runner: &mut R,
    interrupt: impl Future<Output = ()>,
) -> RunReport {
    let mut interrupt = std::pin::pin!(interrupt);
    let mut interrupted = false;
    let mut problem_seen = false;
    let mut results: BTreeMap<String, Status> = BTreeMap::new();
    let mut reports = Vec::new();
    for phase in &graph.phases {
        for &i in phase {
            let step = &graph.steps[i];
            let skip_reason = if step.always {
                None
            } else if let Some(reason) = not_run.get(&step.name) {
                Some(reason.clone())
            } else if interrupted {
                Some("the run was interrupted".to_owned())
            } else if selection.fast_fail && problem_seen {
                Some("--fast-fail: an earlier step did not pass".to_owned())
            } else {
                // Results of every earlier phase count, not only the previous one.
                step.deps.iter().find_map(|d| match results.get(d) {
                    Some(Status::Passed) => None,
                    Some(Status::Skipped) => Some(format!("dependency {d} did not run")),
                    Some(other) => Some(format!("dependency {d} {}", other.as_str())),
                    None => Some(format!("dependency {d} has not run")),
                })
            };
            let report = match skip_reason {
                Some(message) => StepReport {
                    name: step.name.clone(),
                    status: Status::Skipped,
                    duration: Duration::ZERO,
                    message,
                    evidence: Vec::new(),
                },
                None => {
                    let started = Instant::now();
                    let timeout = selection.step_timeout;
                    let work = tokio::time::timeout(timeout, runner.run_step(&step.name));
                    let outcome = if step.always || interrupted {
                        work.await.ok()
                    } else {
                        tokio::select! {
                            done = work => done.ok(),
                            () = &mut interrupt => {
                                interrupted = true;
                                Some(StepOutcome::with(
                                    Status::Error,
                                    "interrupted (Ctrl-C) while running",
                                    Vec::new(),
                                ))
                            }
                        }
                    };
                    let outcome = outcome.unwrap_or_else(|| {
                        StepOutcome::with(
                            Status::TimedOut,
                            format!("did not finish within {} s", timeout.as_secs_f64()),
                            Vec::new(),
                        )
                    });
                    StepReport {
                        name: step.name.clone(),
                        status: outcome.status,
                        duration: started.elapsed(),
                        message: outcome.message,
                        evidence: outcome.evidence,
                    }
                }
            };
            problem_seen |= report.status.is_problem();
            results.insert(report.name.clone(), report.status);
            reports.push(report);
        }
    }
    let status = Status::worst(reports.iter().map(|r| r.status));
    let status = if interrupted && !status.is_problem() {
        Status::Error
    } else {
        status
    };
    RunReport {
        steps: reports,
        status,
        interrupted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers each step from a table; records the order.
    struct Scripted {
        answers: BTreeMap<&'static str, Status>,
        ran: Vec<String>,
        slow: Option<&'static str>,
    }

    impl StepRunner for Scripted {
        async fn run_step(&mut self, name: &str) -> StepOutcome {
            self.ran.push(name.to_owned());
            if self.slow == Some(name) {
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
            let status = self.answers.get(name).copied().unwrap_or(Status::Passed);
            StepOutcome::with(status, name, Vec::new())
        }
    }

    fn e2e_graph() -> Graph {
        crate::e2e_graph()
    }

    fn scripted(answers: &[(&'static str, Status)]) -> Scripted {
        Scripted {
            answers: answers.iter().copied().collect(),
            ran: Vec::new(),
            slow: None,
        }
    }

    fn selection() -> Selection {
        Selection {
            step_timeout: Duration::from_secs(5),
            ..Selection::default()
        }
    }

    async fn run(runner: &mut Scripted, selection: &Selection) -> RunReport {
        let graph = e2e_graph();
        let not_run = graph.select(selection).unwrap();
        run_graph(
            &graph,
            selection,
            &not_run,
            runner,
            std::future::pending::<()>(),
        )
        .await
    }

    #[test]
    fn worst_status_wins() {
        use Status::*;
        assert_eq!(Status::worst([]), Passed);
        assert_eq!(Status::worst([Passed, Skipped, Passed]), Skipped);
        assert_eq!(Status::worst([Passed, TimedOut, Passed]), TimedOut);
        assert_eq!(Status::worst([Failed, Error, Passed]), Failed);
        assert_eq!(Status::worst([Error, Failed]), Failed);
        assert_eq!(Status::worst([Error, TimedOut]), Error);
    }

    #[tokio::test]
    async fn an_early_failure_is_not_masked_by_later_passes() {
        // consumer fails; compare and cleanup pass afterwards: the run still failed.
        let mut runner = scripted(&[("consumer", Status::Failed)]);
        let report = run(&mut runner, &selection()).await;
        assert_eq!(report.status, Status::Failed);
        assert_eq!(report.step("compare").unwrap().status, Status::Passed);
        assert_eq!(report.step("cleanup").unwrap().status, Status::Passed);
        // An early error (publish refused) with later skips and a passing cleanup: error.
        let mut runner = scripted(&[("publish", Status::Error)]);
        let report = run(&mut runner, &selection()).await;
        assert_eq!(report.status, Status::Error);
        for name in ["verify", "consumer", "compare"] {
            let step = report.step(name).unwrap();
            assert_eq!(step.status, Status::Skipped, "{name}");
        }
        assert_eq!(
            report.step("verify").unwrap().message,
            "dependency publish error"
        );
        assert_eq!(report.step("cleanup").unwrap().status, Status::Passed);
        assert_eq!(runner.ran.last().map(String::as_str), Some("cleanup"));
    }

    #[tokio::test]
    async fn a_dependency_that_passed_in_an_earlier_phase_is_resolved() {
        // compare (phase 4) depends on verify (phase 3); cleanup (last phase) depends on steps
        // from every earlier phase: none is "unresolvable".
        let graph = e2e_graph();
        let phases = graph.phases();
        assert_eq!(phases.len(), 6, "{phases:?}");
        assert_eq!(phases[3], vec!["verify", "consumer"]);
        let mut runner = scripted(&[]);
        let report = run(&mut runner, &selection()).await;
        assert_eq!(report.status, Status::Passed);
        assert!(report.steps.iter().all(|s| s.status == Status::Passed));
        // A step whose dependency is two phases back (publish → consumer is one; generate →
        // cleanup is five) still runs.
        let g = Graph::new(vec![
            StepDef::new("a", &[]),
            StepDef::new("b", &["a"]),
            StepDef::new("c", &["b", "a"]),
        ])
        .unwrap();
        let mut runner = scripted(&[]);
        let report = run_graph(
            &g,
            &selection(),
            &BTreeMap::new(),
            &mut runner,
            std::future::pending::<()>(),
        )
        .await;
        assert_eq!(report.step("c").unwrap().status, Status::Passed);
    }

    #[tokio::test]
    async fn cleanup_always_runs_after_fast_fail_timeout_and_interrupt() {
        let fast = Selection {
            fast_fail: true,
            ..selection()
        };
        let mut runner = scripted(&[("verify", Status::Failed)]);
        let report = run(&mut runner, &fast).await;
        assert_eq!(report.step("consumer").unwrap().status, Status::Skipped);
        assert_eq!(report.step("cleanup").unwrap().status, Status::Passed);
        assert_eq!(report.status, Status::Failed);

        let short = Selection {
            step_timeout: Duration::from_millis(50),
            ..selection()
        };
        let mut runner = scripted(&[]);
        runner.slow = Some("publish");
        let report = run(&mut runner, &short).await;
        assert_eq!(report.step("publish").unwrap().status, Status::TimedOut);
        assert_eq!(report.step("cleanup").unwrap().status, Status::Passed);
        assert_eq!(report.status, Status::TimedOut);

        // Interrupted while publish runs: later steps skipped, cleanup still runs.
        let graph = e2e_graph();
        let mut runner = scripted(&[]);
        runner.slow = Some("publish");
        let report = run_graph(
            &graph,
            &selection(),
            &BTreeMap::new(),
            &mut runner,
            tokio::time::sleep(Duration::from_millis(50)),
        )
        .await;
        assert!(report.interrupted);
        assert_eq!(report.step("publish").unwrap().status, Status::Error);
        assert_eq!(report.step("verify").unwrap().status, Status::Skipped);
        assert_eq!(report.step("cleanup").unwrap().status, Status::Passed);
        assert_eq!(report.status, Status::Error);
    }

    #[tokio::test]
    async fn only_and_skip() {
        let graph = e2e_graph();
        let only = Selection {
            only: vec!["verify".into()],
            ..selection()
        };
        let mut runner = scripted(&[]);
        let report = run(&mut runner, &only).await;
        assert_eq!(
            runner.ran,
            vec!["generate", "pack", "publish", "verify", "cleanup"]
        );
        assert_eq!(report.status, Status::Skipped);
        let skip = Selection {
            skip: vec!["consumer".into()],
            ..selection()
        };
        let mut runner = scripted(&[]);
        let report = run(&mut runner, &skip).await;
        assert_eq!(
            report.step("consumer").unwrap().message,
            "skipped by --skip"
        );
        assert_eq!(report.step("compare").unwrap().status, Status::Passed);
        assert!(matches!(
            graph.select(&Selection {
                skip: vec!["cleanup".into()],
                ..selection()
            }),
            Err(GraphError::CannotSkip(_))
        ));
        assert!(matches!(
            graph.select(&Selection {
                only: vec!["nope".into()],
                ..selection()
            }),
            Err(GraphError::UnknownStep { .. })
        ));
        assert!(matches!(
            Graph::new(vec![StepDef::new("a", &["b"]), StepDef::new("b", &["a"])]),
            Err(GraphError::Cycle(_))
        ));
    }
}
