//! The comparison engine: reads both sides (concurrently, one thread each), walks the layers
//! from the gzip header down to file contents, and assembles the [`DiffReport`].
//!
//! Cost is linear in bytes and (up to a log factor for the entry-order check) in entries:
//! entries are matched through a hash map on their path, and every byte is decompressed and
//! hashed once in the first pass. Memory holds one small record per entry; the second pass
//! fetches only the changed files' data, within the file-diff caps.

use std::collections::{BTreeMap, HashMap};

use crate::DiffOptions;
use crate::contents::{self, Fetched, Pair, Plan, Sides};
use crate::error::DiffError;
use crate::filediff::{self, FileDiff, FileDiffLimits};
use crate::producer;
use crate::recompress::{self, Compressor};
use crate::report::{
    CapHit, DiffReport, EntryFinding, EntryMeta, ReasonFinding, SideReport, Warning,
};
use crate::scan::{self, SideScan};
use crate::source::Source;
use crate::tar::{self, EntryKind, HashKeys, TarEntry, TarStop};
use crate::terms::{Layer, Reason, Side};

/// Accumulates reasons with their entries.
#[derive(Default)]
struct Reasons {
    map: BTreeMap<Reason, (Vec<String>, Option<String>)>,
}

impl Reasons {
    fn add(&mut self, reason: Reason, entry: Option<&str>) {
        let slot = self.map.entry(reason).or_default();
        if let Some(e) = entry {
            slot.0.push(e.to_owned());
        }
    }

    fn detail(&mut self, reason: Reason, detail: String) {
        self.map.entry(reason).or_default().1 = Some(detail);
    }

    fn any_in(&self, layers: &[Layer]) -> bool {
        self.map.keys().any(|r| layers.contains(&r.layer()))
    }
}

