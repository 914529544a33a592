//! The rules against the payload table in `testdata/route/` and against edited payloads.
//!
//! Each test reads as data through [`check`]: a payload, the event name, the routing variable,
//! and the expected outcome written as `trusted`, `fallback: rule, rule` (the failing rules, in
//! report order) or `error: <part of the message>`.

use std::path::PathBuf;
use std::sync::Mutex;

use futures_util::FutureExt as _;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    Association, AssociationResolver, Decision, Event, Labels, Permission, Policy, Rule, decide,
    decide_resolving,
};

fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/route")
}

fn load(name: &str) -> Vec<u8> {
    std::fs::read(testdata().join(name)).unwrap_or_else(|e| panic!("testdata/route/{name}: {e}"))
}

/// A table payload with `change` applied.
fn edited(name: &str, change: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut value: Value = serde_json::from_slice(&load(name)).unwrap();
    change(&mut value);
    serde_json::to_vec(&value).unwrap()
}

fn policy(variable: Option<&str>) -> Policy {
    Policy {
        routing_variable: variable.map(str::to_owned),
        ..Policy::default()
    }
}

/// The outcome in the notation of [`check`], after checking what every decision must have.
fn outcome(decision: Result<Decision, String>, policy: &Policy) -> String {
    let decision = match decision {
        Ok(decision) => decision,
        Err(message) => return format!("error: {message}"),
    };
    let rules: Vec<Rule> = decision.reasons.iter().map(|r| r.rule).collect();
    assert_eq!(rules, Rule::ALL, "one reason per rule, in order");
    assert!(decision.reasons.iter().all(|r| !r.detail.is_empty()));
    assert_eq!(decision.trusted, decision.failed().next().is_none());
    let labels = if decision.trusted {
        &policy.trusted_labels
    } else {
        &policy.fallback_labels
    };
    assert_eq!(decision.runs_on, labels.as_slice());
    if decision.trusted {
        return "trusted".to_owned();
    }
    let failed: Vec<&str> = decision.failed().map(|r| r.rule.name()).collect();
    format!("fallback: {}", failed.join(", "))
}

fn route(payload: &[u8], event: &str, policy: &Policy) -> String {
    let decision = Event::parse(event, payload)
        .map(|event| decide(&event, policy))
        .map_err(|e| chain(&e));
    outcome(decision, policy)
}

/// An error and its sources, as the CLI prints them.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(&format!(": {inner}"));
        source = inner.source();
    }
    text
}

#[track_caller]
fn check(payload: &[u8], event: &str, variable: Option<&str>, expected: &str) {
    let actual = route(payload, event, &policy(variable));
    assert!(
        matches(&actual, expected),
        "expected {expected}\n     got {actual}"
    );
}

/// Equal, or for errors: the expected text is part of the message.
fn matches(actual: &str, expected: &str) -> bool {
    match (
        actual.strip_prefix("error: "),
        expected.strip_prefix("error: "),
    ) {
        (Some(message), Some(part)) => message.contains(part),
        _ => actual == expected,
    }
}

#[derive(Deserialize)]
struct Case {
    payload: String,
    event: String,
    variable: Option<String>,
    route: String,
    #[serde(default)]
    failing: Vec<String>,
    #[serde(default)]
    error: String,
}

