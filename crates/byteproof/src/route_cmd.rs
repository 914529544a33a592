//! `byteproof route`: choose a CI job's runner labels from its event payload, the self-hosted
//! (trusted) route or the fallback, and say why rule by rule.
//!
//! The decision is `byteproof-route`'s; this module reads the payload file, builds the
//! `Policy` from flags and environment, prints the report (table, Markdown, or JSON with its own
//! schema `byteproof.route/v1`), appends the step outputs to `$GITHUB_OUTPUT`, and in Actions
//! emits one workflow command summarising the decision.

use std::ffi::OsString;
use std::io::{Read as _, Write as _};
use std::path::Path;

use anyhow::{Context as _, bail};
use byteproof_route::{Association, Decision, Event, Labels, Policy, Rule};
use serde::Serialize;

use crate::exit::ExitStatus;
use crate::printer::{Printer, Style};
use crate::report::{Format, OutputArgs};

/// Text for `byteproof route --help`.
pub(crate) const AFTER_HELP: &str = "\
The trusted route is chosen only when all five rules hold: the event is pull_request; head and
base are the same repository (a deleted head repository or a Gitea AGit-flow PR counts as a
fork); neither the sender nor the PR author is a bot (login ending in [bot] or type Bot); the
author_association is trusted; the routing variable is true (any case). Otherwise the fallback.

In a workflow:
  byteproof route --github-output      # then: runs-on: ${{ fromJSON(needs.route.outputs.runs-on) }}

Exit status:
  0  a route was chosen (trusted or fallback: both are decisions)
  2  usage error, or an unreadable, empty, non-JSON or incomplete payload; $GITHUB_OUTPUT
     could not be written";

/// GitHub's cap on a webhook payload; a larger event file is not an event.
const MAX_PAYLOAD_BYTES: u64 = 25 << 20;

/// `byteproof route` arguments.
#[derive(clap::Args, Debug)]
pub(crate) struct RouteArgs {
    /// The event payload (JSON), as the runner writes it. (An `OsString`, not a `PathBuf`:
    /// clap refuses an empty path, and an empty variable must read as an unset one.)
    #[arg(long, value_name = "FILE", env = "GITHUB_EVENT_PATH")]
    event: Option<OsString>,

    /// The event name: pull_request, pull_request_target, push, …
    #[arg(long, value_name = "NAME", env = "GITHUB_EVENT_NAME")]
    event_name: Option<String>,

    /// The routing variable's value; only `true` (any case) enables the trusted route.
    #[arg(long, value_name = "VALUE", env = "CI_SELF_HOSTED_TRUSTED_ROUTING")]
    routing_variable: Option<String>,

    /// Labels of the trusted (self-hosted) route, comma-separated.
    #[arg(
        long,
        value_name = "LABELS",
        default_value = "self-hosted,linux,x64,chem-trusted-pr"
    )]
    trusted_labels: Labels,

    /// Labels of the fallback route, comma-separated.
    #[arg(long, value_name = "LABELS", default_value = "ubuntu-latest")]
    fallback: Labels,

    /// author_association values that may take the trusted route, comma-separated.
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        default_value = "OWNER,MEMBER,COLLABORATOR"
    )]
    trusted_associations: Vec<Association>,

    /// When the payload has no author_association (Gitea), ask the forge API for the author's
    /// permission on the repository (admin/write: treated as COLLABORATOR). Not available yet.
    #[arg(long)]
    resolve_association: bool,

    /// Append `runs-on=<JSON array>` and `trusted=true|false` to $GITHUB_OUTPUT.
    #[arg(long)]
    github_output: bool,

    /// Output format.
    #[command(flatten)]
    pub(crate) output: OutputArgs,
}

/// Runs `byteproof route`.
pub(crate) fn run(args: &RouteArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    if args.resolve_association {
        bail!(
            "--resolve-association is not available yet: it needs the forge API client, which does not exist yet; without it a payload with no author_association takes the fallback route"
        );
    }
    let path = args
        .event
        .as_deref()
        .filter(|p| !p.is_empty())
        .map(Path::new)
        .context("no event payload: pass --event FILE or set GITHUB_EVENT_PATH")?;
    let name = args
        .event_name
        .as_deref()
        .filter(|n| !n.is_empty())
        .context("no event name: pass --event-name NAME or set GITHUB_EVENT_NAME")?;
    let payload = read_payload(path)?;
    let event = Event::parse(name, &payload).with_context(|| path.display().to_string())?;
    let policy = Policy {
        trusted_labels: args.trusted_labels.clone(),
        fallback_labels: args.fallback.clone(),
        trusted_associations: args.trusted_associations.clone(),
        routing_variable: args.routing_variable.clone(),
    };
    let decision = byteproof_route::decide(&event, &policy);

    if args.github_output {
        append_github_output(&decision)?;
    }
    match args.output.format() {
        Format::Json => printer.out(&format!(
            "{}\n",
            serde_json::to_string_pretty(&RouteJson::new(&decision))?
        )),
        Format::Markdown => printer.out(&markdown(&decision)),
        Format::Table => printer.out(&table(&decision, printer)),
    }
    if std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true") {
        printer.note(&workflow_command(&decision));
    }
    Ok(ExitStatus::Success)
}