pub(crate) fn run(
    a: &dyn Source,
    b: &dyn Source,
    options: &DiffOptions,
    engines: &mut [&mut dyn Compressor],
) -> Result<DiffReport, DiffError> {
    let keys = HashKeys::default();
    let caps_opt = &options.caps;
    let (ra, rb) = scan::both(
        || scan::index(Side::A, a, caps_opt, &keys),
        || scan::index(Side::B, b, caps_opt, &keys),
    );
    let (ra, rb) = (ra?, rb?);
    let mut warnings = Vec::new();
    let mut caps = Vec::new();
    for (side, r) in [(Side::A, &ra), (Side::B, &rb)] {
        side_warnings(side, r, &mut warnings);
        side_caps(side, r, options, &mut caps);
    }
    let mut reasons = Reasons::default();
    let mut entry_findings: Vec<EntryFinding> = Vec::new();
    let mut file_diffs: Vec<FileDiff> = Vec::new();
    if ra.digests != rb.digests {
        compare_gzip(&ra, &rb, &mut reasons);
        if ra.tar_sha256 == rb.tar_sha256 && ra.gzip.decompressed == rb.gzip.decompressed {
            let bodies = |r: &SideScan| {
                r.gzip
                    .members
                    .iter()
                    .map(|m| m.body_sha256)
                    .collect::<Vec<_>>()
            };
            if bodies(&ra) != bodies(&rb) {
                reasons.add(Reason::DeflateStream, None);
                let size =
                    |r: &SideScan| r.gzip.members.iter().map(|m| m.compressed_len).sum::<u64>();
                reasons.detail(
                    Reason::DeflateStream,
                    format!(
                        "deflate data {} vs {} bytes, same tar",
                        size(&ra),
                        size(&rb)
                    ),
                );
            }
        } else {
            let sides = Sides {
                sources: [a, b],
                entries: [&ra.tar.entries, &rb.tar.entries],
                caps: &options.caps,
                keys: &keys,
            };
            compare_entries(
                &sides,
                &ra,
                &rb,
                options,
                &mut reasons,
                &mut entry_findings,
                &mut file_diffs,
                &mut caps,
            )?;
            if !reasons.any_in(&[
                Layer::TarEncoding,
                Layer::Metadata,
                Layer::Formatting,
                Layer::Content,
            ]) {
                // The tar bytes differ but no entry does: the end-of-archive padding or block
                // padding between entries is written differently (or, past a cap, anything).
                reasons.add(Reason::HeaderEncoding, Some("(archive padding)"));
                reasons.detail(
                    Reason::HeaderEncoding,
                    format!(
                        "tar bytes differ outside entries (end of archive: {} vs {} bytes)",
                        ra.tar.end_len, rb.tar.end_len
                    ),
                );
            }
        }
        if reasons.map.is_empty() {
            // Same header, data and tar: only the trailers (CRC-32/ISIZE) can differ.
            reasons.add(Reason::GzipMembers, None);
            reasons.detail(
                Reason::GzipMembers,
                "gzip member framing (trailer CRC-32/ISIZE) differs".into(),
            );
        }
    }
    let findings: Vec<ReasonFinding> = reasons
        .map
        .into_iter()
        .map(|(code, (entries, detail))| ReasonFinding {
            code,
            layer: code.layer(),
            entries,
            detail,
        })
        .collect();
    let mut layers: Vec<Layer> = findings.iter().map(|f| f.layer).collect();
    layers.dedup();
    let verdict = layers.iter().copied().max().unwrap_or(Layer::Identical);
    let fa = producer::fingerprint(&ra);
    let fb = producer::fingerprint(&rb);
    let hints = crate::hints::hints(&findings, [fa.producer, fb.producer]);
    let recompression = if options.recompress
        && verdict == Layer::Compression
        && findings.iter().any(|f| f.code == Reason::DeflateStream)
        && ra.gzip.members.len() == 1
        && rb.gzip.members.len() == 1
        && ra.gzip.capped.is_none()
    {
        if ra.gzip.decompressed > options.caps.max_recompress_bytes {
            caps.push(CapHit {
                side: None,
                cap: "recompress-size",
                limit: options.caps.max_recompress_bytes,
                entry: None,
            });
            None
        } else {
            Some(recompress::find_engines(
                [a, b],
                [&ra.gzip.members[0], &rb.gzip.members[0]],
                engines,
            ))
        }
    } else {
        None
    };
    let truncated = caps.iter().any(|c| {
        matches!(
            c.cap,
            "decompressed-size"
                | "compression-ratio"
                | "gzip-members"
                | "entries"
                | "extension-size"
                | "index-size"
        )
    });
    Ok(DiffReport {
        verdict,
        layers,
        reasons: findings,
        a: side_report(&ra, fa),
        b: side_report(&rb, fb),
        entries: entry_findings,
        file_diffs,
        recompression,
        hints,
        caps_hit: caps,
        truncated,
        warnings,
    })
}

fn side_report(r: &SideScan, producer: crate::producer::Fingerprint) -> SideReport {
    let d = &r.digests;
    SideReport {
        size: d.size,
        sha1: d.sha1_hex(),
        sha256: d.sha256_hex(),
        integrity: d.integrity(),
        tar_sha256: byteproof_hash::hex(&r.tar_sha256),
        tar_size: r.gzip.decompressed,
        entries: r.tar.entries.len(),
        gzip: r.gzip.members[0].header.clone(),
        gzip_members: r.gzip.members.clone(),
        trailing_bytes: r.gzip.trailing_len,
        producer,
    }
}

