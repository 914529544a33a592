use std::path::{Path, PathBuf};

use byteproof_oci::{Digest, Reference};

use super::*;

const D: &str = "sha256:1790c9622dbbd948305dc98f7009d2c77ac1ee13fdb67f9a7fb8a2688c587bc7";

/// What the text alone says about a reference (a registry decides between pinned, stale and
/// dangling for those written with a digest).
fn static_status(f: &FoundImage) -> &'static str {
    if f.ignored {
        return "ignored";
    }
    if f.expression {
        return "expression";
    }
    if f.unscannable().is_some() {
        return "unscannable";
    }
    if Reference::parse(f.name_and_tag()).is_err() {
        return "invalid";
    }
    match f.digest_part() {
        DigestPart::None | DigestPart::Placeholder => "unpinned",
        DigestPart::Digest(d) if Digest::parse(&d).is_ok() => "digest",
        DigestPart::Digest(_) => "invalid",
    }
}

/// One line per finding: line, static status, location, reference, how it is written, flags.
fn render(text: &str) -> String {
    let found = match locate(text) {
        Ok(found) => found,
        Err(err) => return format!("error: {err}\n"),
    };
    if found.is_empty() {
        return "no references\n".to_owned();
    }
    let mut out = String::new();
    for f in &found {
        let site = match &f.site {
            Site::Written { style, .. } => style.name().to_owned(),
            Site::Alias {
                anchor,
                anchor_line,
                ..
            } => format!("alias *{anchor} of line {anchor_line}"),
            Site::Unscannable { reason } => format!("unscannable: {reason}"),
        };
        out.push_str(&format!(
            "L{} {} {} `{}` [{site}]",
            f.line,
            static_status(f),
            f.location,
            f.image
        ));
        if f.placeholder {
            out.push_str(" placeholder");
        }
        out.push('\n');
    }
    out
}