/// Reads the whole payload, refusing one larger than any forge sends.
fn read_payload(path: &Path) -> anyhow::Result<Vec<u8>> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot read the event payload {}", path.display()))?;
    let mut payload = Vec::new();
    file.take(MAX_PAYLOAD_BYTES + 1)
        .read_to_end(&mut payload)
        .with_context(|| format!("cannot read the event payload {}", path.display()))?;
    if payload.len() as u64 > MAX_PAYLOAD_BYTES {
        bail!(
            "{}: larger than {} MiB, more than any forge sends as an event payload",
            path.display(),
            MAX_PAYLOAD_BYTES >> 20
        );
    }
    Ok(payload)
}

/// Appends the step outputs in one write; any failure is an error (a job must not start on a
/// route nobody recorded).
fn append_github_output(decision: &Decision) -> anyhow::Result<()> {
    let path = std::env::var_os("GITHUB_OUTPUT")
        .filter(|p| !p.is_empty())
        .context("--github-output needs $GITHUB_OUTPUT (the Actions runner sets it)")?;
    let lines = format!(
        "runs-on={}\ntrusted={}\n",
        serde_json::to_string(&decision.runs_on)?,
        decision.trusted
    );
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&path)?;
        file.write_all(lines.as_bytes())?;
        file.sync_data()
    };
    write().with_context(|| {
        format!(
            "cannot append to $GITHUB_OUTPUT ({})",
            Path::new(&path).display()
        )
    })
}

/// The JSON report of `byteproof route`.
#[derive(Debug, Serialize)]
struct RouteJson<'a> {
    /// Always `byteproof.route/v1`.
    schema: &'static str,
    trusted: bool,
    runs_on: &'a [String],
    /// One entry per rule, all five, in order.
    reasons: Vec<ReasonJson<'a>>,
}

#[derive(Debug, Serialize)]
struct ReasonJson<'a> {
    rule: &'static str,
    ok: bool,
    detail: &'a str,
}

impl<'a> RouteJson<'a> {
    fn new(decision: &'a Decision) -> Self {
        Self {
            schema: "byteproof.route/v1",
            trusted: decision.trusted,
            runs_on: &decision.runs_on,
            reasons: decision
                .reasons
                .iter()
                .map(|r| ReasonJson {
                    rule: r.rule.name(),
                    ok: r.ok,
                    detail: &r.detail,
                })
                .collect(),
        }
    }
}

fn route_name(decision: &Decision) -> &'static str {
    if decision.trusted {
        "trusted route"
    } else {
        "fallback route"
    }
}

fn table(decision: &Decision, printer: &Printer) -> String {
    let style = if decision.trusted {
        Style::Ok
    } else {
        Style::Warn
    };
    let mut out = format!(
        "{}: runs-on {}\n",
        printer.paint(style, route_name(decision)),
        decision.runs_on.join(", ")
    );
    let width = Rule::ALL.iter().map(|r| r.name().len()).max().unwrap_or(0);
    for reason in &decision.reasons {
        let (word, style) = if reason.ok {
            ("ok  ", Style::Ok)
        } else {
            ("fail", Style::Bad)
        };
        out.push_str(&format!(
            "  {}  {:<width$}  {}\n",
            printer.paint(style, word),
            reason.rule.name(),
            reason.detail
        ));
    }
    out
}

fn markdown(decision: &Decision) -> String {
    let labels: Vec<String> = decision.runs_on.iter().map(|l| format!("`{l}`")).collect();
    let mut out = format!(
        "**{}**: runs-on {}\n\n| rule | holds | detail |\n|---|---|---|\n",
        route_name(decision),
        labels.join(", ")
    );
    for reason in &decision.reasons {
        out.push_str(&format!(
            "| {} | {} | {} |\n",
            reason.rule.name(),
            if reason.ok { "yes" } else { "no" },
            reason.detail.replace('|', "\\|")
        ));
    }
    out
}

/// One `::notice` (or `::warning`, when the routing variable alone kept a trusted pull request
/// off the self-hosted route) summarising the decision, escaped as actions/toolkit does.
fn workflow_command(decision: &Decision) -> String {
    let failed: Vec<_> = decision.failed().collect();
    let command = match failed.as_slice() {
        [only] if only.rule == Rule::RoutingVariable => "warning",
        _ => "notice",
    };
    let mut message = format!(
        "{}: runs-on {}",
        route_name(decision),
        decision.runs_on.join(", ")
    );
    if failed.is_empty() {
        message.push_str("; all five rules hold");
    }
    for reason in failed {
        message.push_str(&format!("; {}: {}", reason.rule.name(), reason.detail));
    }
    format!(
        "::{command} title={}::{}",
        escape_property("byteproof route"),
        escape_data(&message)
    )
}

/// The message part of a workflow command: `%`, CR and LF are escaped.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A property value of a workflow command: also `:` and `,`.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::{escape_data, escape_property};

    #[test]
    fn workflow_command_escaping() {
        assert_eq!(escape_data("50% a\r\nb: c, d"), "50%25 a%0D%0Ab: c, d");
        assert_eq!(escape_property("a: b, 5%\n"), "a%3A b%2C 5%25%0A");
    }
}
