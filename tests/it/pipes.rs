//! Exit codes survive a closed stdout, and a failed write is an error (issue 8 §2).
//!
//! Every command runs with a stdout that is closed before anything is written, with one that
//! reads a few bytes and then closes, and with `/dev/full`. A closed pipe may only make output
//! disappear: the status is the verdict's. Any other failed write is an error: stderr says so
//! and the status is 2, or the verdict's 3.
//!
//! The pipe is shrunk to one page and each command's output is checked to be larger than two
//! pages, so the reader that reads a few bytes always makes a later write fail: with output
//! that fit the pipe, nothing would fail and the test would prove nothing.

use std::io::Read as _;
use std::process::{Command, Stdio};

use byteproof_ocitest::{Format, Registry, TestImage};
use byteproof_testkit::{PackTool, Packed, Packer};
use rustix::pipe::{PipeFlags, fcntl_setpipe_size, pipe_with};

use crate::support::{Sandbox, publish, registries};

/// The pipe's capacity: one page, the smallest Linux allows.
const PIPE_SIZE: usize = 4096;

/// What the reader that reads a few bytes reads.
const FEW_BYTES: usize = 16;

/// Where stdout goes.
#[derive(Clone, Copy, Debug)]
enum Sink {
    /// A pipe whose reader is gone before the command writes anything.
    ClosedAtOnce,
    /// A pipe whose reader reads a few bytes, then goes.
    ReadsAFewBytes,
    /// `/dev/full`: every write fails with ENOSPC.
    DevFull,
}

/// How a run ended.
struct Ended {
    code: i32,
    stderr: String,
}

/// A pipe of [`PIPE_SIZE`] bytes (close-on-exec, so no other child inherits an end).
fn small_pipe() -> (std::fs::File, Stdio) {
    let (reader, writer) = pipe_with(PipeFlags::CLOEXEC).expect("pipe");
    fcntl_setpipe_size(&reader, PIPE_SIZE).expect("F_SETPIPE_SZ");
    (std::fs::File::from(reader), Stdio::from(writer))
}