fn side_warnings(side: Side, r: &SideScan, out: &mut Vec<Warning>) {
    let mut warn = |code, entry: Option<&str>, detail: String| {
        out.push(Warning {
            side,
            code,
            entry: entry.map(str::to_owned),
            detail,
        });
    };
    for m in &r.gzip.members {
        if m.crc_ok == Some(false) {
            warn(
                "gzip-crc-mismatch",
                None,
                format!(
                    "member at {}: trailer CRC-32 does not match the data",
                    m.offset
                ),
            );
        }
        if m.isize_ok == Some(false) {
            warn(
                "gzip-isize-mismatch",
                None,
                format!(
                    "member at {}: ISIZE {:?} but {} bytes decompressed",
                    m.offset, m.isize, m.decompressed_len
                ),
            );
        }
        if m.header.header_crc_ok == Some(false) {
            warn(
                "gzip-header-crc-mismatch",
                None,
                format!("member at {}: FHCRC does not match", m.offset),
            );
        }
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for e in &r.tar.entries {
        if tar::is_unsafe_path(&e.path) {
            warn(
                "unsafe-path",
                Some(&e.path),
                "absolute path or `..` component: would escape an extraction folder".into(),
            );
        }
        if e.path_not_utf8 {
            warn(
                "non-utf8-path",
                Some(&e.path),
                "path is not valid UTF-8 (shown with U+FFFD)".into(),
            );
        }
        let count = seen.entry(key(&e.path)).or_default();
        *count += 1;
        if *count == 2 {
            warn(
                "duplicate-entry",
                Some(&e.path),
                "path appears more than once; the last one is compared".into(),
            );
        }
    }
    if r.tar.end_nonzero {
        warn(
            "tar-end-garbage",
            None,
            "non-zero bytes after the end-of-archive marker".into(),
        );
    }
    if r.tar.end_marker.is_none() && r.tar.stopped.is_none() {
        warn(
            "no-end-marker",
            None,
            "the tar ends without its two zero blocks".into(),
        );
    }
}

fn side_caps(side: Side, r: &SideScan, options: &DiffOptions, out: &mut Vec<CapHit>) {
    let caps = &options.caps;
    let mut hit = |cap, limit, entry| {
        out.push(CapHit {
            side: Some(side),
            cap,
            limit,
            entry,
        });
    };
    match r.gzip.capped {
        Some(crate::gzip::GzipCap::DecompressedSize) => {
            hit("decompressed-size", caps.max_decompressed_bytes, None);
        }
        Some(crate::gzip::GzipCap::Ratio) => {
            hit("compression-ratio", caps.max_compression_ratio, None);
        }
        Some(crate::gzip::GzipCap::Members) => {
            hit("gzip-members", caps.max_gzip_members as u64, None);
        }
        None => {}
    }
    match &r.tar.stopped {
        Some(TarStop::Entries { limit }) => hit("entries", *limit as u64, None),
        Some(TarStop::ExtensionSize { offset, limit, .. }) => hit(
            "extension-size",
            *limit,
            Some(format!("(extension header at tar offset {offset})")),
        ),
        Some(TarStop::IndexSize { limit }) => hit("index-size", *limit, None),
        Some(TarStop::DecompressedCap) | None => {}
    }
}

fn compare_gzip(ra: &SideScan, rb: &SideScan, reasons: &mut Reasons) {
    let (ha, hb) = (&ra.gzip.members[0].header, &rb.gzip.members[0].header);
    let mut field = |reason, differs: bool, detail: String| {
        if differs {
            reasons.add(reason, None);
            reasons.detail(reason, detail);
        }
    };
    field(
        Reason::GzipMtime,
        ha.mtime != hb.mtime,
        format!("MTIME {} vs {}", ha.mtime, hb.mtime),
    );
    field(
        Reason::GzipOs,
        ha.os != hb.os,
        format!(
            "OS {} ({}) vs {} ({})",
            ha.os,
            ha.os_name(),
            hb.os,
            hb.os_name()
        ),
    );
    field(
        Reason::GzipXfl,
        ha.xfl != hb.xfl,
        format!("XFL {} vs {}", ha.xfl, hb.xfl),
    );
    field(
        Reason::GzipName,
        ha.raw_name != hb.raw_name,
        format!("FNAME {:?} vs {:?}", ha.name, hb.name),
    );
    let other_flags = |flg: u8| flg & !(0x08 | 0x10); // FNAME and FCOMMENT have their own codes
    field(
        Reason::GzipExtra,
        ha.raw_extra != hb.raw_extra
            || other_flags(ha.flg) != other_flags(hb.flg)
            || ha.header_crc != hb.header_crc,
        format!(
            "FLG {:#04x} vs {:#04x}, FEXTRA {:?} vs {:?}",
            ha.flg, hb.flg, ha.extra, hb.extra
        ),
    );
    field(
        Reason::GzipComment,
        ha.raw_comment != hb.raw_comment,
        format!("FCOMMENT {:?} vs {:?}", ha.comment, hb.comment),
    );
    let (ma, mb) = (&ra.gzip.members, &rb.gzip.members);
    let layout =
        |m: &[crate::gzip::GzipMember]| m.iter().map(|m| m.decompressed_len).collect::<Vec<_>>();
    let later_headers_differ = ma.iter().zip(mb).skip(1).any(|(x, y)| x.header != y.header);
    if ma.len() != mb.len() || (ma.len() > 1 && (layout(ma) != layout(mb) || later_headers_differ))
    {
        reasons.add(Reason::GzipMembers, None);
        reasons.detail(
            Reason::GzipMembers,
            format!("{} vs {} gzip members", ma.len(), mb.len()),
        );
    }
    let (ta, tb) = (&ra.gzip, &rb.gzip);
    if (ta.trailing_len, ta.trailing_sha256) != (tb.trailing_len, tb.trailing_sha256) {
        reasons.add(Reason::TrailingData, None);
        reasons.detail(
            Reason::TrailingData,
            format!(
                "{} vs {} bytes after the last gzip member",
                ta.trailing_len, tb.trailing_len
            ),
        );
    }
}

/// The matching key of a path: no leading `./`, no trailing `/`.
fn key(path: &str) -> &str {
    let p = path.strip_prefix("./").unwrap_or(path);
    p.strip_suffix('/').unwrap_or(p)
}

fn meta(e: &TarEntry, index: usize) -> EntryMeta {
    EntryMeta {
        kind: e.kind,
        mode: format!("{:04o}", e.mode),
        uid: e.uid,
        gid: e.gid,
        uname: e.uname().to_owned(),
        gname: e.gname().to_owned(),
        mtime: e.mtime,
        size: e.size,
        index,
    }
}

fn metadata_reasons(a: &TarEntry, b: &TarEntry) -> Vec<Reason> {
    let mut out = Vec::new();
    if a.kind != b.kind {
        out.push(Reason::EntryType);
    }
    let exec = |m: u32| m & 0o111 != 0;
    if exec(a.mode) != exec(b.mode) {
        out.push(Reason::ExecBit);
    }
    let rest_differs = (a.mode & !0o111) != (b.mode & !0o111);
    let exec_pattern_differs = exec(a.mode) && exec(b.mode) && (a.mode & 0o111) != (b.mode & 0o111);
    if rest_differs || exec_pattern_differs {
        out.push(Reason::Mode);
    }
    if a.uid != b.uid {
        out.push(Reason::Uid);
    }
    if a.gid != b.gid {
        out.push(Reason::Gid);
    }
    let (xa, xb) = (a.rare(), b.rare());
    if xa.uname != xb.uname {
        out.push(Reason::Uname);
    }
    if xa.gname != xb.gname {
        out.push(Reason::Gname);
    }
    if (a.mtime, &xa.mtime_frac) != (b.mtime, &xb.mtime_frac) {
        out.push(Reason::Mtime);
    }
    if xa.pax_extra != xb.pax_extra {
        out.push(Reason::Pax);
    }
    out
}

/// Which raw header fields (and extension records, and block padding) differ between two
/// entries, from their keyed hashes.
fn encoding_fields(a: &TarEntry, b: &TarEntry) -> Vec<String> {
    let mut fields: Vec<String> = tar::FIELDS
        .iter()
        .zip(a.field_hashes.iter().zip(&b.field_hashes))
        .filter(|(_, (x, y))| x != y)
        .map(|((name, _), _)| (*name).to_owned())
        .collect();
    if a.ext_hash != b.ext_hash {
        fields.push("extension-records".to_owned());
    }
    if a.pad_hash != b.pad_hash {
        fields.push("data-padding".to_owned());
    }
    fields
}

/// One entry's finding, waiting for the second pass to classify its file change: indexes
/// only, so it stays small for every entry of a large archive.
struct Pending {
    reasons: Vec<Reason>,
    a: Option<usize>,
    b: Option<usize>,
    encoding: Vec<String>,
    /// Index into the pairs fetched by the second pass, for a changed regular file.
    pair: Option<usize>,
}

/// The order changed pairs are planned in: `.json` files first (their semantic diff needs
/// their bytes), then archive order.
fn plan_pairs(
    changed: &[(usize, usize)],
    ea: &[TarEntry],
    eb: &[TarEntry],
    options: &DiffOptions,
) -> Vec<(Pair, bool)> {
    let caps = &options.caps;
    let mut order: Vec<usize> = (0..changed.len()).collect();
    order.sort_by_key(|&n| {
        !ea[changed[n].0]
            .path
            .to_ascii_lowercase()
            .ends_with(".json")
    });
    let mut left = caps.max_diff_total_bytes;
    let mut plans = vec![
        (
            Pair {
                a: 0,
                b: 0,
                plan: Plan::Capture
            },
            false
        );
        changed.len()
    ];
    for n in order {
        let (i, j) = changed[n];
        let (sa, sb) = (ea[i].size, eb[j].size);
        let over_cap = sa > caps.max_file_diff_bytes || sb > caps.max_file_diff_bytes;
        let cost = if over_cap {
            2 * contents::BLOCK
        } else {
            sa + sb
        };
        let within = cost <= left;
        if within {
            left -= cost;
        }
        let plan = match (over_cap, within) {
            (false, true) => Plan::Capture,
            (true, true) => Plan::Stream { locate: true },
            (_, false) => Plan::Stream { locate: false },
        };
        plans[n] = (Pair { a: i, b: j, plan }, !within);
    }
    plans
}

#[allow(clippy::too_many_arguments)]
fn compare_entries<'a>(
    sides: &Sides<'_>,
    ra: &'a SideScan,
    rb: &'a SideScan,
    options: &DiffOptions,
    reasons: &mut Reasons,
    findings: &mut Vec<EntryFinding>,
    diffs: &mut Vec<FileDiff>,
    caps: &mut Vec<CapHit>,
) -> Result<(), DiffError> {
    let limits = FileDiffLimits {
        max_file_bytes: options.caps.max_file_diff_bytes,
        max_output_bytes: options.caps.max_diff_output_bytes,
        max_json_changes: options.caps.max_json_changes,
    };
    let (ea, eb) = (&ra.tar.entries, &rb.tar.entries);
    let index = |entries: &'a [TarEntry]| -> HashMap<&'a str, usize> {
        entries
            .iter()
            .enumerate()
            .map(|(i, e)| (key(&e.path), i))
            .collect()
    };
    let (ia, ib) = (index(ea), index(eb));
    let mut pending: Vec<Pending> = Vec::new();
    let mut changed: Vec<(usize, usize)> = Vec::new();
    let mut common_b_positions: Vec<(usize, usize)> = Vec::new(); // (a index, b index)
    let one_sided = |e: &TarEntry, i: usize, on_a: bool| Pending {
        reasons: vec![match (e.kind, on_a) {
            (EntryKind::Directory, _) => Reason::DirEntries,
            (_, true) => Reason::Removed,
            (_, false) => Reason::Added,
        }],
        a: on_a.then_some(i),
        b: (!on_a).then_some(i),
        encoding: Vec::new(),
        pair: None,
    };
    for (i, a) in ea.iter().enumerate() {
        let k = key(&a.path);
        if ia.get(k) != Some(&i) {
            continue; // an earlier duplicate
        }
        let Some(&j) = ib.get(k) else {
            pending.push(one_sided(a, i, true));
            continue;
        };
        common_b_positions.push((i, j));
        let b = &eb[j];
        let mut entry_reasons = metadata_reasons(a, b);
        let mut pair = None;
        let mut content_differs = false;
        match (a.kind, b.kind) {
            (EntryKind::File, EntryKind::File) => {
                if a.sha256 != b.sha256 {
                    pair = Some(changed.len());
                    changed.push((i, j));
                }
            }
            (ka, kb) if ka == kb => {
                if a.link() != b.link() || a.rare().dev != b.rare().dev || a.sha256 != b.sha256 {
                    entry_reasons.push(Reason::Modified);
                }
            }
            _ => {
                content_differs = a.size != b.size || a.sha256 != b.sha256 || a.link() != b.link();
            }
        }
        let mut encoding = Vec::new();
        if entry_reasons.is_empty() && pair.is_none() && !content_differs {
            encoding = encoding_fields(a, b);
            if !encoding.is_empty() {
                entry_reasons.push(Reason::HeaderEncoding);
            }
        }
        if !entry_reasons.is_empty() || pair.is_some() {
            pending.push(Pending {
                reasons: entry_reasons,
                a: Some(i),
                b: Some(j),
                encoding,
                pair,
            });
        }
    }
    for (j, b) in eb.iter().enumerate() {
        let k = key(&b.path);
        if ib.get(k) != Some(&j) || ia.contains_key(k) {
            continue;
        }
        pending.push(one_sided(b, j, false));
    }
    let plans = plan_pairs(&changed, ea, eb, options);
    let pairs: Vec<Pair> = plans.iter().map(|(p, _)| *p).collect();
    let mut fetched = contents::fetch(sides, &pairs)?;
    let max_listed = options.caps.max_listed_entries;
    let mut unlisted = 0usize;
    for p in pending {
        let mut entry_reasons = p.reasons;
        let entry = match (p.a, p.b) {
            (Some(i), _) => &ea[i],
            (None, Some(j)) => &eb[j],
            (None, None) => continue,
        };
        let path: &str = &entry.path;
        let mut diff = None;
        if let Some(n) = p.pair {
            let (pair, beyond_budget) = plans[n];
            let (a, b) = (&ea[pair.a], &eb[pair.b]);
            let (file_diff, hits) = match fetched[n].take() {
                Some(Fetched::Captured { a: da, b: db }) => {
                    let file_reasons = filediff::classify(path, &da, &db);
                    entry_reasons.extend(&file_reasons);
                    filediff::diff_file(path, file_reasons, &da, &db, limits)
                }
                Some(Fetched::Streamed {
                    a: pa,
                    b: pb,
                    first_difference,
                }) => {
                    let file_reasons = filediff::classify_profiles(&pa, &pb, || false);
                    entry_reasons.extend(&file_reasons);
                    let over = a.size > limits.max_file_bytes || b.size > limits.max_file_bytes;
                    let mut hits = Vec::new();
                    if over {
                        hits.push("file-diff-size");
                    }
                    if beyond_budget {
                        hits.push("diff-total");
                    }
                    let mut summary = FileDiff::summary(path, a, b);
                    summary.reasons = file_reasons;
                    summary.first_difference = first_difference;
                    (summary, hits)
                }
                None => {
                    // Not fetched (cannot happen: every pair is checked by `fetch`): say so
                    // as a content change rather than hide it.
                    entry_reasons.push(Reason::Modified);
                    (FileDiff::summary(path, a, b), Vec::new())
                }
            };
            for cap in hits {
                let limit = match cap {
                    "file-diff-size" => limits.max_file_bytes,
                    "diff-output" => limits.max_output_bytes as u64,
                    "diff-total" => options.caps.max_diff_total_bytes,
                    _ => limits.max_json_changes as u64,
                };
                caps.push(CapHit {
                    side: None,
                    cap,
                    limit,
                    entry: Some(path.to_owned()),
                });
            }
            diff = Some(file_diff);
        } else if entry.kind == EntryKind::File && (p.a.is_none() || p.b.is_none()) {
            let on_a = p.a.is_some();
            diff = Some(filediff::one_sided(
                path,
                entry_reasons[0],
                entry.size,
                &entry.sha256,
                on_a,
            ));
        }
        if let Some(diff) = diff {
            if diffs.len() < max_listed {
                diffs.push(diff);
            } else {
                unlisted += 1;
            }
        }
        if entry_reasons.is_empty() {
            continue;
        }
        for &r in &entry_reasons {
            reasons.add(r, Some(path));
        }
        if findings.len() >= max_listed {
            unlisted += 1;
            continue;
        }
        findings.push(EntryFinding {
            path: path.to_owned(),
            reasons: entry_reasons,
            a: p.a.map(|i| meta(&ea[i], i)),
            b: p.b.map(|j| meta(&eb[j], j)),
            encoding_fields: p.encoding,
        });
    }
    if unlisted > 0 {
        caps.push(CapHit {
            side: None,
            cap: "listed-entries",
            limit: max_listed as u64,
            entry: None,
        });
    }
    // Entry order, judged on common entries only: those outside a longest increasing run of B
    // positions have moved.
    let b_positions: Vec<usize> = common_b_positions.iter().map(|&(_, j)| j).collect();
    let keep = longest_increasing(&b_positions);
    if keep.len() < b_positions.len() {
        let mut moved = vec![true; b_positions.len()];
        for &k in &keep {
            moved[k] = false;
        }
        for (n, &(i, _)) in common_b_positions.iter().enumerate() {
            if moved[n] {
                reasons.add(Reason::EntryOrder, Some(&ea[i].path));
            }
        }
    }
    if ra.tar.global_pax != rb.tar.global_pax {
        reasons.add(Reason::Pax, Some("(global PAX header)"));
    } else if ra.tar.global_raw_hash != rb.tar.global_raw_hash {
        reasons.add(Reason::HeaderEncoding, Some("(global PAX header)"));
    }
    if reasons.map.keys().all(|r| r.layer() < Layer::TarEncoding)
        && (ra.tar.end_len != rb.tar.end_len)
    {
        reasons.add(Reason::HeaderEncoding, Some("(end of archive)"));
        reasons.detail(
            Reason::HeaderEncoding,
            format!(
                "end-of-archive padding {} vs {} bytes",
                ra.tar.end_len, rb.tar.end_len
            ),
        );
    }
    Ok(())
}

