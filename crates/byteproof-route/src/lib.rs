//! The trusted-routing decision: from a workflow's event payload, the self-hosted (trusted)
//! route or the fallback route.
//!
//! [`Event::parse`] reads a GitHub or Gitea payload (fields one forge omits are optional,
//! unknown fields are ignored; an empty, non-JSON or incomplete payload is a
//! [`PayloadError`]). [`decide`] applies the five rules of the team's policy ([`Rule`]): the
//! event is `pull_request`; head and base are the same repository (a deleted head repository
//! and a Gitea AGit-flow PR count as forks); neither sender nor author is a bot; the author's
//! `author_association` is trusted; the routing variable is `true`. The [`Decision`] carries
//! the labels of the chosen route and one [`RuleResult`] per rule, always all five.
//!
//! Gitea payloads have no `author_association`: [`decide`] treats that as untrusted, and
//! [`decide_resolving`] asks an [`AssociationResolver`] (a forge API client) for the author's
//! permission instead (owner, admin and write count as COLLABORATOR).
//!
//! No I/O, no printing: bytes in, a decision out.

mod association;
mod error;
mod event;
mod policy;
mod rules;

pub use association::{
    Association, AssociationResolver, Permission, UnknownAssociation, UnknownPermission,
};
pub use error::{PayloadError, ResolveError};
pub use event::Event;
pub use policy::{Labels, LabelsError, Policy, ROUTING_VARIABLE};
pub use rules::{Decision, Rule, RuleResult};

use association::Resolved;

/// Decides the route from the payload alone: a missing `author_association` is untrusted.
pub fn decide(event: &Event, policy: &Policy) -> Decision {
    rules::evaluate(event, policy, None)
}

/// Decides the route, asking `resolver` for the author's permission when the payload has no
/// `author_association` (Gitea). A failed look-up is an error, not a route.
pub async fn decide_resolving<R: AssociationResolver>(
    event: &Event,
    policy: &Policy,
    resolver: &R,
) -> Result<Decision, ResolveError> {
    let resolved = match event.association_lookup() {
        None => None,
        Some((repository, login)) => {
            let permission = resolver
                .permission(repository, login)
                .await
                .map_err(|err| ResolveError {
                    repository: repository.to_owned(),
                    login: login.to_owned(),
                    source: Box::new(err),
                })?;
            Some(Resolved {
                repository: repository.to_owned(),
                permission,
            })
        }
    };
    Ok(rules::evaluate(event, policy, resolved.as_ref()))
}

#[cfg(test)]
mod tests;
