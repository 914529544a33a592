//! `byteproof e2e`: full runs against two real Verdaccio registries and the Gitea test double,
//! a failure injected at each step, runs stopped at a step boundary (killed, interrupted,
//! timed out, changed under them), concurrent runs sharing a state folder, and idempotent
//! cleanup. After every run the throwaway package must be gone from every registry.
//!
//! A run is stopped at a step boundary from outside, never by a hook in the binary: the Gitea
//! double sits behind a [`Stall`] proxy that holds the reply to a chosen request (the publish
//! `PUT`, or the consumer's `npm install`) until the test releases it.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use byteproof_testkit::{GiteaDouble, Verdaccio, http};
use serde_json::Value;

use crate::stall::{Stall, from_npm, is_put};
use crate::support::{Run, Sandbox, registries};

const SCOPE: &str = "acme";
/// Gitea refuses names starting with `_`, so the tests use a Gitea-valid name.
const NAME: &str = "runner-e2e-test";
const PACKAGE: &str = "@acme/runner-e2e-test";

/// Two Verdaccio registries (a, b) and a Gitea double (g, behind a [`Stall`] proxy), configured
/// in a sandbox's byteproof.toml with tokens from the environment. g is published to last.
struct World {
    verdaccio: Vec<(Verdaccio, String)>,
    gitea: GiteaDouble,
    gitea_token: String,
    stall: Stall,
    sandbox: Sandbox,
}

impl World {
    fn new() -> Self {
        Self::with_gitea_token(true)
    }

    /// `gitea_write`: false gives the double a read-only token (it refuses the publish).
    fn with_gitea_token(gitea_write: bool) -> Self {
        let verdaccio = registries(2);
        let gitea = GiteaDouble::start(SCOPE).unwrap_or_else(|e| panic!("{e:#}"));
        let gitea_token = gitea.add_token(gitea_write);
        let stall = Stall::start(&gitea.root_url());
        let mut sandbox = Sandbox::new();
        sandbox.write(
            "byteproof.toml",
            &format!(
                "[[registry]]\nname = \"a\"\nurl = \"{}\"\nkind = \"verdaccio\"\ntoken-env = \"TOKEN_A\"\n\n\
                 [[registry]]\nname = \"b\"\nurl = \"{}\"\nkind = \"verdaccio\"\ntoken-env = \"TOKEN_B\"\n\n\
                 [[registry]]\nname = \"g\"\nurl = \"{}\"\nkind = \"gitea\"\ntoken-env = \"TOKEN_G\"\n",
                verdaccio[0].0.url(),
                verdaccio[1].0.url(),
                stall.url_for(&gitea.url())
            ),
        );
        sandbox
            .env("TOKEN_A", &verdaccio[0].1)
            .env("TOKEN_B", &verdaccio[1].1)
            .env("TOKEN_G", &gitea_token);
        Self {
            verdaccio,
            gitea,
            gitea_token,
            stall,
            sandbox,
        }
    }

    fn run(&self, args: &[&str]) -> Run {
        let mut all = vec!["e2e"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--scope", SCOPE, "--name", NAME]);
        let run = self.sandbox.run(&all);
        for secret in self.tokens() {
            run.assert_absent(&secret);
        }
        run
    }

    fn tokens(&self) -> Vec<String> {
        let mut t: Vec<String> = self.verdaccio.iter().map(|(_, t)| t.clone()).collect();
        t.push(self.gitea_token.clone());
        t
    }

    /// Versions of the e2e package each registry still lists.
    fn leftovers(&self) -> Vec<(String, Vec<String>)> {
        let mut out = Vec::new();
        for (name, (v, _)) in ["a", "b"].iter().zip(&self.verdaccio) {
            out.push(((*name).to_owned(), verdaccio_versions(v)));
        }
        out.push(("g".to_owned(), self.gitea.versions(PACKAGE)));
        out
    }

    #[track_caller]
    fn assert_gone_everywhere(&self) {
        for (name, versions) in self.leftovers() {
            assert!(
                versions.is_empty(),
                "registry {name} still has {PACKAGE} {versions:?}"
            );
        }
        for (v, _) in &self.verdaccio {
            let url = format!("{}@acme%2frunner-e2e-test", v.url());
            assert_eq!(http::get(&url).unwrap().status, 404, "{url}");
        }
    }

    fn journal(&self) -> Value {
        let path = self
            .sandbox
            .path()
            .join(".byteproof-state/e2e-journal.json");
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
    }

    /// `(registry, version, state)` of every journal entry, sorted.
    fn journal_states(&self) -> Vec<(String, String, String)> {
        let mut states: Vec<_> = self.journal()["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let field = |k: &str| e[k].as_str().unwrap().to_owned();
                (field("registry"), field("version"), field("state"))
            })
            .collect();
        states.sort();
        states
    }