/// Indices (into `seq`) of one longest strictly increasing subsequence. O(n log n).
fn longest_increasing(seq: &[usize]) -> Vec<usize> {
    let mut tails: Vec<usize> = Vec::new(); // index into seq of the smallest tail for each length
    let mut prev: Vec<Option<usize>> = vec![None; seq.len()];
    for (i, &x) in seq.iter().enumerate() {
        let pos = tails.partition_point(|&t| seq[t] < x);
        prev[i] = pos.checked_sub(1).map(|p| tails[p]);
        if pos == tails.len() {
            tails.push(i);
        } else {
            tails[pos] = i;
        }
    }
    let mut out = Vec::with_capacity(tails.len());
    let mut cur = tails.last().copied();
    while let Some(i) = cur {
        out.push(i);
        cur = prev[i];
    }
    out.reverse();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_increasing_run() {
        assert_eq!(longest_increasing(&[]), Vec::<usize>::new());
        assert_eq!(longest_increasing(&[0, 1, 2]), vec![0, 1, 2]);
        // B positions 4,1,2,3,0: the run 1,2,3 stays, 4 and 0 moved.
        assert_eq!(longest_increasing(&[4, 1, 2, 3, 0]), vec![1, 2, 3]);
    }

    #[test]
    fn keys_ignore_dot_slash_and_trailing_slash() {
        assert_eq!(key("./package/lib/"), "package/lib");
        assert_eq!(key("package/a.js"), "package/a.js");
    }
}
