//! `byteproof diff A B`: explains why two tarballs differ, layer by layer (gzip header,
//! compression, tar encoding, metadata, formatting, content), with fix hints.
//!
//! The engine is `byteproof-diff`; this module turns each side into a [`Source`] (a local file
//! is read twice; standard input and downloads are spooled to a temporary file), finds the
//! `node` binaries for the recompression check, and prints the report as text or JSON.

use std::fmt::Write as _;
use std::io::Read;
use std::path::PathBuf;

use anyhow::Context as _;
use byteproof_diff::{
    Caps, Compressor, DiffBody, DiffOptions, DiffReport, Layer, NodeZlib, Reason, Source,
};
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

    /// Most decompressed tar bytes read per side (suffixes K, M, G: binary units). Memory does
    /// not grow with it; it bounds time.
    #[arg(long, value_name = "SIZE", default_value = "16G", value_parser = parse_size)]
    max_decompressed: u64,

    /// Most tar entries read per side.
    #[arg(long, value_name = "N", default_value_t = Caps::default().max_entries)]
    max_entries: usize,

    /// Files larger than this get a size/hash summary instead of a text diff.
    #[arg(long, value_name = "SIZE", default_value = "1M", value_parser = parse_size)]
    max_file_diff: u64,

    /// Skip the recompression check (which runs each `node` found).
    #[arg(long)]
    no_recompress: bool,

    /// A `node` binary for the recompression check (repeatable); every `node*` on PATH is
    /// tried as well.
    #[arg(long = "node", value_name = "PATH")]
    nodes: Vec<PathBuf>,

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

/// A local file, opened again for each pass.
pub(crate) struct FileSource(pub(crate) PathBuf);

impl Source for FileSource {
    fn open(&self) -> std::io::Result<Box<dyn Read + Send + '_>> {
        Ok(Box::new(std::fs::File::open(&self.0)?))
    }
}

/// One side, ready to be read as often as the diff needs.
enum Loaded {
    /// A local file, reopened for each pass.
    File(FileSource),
    /// Standard input or a download, spooled to an anonymous temporary file while it was read.
    Spooled(std::fs::File),
}

impl Source for Loaded {
    fn open(&self) -> std::io::Result<Box<dyn Read + Send + '_>> {
        match self {
            Loaded::File(f) => f.open(),
            Loaded::Spooled(file) => file.open(),
        }
    }
}

/// Makes one side readable. Registry sides resolve the registry from the configuration and
/// fetch with its credentials; URL sides are fetched without any.
fn load_side(text: &str, args: &DiffArgs, printer: &Printer) -> anyhow::Result<Loaded> {
    // Downloads are spooled to a temporary file while they are hashed, so memory does not
    // depend on the tarball's size; the client refuses anything over --max-tarball-size.
    let keep = Keep::Spool;
    match Side::parse(text) {
        Side::Stdin => {
            let mut spool = tempfile::tempfile().context("cannot create a temporary file")?;
            std::io::copy(&mut std::io::stdin().lock(), &mut spool)
                .context("cannot read standard input")?;
            Ok(Loaded::Spooled(spool))
        }
        Side::File(path) => {
            std::fs::File::open(path).with_context(|| format!("cannot read {path}"))?;
            Ok(Loaded::File(FileSource(path.into())))
        }
        Side::Url(url) => {
            let client = args.registry.client_without_config()?;
            let parsed = url::Url::parse(url).with_context(|| format!("{url} is not a URL"))?;
            let anonymous = Registry::new("url", url).map_err(anyhow::Error::msg)?;
            let fetched = runtime()?
                .block_on(client.tarball(&anonymous, &parsed, keep))
                .with_context(|| format!("cannot fetch {}", SafeUrl::new(&parsed)))?;
            fetched
                .kept
                .into_file()
                .map(Loaded::Spooled)
                .context("the client did not spool the tarball")
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
                .into_file()
                .map(Loaded::Spooled)
                .context("the client did not spool the tarball")
        }
    }
}

/// The `node` binaries for the recompression check: `given`, then every `node*` on PATH.
pub(crate) fn node_engines(given: &[PathBuf]) -> Vec<NodeZlib> {
    NodeZlib::discover(given, std::env::var_os("PATH").as_deref())
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
    let mut nodes = if args.no_recompress {
        Vec::new()
    } else {
        node_engines(&args.nodes)
    };
    let mut engines: Vec<&mut dyn Compressor> =
        nodes.iter_mut().map(|n| n as &mut dyn Compressor).collect();
    let report = byteproof_diff::diff_sources(&a, &b, &options, &mut engines)
        .with_context(|| format!("cannot compare {} and {}", args.a, args.b))?;
    if args.json {
        // Streamed in line-sized pieces: a large report is never one string in memory.
        let mut out = ChunkWriter {
            printer,
            pending: Vec::new(),
        };
        serde_json::to_writer_pretty(&mut out, &report)?;
        out.pending.push(b'\n');
        out.flush_chunk(true);
    } else {
        printer.out(&render(&report, args, printer));
    }
    Ok(if report.is_identical() {
        ExitStatus::Success
    } else {
        ExitStatus::Differs
    })
}

/// Hands JSON to the printer in pieces of whole characters, about 64 KiB each.
struct ChunkWriter<'p> {
    printer: &'p Printer,
    pending: Vec<u8>,
}

impl ChunkWriter<'_> {
    fn flush_chunk(&mut self, all: bool) {
        let end = match std::str::from_utf8(&self.pending) {
            Ok(_) => self.pending.len(),
            Err(e) if all => e.valid_up_to().max(self.pending.len()),
            Err(e) => e.valid_up_to(),
        };
        if end > 0 {
            self.printer
                .out(&String::from_utf8_lossy(&self.pending[..end]));
            self.pending.drain(..end);
        }
    }
}

impl std::io::Write for ChunkWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        if self.pending.len() >= 64 * 1024 {
            self.flush_chunk(false);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
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
                let first = |v: &[String]| match v.first() {
                    Some(m) => m.clone(),
                    None => format!(
                        "no match among {} engines ({})",
                        rc.tried.len(),
                        rc.tried.join(", ")
                    ),
                };
                let _ = writeln!(
                    s,
                    "  recompression (first engine and level reproducing each side):"
                );
                let _ = writeln!(s, "    a: {}\n    b: {}", first(&rc.a), first(&rc.b));
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
        for c in r.caps_hit.iter().take(LIST) {
            let side = c.side.map_or(String::new(), |s| format!("{s} "));
            let entry = c
                .entry
                .as_deref()
                .map_or(String::new(), |e| format!(" ({e})"));
            let _ = writeln!(s, "  {side}{} limit {}{}", c.cap, c.limit, entry);
        }
        if r.caps_hit.len() > LIST {
            let _ = writeln!(s, "  … and {} more", r.caps_hit.len() - LIST);
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

/// Seconds since the epoch as `1985-10-26T08:15:00Z` (UTC), or the raw number when outside
/// the years jiff represents (-9999 to 9999).
fn iso_utc(secs: i64) -> String {
    match jiff::Timestamp::from_second(secs) {
        Ok(t) => t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        Err(_) => format!("{secs} s since the epoch"),
    }
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
        assert_eq!(iso_utc(-86_400 * 365 * 100), "1870-01-25T00:00:00Z");
        assert_eq!(iso_utc(i64::MAX), "9223372036854775807 s since the epoch");
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
}