fn run_into(mut command: Command, sink: Sink) -> Ended {
    command.stderr(Stdio::piped());
    let output = match sink {
        Sink::DevFull => {
            let full = std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/full")
                .expect("/dev/full");
            command.stdout(full).output().expect("run byteproof")
        }
        Sink::ClosedAtOnce | Sink::ReadsAFewBytes => {
            let (mut reader, writer) = small_pipe();
            command.stdout(writer);
            let child = command.spawn().expect("spawn byteproof");
            // The command holds the parent's copy of the write end: let it go.
            drop(command);
            if let Sink::ReadsAFewBytes = sink {
                let mut few = [0u8; FEW_BYTES];
                reader.read_exact(&mut few).expect("the first bytes");
            }
            drop(reader);
            child.wait_with_output().expect("wait for byteproof")
        }
    };
    Ended {
        code: output.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs `args` with a normal stdout (which must end with `verdict` and print more than two
/// pages), then with each broken stdout.
#[track_caller]
fn check_every_sink(sandbox: &Sandbox, args: &[&str], verdict: i32) {
    let normal = sandbox.run(args);
    normal.expect_code(verdict);
    assert!(
        normal.stdout.len() > 2 * PIPE_SIZE,
        "{args:?} printed only {} bytes: that fits the pipe, so no write could fail; make the \
         input larger",
        normal.stdout.len()
    );
    for sink in [Sink::ClosedAtOnce, Sink::ReadsAFewBytes] {
        let ended = run_into(sandbox.command(args), sink);
        assert_eq!(
            ended.code, verdict,
            "{args:?} with {sink:?} must keep the verdict's status\nstderr:\n{}",
            ended.stderr
        );
        assert!(
            !ended.stderr.contains("cannot write") && !ended.stderr.contains("panicked"),
            "{args:?} with {sink:?}: a closed pipe is not an error\nstderr:\n{}",
            ended.stderr
        );
    }
    let ended = run_into(sandbox.command(args), Sink::DevFull);
    assert_eq!(
        ended.code,
        verdict.max(2),
        "{args:?} into /dev/full\nstderr:\n{}",
        ended.stderr
    );
    assert!(
        ended
            .stderr
            .contains("error: cannot write to standard output: No space left on device"),
        "{args:?} into /dev/full must say so\nstderr:\n{}",
        ended.stderr
    );
}

#[test]
fn hash_keeps_its_status_and_a_full_disk_is_an_error() {
    let sandbox = Sandbox::new();
    let file = sandbox.write("a.tgz", "abc");
    let file = file.to_str().unwrap();
    let mut args = vec!["hash", "--json"];
    args.extend(std::iter::repeat_n(file, 60));
    // All readable: 0 through a closed pipe, 2 into a full disk.
    check_every_sink(&sandbox, &args, 0);
    // One unreadable: 2 either way.
    args.push("missing.tgz");
    check_every_sink(&sandbox, &args, 2);
}

#[test]
fn a_closed_stderr_is_no_panic() {
    let sandbox = Sandbox::new();
    let file = sandbox.write("a.tgz", "abc");
    let mut command = sandbox.command(&["hash", file.to_str().unwrap(), "missing.tgz"]);
    let (reader, writer) = small_pipe();
    drop(reader);
    let output = command
        .stderr(writer)
        .stdout(Stdio::piped())
        .output()
        .expect("run byteproof");
    // 101 would be a panic ("failed printing to stderr").
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stdout).contains("sha256"));
}

/// `@acme/wide@1.0.0` packed twice by the real npm with 300 files whose contents differ.
fn divergent_pair() -> (Packed, Packed) {
    let pack = |side: &str| {
        let mut packer = Packer::new("@acme/wide", "1.0.0").unwrap_or_else(|e| panic!("{e:#}"));
        for i in 0..300 {
            packer = packer.file(
                format!("lib/f{i}.js"),
                format!("module.exports = '{side}{i}';\n"),
            );
        }
        packer
            .pack(PackTool::Npm)
            .unwrap_or_else(|e| panic!("npm pack: {e:#}"))
    };
    (pack("a"), pack("b"))
}

#[test]
fn diff_keeps_its_status_and_a_full_disk_is_an_error() {
    let sandbox = Sandbox::new();
    let (a, b) = divergent_pair();
    let (a, b) = (a.path.to_str().unwrap(), b.path.to_str().unwrap());
    check_every_sink(&sandbox, &["diff", a, b], 1);
    check_every_sink(&sandbox, &["diff", a, b, "--json"], 1);
}

#[test]
fn compare_keeps_its_status_and_a_full_disk_is_an_error() {
    let sandbox = Sandbox::new();
    let registries = registries(2);
    let (a, b) = divergent_pair();
    publish(&registries[0], &a);
    publish(&registries[1], &b);
    let args = [
        "compare",
        "@acme/wide@1.0.0",
        "--registry",
        &format!("a={}", registries[0].0.url()),
        "--registry",
        &format!("b={}", registries[1].0.url()),
        "--json",
    ];
    check_every_sink(&sandbox, &args, 1);
}

#[test]
fn pin_check_keeps_its_status_and_a_full_disk_is_an_error() {
    let registry = Registry::open();
    registry.push_index("library/node", "20", &TestImage::build("n", Format::Oci));
    let mut sandbox = Sandbox::new();
    let docker = sandbox.path().join("docker");
    std::fs::create_dir_all(&docker).unwrap();
    sandbox.env("DOCKER_CONFIG", &docker.display().to_string());
    let mut workflow = String::from("jobs:\n  build:\n    services:\n");
    for i in 0..150 {
        workflow.push_str(&format!("      s{i}:\n        image: node:20\n"));
    }
    let path = sandbox.write("ci.yml", &workflow);
    let map = format!("docker.io={}", registry.url());
    let args = [
        "pin",
        "--check",
        "--json",
        "--registry-url",
        &map,
        path.to_str().unwrap(),
    ];
    // Every reference unpinned: 1.
    check_every_sink(&sandbox, &args, 1);
}

#[test]
fn e2e_run_keeps_its_status_and_a_full_disk_is_an_error() {
    let sandbox = Sandbox::new();
    let registries = registries(2);
    // An npm whose pack fails with a long complaint (the report quotes the tool's last lines):
    // the run could not verify, 3, with more than two pages of report.
    let npm = sandbox.write(
        "npm-fails",
        &format!(
            "#!/bin/sh\nfor i in 1 2 3 4; do echo \"pack failed: {}\" >&2; done\nexit 1\n",
            "x".repeat(3000)
        ),
    );
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&npm, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let args = [
        "e2e",
        "run",
        "--json",
        "--scope",
        "acme",
        "--name",
        "pipes-e2e",
        "--npm",
        npm.to_str().unwrap(),
        "--registry",
        &format!("a={}", registries[0].0.url()),
        "--registry",
        &format!("b={}", registries[1].0.url()),
    ];
    check_every_sink(&sandbox, &args, 3);
    // Whatever happened to stdout, every run cleaned up after itself.
    let journal: serde_json::Value = serde_json::from_slice(
        &std::fs::read(sandbox.path().join(".byteproof-state/e2e-journal.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(journal["entries"], serde_json::json!([]));
    assert_eq!(journal["folders"], serde_json::json!([]));
}
