//! The `compare` report: its stable JSON schema (`byteproof.compare/v1`), the terminal table
//! and the Markdown summary. The JSON types are separate from the engine's types so that a
//! change in the engine cannot silently change the contract.

use byteproof_compare::{Comparison, Verdict};
use byteproof_hash::ClaimCheck;
use serde::Serialize;

use crate::printer::{Printer, Style};

/// `--format`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// A table for people.
    #[default]
    Table,
    /// The stable JSON report.
    Json,
    /// Markdown for a CI step summary.
    Markdown,
}

/// Output flags shared by reporting commands.
#[derive(Clone, Debug, clap::Args)]
pub(crate) struct OutputArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,

    /// Shorthand for `--format json`.
    #[arg(long, conflicts_with = "format")]
    json: bool,
}

impl OutputArgs {
    pub(crate) fn format(&self) -> Format {
        if self.json { Format::Json } else { self.format }
    }
}

/// The JSON report of `byteproof compare`.
#[derive(Debug, Serialize)]
pub(crate) struct CompareJson {
    /// Always `byteproof.compare/v1`.
    pub(crate) schema: &'static str,
    pub(crate) package: String,
    pub(crate) version: String,
    pub(crate) verdict: &'static str,
    /// False when some registry could not be read.
    pub(crate) complete: bool,
    pub(crate) registries: Vec<RegistryJson>,
    /// Distinct tarballs, largest group first.
    pub(crate) groups: Vec<GroupJson>,
    /// Registries outside a strict majority (empty when there is none).
    pub(crate) odd_ones_out: Vec<String>,
    /// Why the groups differ: the first (majority) group against each other group.
    pub(crate) diffs: Vec<DiffJson>,
}

/// One explained divergence between two groups of registries.
#[derive(Debug, Serialize)]
pub(crate) struct DiffJson {
    /// The registry whose tarball stands for side A (from `a_group`).
    pub(crate) a: Option<String>,
    /// The registry whose tarball stands for side B (from `b_group`).
    pub(crate) b: Option<String>,
    pub(crate) a_group: Vec<String>,
    pub(crate) b_group: Vec<String>,
    /// One line, e.g. "divergent at metadata: exec-bit on bin/cli.js".
    pub(crate) summary: Option<String>,
    /// The full `byteproof diff` report (schema of `byteproof diff --json`).
    pub(crate) report: Option<byteproof_diff::DiffReport>,
    /// Why there is no report, when there is none.
    pub(crate) error: Option<String>,
}

impl DiffJson {
    pub(crate) fn new(
        a: String,
        b: String,
        a_group: Vec<String>,
        b_group: Vec<String>,
        report: byteproof_diff::DiffReport,
    ) -> Self {
        Self {
            a: Some(a),
            b: Some(b),
            a_group,
            b_group,
            summary: Some(report.summary_line()),
            report: Some(report),
            error: None,
        }
    }

    pub(crate) fn unavailable(a_group: Vec<String>, b_group: Vec<String>, why: &str) -> Self {
        Self {
            a: None,
            b: None,
            a_group,
            b_group,
            summary: None,
            report: None,
            error: Some(why.to_owned()),
        }
    }

    fn title(&self) -> String {
        format!("{} vs {}", self.a_group.join(", "), self.b_group.join(", "))
    }

