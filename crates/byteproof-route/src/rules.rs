//! The five rules. The trusted route is chosen only when all of them hold; each one is always
//! evaluated and explained, so a person can see every reason a job went where it went.

use std::fmt;

use crate::association::Resolved;
use crate::event::{Actor, Event};
use crate::{Association, Policy, ROUTING_VARIABLE};

/// One of the five rules, in the order they are reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    /// The event is `pull_request` (not `pull_request_target`, `push`, `merge_group`, …).
    Event,
    /// Head and base are the same repository: not a fork, a deleted head repository or a Gitea
    /// AGit-flow pull request.
    NotFork,
    /// Neither the sender nor the pull request author is a bot.
    NotBot,
    /// The author's association is in the trusted set.
    AuthorAssociation,
    /// The routing variable is `true`, in any case.
    RoutingVariable,
}

impl Rule {
    /// Every rule, in report order.
    pub const ALL: [Self; 5] = [
        Self::Event,
        Self::NotFork,
        Self::NotBot,
        Self::AuthorAssociation,
        Self::RoutingVariable,
    ];

    /// The stable name used in reports, e.g. `not-fork`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Event => "event",
            Self::NotFork => "not-fork",
            Self::NotBot => "not-bot",
            Self::AuthorAssociation => "author-association",
            Self::RoutingVariable => "routing-variable",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether one rule holds, and why, in words a person understands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleResult {
    /// Which rule.
    pub rule: Rule,
    /// True when the rule holds.
    pub ok: bool,
    /// Why, naming the values read (logins, repositories, the variable).
    pub detail: String,
}

/// The route for a job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// True for the self-hosted route: every rule holds.
    pub trusted: bool,
    /// The `runs-on` labels of the chosen route.
    pub runs_on: Vec<String>,
    /// One entry per rule, all five, in [`Rule::ALL`] order.
    pub reasons: Vec<RuleResult>,
}

impl Decision {
    /// The rules that do not hold (empty for the trusted route).
    pub fn failed(&self) -> impl Iterator<Item = &RuleResult> {
        self.reasons.iter().filter(|r| !r.ok)
    }
}

pub(crate) fn evaluate(event: &Event, policy: &Policy, resolved: Option<&Resolved>) -> Decision {
    let reasons = vec![
        event_rule(event),
        not_fork(event),
        not_bot(event),
        author_association(event, policy, resolved),
        routing_variable(policy),
    ];
    let trusted = reasons.iter().all(|r| r.ok);
    let labels = if trusted {
        &policy.trusted_labels
    } else {
        &policy.fallback_labels
    };
    Decision {
        trusted,
        runs_on: labels.as_slice().to_vec(),
        reasons,
    }
}

fn result(rule: Rule, ok: bool, detail: String) -> RuleResult {
    RuleResult { rule, ok, detail }
}

/// The detail of rules 2–4 for an event without a pull request.
fn no_pull_request(rule: Rule, event: &Event) -> RuleResult {
    result(
        rule,
        false,
        format!(
            "not checked: the {} payload has no pull request",
            shown(&event.name)
        ),
    )
}

fn event_rule(event: &Event) -> RuleResult {
    let ok = event.name == "pull_request";
    let detail = match event.name.as_str() {
        "pull_request" => "pull_request event".to_owned(),
        "pull_request_target" => "pull_request_target runs the base branch's workflow with the repository's secrets; only pull_request may take the trusted route".to_owned(),
        other => format!("{} event; only pull_request may take the trusted route", shown(other)),
    };
    result(Rule::Event, ok, detail)
}

fn not_fork(event: &Event) -> RuleResult {
    let Some(pr) = &event.pull_request else {
        return no_pull_request(Rule::NotFork, event);
    };
    let base = &pr.base.repo.full_name;
    let (ok, detail) = match &pr.head.repo {
        None => (
            false,
            "the head repository was deleted (head.repo is null): treated as a fork".to_owned(),
        ),
        Some(head) if !head.full_name.eq_ignore_ascii_case(base) => (
            false,
            format!(
                "head repository {} is not the base repository {}",
                shown(&head.full_name),
                shown(base)
            ),
        ),
        Some(_) if pr.head.label.is_empty() => (
            false,
            "head.label is empty: a Gitea AGit-flow pull request (pushed to refs/for/…), treated as a fork".to_owned(),
        ),
        Some(_) => (
            true,
            format!("head and base are the same repository, {}", shown(base)),
        ),
    };
    result(Rule::NotFork, ok, detail)
}

