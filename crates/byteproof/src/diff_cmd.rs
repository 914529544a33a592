//! `byteproof diff A B`: explains why two tarballs differ, layer by layer (gzip header,
//! compression, tar encoding, metadata, formatting, content), with fix hints.
//!
//! The engine is `byteproof-diff`; this module loads the two sides, supplies Node's zlib to the
//! recompression check when `node` is installed, and prints the report as text or JSON.

use std::cell::OnceCell;
use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::process::{Command, Stdio};

use anyhow::Context as _;
use byteproof_diff::{Caps, Compressor, DiffBody, DiffOptions, DiffReport, Layer, Reason};
use byteproof_npm::{Keep, PackageSpec, Registry, SafeUrl};

use crate::registry_args::{RegistryArgs, Setup, runtime};

use crate::exit::ExitStatus;
use crate::printer::{Printer, Style};

/// Arguments of `byteproof diff`.
#[derive(clap::Args, Debug)]
pub(crate) struct DiffArgs {
    /// First tarball: a local .tgz (`-` for stdin), an http(s) URL, or REGISTRY:package@version
    /// with REGISTRY a name from --registry, byteproof.toml or .npmrc.
    a: String,

    /// Second tarball, in the same forms.
    b: String,

    /// Print the full report as JSON.
    #[arg(long)]
    pub(crate) json: bool,

    /// Most decompressed tar bytes read per side (suffixes K, M, G: binary units).
    #[arg(long, value_name = "SIZE", default_value = "256M", value_parser = parse_size)]
    max_decompressed: u64,

    /// Most tar entries read per side.
    #[arg(long, value_name = "N", default_value_t = Caps::default().max_entries)]
    max_entries: usize,

    /// Files larger than this get a size/hash summary instead of a text diff.
    #[arg(long, value_name = "SIZE", default_value = "1M", value_parser = parse_size)]
    max_file_diff: u64,

    /// Skip the recompression check (which runs `node` when installed).
    #[arg(long)]
    no_recompress: bool,

    /// Also print the evidence behind each side's producer fingerprint.
    #[arg(long)]
    evidence: bool,

    #[command(flatten)]
    registry: RegistryArgs,
}

/// Parses `1048576`, `512K`, `256M`, `1G` (binary units).
fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (digits, shift) = match t.char_indices().last() {
        Some((i, 'k' | 'K')) => (&t[..i], 10),
        Some((i, 'm' | 'M')) => (&t[..i], 20),
        Some((i, 'g' | 'G')) => (&t[..i], 30),
        _ => (t, 0),
    };
    let n: u64 = digits
        .trim()
        .parse()
        .map_err(|_| format!("not a size: {text:?}"))?;
    n.checked_mul(1 << shift)
        .ok_or_else(|| format!("size too large: {text:?}"))
}

