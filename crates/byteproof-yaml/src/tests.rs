use super::*;

/// One line per node, depth-first: line, kind, style, properties, the text as written and, for
/// scalars, the value and the content between quotes.
fn dump(yaml: &Yaml) -> String {
    fn walk(node: Node<'_>, depth: usize, out: &mut String) {
        let src = node.yaml.source();
        let mut line = format!("{}L{} ", "  ".repeat(depth), node.line());
        line.push_str(match (node.kind(), node.style()) {
            (Kind::Scalar, _) => "",
            (Kind::Alias, _) => "alias ",
            (Kind::Mapping, Style::Block) => "block-map ",
            (Kind::Mapping, Style::Flow) => "flow-map ",
            (Kind::Sequence, Style::Block) => "block-seq ",
            (Kind::Sequence, Style::Flow) => "flow-seq ",
        });
        if let Some(anchor) = node.anchor() {
            line.push_str(&format!(
                "&{}@{:?} ",
                anchor.name,
                &src[anchor.span.clone()]
            ));
        }
        if let Some(tag) = node.tag() {
            line.push_str(&format!(
                "tag({}{}@{:?}) ",
                tag.handle,
                tag.suffix,
                &src[tag.span.clone()]
            ));
        }
        if let Some(s) = node.scalar() {
            line.push_str(&format!("{} {:?}", s.style.name(), s.value));
            if s.content != s.token {
                line.push_str(&format!(" content={:?}", &src[s.content.clone()]));
            }
            line.push(' ');
        }
        if let Some(target) = node.alias_target() {
            line.push_str(&format!(
                "*{} -> L{} ",
                node.alias_name().unwrap(),
                target.line()
            ));
        }
        line.push_str(&format!("{:?}", node.text()));
        out.push_str(&line);
        out.push('\n');
        for (key, value) in node.entries() {
            walk(key, depth + 1, out);
            walk(value, depth + 2, out);
        }
        for item in node.items() {
            walk(item, depth + 1, out);
        }
    }
    let mut out = String::new();
    for (i, doc) in yaml.documents().enumerate() {
        out.push_str(&format!("--- doc {i}\n"));
        walk(doc, 0, &mut out);
    }
    out
}

