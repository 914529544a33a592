//! The comparison engine: reads both sides, walks the layers from the gzip header down to file
//! contents, and assembles the [`DiffReport`].
//!
//! Cost is linear in bytes and (up to a log factor for the entry-order check) in entries:
//! entries are matched through a hash map on their path, and files are compared once.

use std::collections::{BTreeMap, HashMap};

use crate::DiffOptions;
use crate::error::DiffError;
use crate::filediff::{self, FileDiff, FileDiffLimits};
use crate::gzip::{self, Gunzipped};
use crate::producer;
use crate::recompress::{self, Compressor, Flate2Compressor};
use crate::report::{
    CapHit, DiffReport, EntryFinding, EntryMeta, Layer, Reason, ReasonFinding, Side, SideReport,
    Warning,
};
use crate::tar::{self, EntryKind, TarArchive, TarEntry, TarLimits, TarStop};

/// One side, read.
struct Read<'a> {
    tgz: &'a [u8],
    gz: Gunzipped,
    archive: TarArchive,
}

impl Read<'_> {
    fn data(&self, e: &TarEntry) -> &[u8] {
        &self.gz.tar[e.data.clone()]
    }
}

fn read<'a>(side: Side, tgz: &'a [u8], options: &DiffOptions) -> Result<Read<'a>, DiffError> {
    let gz = gzip::gunzip(tgz, options.caps.max_decompressed_bytes)
        .map_err(|source| DiffError::Gzip { side, source })?;
    let limits = TarLimits {
        max_entries: options.caps.max_entries,
        max_extension_bytes: options.caps.max_extension_bytes,
        input_capped: gz.capped,
    };
    let archive = tar::parse(&gz.tar, limits).map_err(|source| DiffError::Tar { side, source })?;
    Ok(Read { tgz, gz, archive })
}

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
    a: &[u8],
    b: &[u8],
    options: &DiffOptions,
    engines: &mut [&mut dyn Compressor],
) -> Result<DiffReport, DiffError> {
    let ra = read(Side::A, a, options)?;
    let rb = read(Side::B, b, options)?;
    let mut warnings = Vec::new();
    let mut caps = Vec::new();
    for (side, r) in [(Side::A, &ra), (Side::B, &rb)] {
        side_warnings(side, r, &mut warnings);
        side_caps(side, r, options, &mut caps);
    }
    let mut reasons = Reasons::default();
    let mut entry_findings: Vec<EntryFinding> = Vec::new();
    let mut file_diffs: Vec<FileDiff> = Vec::new();
    if a != b {
        compare_gzip(&ra, &rb, &mut reasons);
        if ra.gz.tar == rb.gz.tar {
            let bodies_a = ra.gz.members.iter().map(|m| &a[m.body.clone()]);
            let bodies_b = rb.gz.members.iter().map(|m| &b[m.body.clone()]);
            if !bodies_a.eq(bodies_b) {
                reasons.add(Reason::DeflateStream, None);
                let size =
                    |r: &Read<'_>| r.gz.members.iter().map(|m| m.compressed_len).sum::<usize>();
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
            compare_entries(
                &ra,
                &rb,
                options,
                &mut reasons,
                &mut entry_findings,
                &mut file_diffs,
                &mut caps,
            );
            if !reasons.any_in(&[
                Layer::TarEncoding,
                Layer::Metadata,
                Layer::Formatting,
                Layer::Content,
            ]) {
                // The tar bytes differ but no entry does: the end-of-archive padding or block
                // padding between entries is written differently.
                reasons.add(Reason::HeaderEncoding, Some("(archive padding)"));
                reasons.detail(
                    Reason::HeaderEncoding,
                    format!(
                        "tar bytes differ outside entries (end of archive: {} vs {} bytes)",
                        ra.archive.end_len, rb.archive.end_len
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
    let fa = producer::fingerprint(&ra.gz, &ra.archive);
    let fb = producer::fingerprint(&rb.gz, &rb.archive);
    let hints = crate::hints::hints(&findings, [fa.producer, fb.producer]);
    let recompression = if options.recompress
        && verdict == Layer::Compression
        && findings.iter().any(|f| f.code == Reason::DeflateStream)
        && ra.gz.members.len() == 1
        && rb.gz.members.len() == 1
    {
        if ra.gz.tar.len() as u64 > options.caps.max_recompress_bytes {
            caps.push(CapHit {
                side: None,
                cap: "recompress-size",
                limit: options.caps.max_recompress_bytes,
                entry: None,
            });
            None
        } else {
            let mut flate = Flate2Compressor;
            let mut all: Vec<&mut dyn Compressor> = vec![&mut flate];
            for e in engines.iter_mut() {
                all.push(&mut **e);
            }
            Some(recompress::find_levels(
                &ra.gz.tar,
                &a[ra.gz.members[0].body.clone()],
                &b[rb.gz.members[0].body.clone()],
                &mut all,
            ))
        }
    } else {
        None
    };
    let truncated = !caps.is_empty()
        && caps
            .iter()
            .any(|c| matches!(c.cap, "decompressed-size" | "entries" | "extension-size"));
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

fn side_report(r: &Read<'_>, producer: crate::producer::Fingerprint) -> SideReport {
    let d = byteproof_hash::hash_bytes(r.tgz);
    SideReport {
        size: d.size,
        sha1: d.sha1_hex(),
        sha256: d.sha256_hex(),
        integrity: d.integrity(),
        tar_sha256: byteproof_hash::hash_bytes(&r.gz.tar).sha256_hex(),
        tar_size: r.gz.tar.len() as u64,
        entries: r.archive.entries.len(),
        gzip: r.gz.members[0].header.clone(),
        gzip_members: r.gz.members.clone(),
        trailing_bytes: r.gz.trailing.len(),
        producer,
    }
}

fn side_warnings(side: Side, r: &Read<'_>, out: &mut Vec<Warning>) {
    let mut warn = |code, entry: Option<&str>, detail: String| {
        out.push(Warning {
            side,
            code,
            entry: entry.map(str::to_owned),
            detail,
        });
    };
    for m in &r.gz.members {
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
    let mut seen: HashMap<String, usize> = HashMap::new();
    for e in &r.archive.entries {
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
        let count = seen.entry(key(&e.path).to_owned()).or_default();
        *count += 1;
        if *count == 2 {
            warn(
                "duplicate-entry",
                Some(&e.path),
                "path appears more than once; the last one is compared".into(),
            );
        }
    }
    if r.archive.end_nonzero {
        warn(
            "tar-end-garbage",
            None,
            "non-zero bytes after the end-of-archive marker".into(),
        );
    }
    if r.archive.end_marker.is_none() && r.archive.stopped.is_none() {
        warn(
            "no-end-marker",
            None,
            "the tar ends without its two zero blocks".into(),
        );
    }
}

fn side_caps(side: Side, r: &Read<'_>, options: &DiffOptions, out: &mut Vec<CapHit>) {
    if r.gz.capped {
        out.push(CapHit {
            side: Some(side),
            cap: "decompressed-size",
            limit: options.caps.max_decompressed_bytes,
            entry: None,
        });
    }
    match &r.archive.stopped {
        Some(TarStop::Entries { limit }) => {
            out.push(CapHit {
                side: Some(side),
                cap: "entries",
                limit: *limit as u64,
                entry: None,
            });
        }
        Some(TarStop::ExtensionSize { offset, limit, .. }) => out.push(CapHit {
            side: Some(side),
            cap: "extension-size",
            limit: *limit,
            entry: Some(format!("(extension header at tar offset {offset})")),
        }),
        Some(TarStop::DecompressedCap) | None => {}
    }
}

fn compare_gzip(ra: &Read<'_>, rb: &Read<'_>, reasons: &mut Reasons) {
    let (ha, hb) = (&ra.gz.members[0].header, &rb.gz.members[0].header);
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
    let (ma, mb) = (&ra.gz.members, &rb.gz.members);
    let layout = |m: &[gzip::GzipMember]| m.iter().map(|m| m.decompressed_len).collect::<Vec<_>>();
    let later_headers_differ = ma.iter().zip(mb).skip(1).any(|(x, y)| x.header != y.header);
    if ma.len() != mb.len() || (ma.len() > 1 && (layout(ma) != layout(mb) || later_headers_differ))
    {
        reasons.add(Reason::GzipMembers, None);
        reasons.detail(
            Reason::GzipMembers,
            format!("{} vs {} gzip members", ma.len(), mb.len()),
        );
    }
    let (ta, tb) = (
        &ra.tgz[ra.gz.trailing.clone()],
        &rb.tgz[rb.gz.trailing.clone()],
    );
    if ta != tb {
        reasons.add(Reason::TrailingData, None);
        reasons.detail(
            Reason::TrailingData,
            format!(
                "{} vs {} bytes after the last gzip member",
                ta.len(),
                tb.len()
            ),
        );
    }
}

/// The matching key of a path: no leading `./`, no trailing `/`.
fn key(path: &str) -> &str {
    let p = path.strip_prefix("./").unwrap_or(path);
    p.strip_suffix('/').unwrap_or(p)
}

/// Which side an entry is on when the other side lacks it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum OnlyOn {
    A,
    B,
}

/// Records an entry present on one side only: `dir-entries` for a directory, else `removed`
/// (only on A) or `added` (only on B), with a summary diff for a regular file.
fn one_sided(
    entry: &TarEntry,
    index: usize,
    data: &[u8],
    side: OnlyOn,
    reasons: &mut Reasons,
    diffs: &mut Vec<FileDiff>,
) -> EntryFinding {
    let reason = match (entry.kind, side) {
        (EntryKind::Directory, _) => Reason::DirEntries,
        (_, OnlyOn::A) => Reason::Removed,
        (_, OnlyOn::B) => Reason::Added,
    };
    reasons.add(reason, Some(&entry.path));
    if entry.kind == EntryKind::File {
        diffs.push(filediff::one_sided(
            &entry.path,
            reason,
            data,
            side == OnlyOn::A,
        ));
    }
    let meta = Some(meta(entry, index));
    EntryFinding {
        path: entry.path.clone(),
        reasons: vec![reason],
        a: if side == OnlyOn::A {
            meta.clone()
        } else {
            None
        },
        b: if side == OnlyOn::B { meta } else { None },
        encoding_fields: Vec::new(),
    }
}

fn meta(e: &TarEntry, index: usize) -> EntryMeta {
    EntryMeta {
        kind: e.kind,
        mode: format!("{:04o}", e.mode),
        uid: e.uid,
        gid: e.gid,
        uname: e.uname.clone(),
        gname: e.gname.clone(),
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
    if a.uname != b.uname {
        out.push(Reason::Uname);
    }
    if a.gname != b.gname {
        out.push(Reason::Gname);
    }
    if (a.mtime, &a.mtime_frac) != (b.mtime, &b.mtime_frac) {
        out.push(Reason::Mtime);
    }
    if a.pax_extra != b.pax_extra {
        out.push(Reason::Pax);
    }
    out
}

/// Which raw header fields (and extension records) differ between two entries.
fn encoding_fields(ra: &Read<'_>, a: &TarEntry, rb: &Read<'_>, b: &TarEntry) -> Vec<String> {
    let mut fields: Vec<String> = tar::FIELDS
        .iter()
        .filter(|(_, range)| a.raw_header[range.clone()] != b.raw_header[range.clone()])
        .map(|(name, _)| (*name).to_owned())
        .collect();
    if ra.gz.tar[a.ext.clone()] != rb.gz.tar[b.ext.clone()] {
        fields.push("extension-records".to_owned());
    }
    // Block padding after the data should be zeros; compare it too.
    fn pad<'t>(tar: &'t [u8], e: &TarEntry) -> Option<&'t [u8]> {
        let end = e.data.start + e.data.len().div_ceil(tar::BLOCK) * tar::BLOCK;
        tar.get(e.data.end..end.min(tar.len()))
    }
    if pad(&ra.gz.tar, a) != pad(&rb.gz.tar, b) {
        fields.push("data-padding".to_owned());
    }
    fields
}

#[allow(clippy::too_many_arguments)]
fn compare_entries(
    ra: &Read<'_>,
    rb: &Read<'_>,
    options: &DiffOptions,
    reasons: &mut Reasons,
    findings: &mut Vec<EntryFinding>,
    diffs: &mut Vec<FileDiff>,
    caps: &mut Vec<CapHit>,
) {
    let limits = FileDiffLimits {
        max_file_bytes: options.caps.max_file_diff_bytes,
        max_output_bytes: options.caps.max_diff_output_bytes,
        max_json_changes: options.caps.max_json_changes,
    };
    let index = |r: &Read<'_>| -> HashMap<String, usize> {
        r.archive
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| (key(&e.path).to_owned(), i))
            .collect()
    };
    let (ia, ib) = (index(ra), index(rb));
    let mut common_b_positions: Vec<(usize, usize)> = Vec::new(); // (a index, b index)
    for (i, ea) in ra.archive.entries.iter().enumerate() {
        let k = key(&ea.path);
        if ia.get(k) != Some(&i) {
            continue; // an earlier duplicate
        }
        let Some(&j) = ib.get(k) else {
            let finding = one_sided(ea, i, ra.data(ea), OnlyOn::A, reasons, diffs);
            findings.push(finding);
            continue;
        };
        common_b_positions.push((i, j));
        let eb = &rb.archive.entries[j];
        let mut entry_reasons = metadata_reasons(ea, eb);
        let mut content_equal = true;
        match (ea.kind, eb.kind) {
            (EntryKind::File, EntryKind::File) => {
                let (da, db) = (ra.data(ea), rb.data(eb));
                if da != db {
                    content_equal = false;
                    let file_reasons = filediff::classify(&ea.path, da, db);
                    entry_reasons.extend(&file_reasons);
                    let (diff, hit) = filediff::diff_file(&ea.path, file_reasons, da, db, limits);
                    for cap in hit {
                        let limit = match cap {
                            "file-diff-size" => limits.max_file_bytes,
                            "diff-output" => limits.max_output_bytes as u64,
                            _ => limits.max_json_changes as u64,
                        };
                        caps.push(CapHit {
                            side: None,
                            cap,
                            limit,
                            entry: Some(ea.path.clone()),
                        });
                    }
                    diffs.push(diff);
                }
            }
            (ka, kb) if ka == kb => {
                if ea.link != eb.link || ea.dev != eb.dev || ra.data(ea) != rb.data(eb) {
                    content_equal = false;
                    entry_reasons.push(Reason::Modified);
                }
            }
            _ => {
                if ea.size != eb.size || ra.data(ea) != rb.data(eb) || ea.link != eb.link {
                    content_equal = false;
                }
            }
        }
        let mut encoding = Vec::new();
        if entry_reasons.is_empty() && content_equal {
            encoding = encoding_fields(ra, ea, rb, eb);
            if !encoding.is_empty() {
                entry_reasons.push(Reason::HeaderEncoding);
            }
        }
        if !entry_reasons.is_empty() {
            for &r in &entry_reasons {
                reasons.add(r, Some(&ea.path));
            }
            findings.push(EntryFinding {
                path: ea.path.clone(),
                reasons: entry_reasons,
                a: Some(meta(ea, i)),
                b: Some(meta(eb, j)),
                encoding_fields: encoding,
            });
        }
    }
    for (j, eb) in rb.archive.entries.iter().enumerate() {
        let k = key(&eb.path);
        if ib.get(k) != Some(&j) || ia.contains_key(k) {
            continue;
        }
        let finding = one_sided(eb, j, rb.data(eb), OnlyOn::B, reasons, diffs);
        findings.push(finding);
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
                reasons.add(Reason::EntryOrder, Some(&ra.archive.entries[i].path));
            }
        }
    }
    if ra.archive.global_pax != rb.archive.global_pax {
        reasons.add(Reason::Pax, Some("(global PAX header)"));
    } else if ra
        .archive
        .global_raw
        .iter()
        .map(|r| &ra.gz.tar[r.clone()])
        .ne(rb.archive.global_raw.iter().map(|r| &rb.gz.tar[r.clone()]))
    {
        reasons.add(Reason::HeaderEncoding, Some("(global PAX header)"));
    }
    if reasons.map.keys().all(|r| r.layer() < Layer::TarEncoding)
        && (ra.archive.end_len != rb.archive.end_len)
    {
        reasons.add(Reason::HeaderEncoding, Some("(end of archive)"));
        reasons.detail(
            Reason::HeaderEncoding,
            format!(
                "end-of-archive padding {} vs {} bytes",
                ra.archive.end_len, rb.archive.end_len
            ),
        );
    }
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