    fn hints(&self) -> Vec<String> {
        self.report
            .iter()
            .flat_map(|r| r.hints.iter().map(|h| format!("{}: {}", h.reason, h.text)))
            .collect()
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct RegistryJson {
    pub(crate) name: String,
    pub(crate) url: String,
    pub(crate) tarball_url: Option<String>,
    pub(crate) tarball_url_constructed: bool,
    pub(crate) size: Option<u64>,
    pub(crate) sha1: Option<String>,
    pub(crate) sha256: Option<String>,
    pub(crate) sha512: Option<String>,
    pub(crate) integrity: Option<String>,
    pub(crate) claimed_shasum: Option<String>,
    pub(crate) claimed_integrity: Option<String>,
    /// Null when the tarball could not be read.
    pub(crate) claims_ok: Option<bool>,
    pub(crate) claim_problems: Vec<String>,
    pub(crate) attempts: Option<u32>,
    pub(crate) error: Option<String>,
    pub(crate) error_kind: Option<&'static str>,
}

#[derive(Debug, Serialize)]
pub(crate) struct GroupJson {
    pub(crate) sha256: String,
    pub(crate) registries: Vec<String>,
}

fn claim_problem(field: &str, check: &ClaimCheck) -> Option<String> {
    match check {
        ClaimCheck::Mismatch { claimed, actual } => Some(format!(
            "{field} claims {claimed} but the served bytes are {actual}"
        )),
        ClaimCheck::Unverifiable { reason } => Some(format!("{field} cannot be checked: {reason}")),
        ClaimCheck::Absent | ClaimCheck::Match => None,
    }
}

impl CompareJson {
    pub(crate) fn new(c: &Comparison, diffs: Vec<DiffJson>) -> Self {
        let registries = c
            .registries
            .iter()
            .map(|r| match &r.outcome {
                Ok(f) => RegistryJson {
                    name: r.name.clone(),
                    url: r.url.clone(),
                    tarball_url: r.tarball_url.clone(),
                    tarball_url_constructed: r.tarball_url_constructed,
                    size: Some(f.digests.size),
                    sha1: Some(f.digests.sha1_hex()),
                    sha256: Some(f.digests.sha256_hex()),
                    sha512: Some(f.digests.sha512_hex()),
                    integrity: Some(f.digests.integrity()),
                    claimed_shasum: f.claimed_shasum.clone(),
                    claimed_integrity: f.claimed_integrity.clone(),
                    claims_ok: Some(f.claims_ok()),
                    claim_problems: [
                        claim_problem("dist.shasum", &f.shasum_check),
                        claim_problem("dist.integrity", &f.integrity_check),
                    ]
                    .into_iter()
                    .flatten()
                    .collect(),
                    attempts: Some(f.attempts),
                    error: None,
                    error_kind: None,
                },
                Err(e) => RegistryJson {
                    name: r.name.clone(),
                    url: r.url.clone(),
                    tarball_url: r.tarball_url.clone(),
                    tarball_url_constructed: r.tarball_url_constructed,
                    size: None,
                    sha1: None,
                    sha256: None,
                    sha512: None,
                    integrity: None,
                    claimed_shasum: None,
                    claimed_integrity: None,
                    claims_ok: None,
                    claim_problems: Vec::new(),
                    attempts: None,
                    error: Some(e.to_string()),
                    error_kind: Some(e.kind().as_str()),
                },
            })
            .collect();
        let groups = c
            .groups
            .iter()
            .map(|g| GroupJson {
                sha256: g.sha256.clone(),
                registries: g
                    .members
                    .iter()
                    .map(|&i| c.registries[i].name.clone())
                    .collect(),
            })
            .collect();
        Self {
            schema: "byteproof.compare/v1",
            package: c.spec.name.to_string(),
            version: c.spec.version.to_string(),
            verdict: c.verdict.as_str(),
            complete: c.complete(),
            registries,
            groups,
            odd_ones_out: c.odd_ones_out.clone(),
            diffs,
        }
    }
}

/// One sentence that says what happened.
pub(crate) fn headline(c: &CompareJson) -> String {
    let n = c.registries.len();
    let read = c.registries.iter().filter(|r| r.error.is_none()).count();
    match c.verdict {
        "identical" => format!("all {n} registries serve byte-identical tarballs"),
        "divergent" => {
            let mut s = format!(
                "{read} of {n} registries served {} different tarballs",
                c.groups.len()
            );
            if !c.odd_ones_out.is_empty() {
                s.push_str(&format!("; odd one(s) out: {}", c.odd_ones_out.join(", ")));
            } else {
                s.push_str("; no majority");
            }
            s
        }
        "claim-mismatch" => {
            let liars: Vec<&str> = c
                .registries
                .iter()
                .filter(|r| r.claims_ok == Some(false))
                .map(|r| r.name.as_str())
                .collect();
            format!(
                "registry claims do not match the bytes served by: {}",
                liars.join(", ")
            )
        }
        _ => {
            let failed: Vec<&str> = c
                .registries
                .iter()
                .filter(|r| r.error.is_some())
                .map(|r| r.name.as_str())
                .collect();
            format!(
                "could not verify: {} of {n} registries could not be read ({})",
                failed.len(),
                failed.join(", ")
            )
        }
    }
}

fn verdict_style(verdict: &str) -> Style {
    match verdict {
        "identical" => Style::Ok,
        "incomplete" => Style::Warn,
        _ => Style::Bad,
    }
}

/// The terminal table.
pub(crate) fn table(c: &CompareJson, printer: &Printer) -> String {
    let mut out = format!(
        "{}@{}: {} — {}\n\n",
        c.package,
        c.version,
        printer.paint(verdict_style(c.verdict), &c.verdict.to_uppercase()),
        headline(c)
    );
    // Short group labels (A, B, …) tie rows to the full hashes listed below the table.
    let label = |sha: &Option<String>| -> String {
        sha.as_ref()
            .and_then(|s| c.groups.iter().position(|g| &g.sha256 == s))
            .map(|i| char::from(b'A' + (i % 26) as u8).to_string())
            .unwrap_or_else(|| "-".into())
    };
    let rows: Vec<[String; 5]> = c
        .registries
        .iter()
        .map(|r| {
            let claims = match r.claims_ok {
                Some(true) => "ok".to_owned(),
                Some(false) => "MISMATCH".to_owned(),
                None => "-".to_owned(),
            };
            let status = match (&r.error, r.claims_ok) {
                (Some(e), _) => format!("error: {e}"),
                (None, Some(false)) => r.claim_problems.join("; "),
                _ => r
                    .sha256
                    .as_deref()
                    .map(|s| format!("sha256 {}…", &s[..16]))
                    .unwrap_or_default(),
            };
            [
                r.name.clone(),
                label(&r.sha256),
                r.size.map(|s| s.to_string()).unwrap_or_else(|| "-".into()),
                claims,
                status,
            ]
        })
        .collect();
    let headers = ["REGISTRY", "BYTES", "SIZE", "CLAIMS", "DETAIL"];
    let mut widths = headers.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row.iter()).take(4) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 5]| {
        let mut s = String::from("  ");
        for (i, cell) in cells.iter().enumerate() {
            if i < 4 {
                s.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            } else {
                s.push_str(cell);
            }
        }
        s.trim_end().to_owned() + "\n"
    };
    out.push_str(&printer.paint(Style::Dim, &line(headers)));
    for (row, r) in rows.iter().zip(&c.registries) {
        let text = line([&row[0], &row[1], &row[2], &row[3], &row[4]]);
        let style = if r.error.is_some() {
            Some(Style::Warn)
        } else if r.claims_ok == Some(false) || c.odd_ones_out.contains(&r.name) {
            Some(Style::Bad)
        } else {
            None
        };
        out.push_str(&match style {
            Some(style) => printer.paint(style, &text),
            None => text,
        });
    }
    if !c.groups.is_empty() {
        out.push('\n');
        for (i, g) in c.groups.iter().enumerate() {
            out.push_str(&format!(
                "  {} sha256 {}  ({})\n",
                char::from(b'A' + (i % 26) as u8),
                g.sha256,
                g.registries.join(", ")
            ));
        }
    }
    for d in &c.diffs {
        out.push_str(&format!("\n  why {}: ", d.title()));
        match (&d.summary, &d.error) {
            (Some(summary), _) => out.push_str(&printer.paint(Style::Bold, summary)),
            (None, Some(error)) => out.push_str(&format!("not explained: {error}")),
            (None, None) => {}
        }
        out.push('\n');
        for hint in d.hints() {
            out.push_str(&format!("    hint {hint}\n"));
        }
    }
    if !c.diffs.is_empty() {
        out.push_str(&printer.paint(
            Style::Dim,
            "\n  (byteproof diff explains each difference in full; --json includes its report)\n",
        ));
    }
    out
}