#[track_caller]
fn check(text: &str, expected: &str) {
    let yaml = Yaml::parse(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let got = dump(&yaml);
    assert_eq!(got.trim_end(), expected.trim(), "\n{text}\n{got}");
}

#[test]
fn block_and_flow_collections() {
    check(
        "jobs:\n  build:\n    container: {image: \"node:20\", options: --user 1001}\n    steps:\n      - uses: docker://a:1\n      - [x, 'y']\n",
        r#"
--- doc 0
L1 block-map "jobs:\n  build:\n    container: {image: \"node:20\", options: --user 1001}\n    steps:\n      - uses: docker://a:1\n      - [x, 'y']"
  L1 plain "jobs" "jobs"
    L2 block-map "build:\n    container: {image: \"node:20\", options: --user 1001}\n    steps:\n      - uses: docker://a:1\n      - [x, 'y']"
      L2 plain "build" "build"
        L3 block-map "container: {image: \"node:20\", options: --user 1001}\n    steps:\n      - uses: docker://a:1\n      - [x, 'y']"
          L3 plain "container" "container"
            L3 flow-map "{image: \"node:20\", options: --user 1001}"
              L3 plain "image" "image"
                L3 double-quoted "node:20" content="node:20" "\"node:20\""
              L3 plain "options" "options"
                L3 plain "--user 1001" "--user 1001"
          L4 plain "steps" "steps"
            L5 block-seq "- uses: docker://a:1\n      - [x, 'y']"
              L5 block-map "uses: docker://a:1"
                L5 plain "uses" "uses"
                  L5 plain "docker://a:1" "docker://a:1"
              L6 flow-seq "[x, 'y']"
                L6 plain "x" "x"
                L6 single-quoted "y" content="y" "'y'"
"#,
    );
}

#[test]
fn flow_pairs_inside_flow_sequences_are_flow() {
    check(
        "labels: [\"a:docker://n:1\", b: c]\n",
        r#"
--- doc 0
L1 block-map "labels: [\"a:docker://n:1\", b: c]"
  L1 plain "labels" "labels"
    L1 flow-seq "[\"a:docker://n:1\", b: c]"
      L1 double-quoted "a:docker://n:1" content="a:docker://n:1" "\"a:docker://n:1\""
      L1 flow-map "b: c"
        L1 plain "b" "b"
          L1 plain "c" "c"
"#,
    );
}

#[test]
fn anchors_tags_and_aliases() {
    check(
        "a: &redis !!str redis:7\nb: *redis\nc: &m\n  k: v\nd: !custom &x [1]\ne: *m\n",
        r#"
--- doc 0
L1 block-map "a: &redis !!str redis:7\nb: *redis\nc: &m\n  k: v\nd: !custom &x [1]\ne: *m"
  L1 plain "a" "a"
    L1 &redis@"&redis" tag(tag:yaml.org,2002:str@"!!str") plain "redis:7" "redis:7"
  L2 plain "b" "b"
    L2 alias *redis -> L1 "*redis"
  L3 plain "c" "c"
    L4 block-map &m@"&m" "k: v"
      L4 plain "k" "k"
        L4 plain "v" "v"
  L5 plain "d" "d"
    L5 flow-seq &x@"&x" tag(!custom@"!custom") "[1]"
      L5 plain "1" "1"
  L6 plain "e" "e"
    L6 alias *m -> L4 "*m"
"#,
    );
}

#[test]
fn block_scalars_keep_their_header_in_the_token() {
    check(
        "a: |  # keep\n  x: 1\n  # not a comment\n\nb: &f >-\n  node:20\n\n\nc: 1\n",
        r##"
--- doc 0
L1 block-map "a: |  # keep\n  x: 1\n  # not a comment\n\nb: &f >-\n  node:20\n\n\nc: 1"
  L1 plain "a" "a"
    L1 literal "x: 1\n# not a comment\n" content="  x: 1\n  # not a comment" "|  # keep\n  x: 1\n  # not a comment"
  L5 plain "b" "b"
    L5 &f@"&f" folded "node:20" content="  node:20" ">-\n  node:20"
  L9 plain "c" "c"
    L9 plain "1" "1"
"##,
    );
    let yaml = Yaml::parse("a: |  # keep\n  x: 1\n  # not a comment\n").unwrap();
    assert_eq!(yaml.comment(1), Some(" keep"));
    assert_eq!(yaml.comment(3), None);
}

#[test]
fn multi_line_and_escaped_scalars_are_not_verbatim() {
    let yaml = Yaml::parse(
        "a: node:20\nb: \"node\\x3a20\"\nc: 'it''s'\nd: node\n  :20\ne: \"x\"\nf: |\n  node\ng:\n",
    )
    .unwrap();
    let root = yaml.documents().next().unwrap();
    let verbatim: Vec<Option<&str>> = ["a", "b", "c", "d", "e", "f", "g"]
        .iter()
        .map(|k| root.get(k).unwrap().verbatim())
        .collect();
    assert_eq!(
        verbatim,
        [Some("node:20"), None, None, None, Some("x"), None, Some("")]
    );
    assert!(root.get("g").unwrap().is_null());
    assert!(!root.get("e").unwrap().is_null());
}

#[test]
fn byte_offsets_survive_bom_crlf_utf8_tabs_and_documents() {
    let text = "\u{feff}# ä\tcomment\r\nname: \"ünï\" # é\r\nimage: node:20\r\n---\r\nimage_key: x\t# tab\r\n---\nz: [é,\t'node:2']\n...\n";
    let yaml = Yaml::parse(text).unwrap();
    assert_eq!(yaml.documents().len(), 3);
    let docs: Vec<Node<'_>> = yaml.documents().collect();
    let image = docs[0].get("image").unwrap();
    assert_eq!(image.text(), "node:20");
    assert_eq!(image.line(), 3);
    assert_eq!(docs[0].get("name").unwrap().text(), "\"ünï\"");
    assert_eq!(yaml.comment(1), Some(" ä\tcomment"));
    assert_eq!(yaml.comment(2), Some(" é"));
    assert_eq!(docs[1].get("image_key").unwrap().text(), "x");
    assert_eq!(yaml.comment(5), Some(" tab"));
    let z: Vec<&str> = docs[2]
        .get("z")
        .unwrap()
        .items()
        .map(|n| n.text())
        .collect();
    assert_eq!(z, ["é", "'node:2'"]);
    assert_eq!(
        yaml.position(yaml.source().find("'node").unwrap()),
        Position { line: 7, column: 8 }
    );
}

#[test]
fn comments_are_found_outside_scalars_only() {
    let text = "a: \"x # y\" # one\nb: c#d\n# two\nc: [1, 2] #three\nd: 'e\n  # f'\n";
    let yaml = Yaml::parse(text).unwrap();
    let comments: Vec<Option<&str>> = (1..=7).map(|l| yaml.comment(l)).collect();
    assert_eq!(
        comments,
        [
            Some(" one"),
            None,
            Some(" two"),
            Some("three"),
            None,
            None,
            None
        ]
    );
    assert_eq!(yaml.line_text(2), Some("b: c#d"));
}

#[test]
fn parse_errors_say_where() {
    let cases = [
        ("a: [1, 2\n", 2),
        ("a: b\n c: d: e\n", 2),
        ("a: *missing\n", 1),
        ("key: 'unterminated\n", 1),
        ("a:\n  - x\n  y: 1\n", 3),
        ("a: 1\nb: 2\na: 3\n", 3),
        ("a: {image: x, image: y}\n", 1),
        ("- k: 1\n  \"k\": 2\n", 2),
    ];
    for (text, line) in cases {
        let err = Yaml::parse(text).expect_err(text);
        assert_eq!(err.line, line, "{text:?}: {err}");
        assert!(err.column >= 1);
        assert_eq!(
            err.to_string(),
            format!("line {}, column {}: {}", err.line, err.column, err.message)
        );
    }
}

#[test]
fn keys_repeat_only_where_yaml_allows() {
    let err = Yaml::parse("jobs:\n  a:\n    container: x\n    container: y\n").unwrap_err();
    assert_eq!((err.line, err.column), (4, 5), "{err}");
    assert_eq!(err.message, "duplicate mapping key `container`");
    // Different mappings, a plain and a quoted key, and repeated merge keys are all fine.
    Yaml::parse("a: {k: 1}\nb: {k: 2}\nc: {1: x, '1': y}\nd:\n  <<: {p: 1}\n  <<: {q: 2}\n")
        .unwrap();
}

#[test]
fn paths_aliases_and_merge_keys() {
    let text = "base: &base\n  image: node:20\n  options: x\nother: &other {image: alpine, env: 1}\njobs:\n  a:\n    container:\n      <<: [*base, *other]\n      options: y\n  b: *base\n  c:\n    \"<<\": *base\n";
    let yaml = Yaml::parse(text).unwrap();
    let root = yaml.documents().next().unwrap();
    let container = root.at(&["jobs", "a", "container"]).unwrap();
    assert_eq!(container.get("image").map(|n| n.text()), None);
    let merged: Vec<(&str, &str, Option<&str>)> = container
        .merged_entries()
        .iter()
        .map(|e| (e.key.text(), e.value.text(), e.via_alias.map(|a| a.text())))
        .collect();
    assert_eq!(
        merged,
        [
            ("options", "y", None),
            ("image", "node:20", Some("*base")),
            ("env", "1", Some("*other"))
        ]
    );
    assert_eq!(container.get_merged("image").unwrap().line(), 2);
    assert_eq!(root.at(&["jobs", "b", "image"]).unwrap().text(), "node:20");
    let quoted = root.at(&["jobs", "c"]).unwrap();
    assert!(
        quoted.get_merged("image").is_none(),
        "a quoted \"<<\" is a plain key"
    );
    let image = root.at(&["base", "image"]).unwrap();
    assert_eq!(image.key().unwrap().text(), "image");
    assert_eq!(image.parent().unwrap().anchor().unwrap().name, "base");
    assert_eq!(root.get("nope").map(|n| n.id()), None);
}

#[test]
fn cyclic_merges_and_self_aliases_end() {
    let yaml = Yaml::parse("a: &a\n  <<: *a\n  k: v\nb: &b [*b]\n").unwrap();
    let root = yaml.documents().next().unwrap();
    let a = root.get("a").unwrap();
    assert_eq!(a.merged_entries().len(), 1);
    let b = root.get("b").unwrap();
    assert_eq!(b.items().next().unwrap().resolve().id(), b.id());
}

/// Invariants over every node of every file of the pin corpus (real and hand-written YAML in
/// every style): spans lie on character boundaries, tokens start and end as their style says,
/// anchors and tags are where they are said to be, and no comment lies inside a scalar.
#[test]
fn spans_hold_on_the_whole_corpus() {
    fn walk(node: Node<'_>, all: &mut Vec<usize>) {
        all.push(node.id().0);
        for (key, value) in node.entries() {
            walk(key, all);
            walk(value, all);
        }
        for item in node.items() {
            walk(item, all);
        }
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/pin");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).expect("testdata/pin") {
        let path = entry.expect("entry").path();
        if !path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read");
        let Ok(yaml) = Yaml::parse(&text) else {
            continue;
        };
        let mut ids = Vec::new();
        for doc in yaml.documents() {
            walk(doc, &mut ids);
        }
        for id in ids {
            let node = yaml.node(NodeId(id));
            let at = format!("{}: {node:?}", path.display());
            assert!(text.get(node.span()).is_some(), "{at}");
            assert_eq!(node.line(), yaml.line(node.span().start), "{at}");
            if let Some(anchor) = node.anchor() {
                assert_eq!(
                    text[anchor.span.clone()],
                    format!("&{}", anchor.name),
                    "{at}"
                );
            }
            if let Some(tag) = node.tag() {
                assert!(text[tag.span.clone()].starts_with('!'), "{at}");
            }
            let Some(scalar) = node.scalar() else {
                continue;
            };
            let token = &text[scalar.token.clone()];
            assert!(text.get(scalar.content.clone()).is_some(), "{at}");
            assert!(
                scalar.token.start <= scalar.content.start
                    && scalar.content.end <= scalar.token.end,
                "{at}"
            );
            let (opens, closes) = match scalar.style {
                ScalarStyle::SingleQuoted => (token.starts_with('\''), token.ends_with('\'')),
                ScalarStyle::DoubleQuoted => (token.starts_with('"'), token.ends_with('"')),
                ScalarStyle::Literal => (token.starts_with('|'), true),
                ScalarStyle::Folded => (token.starts_with('>'), true),
                ScalarStyle::Plain => (token.trim_start() == token, token.trim_end() == token),
            };
            assert!(opens && closes, "{at}");
            if node.verbatim().is_some() {
                assert_eq!(text[scalar.content.clone()], scalar.value, "{at}");
            }
            if !scalar.style.is_block() {
                for line in yaml.line(scalar.token.start)..=yaml.line(scalar.token.end) {
                    if let Some(comment) = yaml.comment(line) {
                        let start = comment.as_ptr() as usize - yaml.source().as_ptr() as usize;
                        assert!(
                            start >= scalar.token.end || start < scalar.token.start,
                            "{at}: comment {comment:?} inside"
                        );
                    }
                }
            }
        }
        checked += 1;
    }
    assert!(checked >= 40, "{checked} files");
}