fn not_bot(event: &Event) -> RuleResult {
    let (Some(pr), Some(sender)) = (&event.pull_request, &event.sender) else {
        return no_pull_request(Rule::NotBot, event);
    };
    let bots: Vec<String> = [("sender", sender), ("author", &pr.user)]
        .into_iter()
        .filter_map(|(role, actor)| {
            bot_marker(actor).map(|why| format!("{role} {} is a bot ({why})", shown(&actor.login)))
        })
        .collect();
    if bots.is_empty() {
        let detail = if sender.login == pr.user.login {
            format!("sender and author {} is not a bot", shown(&sender.login))
        } else {
            format!(
                "neither sender {} nor author {} is a bot",
                shown(&sender.login),
                shown(&pr.user.login)
            )
        };
        result(Rule::NotBot, true, detail)
    } else {
        result(Rule::NotBot, false, bots.join("; "))
    }
}

/// Why an actor is a bot: a login ending in `[bot]`, or type `Bot` (both in any case).
fn bot_marker(actor: &Actor) -> Option<&'static str> {
    let suffix = actor.login.to_ascii_lowercase().ends_with("[bot]");
    let kind = actor
        .kind
        .as_deref()
        .is_some_and(|k| k.eq_ignore_ascii_case("bot"));
    match (suffix, kind) {
        (true, true) => Some("login ends in [bot], type Bot"),
        (true, false) => Some("login ends in [bot]"),
        (false, true) => Some("type Bot"),
        (false, false) => None,
    }
}

fn author_association(event: &Event, policy: &Policy, resolved: Option<&Resolved>) -> RuleResult {
    let Some(pr) = &event.pull_request else {
        return no_pull_request(Rule::AuthorAssociation, event);
    };
    let author = shown(&pr.user.login);
    let trusted = &policy.trusted_associations;
    let is_trusted = |value: &str| trusted.iter().any(|a| a.as_str() == value);
    let set = trusted_set(trusted);
    let (ok, detail) = match (&pr.author_association, resolved) {
        (Some(value), _) if is_trusted(value) => {
            (true, format!("author {author} is {} (trusted: {set})", shown(value)))
        }
        (Some(value), _) => (
            false,
            format!("author {author} is {}, not one of {set}", shown(value)),
        ),
        (None, None) => (
            false,
            "the payload has no author_association (Gitea sends none) and the author's permission was not looked up through the forge API".to_owned(),
        ),
        (None, Some(found)) => {
            let permission = format!(
                "the payload has no author_association; the forge API gives {author} {} permission on {}",
                found.permission.as_str(),
                shown(&found.repository)
            );
            let collaborator = Association::Collaborator;
            if !found.permission.is_collaborator() {
                (false, format!("{permission}: not a collaborator"))
            } else if is_trusted(collaborator.as_str()) {
                (true, format!("{permission}, treated as {collaborator}"))
            } else {
                (
                    false,
                    format!("{permission}, treated as {collaborator}, not one of {set}"),
                )
            }
        }
    };
    result(Rule::AuthorAssociation, ok, detail)
}

fn trusted_set(trusted: &[Association]) -> String {
    if trusted.is_empty() {
        return "(none)".to_owned();
    }
    trusted
        .iter()
        .map(|a| a.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn routing_variable(policy: &Policy) -> RuleResult {
    let (ok, detail) = match policy.routing_variable.as_deref() {
        Some(value) if value.eq_ignore_ascii_case("true") => {
            (true, format!("{ROUTING_VARIABLE} is {value:?}"))
        }
        None | Some("") => (
            false,
            format!(
                "{ROUTING_VARIABLE} is unset or empty; only true (any case) turns the trusted route on"
            ),
        ),
        Some(value) => (
            false,
            format!(
                "{ROUTING_VARIABLE} is {value:?}; only true (any case) turns the trusted route on"
            ),
        ),
    };
    result(Rule::RoutingVariable, ok, detail)
}

/// A payload string as it reads, or quoted and escaped when it holds spaces or control
/// characters (a payload is data from outside; a detail must stay one honest line).
fn shown(text: &str) -> String {
    if !text.is_empty() && !text.chars().any(|c| c.is_control() || c.is_whitespace()) {
        text.to_owned()
    } else {
        format!("{text:?}")
    }
}
