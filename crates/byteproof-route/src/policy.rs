//! What the team decided: which labels each route runs on, which associations are trusted, and
//! the value of the routing switch.

use std::str::FromStr;

use crate::Association;

/// The repository variable that turns the trusted route on (`true`, in any case).
pub const ROUTING_VARIABLE: &str = "CI_SELF_HOSTED_TRUSTED_ROUTING";

/// The inputs of a decision other than the event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// `runs-on` labels of the self-hosted (trusted) route.
    pub trusted_labels: Labels,
    /// `runs-on` labels of every other job.
    pub fallback_labels: Labels,
    /// `author_association` values that may take the trusted route.
    pub trusted_associations: Vec<Association>,
    /// The value of [`ROUTING_VARIABLE`]; `None` when unset.
    pub routing_variable: Option<String>,
}

impl Default for Policy {
    /// `self-hosted,linux,x64,chem-trusted-pr` or `ubuntu-latest`; OWNER, MEMBER and
    /// COLLABORATOR are trusted; the routing variable is unset (so: the fallback).
    fn default() -> Self {
        Self {
            trusted_labels: Labels::parse("self-hosted,linux,x64,chem-trusted-pr")
                .expect("valid default labels"),
            fallback_labels: Labels::parse("ubuntu-latest").expect("valid default label"),
            trusted_associations: vec![
                Association::Owner,
                Association::Member,
                Association::Collaborator,
            ],
            routing_variable: None,
        }
    }
}

/// A non-empty list of runner labels, each non-empty and free of commas and control
/// characters (so it survives `runs-on`, `$GITHUB_OUTPUT` and a comma-separated flag).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Labels(Vec<String>);

/// A label list that cannot be used as `runs-on`.
#[derive(Debug, thiserror::Error)]
pub enum LabelsError {
    /// No label at all.
    #[error("at least one runner label is needed")]
    Empty,
    /// `a,,b`, a leading or trailing comma, or a label of spaces.
    #[error("empty runner label in {0:?}")]
    EmptyLabel(String),
    /// A newline or other control character.
    #[error("runner label {0:?} contains a control character")]
    ControlCharacter(String),
}

impl Labels {
    /// Parses `self-hosted,linux,x64`; spaces around each label are dropped.
    pub fn parse(list: &str) -> Result<Self, LabelsError> {
        if list.trim().is_empty() {
            return Err(LabelsError::Empty);
        }
        list.split(',')
            .map(|label| {
                let label = label.trim();
                if label.is_empty() {
                    Err(LabelsError::EmptyLabel(list.to_owned()))
                } else if label.chars().any(char::is_control) {
                    Err(LabelsError::ControlCharacter(label.to_owned()))
                } else {
                    Ok(label.to_owned())
                }
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    /// The labels, in order.
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }
}

impl FromStr for Labels {
    type Err = LabelsError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}