    /// Starts `byteproof e2e run --json …` in the background.
    fn spawn(&self, extra: &[&str]) -> Child {
        let mut args = vec!["e2e", "run", "--json", "--scope", SCOPE, "--name", NAME];
        args.extend_from_slice(extra);
        self.sandbox
            .command(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn byteproof")
    }

    /// Starts a run whose publish to g (the last registry) is held after g stored it; returns
    /// once the run waits for that reply. The journal then says a and b are published and g
    /// is publishing.
    fn spawn_held_at_publish(&self, extra: &[&str]) -> (Child, crate::stall::Ticket) {
        let ticket = self.stall.hold(is_put);
        let mut child = self.spawn(extra);
        self.stall.wait_held(ticket, &mut child);
        (child, ticket)
    }

    /// Starts a run that is held while the real npm installs from g (the last registry), so
    /// every consumer folder has its `.npmrc`; returns the run's scratch folder from the
    /// journal.
    fn spawn_held_in_consumer(&self) -> (Child, crate::stall::Ticket, PathBuf) {
        let ticket = self.stall.hold(from_npm);
        let mut child = self.spawn(&[]);
        self.stall.wait_held(ticket, &mut child);
        let folders = self.journal()["folders"].clone();
        let folders = folders.as_array().unwrap();
        assert_eq!(folders.len(), 1, "{folders:#?}");
        let scratch = PathBuf::from(folders[0]["path"].as_str().unwrap());
        (child, ticket, scratch)
    }
}

/// The journal of a run held at g's publish of `version`: a and b published, g publishing.
fn held_at_publish(version: &str) -> Vec<(String, String, String)> {
    [("a", "published"), ("b", "published"), ("g", "publishing")]
        .into_iter()
        .map(|(r, s)| (r.to_owned(), version.to_owned(), s.to_owned()))
        .collect()
}

fn verdaccio_versions(v: &Verdaccio) -> Vec<String> {
    let url = format!("{}@acme%2frunner-e2e-test", v.url());
    let resp = http::get(&url).unwrap();
    if resp.status == 404 {
        return Vec::new();
    }
    let doc: Value = serde_json::from_slice(&resp.body).unwrap();
    doc["versions"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

fn finish(child: Child) -> (i32, Value, String) {
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}\n{stderr}"));
    (out.status.code().unwrap_or(-1), json, stderr)
}

fn step<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no step {name} in {report:#}"))
}

#[track_caller]
fn assert_steps(report: &Value, expected: &[(&str, &str)]) {
    for (name, status) in expected {
        assert_eq!(
            step(report, name)["status"],
            *status,
            "step {name} in {report:#}"
        );
    }
}

#[test]
fn a_full_run_passes_everywhere_and_leaves_nothing_behind() {
    let world = World::new();
    let run = world.run(&["run", "--json"]);
    run.expect_code(0);
    let report = run.json();
    assert_eq!(report["schema"], "byteproof.e2e/v1");
    assert_eq!(report["status"], "passed");
    assert_eq!(report["version"], "0.0.1-e2e.1");
    assert_steps(
        &report,
        &[
            ("generate", "passed"),
            ("pack", "passed"),
            ("publish", "passed"),
            ("verify", "passed"),
            ("consumer", "passed"),
            ("compare", "passed"),
            ("cleanup", "passed"),
        ],
    );
    let run_id = report["run_id"].as_str().unwrap();
    let consumer = step(&report, "consumer")["evidence"].to_string();
    assert_eq!(consumer.matches(run_id).count(), 3, "{consumer}");
    let cleanup = step(&report, "cleanup")["evidence"].to_string();
    assert_eq!(cleanup.matches("verified absent").count(), 3, "{cleanup}");
    world.assert_gone_everywhere();
    assert_eq!(world.journal()["entries"], serde_json::json!([]));
    // Gitea got its own delete route, never npm's doubled path.
    let deletes: Vec<String> = world
        .gitea
        .server()
        .requests()
        .into_iter()
        .filter(|r| r.method == "DELETE")
        .map(|r| r.path)
        .collect();
    assert_eq!(
        deletes,
        vec![
            "/api/packages/acme/npm/%40acme%2Frunner-e2e-test/-/0.0.1-e2e.1/runner-e2e-test-0.0.1-e2e.1.tgz/-rev/undefined"
        ]
    );

    // The table form, packed by the real pnpm this time; then Markdown.
    let pnpm = byteproof_testkit::NodeTool::Pnpm
        .path()
        .unwrap_or_else(|e| panic!("{e:#}"));
    let table = world.run(&[
        "run",
        "--packer",
        "pnpm",
        "--pnpm",
        pnpm.to_str().unwrap(),
        "--skip",
        "consumer",
    ]);
    table.expect_code(0);
    assert!(
        table.stdout.contains("packed with pnpm"),
        "{}",
        table.stdout
    );
    assert!(
        table.stdout.contains("skipped by --skip"),
        "{}",
        table.stdout
    );
    assert!(table.stdout.contains("verified absent"), "{}", table.stdout);
    let md = world.run(&["run", "--format", "markdown", "--only", "verify"]);
    md.expect_code(0);
    assert!(md.stdout.contains("| publish | passed |"), "{}", md.stdout);
    assert!(
        md.stdout.contains("| consumer | skipped |"),
        "{}",
        md.stdout
    );
    world.assert_gone_everywhere();
}

#[test]
fn a_registry_that_refuses_the_publish_gives_3_and_the_others_are_cleaned() {
    let world = World::with_gitea_token(false);
    let run = world.run(&["run", "--json"]);
    run.expect_code(3);
    let report = run.json();
    assert_steps(
        &report,
        &[
            ("publish", "error"),
            ("verify", "skipped"),
            ("consumer", "skipped"),
            ("compare", "skipped"),
            ("cleanup", "passed"),
        ],
    );
    let publish = step(&report, "publish")["message"].as_str().unwrap();
    assert!(
        publish.contains("g:") && publish.contains("401"),
        "{publish}"
    );
    world.assert_gone_everywhere();
}

#[test]
fn a_failing_consumer_install_gives_1_and_cleans_up() {
    let world = World::new();
    // An npm that packs and publishes normally but cannot install.
    let fake = world.sandbox.path().join("npm-no-install");
    std::fs::write(
        &fake,
        "#!/bin/sh\nif [ \"$1\" = install ]; then echo 'npm error code E500 injected' >&2; exit 1; fi\nexec npm \"$@\"\n",
    )
    .unwrap();
    make_executable(&fake);
    let run = world.run(&["run", "--json", "--npm", fake.to_str().unwrap()]);
    run.expect_code(1);
    let report = run.json();
    assert_steps(
        &report,
        &[
            ("publish", "passed"),
            ("verify", "passed"),
            ("consumer", "failed"),
            ("compare", "passed"),
            ("cleanup", "passed"),
        ],
    );
    assert_eq!(report["status"], "failed", "a later pass never masks it");
    assert!(
        step(&report, "consumer")["message"]
            .as_str()
            .unwrap()
            .contains("injected")
    );
    world.assert_gone_everywhere();
}

#[test]
fn a_failing_pack_gives_3_and_publishes_nothing() {
    let world = World::new();
    let fake = world.sandbox.path().join("npm-broken");
    std::fs::write(&fake, "#!/bin/sh\necho 'pack exploded' >&2\nexit 1\n").unwrap();
    make_executable(&fake);
    let run = world.run(&[
        "run",
        "--json",
        "--fast-fail",
        "--npm",
        fake.to_str().unwrap(),
    ]);
    run.expect_code(3);
    let report = run.json();
    assert_steps(
        &report,
        &[
            ("generate", "passed"),
            ("pack", "error"),
            ("publish", "skipped"),
            ("cleanup", "passed"),
        ],
    );
    assert!(
        world
            .gitea
            .server()
            .requests()
            .iter()
            .all(|r| r.method == "GET")
    );
    world.assert_gone_everywhere();
}

#[test]
fn a_divergent_registry_gives_1_with_a_diff_and_cleans_up() {
    let world = World::new();
    let (child, held) = world.spawn_held_at_publish(&["--skip", "consumer"]);
    // The journal was written before each publish and after each accepted one.
    assert_eq!(world.journal_states(), held_at_publish("0.0.1-e2e.1"));
    // The double recomputes its claims from the stored bytes, like Gitea: claims hold, bytes
    // differ from the other registries.
    let other = crate::support::pack(PACKAGE, "0.0.1-e2e.1", byteproof_testkit::PackTool::Pnpm);
    world
        .gitea
        .replace_bytes(PACKAGE, "0.0.1-e2e.1", &other.bytes)
        .unwrap();
    world.stall.release(held);
    let (code, report, stderr) = finish(child);
    assert_eq!(code, 1, "{report:#}\n{stderr}");
    assert_steps(
        &report,
        &[
            ("verify", "passed"),
            ("compare", "failed"),
            ("cleanup", "passed"),
        ],
    );
    let compare = step(&report, "compare");
    assert!(
        compare["message"]
            .as_str()
            .unwrap()
            .starts_with("divergent")
    );
    assert!(
        compare["evidence"].to_string().contains("diff a vs g"),
        "{compare:#}"
    );
    world.assert_gone_everywhere();
}

#[test]
fn a_registry_serving_bytes_against_its_claims_fails_verify_and_cleans_up() {
    let world = World::new();
    let (child, held) = world.spawn_held_at_publish(&[]);
    world.verdaccio[1]
        .0
        .tamper_tarball(PACKAGE, "0.0.1-e2e.1", b"not the published bytes")
        .unwrap();
    world.stall.release(held);
    let (code, report, stderr) = finish(child);
    assert_eq!(code, 1, "{report:#}\n{stderr}");
    assert_steps(
        &report,
        &[
            ("verify", "failed"),
            ("compare", "skipped"),
            ("cleanup", "passed"),
        ],
    );
    assert!(
        step(&report, "verify")["message"]
            .as_str()
            .unwrap()
            .contains("b: claims do not match")
    );
    world.assert_gone_everywhere();
}

#[test]
fn a_step_that_times_out_gives_3_and_cleanup_still_runs() {
    let world = World::new();
    // g stores the version but its reply never comes: publish runs out of its time, and
    // cleanup must still remove the version g has although it never said so. (The limit
    // applies to every step: it leaves the real npm pack time on a loaded machine.)
    let (child, _held) = world.spawn_held_at_publish(&["--step-timeout", "10"]);
    let (code, report, stderr) = finish(child);
    assert_eq!(code, 3, "{report:#}\n{stderr}");
    assert_steps(
        &report,
        &[
            ("publish", "timed-out"),
            ("verify", "skipped"),
            ("cleanup", "passed"),
        ],
    );
    world.assert_gone_everywhere();
}

#[test]
fn ctrl_c_after_publishing_still_cleans_up_and_gives_3() {
    let world = World::new();
    let (child, _held) = world.spawn_held_at_publish(&[]);
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let (code, report, stderr) = finish(child);
    assert_eq!(code, 3, "{report:#}\n{stderr}");
    assert_eq!(report["interrupted"], true);
    assert_steps(
        &report,
        &[
            ("publish", "error"),
            ("verify", "skipped"),
            ("consumer", "skipped"),
            ("cleanup", "passed"),
        ],
    );
    assert!(stderr.contains("interrupted"), "{stderr}");
    world.assert_gone_everywhere();
}

#[test]
fn a_killed_run_is_cleaned_up_by_e2e_cleanup_and_cleanup_is_idempotent() {
    let world = World::new();
    // Killed while g has stored the version but not yet answered: g's entry says
    // "publishing", and cleanup must still find and remove the version there.
    let (mut child, _held) = world.spawn_held_at_publish(&[]);
    child.kill().unwrap(); // SIGKILL: no cleanup step, no chance to react.
    let _ = child.wait();
    for (name, versions) in world.leftovers() {
        assert_eq!(versions, vec!["0.0.1-e2e.1"], "registry {name}");
    }
    assert_eq!(world.journal_states(), held_at_publish("0.0.1-e2e.1"));

    let first = world.run(&["cleanup", "--json"]);
    first.expect_code(0);
    let report = first.json();
    assert_eq!(report["complete"], true);
    let removals = report["removals"].as_array().unwrap();
    assert_eq!(removals.len(), 3, "{report:#}");
    assert!(
        removals
            .iter()
            .all(|r| r["action"] == "removed" && r["verified_absent"] == true)
    );
    world.assert_gone_everywhere();
    assert_eq!(world.journal()["entries"], serde_json::json!([]));
    assert_eq!(world.journal()["folders"], serde_json::json!([]));
    assert_no_run_locks(&world);

    let second = world.run(&["cleanup"]);
    second.expect_code(0);
    assert!(
        second.stdout.contains("nothing to remove"),
        "{}",
        second.stdout
    );
    // The registries are clean again: the next run works (Verdaccio and Gitea allow a
    // version to be published again once it was deleted).
    world
        .run(&["run", "--json", "--only", "publish"])
        .expect_code(0);
    world.assert_gone_everywhere();
}

#[test]
fn the_consumers_token_folder_of_a_killed_run_is_removed_by_cleanup() {
    let world = World::new();
    let (mut child, _held, scratch) = world.spawn_held_in_consumer();
    let npmrc = scratch.join("consumer-2/npmrc");
    let text = std::fs::read_to_string(&npmrc).unwrap();
    assert!(text.contains(&world.gitea_token), "the token is in it");
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(&npmrc).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    child.kill().unwrap();
    let _ = child.wait();
    assert!(npmrc.exists(), "kill -9 leaves the token on disk");

    let cleanup = world.run(&["cleanup", "--json"]);
    cleanup.expect_code(0);
    let report = cleanup.json();
    assert_eq!(report["folders"][0]["path"], scratch.display().to_string());
    assert_eq!(report["folders"][0]["removed"], true, "{report:#}");
    assert!(!scratch.exists(), "{} is still there", scratch.display());
    assert_eq!(world.journal()["folders"], serde_json::json!([]));
    assert_eq!(world.journal()["entries"], serde_json::json!([]));
    world.assert_gone_everywhere();
    assert_no_run_locks(&world);
}

#[test]
fn a_normal_run_removes_its_token_folder() {
    let world = World::new();
    let (child, ticket, scratch) = world.spawn_held_in_consumer();
    assert!(scratch.join("consumer-2/npmrc").exists());
    // `e2e cleanup` while the run is in progress leaves it alone: its version and its folder.
    let during = world.run(&["cleanup", "--json"]);
    during.expect_code(0);
    let report = during.json();
    assert_eq!(report["removals"], serde_json::json!([]), "{report:#}");
    assert_eq!(report["running"].as_array().unwrap().len(), 3, "{report:#}");
    assert!(scratch.exists());
    world.stall.release(ticket);
    let (code, report, stderr) = finish(child);
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    let cleanup = step(&report, "cleanup")["evidence"].to_string();
    assert!(cleanup.contains("removed the scratch folder"), "{cleanup}");
    assert!(!scratch.exists());
    assert_eq!(world.journal()["folders"], serde_json::json!([]));
    assert_no_run_locks(&world);
}

#[test]
fn concurrent_runs_sharing_a_state_folder_lose_no_entry() {
    let world = World::new();
    // Run A stops with g's publish held; run B starts meanwhile and stops the same way. A
    // then finishes (its journal changes land while B is held), then B finishes. Each
    // change is a locked read-modify-write: nothing either run wrote is lost or resurrected.
    let (a, held_a) = world.spawn_held_at_publish(&["--skip", "consumer"]);
    let (b, held_b) = world.spawn_held_at_publish(&["--skip", "consumer"]);
    assert_eq!(
        world.journal_states().len(),
        6,
        "both runs journaled before publishing"
    );
    // B reserved a version of its own: two runs never publish the same one.
    assert!(
        world
            .journal_states()
            .iter()
            .any(|(_, v, _)| v == "0.0.1-e2e.2")
    );
    world.stall.release(held_a);
    let (code_a, report_a, stderr_a) = finish(a);
    assert_eq!(code_a, 0, "{report_a:#}\n{stderr_a}");
    assert_eq!(report_a["version"], "0.0.1-e2e.1");
    // A's removals are gone; B's entries, written while A ran, are all still there.
    assert_eq!(world.journal_states(), held_at_publish("0.0.1-e2e.2"));
    world.stall.release(held_b);
    let (code_b, report_b, stderr_b) = finish(b);
    assert_eq!(code_b, 0, "{report_b:#}\n{stderr_b}");
    assert_eq!(report_b["version"], "0.0.1-e2e.2");
    assert_eq!(world.journal()["entries"], serde_json::json!([]));
    assert_eq!(world.journal()["folders"], serde_json::json!([]));
    world.assert_gone_everywhere();
    assert_no_run_locks(&world);
}

/// Every run that ended removed its liveness lock file (or cleanup did).
#[track_caller]
fn assert_no_run_locks(world: &World) {
    let dir = world.sandbox.path().join(".byteproof-state/e2e-runs");
    let left: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(
        left.is_empty(),
        "run lock files left in {}: {left:?}",
        dir.display()
    );
}

#[test]
fn cleanup_all_sweeps_every_e2e_version_from_every_registry() {
    let world = World::new();
    // Versions left behind without a journal: published straight to the registries.
    for (i, (v, token)) in world.verdaccio.iter().enumerate() {
        for n in 1..=2 {
            let version = format!("0.0.1-e2e.{}", n + i * 10);
            let packed = crate::support::pack(PACKAGE, &version, byteproof_testkit::PackTool::Npm);
            v.publish_raw(PACKAGE, &version, &packed.bytes, token)
                .unwrap_or_else(|e| panic!("{e:#}"));
        }
    }
    let run = world.run(&["cleanup", "--all", "--json"]);
    run.expect_code(0);
    let report = run.json();
    assert_eq!(
        report["removals"].as_array().unwrap().len(),
        4,
        "{report:#}"
    );
    world.assert_gone_everywhere();
    let again = world.run(&["cleanup", "--all", "--json"]);
    again.expect_code(0);
    assert_eq!(again.json()["removals"], serde_json::json!([]));
}

#[test]
fn usage_errors_and_the_dry_run() {
    let world = World::new();
    let plan = world.run(&["run", "--dry-run", "--json"]);
    plan.expect_code(0);
    let plan = plan.json();
    assert_eq!(plan["dry_run"], true);
    assert_eq!(plan["registries"].as_array().unwrap().len(), 3);
    assert_eq!(plan["registries"][2]["kind"], "gitea");
    let text = world.run(&["run", "--dry-run", "--skip", "compare"]);
    text.expect_code(0);
    assert!(
        text.stdout.contains("compare — not run: skipped by --skip"),
        "{}",
        text.stdout
    );
    assert!(
        world.gitea.server().requests().is_empty(),
        "a dry run sends nothing"
    );
    // Gitea refuses a leading underscore: said up front, exit 2.
    let bad = world.sandbox.run(&["e2e", "run", "--scope", SCOPE]);
    bad.expect_code(2);
    assert!(
        bad.stderr.contains("--name runner-e2e-test"),
        "{}",
        bad.stderr
    );
    world.run(&["run", "--skip", "cleanup"]).expect_code(2);
    // A token file for a registry that is not configured would be ignored: refused instead.
    let token = world.sandbox.write("token", "t");
    for command in ["run", "cleanup"] {
        let run = world.run(&[command, "--token-file", &format!("gg={}", token.display())]);
        run.expect_code(2);
        assert!(
            run.stderr.contains("--token-file names registry \"gg\""),
            "{}",
            run.stderr
        );
    }
    world.run(&["run", "--only", "nope"]).expect_code(2);
    world.run(&["run", "--tag", "latest"]).expect_code(2);
}

fn make_executable(path: &PathBuf) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}
