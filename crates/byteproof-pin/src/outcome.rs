//! A run's overall result, decided next to the findings it is made of. The command line maps
//! each [`Outcome`] to its exit status.

use crate::plan::{FilePlan, Status};

/// What `pin` is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Rewrite the files.
    Write,
    /// Show what would change; write nothing.
    DryRun,
    /// Report each reference; write nothing.
    Check,
}

impl Mode {
    /// `write`, `dry-run` or `check`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Write => "write",
            Self::DryRun => "dry-run",
            Self::Check => "check",
        }
    }
}

/// The overall result of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every reference is pinned (with [`Mode::Check`]: and current), or was pinned now.
    Pass,
    /// A reference is, or stays, unpinned: unpinned, dangling, stale (unless allowed in a
    /// check), unscannable, or a platform-specific pin whose tag moved.
    Fail,
    /// Input that cannot be used: a file that is not YAML, an invalid image reference, or a
    /// file that could not be rewritten.
    Invalid,
    /// A registry could not answer, so a reference could not be checked or pinned.
    Unverified,
}

/// Decides a run's outcome. Invalid input wins over everything; a check then fails on any
/// failing reference before it reports registries that could not answer; a write reports
/// unanswered registries before references it had to leave unpinned.
pub fn outcome(plans: &[FilePlan], mode: Mode, allow_stale: bool) -> Outcome {
    let findings = || plans.iter().flat_map(|p| &p.findings);
    let invalid = plans.iter().any(|p| p.problem.is_some())
        || findings().any(|f| matches!(f.status, Status::Invalid(_)));
    if invalid {
        return Outcome::Invalid;
    }
    let unresolved = |with_errors: bool| {
        findings().any(|f| {
            matches!(f.status, Status::Unresolved(_)) || (with_errors && f.error.is_some())
        })
    };
    match mode {
        Mode::Check => {
            let failed = findings().any(|f| match f.status {
                Status::Unpinned | Status::Dangling | Status::Unscannable(_) => true,
                Status::Stale => !allow_stale,
                _ => false,
            });
            if failed {
                Outcome::Fail
            } else if unresolved(false) {
                Outcome::Unverified
            } else {
                Outcome::Pass
            }
        }
        Mode::Write | Mode::DryRun => {
            let left_unpinned = findings().any(|f| match f.status {
                Status::Unpinned | Status::Stale | Status::Dangling => f.replacement.is_none(),
                Status::Unscannable(_) => true,
                _ => false,
            });
            if unresolved(true) {
                Outcome::Unverified
            } else if left_unpinned {
                Outcome::Fail
            } else {
                Outcome::Pass
            }
        }
    }
}
