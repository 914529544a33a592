//! `route` benchmark: `byteproof route` over the payload table in `testdata/route/cases.json`
//! against a `jq` program of the same rule (the shell-script way of routing), one fresh process
//! per call, as a CI step runs it. Target: under 5 ms per call in the best round (the
//! project's benchmarks report best-of-N wall-clock times; the median is printed beside it).
//!
//! Every call is checked, not only timed: byteproof, jq and the table must name the same
//! route (or the same refusal) for every payload, in the agreement pass and in each timed
//! round. A benchmark that measures a wrong answer fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context as _, bail, ensure};
use byteproof_testkit::serde_json::{self, Value};

/// The budget per decision: `route` runs as a step of every pull request.
const TARGET_MS: f64 = 5.0;
/// Timed passes over the whole table, per tool.
const ROUNDS: usize = 10;

const TRUSTED_LABELS: &str = r#"["self-hosted","linux","x64","chem-trusted-pr"]"#;
const FALLBACK_LABELS: &str = r#"["ubuntu-latest"]"#;
const TRUSTED_ASSOCIATIONS: &str = r#"["OWNER","MEMBER","COLLABORATOR"]"#;

/// The five rules as a jq program, refusing what byteproof refuses: a payload that is not an
/// object, a pull request event without `pull_request`, a pull request without the fields the
/// rules read. (An empty file gives no output at all.)
const JQ_RULE: &str = r#"
def is_bot: (.login | ascii_downcase | endswith("[bot]"))
  or ((.type // "") | ascii_downcase) == "bot";
if type != "object" then error("not a JSON object") else . end
| .pull_request as $pr
| if $pr == null and ($event_name | IN("pull_request", "pull_request_target"))
  then error("no pull_request") else . end
| if $pr != null and (($pr.head | has("label") and has("repo") | not)
      or ($pr.user.login | type) != "string" or (.sender.login | type) != "string")
  then error("pull_request lacks what the rule reads") else . end
| ($event_name == "pull_request"
   and $pr != null
   and $pr.head.repo != null
   and ($pr.head.repo.full_name | ascii_downcase) == ($pr.base.repo.full_name | ascii_downcase)
   and $pr.head.label != ""
   and (.sender | is_bot | not)
   and ($pr.user | is_bot | not)
   and ($pr.author_association as $a | any($trusted_associations[]; . == $a))
   and ($variable | ascii_downcase) == "true") as $trusted
| {trusted: $trusted, runs_on: (if $trusted then $trusted_labels else $fallback end)}
"#;

/// A route, or a refused payload.
#[derive(Debug, PartialEq)]
enum Outcome {
    Route { trusted: bool, runs_on: Value },
    Refused,
}

struct Case {
    payload: PathBuf,
    event: String,
    variable: String,
    expected: Outcome,
}

#[derive(Clone, Copy)]
enum Tool<'a> {
    Byteproof(&'a Path),
    Jq,
}

pub(crate) fn run(root: &Path, check: bool) -> anyhow::Result<()> {
    crate::install::debian_packages(&[("jq", "jq")])?;
    let bin = build_release(root)?;
    let cases = load_cases(root)?;
    let tools = [Tool::Byteproof(&bin), Tool::Jq];
    for case in &cases {
        for tool in tools {
            decide(tool, case)?;
        }
    }
    println!(
        "route benchmark: {} payloads from testdata/route/cases.json, one process per call, best and median of {ROUNDS} rounds",
        cases.len()
    );
    println!("  byteproof, jq and the table agree on every payload");
    // Rounds alternate between the tools, so both see the same machine load.
    let mut rounds = [Vec::new(), Vec::new()];
    for _ in 0..ROUNDS {
        for (tool, times) in tools.into_iter().zip(&mut rounds) {
            let start = Instant::now();
            for case in &cases {
                decide(tool, case)?;
            }
            times.push(start.elapsed().as_secs_f64() * 1000.0 / cases.len() as f64);
        }
    }
    let mut best = Vec::new();
    for (tool, mut times) in tools.into_iter().zip(rounds) {
        times.sort_by(f64::total_cmp);
        println!(
            "  {:<36} {:>7.3} ms per call (median {:.3})",
            tool.name(),
            times[0],
            times[times.len() / 2]
        );
        best.push(times[0]);
    }
    let (ours, jq) = (best[0], best[1]);
    println!("  ratio byteproof / jq (best rounds): {:.2}", ours / jq);
    println!("  target: < {TARGET_MS} ms per call");
    if check && ours >= TARGET_MS {
        bail!("byteproof route took {ours:.3} ms per call; the target is < {TARGET_MS} ms");
    }
    Ok(())
}

impl Tool<'_> {
    fn name(self) -> &'static str {
        match self {
            Tool::Byteproof(_) => "byteproof route --format json",
            Tool::Jq => "jq (the same rule)",
        }
    }

    fn command(self, case: &Case) -> Command {
        match self {
            Tool::Byteproof(bin) => {
                let mut command = Command::new(bin);
                command
                    .arg("route")
                    .arg("--event")
                    .arg(&case.payload)
                    .args(["--event-name", &case.event])
                    .args(["--routing-variable", &case.variable])
                    .args(["--format", "json", "--quiet"])
                    .env_remove("GITHUB_ACTIONS")
                    .env_remove("GITHUB_OUTPUT");
                command
            }
            Tool::Jq => {
                let mut command = Command::new("jq");
                command
                    .arg("-c")
                    .args(["--arg", "event_name", &case.event])
                    .args(["--arg", "variable", &case.variable])
                    .args(["--argjson", "trusted_associations", TRUSTED_ASSOCIATIONS])
                    .args(["--argjson", "trusted_labels", TRUSTED_LABELS])
                    .args(["--argjson", "fallback", FALLBACK_LABELS])
                    .arg(JQ_RULE)
                    .arg(&case.payload);
                command
            }
        }
    }
}

