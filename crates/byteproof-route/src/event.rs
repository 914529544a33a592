//! Event payloads as GitHub and Gitea send them, reduced to the fields the rules read.
//!
//! Both forges serialise the same shapes for `pull_request` and `pull_request_target`; Gitea
//! omits `author_association` and every user's `type`, so those are optional. Everything else
//! the rules read is required: a payload without it is a [`PayloadError`], never a guess.
//! Unknown fields are ignored.

use serde::{Deserialize, Deserializer};

use crate::PayloadError;

/// A workflow event: its name (`GITHUB_EVENT_NAME`) and what the rules read from its payload.
#[derive(Clone, Debug)]
pub struct Event {
    pub(crate) name: String,
    pub(crate) pull_request: Option<PullRequest>,
    pub(crate) sender: Option<Actor>,
}

#[derive(Deserialize)]
struct Payload {
    #[serde(default)]
    pull_request: Option<PullRequest>,
    #[serde(default)]
    sender: Option<Actor>,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct PullRequest {
    pub(crate) user: Actor,
    /// Absent in Gitea payloads (and `null` is read the same way).
    #[serde(default)]
    pub(crate) author_association: Option<String>,
    pub(crate) head: Head,
    pub(crate) base: Base,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct Head {
    /// `owner:branch` on GitHub, the branch on Gitea, empty for a Gitea AGit-flow PR.
    pub(crate) label: String,
    /// `null` when the head repository was deleted; the key itself must be there.
    #[serde(deserialize_with = "present_or_null")]
    pub(crate) repo: Option<Repo>,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct Base {
    pub(crate) repo: Repo,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct Repo {
    pub(crate) full_name: String,
}

/// A user, organisation or bot account.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct Actor {
    pub(crate) login: String,
    /// `User`, `Bot`, `Organization`, `Mannequin` on GitHub; absent on Gitea.
    #[serde(default, rename = "type")]
    pub(crate) kind: Option<String>,
}

/// Requires the key, allows `null` (serde treats a missing `Option` as `None` otherwise).
fn present_or_null<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Repo>, D::Error> {
    Option::deserialize(deserializer)
}

impl Event {
    /// Reads the payload of the event called `name` (`pull_request`, `push`, …).
    ///
    /// Any JSON object is accepted for an event without a pull request; a `pull_request` or
    /// `pull_request_target` payload must carry the pull request and its sender.
    pub fn parse(name: &str, payload: &[u8]) -> Result<Self, PayloadError> {
        let text = payload.trim_ascii();
        if text.is_empty() {
            return Err(PayloadError::Empty);
        }
        if text[0] != b'{' {
            return Err(
                match serde_json::from_slice::<serde::de::IgnoredAny>(text) {
                    Ok(_) => PayloadError::NotAnObject,
                    Err(err) => PayloadError::NotJson(err),
                },
            );
        }
        let mut deserializer = serde_json::Deserializer::from_slice(text);
        let parsed: Payload =
            serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
                let path = err.path().to_string();
                let source = err.into_inner();
                if source.is_data() {
                    PayloadError::Malformed { path, source }
                } else {
                    PayloadError::NotJson(source)
                }
            })?;
        deserializer.end().map_err(PayloadError::NotJson)?;

        if parsed.pull_request.is_none() && carries_pull_request(name) {
            return Err(PayloadError::NoPullRequest {
                event: name.to_owned(),
            });
        }
        if parsed.pull_request.is_some() && parsed.sender.is_none() {
            return Err(PayloadError::NoSender);
        }
        Ok(Self {
            name: name.to_owned(),
            pull_request: parsed.pull_request,
            sender: parsed.sender,
        })
    }

    /// The event name, as given.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The look-up an [`AssociationResolver`](crate::AssociationResolver) answers: the pull
    /// request author on the base repository, when the payload has no `author_association`.
    pub(crate) fn association_lookup(&self) -> Option<(&str, &str)> {
        let pr = self.pull_request.as_ref()?;
        match pr.author_association {
            Some(_) => None,
            None => Some((&pr.base.repo.full_name, &pr.user.login)),
        }
    }
}

/// Events whose payload is a pull request payload on both forges.
fn carries_pull_request(name: &str) -> bool {
    matches!(name, "pull_request" | "pull_request_target")
}