/// Where one side's bytes come from.
#[derive(Debug, PartialEq, Eq)]
enum Side<'a> {
    /// Standard input.
    Stdin,
    /// A local file.
    File(&'a str),
    /// An http(s) URL, fetched anonymously.
    Url(&'a str),
    /// A registry name and a `package@version`.
    Registry { name: &'a str, spec: &'a str },
}

impl<'a> Side<'a> {
    /// Reads the form of a side: `-`, a URL, an existing file, `REGISTRY:pkg@version`, or a
    /// path (which then fails to open with a clear error).
    fn parse(text: &'a str) -> Self {
        if text == "-" {
            return Side::Stdin;
        }
        if text.starts_with("http://") || text.starts_with("https://") {
            return Side::Url(text);
        }
        if !std::path::Path::new(text).exists() {
            if let Some((name, spec)) = text
                .split_once(':')
                .filter(|(n, p)| !n.is_empty() && p.contains('@'))
            {
                return Side::Registry { name, spec };
            }
        }
        Side::File(text)
    }
}

/// Reads one side's bytes. Registry sides resolve the registry from the configuration and
/// fetch with its credentials; URL sides are fetched without any.
fn load_side(text: &str, args: &DiffArgs, printer: &Printer) -> anyhow::Result<Vec<u8>> {
    // Fetched sides are kept whole: the client itself refuses anything over
    // --max-tarball-size, which is what bounds memory here.
    let keep = Keep::Memory { up_to: u64::MAX };
    match Side::parse(text) {
        Side::Stdin => {
            let mut bytes = Vec::new();
            std::io::stdin()
                .lock()
                .read_to_end(&mut bytes)
                .context("cannot read standard input")?;
            Ok(bytes)
        }
        Side::File(path) => std::fs::read(path).with_context(|| format!("cannot read {path}")),
        Side::Url(url) => {
            let client = args.registry.client_without_config()?;
            let parsed = url::Url::parse(url).with_context(|| format!("{url} is not a URL"))?;
            let anonymous = Registry::new("url", url).map_err(anyhow::Error::msg)?;
            let fetched = runtime()?
                .block_on(client.tarball(&anonymous, &parsed, keep))
                .with_context(|| format!("cannot fetch {}", SafeUrl::new(&parsed)))?;
            fetched
                .kept
                .into_bytes()
                .context("the client did not keep the tarball bytes")
        }
        Side::Registry { name, spec } => {
            let spec = PackageSpec::parse(spec)?;
            let Setup { registries, client } = args.registry.setup(printer)?;
            let registry = registries
                .into_iter()
                .find(|r| r.registry.name == name)
                .map(|r| r.registry)
                .with_context(|| format!("no registry named {name:?} is configured (see --registry, byteproof.toml, .npmrc)"))?;
            let runtime = runtime()?;
            let fetched = runtime.block_on(async {
                let dist = client.dist(&registry, &spec).await?;
                client.tarball(&registry, &dist.tarball, keep).await
            });
            let fetched = fetched.with_context(|| format!("cannot fetch {spec} from {name}"))?;
            fetched
                .kept
                .into_bytes()
                .context("the client did not keep the tarball bytes")
        }
    }
}

pub(crate) fn run(args: &DiffArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    args.registry.check_token_files()?;
    let a = load_side(&args.a, args, printer)?;
    let b = load_side(&args.b, args, printer)?;
    let options = DiffOptions {
        caps: Caps {
            max_decompressed_bytes: args.max_decompressed,
            max_entries: args.max_entries,
            max_file_diff_bytes: args.max_file_diff,
            ..Caps::default()
        },
        recompress: !args.no_recompress,
    };
    let mut node = NodeZlib::default();
    let report = byteproof_diff::diff_with(&a, &b, &options, &mut [&mut node])
        .with_context(|| format!("cannot compare {} and {}", args.a, args.b))?;
    if args.json {
        printer.out(&format!("{}\n", serde_json::to_string_pretty(&report)?));
    } else {
        printer.out(&render(&report, args, printer));
    }
    Ok(if report.is_identical() {
        ExitStatus::Success
    } else {
        ExitStatus::Differs
    })
}

/// Most entries listed per reason in text output.
const LIST: usize = 20;

fn render(r: &DiffReport, args: &DiffArgs, p: &Printer) -> String {
    let mut s = String::new();
    let style = if r.is_identical() {
        Style::Ok
    } else {
        Style::Bad
    };
    let _ = writeln!(s, "{}", p.paint(style, &r.summary_line()));
    let _ = writeln!(
        s,
        "{}",
        p.paint(Style::Dim, &format!("  ({})", r.verdict.describe()))
    );
    for (name, spec, side) in [("a", &args.a, &r.a), ("b", &args.b, &r.b)] {
        let _ = writeln!(
            s,
            "{name}  {spec}\n   {} bytes  sha1 {}  producer {}  gzip XFL {} OS {}  {} entries",
            side.size,
            side.sha1,
            side.producer.producer.as_str(),
            side.gzip.xfl,
            side.gzip.os,
            side.entries,
        );
        if args.evidence {
            for e in &side.producer.evidence {
                let _ = writeln!(s, "     {}", p.paint(Style::Dim, e));
            }
        }
    }
    for &layer in &r.layers {
        let _ = writeln!(
            s,
            "\n{} {}",
            p.paint(Style::Bold, layer.as_str()),
            p.paint(Style::Dim, layer.describe())
        );
        for f in r.reasons.iter().filter(|f| f.layer == layer) {
            let _ = write!(s, "  {}", f.code);
            if let Some(detail) = &f.detail {
                let _ = write!(s, ": {detail}");
            }
            s.push('\n');
            for path in f.entries.iter().take(LIST) {
                let _ = writeln!(s, "    {}{}", path, entry_values(r, f.code, path));
            }
            if f.entries.len() > LIST {
                let _ = writeln!(s, "    … and {} more", f.entries.len() - LIST);
            }
        }
        if layer == Layer::Compression {
            if let Some(rc) = &r.recompression {
                let list = |v: &[String]| {
                    if v.is_empty() {
                        "no match".to_owned()
                    } else {
                        v.join(", ")
                    }
                };
                let _ = writeln!(s, "  recompression (tried {}):", rc.tried.join(", "));
                let _ = writeln!(s, "    a: {}\n    b: {}", list(&rc.a), list(&rc.b));
                for e in &rc.errors {
                    let _ = writeln!(s, "    {}", p.paint(Style::Warn, e));
                }
            }
        }
    }
    if !r.hints.is_empty() {
        let _ = writeln!(s, "\n{}", p.paint(Style::Bold, "hints"));
        for h in &r.hints {
            let _ = writeln!(s, "  {}: {}", h.reason, h.text);
        }
    }
    for d in &r.file_diffs {
        let reasons: Vec<&str> = d.reasons.iter().map(|r| r.as_str()).collect();
        let _ = writeln!(
            s,
            "\n{} ({})",
            p.paint(Style::Bold, &d.path),
            reasons.join(", ")
        );
        for c in &d.json_changes {
            let _ = writeln!(
                s,
                "  {} {}: {} → {}",
                c.change,
                c.path,
                c.a.as_deref().unwrap_or("-"),
                c.b.as_deref().unwrap_or("-")
            );
        }
        let one_sided = d.a_size.is_none() || d.b_size.is_none();
        match &d.body {
            DiffBody::Text { unified, truncated } => {
                for line in unified.lines() {
                    let styled = if line.starts_with("+++") || line.starts_with("---") {
                        p.paint(Style::Bold, line)
                    } else if line.starts_with('+') {
                        p.paint(Style::Ok, line)
                    } else if line.starts_with('-') {
                        p.paint(Style::Bad, line)
                    } else if line.starts_with("@@") {
                        p.paint(Style::Dim, line)
                    } else {
                        line.to_owned()
                    };
                    let _ = writeln!(s, "{styled}");
                }
                if *truncated {
                    let _ = writeln!(
                        s,
                        "{}",
                        p.paint(Style::Warn, "  (diff cut at the output cap)")
                    );
                }
            }
            DiffBody::Binary { over_cap } => {
                let size = |v: Option<u64>| v.map_or("-".to_owned(), |n| n.to_string());
                let why = if one_sided {
                    "only on one side"
                } else if *over_cap {
                    "too large for a text diff"
                } else {
                    "binary"
                };
                let _ = writeln!(
                    s,
                    "  {why}: sizes {} / {}, sha256 {} / {}{}",
                    size(d.a_size),
                    size(d.b_size),
                    d.a_sha256.as_deref().unwrap_or("-"),
                    d.b_sha256.as_deref().unwrap_or("-"),
                    d.first_difference
                        .map_or(String::new(), |o| format!(", first difference at byte {o}"))
                );
            }
        }
    }
    if !r.warnings.is_empty() {
        let _ = writeln!(s, "\n{}", p.paint(Style::Warn, "warnings"));
        for w in &r.warnings {
            let entry = w
                .entry
                .as_deref()
                .map_or(String::new(), |e| format!(" {e}"));
            let _ = writeln!(s, "  {} {}{}: {}", w.side, w.code, entry, w.detail);
        }
    }
    if !r.caps_hit.is_empty() {
        let _ = writeln!(
            s,
            "\n{}",
            p.paint(
                Style::Warn,
                "caps reached (what lies beyond was not compared)"
            )
        );
        for c in &r.caps_hit {
            let side = c.side.map_or(String::new(), |s| format!("{s} "));
            let entry = c
                .entry
                .as_deref()
                .map_or(String::new(), |e| format!(" ({e})"));
            let _ = writeln!(s, "  {side}{} limit {}{}", c.cap, c.limit, entry);
        }
    }
    s
}

/// ` 0644 → 0755` and the like, for one entry under one reason.
fn entry_values(r: &DiffReport, code: Reason, path: &str) -> String {
    let Some(f) = r.entries.iter().find(|f| f.path == path) else {
        return String::new();
    };
    let (Some(a), Some(b)) = (&f.a, &f.b) else {
        return String::new();
    };
    match code {
        Reason::Mode | Reason::ExecBit => format!("  {} → {}", a.mode, b.mode),
        Reason::Uid => format!("  {} → {}", a.uid, b.uid),
        Reason::Gid => format!("  {} → {}", a.gid, b.gid),
        Reason::Uname => format!("  {:?} → {:?}", a.uname, b.uname),
        Reason::Gname => format!("  {:?} → {:?}", a.gname, b.gname),
        Reason::Mtime => format!("  {} → {}", iso_utc(a.mtime), iso_utc(b.mtime)),
        Reason::EntryType => format!("  {:?} → {:?}", a.kind, b.kind),
        Reason::HeaderEncoding if !f.encoding_fields.is_empty() => {
            format!("  (fields: {})", f.encoding_fields.join(", "))
        }
        _ => String::new(),
    }
}

/// Seconds since the epoch as `1985-10-26T08:15:00Z` (proleptic Gregorian, UTC).
fn iso_utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Node's zlib in a `node` subprocess: the engine npm, pnpm and yarn actually use.
#[derive(Debug, Default)]
pub(crate) struct NodeZlib {
    version: OnceCell<Option<String>>,
}

/// Reads the tar on stdin; for each level in argv writes a 4-byte big-endian length and the
/// raw deflate stream (Node's defaults otherwise: windowBits 15, memLevel 8, as npm uses).
const NODE_SCRIPT: &str = "const z=require('zlib');const d=require('fs').readFileSync(0);\
for(const l of process.argv.slice(1)){const o=z.deflateRawSync(d,{level:+l});\
const n=Buffer.alloc(4);n.writeUInt32BE(o.length);process.stdout.write(n);process.stdout.write(o);}";

impl NodeZlib {
    fn version(&self) -> Option<&str> {
        self.version
            .get_or_init(|| {
                let out = Command::new("node")
                    .arg("--version")
                    .stdin(Stdio::null())
                    .output()
                    .ok()?;
                out.status
                    .success()
                    .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
            })
            .as_deref()
    }
}

impl Compressor for NodeZlib {
    fn name(&self) -> String {
        match self.version() {
            Some(v) => format!("node-zlib {v}"),
            None => "node-zlib".to_owned(),
        }
    }

    fn deflate_raw(&mut self, data: &[u8], level: u32) -> Result<Vec<u8>, String> {
        let mut out = self.deflate_raw_levels(data, &[level])?;
        out.pop().ok_or_else(|| "node returned nothing".to_owned())
    }

    fn deflate_raw_levels(&mut self, data: &[u8], levels: &[u32]) -> Result<Vec<Vec<u8>>, String> {
        if self.version().is_none() {
            return Err("node is not installed (or not on PATH)".to_owned());
        }
        let mut child = Command::new("node")
            .arg("-e")
            .arg(NODE_SCRIPT)
            .args(levels.iter().map(u32::to_string))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start node: {e}"))?;
        let mut stdin = child.stdin.take().ok_or("no stdin")?;
        let output = std::thread::scope(|scope| {
            let writer = scope.spawn(move || stdin.write_all(data));
            let output = child.wait_with_output();
            let written = writer
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("writer panicked")));
            (output, written)
        });
        let output = output.0.map_err(|e| format!("node failed: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "node failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        let mut rest = &output.stdout[..];
        let mut outs = Vec::with_capacity(levels.len());
        for _ in levels {
            let (len, tail) = rest
                .split_first_chunk::<4>()
                .ok_or("short output from node")?;
            let len = u32::from_be_bytes(*len) as usize;
            let body = tail.get(..len).ok_or("short output from node")?;
            outs.push(body.to_vec());
            rest = &tail[len..];
        }
        Ok(outs)
    }
}

/// The Node zlib engine for the recompression check (used only when `node` is installed).
pub(crate) fn node_engine() -> NodeZlib {
    NodeZlib::default()
}

pub(crate) const AFTER_HELP: &str = "\
Verdict ladder (the deepest differing layer wins): identical, gzip-header, compression,
tar-encoding, metadata, formatting, content.

Exit status:
  0  identical
  1  the tarballs differ
  2  usage error, or a side that cannot be read or parsed (not gzip, not tar, truncated, ...)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_suffixes() {
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("512K"), Ok(512 << 10));
        assert_eq!(parse_size("256m"), Ok(256 << 20));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("99999999999G").is_err());
    }

    #[test]
    fn mtimes_print_as_utc_dates() {
        assert_eq!(iso_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso_utc(499_162_500), "1985-10-26T08:15:00Z");
        assert_eq!(iso_utc(456_789_000), "1984-06-22T21:50:00Z");
        assert_eq!(iso_utc(1_767_323_045), "2026-01-02T03:04:05Z");
        assert_eq!(iso_utc(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn sides_are_told_apart() {
        assert_eq!(Side::parse("-"), Side::Stdin);
        assert_eq!(Side::parse("https://h/x.tgz"), Side::Url("https://h/x.tgz"));
        assert_eq!(
            Side::parse("gitea-eu:@bytelyst/errors@1.0.0"),
            Side::Registry {
                name: "gitea-eu",
                spec: "@bytelyst/errors@1.0.0"
            }
        );
        assert_eq!(
            Side::parse("/nonexistent/file.tgz"),
            Side::File("/nonexistent/file.tgz")
        );
        assert_eq!(Side::parse("dist/x.tgz"), Side::File("dist/x.tgz"));
    }

    #[test]
    fn node_zlib_names_the_level_of_each_side() {
        let mut node = NodeZlib::default();
        assert!(
            node.version().is_some(),
            "the test suite needs node (cargo xtask test installs it)"
        );
        let npm = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../testdata/diff/npm.tgz"
        ))
        .unwrap();
        let compression = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../testdata/diff/crafted/compression.tgz"
        ))
        .unwrap();
        let report = byteproof_diff::diff_with(
            &npm,
            &compression,
            &DiffOptions::default(),
            &mut [&mut node],
        )
        .unwrap();
        let rc = report.recompression.expect("recompression ran");
        assert!(
            rc.a.iter()
                .any(|m| m.starts_with("node-zlib") && m.ends_with("level 9")),
            "{rc:?}"
        );
        assert!(
            rc.b.iter()
                .any(|m| m.starts_with("node-zlib") && m.ends_with("level 6")),
            "{rc:?}"
        );
    }
}