/// Checks that `text` renders as `expected`, that every span holds its reference, and that
/// the round-trip property holds.
#[track_caller]
fn check(text: &str, expected: &str) {
    assert_eq!(render(text).trim_end(), expected.trim(), "\n{text}");
    check_spans(text);
    check_round_trip(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
}

#[track_caller]
fn check_spans(text: &str) {
    for f in locate(text).into_iter().flatten() {
        if let Some(span) = f.span() {
            assert_eq!(&text[span], f.image, "{f:?}");
        }
    }
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/pin")
}

/// Every `testdata/pin/*.yml|*.yaml` against its `<file>.expect`; `BYTEPROOF_BLESS=1` writes
/// the expectations instead (review the diff before committing it).
#[test]
fn corpus() {
    let bless = std::env::var_os("BYTEPROOF_BLESS").is_some();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("testdata/pin")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    paths.sort();
    let mut failures = Vec::new();
    for path in &paths {
        let text = std::fs::read_to_string(path).expect("corpus file");
        let got = render(&text);
        let expect_path = PathBuf::from(format!("{}.expect", path.display()));
        if bless {
            std::fs::write(&expect_path, &got).expect("write expectation");
        }
        let want = std::fs::read_to_string(&expect_path)
            .unwrap_or_else(|_| panic!("missing {}", expect_path.display()));
        if got != want {
            failures.push(format!(
                "{}:\n--- expected\n{want}--- got\n{got}",
                path.display()
            ));
        }
        check_spans(&text);
        if let Err(err) = check_round_trip(&text) {
            failures.push(format!("{}: round trip: {err}", path.display()));
        }
    }
    assert!(paths.len() >= 40, "the corpus has {} files", paths.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_issue_example_is_found_whole() {
    check(
        "jobs:
  build:
    container: {image: \"node:20-bookworm\", options: --user 1001}
    services:
      db: {image: postgres:15}
      cache:
        image: &redis redis:7
  test:
    services:
      cache2:
        image: *redis
    container:
      image: >-
        node:20
",
        "
L3 unpinned jobs.build.container `node:20-bookworm` [double-quoted]
L5 unpinned jobs.build.services.db.image `postgres:15` [plain]
L7 unpinned jobs.build.services.cache.image `redis:7` [plain]
L11 unpinned jobs.test.services.cache2.image `redis:7` [alias *redis of line 7]
L13 unscannable jobs.test.container `node:20` [unscannable: a folded block scalar (`>`) cannot be rewritten in place; write the image on one line]
",
    );
}

#[test]
fn act_runner_flow_labels_are_found() {
    check(
        "runner:\n  labels: [\"ubuntu-latest:docker://node:20\", linux:host]\n",
        "L2 unpinned runner.labels[ubuntu-latest] `node:20` [double-quoted]",
    );
}

#[test]
fn a_file_that_is_not_yaml_is_an_error_not_an_empty_list() {
    let err = locate("jobs:\n  a:\n    container: {image: node:20\n").unwrap_err();
    assert_eq!(err.line, 4, "{err}");
    assert_eq!(check_round_trip("a: [").unwrap(), 0);
}

#[test]
fn one_anchored_reference_is_pinned_once_for_every_use() {
    let text = "x: &n node:20\njobs:\n  a: {container: *n}\n  b:\n    container: *n\n";
    let found = locate(text).unwrap();
    assert_eq!(found.len(), 2);
    let edits: Vec<Edit> = found
        .iter()
        .map(|f| Edit {
            span: f.span().unwrap(),
            replacement: pinned_text(&f.image, D, "latest"),
        })
        .collect();
    let out = rewrite(text, &found, &edits).unwrap();
    assert_eq!(out, text.replacen("node:20", &format!("node:20@{D}"), 1));
}

#[test]
fn rewrites_keep_quoting_and_every_other_byte() {
    let text = "jobs:\n  t:\n    # keep me\n    container:   \"node:20\"   # trailing\n\n    services:\n      db: {image: 'x:1'}\n    steps: [{uses: docker://y}]\n";
    let found = locate(text).unwrap();
    assert_eq!(found.len(), 3);
    let edits: Vec<Edit> = found
        .iter()
        .map(|f| Edit {
            span: f.span().unwrap(),
            replacement: pinned_text(&f.image, D, "latest"),
        })
        .collect();
    let out = rewrite(text, &found, &edits).unwrap();
    assert_eq!(
        out,
        text.replace("\"node:20\"", &format!("\"node:20@{D}\""))
            .replace("'x:1'", &format!("'x:1@{D}'"))
            .replace("docker://y}", &format!("docker://y:latest@{D}}}"))
    );
}

#[test]
fn a_rewrite_that_does_not_read_back_is_refused() {
    let text = "jobs:\n  t:\n    container: node:20\n";
    let found = locate(text).unwrap();
    let span = found[0].span().unwrap();
    let sneaky = [
        "node:20\n    services: {db: {image: evil:1}}",
        "node:20 # comment",
        "[node:20]",
        "'node:20",
    ];
    for replacement in sneaky {
        let edits = [Edit {
            span: span.clone(),
            replacement: replacement.to_owned(),
        }];
        let err = rewrite(text, &found, &edits).unwrap_err();
        assert!(
            matches!(err, EditError::ReadBack { .. }),
            "{replacement}: {err}"
        );
    }
}

#[test]
fn edits_reject_overlap_and_bounds_and_apply_duplicates_once() {
    let e = |a, b, r: &str| Edit {
        span: a..b,
        replacement: r.to_owned(),
    };
    assert!(matches!(
        apply_edits("abcdef", &[e(0, 3, ""), e(2, 4, "")]),
        Err(EditError::Overlap { .. })
    ));
    assert!(matches!(
        apply_edits("abcdef", &[e(0, 3, "x"), e(0, 3, "y")]),
        Err(EditError::Overlap { .. })
    ));
    assert!(matches!(
        apply_edits("abc", &[e(2, 9, "")]),
        Err(EditError::OutOfBounds { .. })
    ));
    assert_eq!(
        apply_edits("abcdef", &[e(4, 5, ""), e(0, 1, ""), e(4, 5, "")]).unwrap(),
        "bcdf"
    );
}

#[test]
fn pinned_forms() {
    let cases = [
        ("node:20", format!("node:20@{D}")),
        ("node", format!("node:latest@{D}")),
        (
            "localhost:5000/node",
            format!("localhost:5000/node:latest@{D}"),
        ),
        (
            "localhost:5000/node:1",
            format!("localhost:5000/node:1@{D}"),
        ),
        (
            "node:20@sha256:PIN_THIS_DIGEST_FOR_DETERMINISM",
            format!("node:20@{D}"),
        ),
        (
            "node:20@PIN_THIS_DIGEST_FOR_DETERMINISM",
            format!("node:20@{D}"),
        ),
        (
            &format!("node:20@sha256:{}", "0".repeat(64)),
            format!("node:20@{D}"),
        ),
    ];
    for (input, want) in cases {
        assert_eq!(pinned_text(input, D, "latest"), want, "{input}");
    }
}

#[test]
fn split_digests() {
    assert_eq!(split_digest("a:1"), ("a:1", DigestPart::None));
    assert_eq!(
        split_digest("a:1@PIN_THIS_DIGEST_FOR_DETERMINISM"),
        ("a:1", DigestPart::Placeholder)
    );
    assert_eq!(
        split_digest(&format!("a@{D}")),
        ("a", DigestPart::Digest(D.to_owned()))
    );
}

/// A plan with one finding of each given status (and a replacement where asked).
fn plan_of(statuses: &[(Status, bool)]) -> FilePlan {
    let text = "jobs:\n  a:\n    container: node:20\n";
    let found = locate(text).unwrap().remove(0);
    FilePlan {
        path: PathBuf::from("w.yml"),
        original: text.to_owned(),
        updated: text.to_owned(),
        findings: statuses
            .iter()
            .map(|(status, replaced)| Finding {
                path: PathBuf::from("w.yml"),
                found: found.clone(),
                reference: None,
                pinned: None,
                current: None,
                status: status.clone(),
                replacement: replaced.then(|| format!("node:20@{D}")),
                error: None,
                note: None,
            })
            .collect(),
        problem: None,
    }
}

#[test]
fn outcomes_follow_the_findings() {
    use Outcome::{Fail, Invalid, Pass, Unverified};
    let unscannable = Status::Unscannable("a folded block scalar".to_owned());
    let unresolved = Status::Unresolved("503".to_owned());
    // (statuses and whether each has a replacement, mode, --allow-stale, outcome)
    type Case<'a> = (&'a [(Status, bool)], Mode, bool, Outcome);
    let cases: &[Case<'_>] = &[
        (&[(Status::Pinned, false)], Mode::Check, false, Pass),
        (&[(Status::Unpinned, true)], Mode::Check, false, Fail),
        (&[(Status::Unpinned, true)], Mode::Write, false, Pass),
        (&[(Status::Unpinned, false)], Mode::Write, false, Fail),
        (&[(unscannable.clone(), false)], Mode::Check, false, Fail),
        (&[(unscannable.clone(), false)], Mode::Write, false, Fail),
        (&[(Status::Ignored, false)], Mode::Check, false, Pass),
        (&[(Status::Stale, false)], Mode::Check, false, Fail),
        (&[(Status::Stale, false)], Mode::Check, true, Pass),
        (&[(Status::Dangling, true)], Mode::DryRun, false, Pass),
        (
            &[(unresolved.clone(), false)],
            Mode::Check,
            false,
            Unverified,
        ),
        (
            &[(unresolved.clone(), false), (Status::Unpinned, false)],
            Mode::Check,
            false,
            Fail,
        ),
        (
            &[(unresolved, false), (Status::Unpinned, false)],
            Mode::Write,
            false,
            Unverified,
        ),
        (
            &[
                (Status::Invalid("bad".to_owned()), false),
                (unscannable, false),
            ],
            Mode::Check,
            false,
            Invalid,
        ),
    ];
    for (statuses, mode, allow_stale, want) in cases {
        let plans = [plan_of(statuses)];
        assert_eq!(
            outcome(&plans, *mode, *allow_stale),
            *want,
            "{statuses:?} {mode:?}"
        );
    }
}

#[test]
fn a_failed_rewrite_leaves_the_file_and_says_so() {
    let mut plan = plan_of(&[(Status::Unpinned, true), (Status::Pinned, false)]);
    plan.updated = plan.original.replace("node:20", &format!("node:20@{D}"));
    assert_eq!(outcome(&[plan.clone()], Mode::Write, false), Outcome::Pass);
    plan.fail_rewrite(FileProblem::WriteFailed("permission denied".to_owned()));
    assert!(!plan.changed());
    assert_eq!(plan.findings[0].replacement, None);
    assert_eq!(
        plan.findings[0].error.as_deref(),
        Some("not written: permission denied")
    );
    assert_eq!(plan.findings[1].error, None);
    assert_eq!(outcome(&[plan], Mode::Write, false), Outcome::Invalid);
}