#[test]
fn payload_table() {
    let cases: Vec<Case> = serde_json::from_slice(&load("cases.json")).unwrap();
    assert!(cases.len() >= 30, "the table has {} cases", cases.len());
    let mut wrong = Vec::new();
    for case in &cases {
        let expected = match case.route.as_str() {
            "trusted" => "trusted".to_owned(),
            "fallback" => format!("fallback: {}", case.failing.join(", ")),
            "error" => format!("error: {}", case.error),
            other => panic!("unknown route {other:?} in cases.json"),
        };
        let actual = route(
            &load(&case.payload),
            &case.event,
            &policy(case.variable.as_deref()),
        );
        if !matches(&actual, &expected) {
            wrong.push(format!(
                "{} ({}, {:?}): expected {expected}, got {actual}",
                case.payload, case.event, case.variable
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn repository_names_compare_in_any_case() {
    let pr = edited("github/pr-member.json", |v| {
        v["pull_request"]["head"]["repo"]["full_name"] = json!("ChemLab/Reactor");
    });
    check(&pr, "pull_request", Some("true"), "trusted");
}

#[test]
fn type_bot_alone_makes_a_bot() {
    let pr = edited("github/pr-member.json", |v| {
        v["sender"] = json!({"login": "release-helper", "type": "Bot"});
    });
    check(&pr, "pull_request", Some("true"), "fallback: not-bot");
    let event = Event::parse("pull_request", &pr).unwrap();
    let detail = &decide(&event, &policy(Some("true"))).reasons[2].detail;
    assert_eq!(detail, "sender release-helper is a bot (type Bot)");
}

#[test]
fn bot_suffix_in_any_case_makes_a_bot() {
    let pr = edited("github/pr-member.json", |v| {
        v["pull_request"]["user"] = json!({"login": "Renovate[BOT]", "type": "User"});
    });
    check(&pr, "pull_request", Some("true"), "fallback: not-bot");
}

#[test]
fn a_null_or_unknown_association_is_untrusted() {
    for association in [Value::Null, json!("maintainer")] {
        let pr = edited("github/pr-member.json", |v| {
            v["pull_request"]["author_association"] = association;
        });
        check(
            &pr,
            "pull_request",
            Some("true"),
            "fallback: author-association",
        );
    }
}

#[test]
fn trusted_associations_and_labels_come_from_the_policy() {
    let owners_only = Policy {
        trusted_labels: Labels::parse("self-hosted, gpu").unwrap(),
        fallback_labels: Labels::parse("ubuntu-24.04,x64").unwrap(),
        trusted_associations: vec![Association::Owner],
        routing_variable: Some("true".to_owned()),
    };
    let member = Event::parse("pull_request", &load("github/pr-member.json")).unwrap();
    let decision = decide(&member, &owners_only);
    assert_eq!(decision.runs_on, ["ubuntu-24.04", "x64"]);
    assert_eq!(
        decision.reasons[3].detail,
        "author jonas-weber is MEMBER, not one of OWNER"
    );
    let owner = Event::parse("pull_request", &load("github/pr-owner-synchronize.json")).unwrap();
    assert_eq!(decide(&owner, &owners_only).runs_on, ["self-hosted", "gpu"]);
}

#[test]
fn details_name_what_was_read() {
    let details = |name: &str, event: &str| -> Vec<String> {
        let event = Event::parse(event, &load(name)).unwrap();
        let decision = decide(&event, &policy(Some("false")));
        decision.reasons.into_iter().map(|r| r.detail).collect()
    };
    let outsider = details("github/pr-outside-contributor.json", "pull_request");
    assert_eq!(outsider[0], "pull_request event");
    assert_eq!(
        outsider[1],
        "head repository kwame-o/reactor is not the base repository chemlab/reactor"
    );
    assert_eq!(outsider[2], "sender and author kwame-o is not a bot");
    assert_eq!(
        outsider[3],
        "author kwame-o is CONTRIBUTOR, not one of OWNER, MEMBER, COLLABORATOR"
    );
    assert_eq!(
        outsider[4],
        "CI_SELF_HOSTED_TRUSTED_ROUTING is \"false\"; only true (any case) turns the trusted route on"
    );
    let agit = details("gitea/pr-agit.json", "pull_request");
    assert!(agit[1].contains("AGit-flow"), "{}", agit[1]);
    assert!(agit[3].contains("no author_association"), "{}", agit[3]);
    let deleted = details("gitea/pr-deleted-head-repo.json", "pull_request");
    assert!(deleted[1].contains("deleted"), "{}", deleted[1]);
    let bot_pr = details(
        "github/pr-member-pushes-to-dependabot-pr.json",
        "pull_request",
    );
    assert_eq!(
        bot_pr[2],
        "author dependabot[bot] is a bot (login ends in [bot], type Bot)"
    );
    let push = details("github/push.json", "push");
    assert_eq!(
        push[0],
        "push event; only pull_request may take the trusted route"
    );
    assert_eq!(push[1], "not checked: the push payload has no pull request");
}

#[test]
fn strange_strings_are_quoted_in_details() {
    let pr = edited("github/pr-fork-member.json", |v| {
        v["pull_request"]["head"]["repo"]["full_name"] = json!("x/y\n::error::owned");
    });
    let event = Event::parse("pull_request", &pr).unwrap();
    let detail = &decide(&event, &policy(Some("true"))).reasons[1].detail;
    assert_eq!(
        detail,
        "head repository \"x/y\\n::error::owned\" is not the base repository chemlab/reactor"
    );
}

#[test]
fn what_the_rules_need_must_be_there() {
    let no_head_repo = edited("github/pr-member.json", |v| {
        v["pull_request"]["head"]
            .as_object_mut()
            .unwrap()
            .remove("repo");
    });
    check(
        &no_head_repo,
        "pull_request",
        Some("true"),
        "error: malformed at pull_request.head: missing field `repo`",
    );
    let no_sender = edited("gitea/pr-member.json", |v| {
        v.as_object_mut().unwrap().remove("sender");
    });
    check(&no_sender, "pull_request", Some("true"), "error: no sender");
    let numeric_login = edited("github/pr-member.json", |v| {
        v["pull_request"]["user"]["login"] = json!(5870213);
    });
    check(
        &numeric_login,
        "pull_request",
        Some("true"),
        "error: malformed at pull_request.user.login: invalid type: integer",
    );
    let mut trailing = load("github/pr-member.json");
    trailing.extend_from_slice(b"}");
    check(
        &trailing,
        "pull_request",
        Some("true"),
        "error: not valid JSON",
    );
    check(b"null", "push", Some("true"), "error: not a JSON object");
    check(
        b"{\"sender\": ",
        "push",
        Some("true"),
        "error: not valid JSON",
    );
    check(
        b"{}",
        "pull_request_target",
        Some("true"),
        "error: no pull_request",
    );
    check(
        b"{}",
        "schedule",
        Some("true"),
        "fallback: event, not-fork, not-bot, author-association",
    );
}

/// Answers every look-up with one permission (or error) and records what it was asked.
struct FixedResolver {
    answer: Result<Permission, &'static str>,
    asked: Mutex<Vec<String>>,
}

impl FixedResolver {
    fn new(answer: Result<Permission, &'static str>) -> Self {
        Self {
            answer,
            asked: Mutex::new(Vec::new()),
        }
    }
}

impl AssociationResolver for FixedResolver {
    type Error = std::io::Error;

    fn permission(
        &self,
        repository: &str,
        login: &str,
    ) -> impl Future<Output = Result<Permission, Self::Error>> + Send {
        self.asked
            .lock()
            .unwrap()
            .push(format!("{login} on {repository}"));
        std::future::ready(self.answer.map_err(std::io::Error::other))
    }
}

fn resolving(name: &str, event: &str, resolver: &FixedResolver) -> Result<Decision, String> {
    let event = Event::parse(event, &load(name)).unwrap();
    decide_resolving(&event, &policy(Some("true")), resolver)
        .now_or_never()
        .expect("the fixed resolver answers at once")
        .map_err(|e| chain(&e))
}

#[test]
fn resolved_owner_admin_and_write_count_as_collaborator() {
    for permission in [Permission::Owner, Permission::Admin, Permission::Write] {
        let resolver = FixedResolver::new(Ok(permission));
        let decision = resolving("gitea/pr-member.json", "pull_request", &resolver);
        assert_eq!(outcome(decision.clone(), &policy(None)), "trusted");
        assert_eq!(
            decision.unwrap().reasons[3].detail,
            format!(
                "the payload has no author_association; the forge API gives jonas {} permission on chemlab/reactor, treated as COLLABORATOR",
                permission.as_str()
            )
        );
        assert_eq!(
            *resolver.asked.lock().unwrap(),
            ["jonas on chemlab/reactor"]
        );
    }
}

#[test]
fn resolved_read_and_none_are_untrusted() {
    for permission in [Permission::Read, Permission::None] {
        let resolver = FixedResolver::new(Ok(permission));
        let decision = resolving("gitea/pr-renovate-user.json", "pull_request", &resolver);
        let detail = decision.as_ref().unwrap().reasons[3].detail.clone();
        assert_eq!(
            outcome(decision, &policy(None)),
            "fallback: author-association"
        );
        assert!(detail.ends_with(": not a collaborator"), "{detail}");
    }
}

#[test]
fn a_resolved_collaborator_is_trusted_only_if_collaborators_are() {
    let event = Event::parse("pull_request", &load("gitea/pr-member.json")).unwrap();
    let strict = Policy {
        trusted_associations: vec![Association::Owner, Association::Member],
        ..policy(Some("true"))
    };
    let decision = decide_resolving(&event, &strict, &FixedResolver::new(Ok(Permission::Admin)))
        .now_or_never()
        .unwrap()
        .unwrap();
    assert!(!decision.trusted);
    assert!(
        decision.reasons[3]
            .detail
            .ends_with("treated as COLLABORATOR, not one of OWNER, MEMBER"),
        "{}",
        decision.reasons[3].detail
    );
}

#[test]
fn a_failed_look_up_is_an_error_not_a_route() {
    let resolver = FixedResolver::new(Err("connection refused"));
    let error = resolving("gitea/pr-fork.json", "pull_request", &resolver).unwrap_err();
    assert_eq!(
        error,
        "cannot look up the permission of kwame on chemlab/reactor: connection refused"
    );
}

#[test]
fn the_resolver_is_asked_only_when_the_association_is_missing() {
    let resolver = FixedResolver::new(Ok(Permission::Admin));
    for (name, event) in [
        ("github/pr-outside-contributor.json", "pull_request"),
        ("gitea/push.json", "push"),
        ("gitea/workflow-dispatch.json", "workflow_dispatch"),
    ] {
        let direct = decide(
            &Event::parse(event, &load(name)).unwrap(),
            &policy(Some("true")),
        );
        assert_eq!(resolving(name, event, &resolver), Ok(direct));
    }
    assert!(resolver.asked.lock().unwrap().is_empty());
}

#[test]
fn labels_and_names_from_flags() {
    assert_eq!(
        Labels::parse(" self-hosted , linux ").unwrap().as_slice(),
        ["self-hosted", "linux"]
    );
    for bad in ["", " ", "a,,b", "a,", "a\nb"] {
        assert!(Labels::parse(bad).is_err(), "{bad:?} must be refused");
    }
    assert_eq!(
        "member".parse::<Association>().unwrap(),
        Association::Member
    );
    assert_eq!(
        "FIRST_TIME_CONTRIBUTOR".parse::<Association>().unwrap(),
        Association::FirstTimeContributor
    );
    assert!("OWNR".parse::<Association>().is_err());
    assert_eq!("maintain".parse::<Permission>().unwrap(), Permission::Write);
    assert_eq!("triage".parse::<Permission>().unwrap(), Permission::Read);
    assert!("push".parse::<Permission>().is_err());
}