/// Runs one tool on one case and fails unless it gives the table's answer.
fn decide(tool: Tool<'_>, case: &Case) -> anyhow::Result<()> {
    let output = tool
        .command(case)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {}", tool.name()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let outcome = match (tool, output.status.code()) {
        (Tool::Byteproof(_), Some(2)) | (Tool::Jq, Some(1..)) => Outcome::Refused,
        (Tool::Jq, Some(0)) if stdout.trim().is_empty() => Outcome::Refused,
        (_, Some(0)) => {
            let json: Value = serde_json::from_str(&stdout)
                .with_context(|| format!("{} printed no JSON: {stdout}", tool.name()))?;
            Outcome::Route {
                trusted: json["trusted"].as_bool().context("no `trusted`")?,
                runs_on: json["runs_on"].clone(),
            }
        }
        _ => bail!(
            "{} on {} ended with {}: {}",
            tool.name(),
            case.payload.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ),
    };
    ensure!(
        outcome == case.expected,
        "{} on {} (event {}, variable {:?}): got {outcome:?}, the table says {:?}",
        tool.name(),
        case.payload.display(),
        case.event,
        case.variable,
        case.expected
    );
    Ok(())
}

fn load_cases(root: &Path) -> anyhow::Result<Vec<Case>> {
    let folder = root.join("testdata/route");
    let text = std::fs::read_to_string(folder.join("cases.json"))
        .context("reading testdata/route/cases.json")?;
    let rows: Vec<Value> = serde_json::from_str(&text).context("testdata/route/cases.json")?;
    let labels = |json: &str| serde_json::from_str::<Value>(json).expect("constant JSON");
    rows.iter()
        .map(|row| {
            let field = |key: &str| {
                row[key]
                    .as_str()
                    .with_context(|| format!("case {row} has no {key}"))
            };
            let expected = match field("route")? {
                "trusted" => Outcome::Route {
                    trusted: true,
                    runs_on: labels(TRUSTED_LABELS),
                },
                "fallback" => Outcome::Route {
                    trusted: false,
                    runs_on: labels(FALLBACK_LABELS),
                },
                "error" => Outcome::Refused,
                other => bail!("unknown route {other:?} in case {row}"),
            };
            Ok(Case {
                payload: folder.join(field("payload")?),
                event: field("event")?.to_owned(),
                // Unset and empty mean the same to both tools.
                variable: row["variable"].as_str().unwrap_or_default().to_owned(),
                expected,
            })
        })
        .collect()
}

/// Builds the release binary and returns its path, as cargo reports it.
fn build_release(root: &Path) -> anyhow::Result<PathBuf> {
    eprintln!("==> cargo build --release -p byteproof");
    let output = crate::cargo()
        .current_dir(root)
        .args([
            "build",
            "--release",
            "-p",
            "byteproof",
            "--message-format=json-render-diagnostics",
        ])
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run cargo build")?;
    ensure!(
        output.status.success(),
        "cargo build --release -p byteproof failed"
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "byteproof")
        .and_then(|m| m["executable"].as_str().map(PathBuf::from))
        .context("cargo build reported no byteproof executable")
}