/// Markdown for `$GITHUB_STEP_SUMMARY` / Gitea's equivalent.
pub(crate) fn markdown(c: &CompareJson) -> String {
    let icon = match c.verdict {
        "identical" => "✅",
        "incomplete" => "⚠️",
        _ => "❌",
    };
    let mut out = format!(
        "### {icon} byteproof compare `{}@{}`: **{}**\n\n{}\n\n",
        c.package,
        c.version,
        c.verdict,
        headline(c)
    );
    out.push_str("| registry | size | sha256 | claims | detail |\n|---|---:|---|---|---|\n");
    for r in &c.registries {
        let claims = match r.claims_ok {
            Some(true) => "ok",
            Some(false) => "**mismatch**",
            None => "–",
        };
        let detail = r
            .error
            .clone()
            .unwrap_or_else(|| r.claim_problems.join("; "))
            .replace('|', "\\|");
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            r.name,
            r.size.map(|s| s.to_string()).unwrap_or_else(|| "–".into()),
            r.sha256
                .as_deref()
                .map(|s| format!("`{s}`"))
                .unwrap_or_else(|| "–".into()),
            claims,
            detail
        ));
    }
    for d in &c.diffs {
        out.push_str(&format!("\n#### Why {} differ\n\n", d.title()));
        match (&d.summary, &d.error) {
            (Some(summary), _) => out.push_str(&format!("{summary}\n")),
            (None, Some(error)) => out.push_str(&format!("Not explained: {error}\n")),
            (None, None) => {}
        }
        if let Some(report) = &d.report {
            out.push('\n');
            for finding in &report.reasons {
                let mut entries: Vec<&str> = finding
                    .entries
                    .iter()
                    .map(String::as_str)
                    .take(10)
                    .collect();
                if finding.entries.len() > 10 {
                    entries.push("…");
                }
                out.push_str(&format!(
                    "- `{}` ({}): {}\n",
                    finding.code,
                    finding.layer,
                    entries.join(", ")
                ));
            }
        }
        let hints = d.hints();
        if !hints.is_empty() {
            out.push_str("\nHow to fix:\n\n");
            for hint in hints {
                out.push_str(&format!("- {hint}\n"));
            }
        }
    }
    out
}

/// The exit status for a verdict.
pub(crate) fn exit_status(verdict: Verdict) -> crate::exit::ExitStatus {
    use crate::exit::ExitStatus;
    match verdict {
        Verdict::Identical => ExitStatus::Success,
        Verdict::Divergent | Verdict::ClaimMismatch => ExitStatus::Differs,
        Verdict::Incomplete => ExitStatus::Unverified,
    }
}
