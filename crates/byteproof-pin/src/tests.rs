use super::*;

const D: &str = "sha256:1790c9622dbbd948305dc98f7009d2c77ac1ee13fdb67f9a7fb8a2688c587bc7";

/// `(location, image, ignored, expression, placeholder)`.
type Expected<'a> = (&'a str, &'a str, bool, bool, bool);

/// Finds the images in `text` and checks each against `expected`.
fn check(kind: FileKind, text: &str, expected: &[Expected<'_>]) {
    let found = find_images(text, kind);
    let got: Vec<(String, String, bool, bool, bool)> = found
        .iter()
        .map(|f| {
            (
                f.location.to_string(),
                f.image.clone(),
                f.ignored,
                f.expression,
                f.placeholder,
            )
        })
        .collect();
    let want: Vec<(String, String, bool, bool, bool)> = expected
        .iter()
        .map(|(l, i, ig, ex, ph)| ((*l).to_owned(), (*i).to_owned(), *ig, *ex, *ph))
        .collect();
    assert_eq!(got, want, "\n{text}");
    for f in &found {
        assert_eq!(&text[f.span.clone()], f.image);
    }
}

#[test]
fn workflow_locations() {
    let cases: &[(&str, &[Expected<'_>])] = &[
        (
            "jobs:\n  build:\n    container: node:18\n",
            &[("jobs.build.container", "node:18", false, false, false)],
        ),
        (
            "jobs:\n  build:\n    container:\n      image: \"node:18\"  # the runtime\n      options: --cpus 1\n",
            &[("jobs.build.container", "node:18", false, false, false)],
        ),
        (
            "jobs:\n  t:\n    services:\n      db:\n        image: 'postgres:16'\n        ports: ['5432']\n      cache:\n        image: redis\n",
            &[
                (
                    "jobs.t.services.db.image",
                    "postgres:16",
                    false,
                    false,
                    false,
                ),
                ("jobs.t.services.cache.image", "redis", false, false, false),
            ],
        ),
        (
            "jobs:\n  t:\n    steps:\n      - uses: actions/checkout@v4\n      - name: x\n        uses: docker://alpine:3.20\n",
            &[("jobs.t.steps[1].uses", "alpine:3.20", false, false, false)],
        ),
        (
            // Dashes aligned with their parent key.
            "jobs:\n  t:\n    steps:\n    - run: echo\n    - uses: docker://alpine:3.20\n    container: node:20\n",
            &[
                ("jobs.t.steps[1].uses", "alpine:3.20", false, false, false),
                ("jobs.t.container", "node:20", false, false, false),
            ],
        ),
        (
            "jobs:\n  t:\n    container: ${{ matrix.image }}\n",
            &[(
                "jobs.t.container",
                "${{ matrix.image }}",
                false,
                true,
                false,
            )],
        ),
        (
            "jobs:\n  t:\n    container: node:20  # byteproof: ignore\n",
            &[("jobs.t.container", "node:20", true, false, false)],
        ),
        (
            "jobs:\n  t:\n    container: node:20@sha256:PIN_THIS_DIGEST_FOR_DETERMINISM\n",
            &[(
                "jobs.t.container",
                "node:20@sha256:PIN_THIS_DIGEST_FOR_DETERMINISM",
                false,
                false,
                true,
            )],
        ),
        (
            "jobs:\n  t:\n    container: node:20 # PIN_THIS_DIGEST_FOR_DETERMINISM\n",
            &[("jobs.t.container", "node:20", false, false, true)],
        ),
        (
            // Block scalars are skipped, even when they look like YAML.
            "jobs:\n  t:\n    steps:\n      - run: |\n          container: evil:1\n          image: evil:2\n      - uses: docker://ok:1\n",
            &[("jobs.t.steps[1].uses", "ok:1", false, false, false)],
        ),
        (
            // Not under jobs, or not an image key.
            "on:\n  push:\nenv:\n  container: nope:1\njobs:\n  t:\n    runs-on: ubuntu-latest\n    env:\n      image: nope:2\n",
            &[],
        ),
        (
            "jobs:\r\n  t:\r\n    container: node:20\r\n",
            &[("jobs.t.container", "node:20", false, false, false)],
        ),
        (
            "jobs:\n  \"quoted-job\":\n    container:\n      image: ghcr.io/o/i:1@sha256:1790c9622dbbd948305dc98f7009d2c77ac1ee13fdb67f9a7fb8a2688c587bc7\n",
            &[(
                "jobs.quoted-job.container",
                "ghcr.io/o/i:1@sha256:1790c9622dbbd948305dc98f7009d2c77ac1ee13fdb67f9a7fb8a2688c587bc7",
                false,
                false,
                false,
            )],
        ),
    ];
    for (text, expected) in cases {
        check(FileKind::Workflow, text, expected);
    }
}

#[test]
fn runner_labels() {
    let text = "log:\n  level: info\nrunner:\n  file: .runner\n  labels:\n    - \"ubuntu-latest:docker://node:20-bookworm\"\n    - ubuntu-22.04:docker://docker.gitea.com/runner-images:ubuntu-22.04 # byteproof: ignore\n    - linux_amd64:host\n    - 'arm:docker://alpine'\ncontainer:\n  network: \"\"\n";
    assert_eq!(FileKind::detect(text), FileKind::RunnerConfig);
    check(
        FileKind::RunnerConfig,
        text,
        &[
            (
                "runner.labels[ubuntu-latest]",
                "node:20-bookworm",
                false,
                false,
                false,
            ),
            (
                "runner.labels[ubuntu-22.04]",
                "docker.gitea.com/runner-images:ubuntu-22.04",
                true,
                false,
                false,
            ),
            ("runner.labels[arm]", "alpine", false, false, false),
        ],
    );
}

#[test]
fn detect_kind() {
    assert_eq!(
        FileKind::detect("on: push\njobs:\n  a:\n"),
        FileKind::Workflow
    );
    assert_eq!(
        FileKind::detect("runner:\n  labels: []\n"),
        FileKind::RunnerConfig
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

#[test]
fn edits_are_byte_exact() {
    let text = "jobs:\n  t:\n    # keep me\n    container:   \"node:20\"   # trailing\n\n    services:\n      db: {image: x}\n";
    let found = find_images(text, FileKind::Workflow);
    assert_eq!(found.len(), 1);
    let edits: Vec<Edit> = found
        .iter()
        .map(|f| Edit {
            span: f.span.clone(),
            replacement: pinned_text(&f.image, D, "latest"),
        })
        .collect();
    let out = apply_edits(text, &edits).unwrap();
    assert_eq!(
        out,
        text.replace("\"node:20\"", &format!("\"node:20@{D}\""))
    );
}

#[test]
fn edits_reject_overlap_and_bounds() {
    let e = |a, b| Edit {
        span: a..b,
        replacement: String::new(),
    };
    assert!(matches!(
        apply_edits("abcdef", &[e(0, 3), e(2, 4)]),
        Err(EditError::Overlap { .. })
    ));
    assert!(matches!(
        apply_edits("abc", &[e(2, 9)]),
        Err(EditError::OutOfBounds { .. })
    ));
    assert_eq!(apply_edits("abcdef", &[e(4, 5), e(0, 1)]).unwrap(), "bcdf");
}

#[test]
fn atomic_write_replaces_and_keeps_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.yml");
    std::fs::write(&path, "old").unwrap();
    write_atomic(&path, b"new").unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(leftovers.len(), 1);
}
