//! The compare engine: one package version, N registries, one verdict.
//!
//! [`compare`] reads every registry concurrently (packument, then tarball, each tarball
//! streamed once through SHA-1, SHA-256 and SHA-512), checks each registry's own `dist`
//! claims against the bytes it served, groups registries by SHA-256 and decides a [`Verdict`].
//! [`decide`] is the pure part, so the rules are tested without a server.
//!
//! The rules, strongest first:
//! 1. `claim-mismatch` — a registry's `dist.shasum` or `dist.integrity` does not describe the
//!    bytes it served (or cannot be checked);
//! 2. `divergent` — the registries that could be read served more than one distinct tarball;
//! 3. `incomplete` — a registry could not be read; what was read agreed, but a failed read is
//!    never counted as a match;
//! 4. `identical` — every registry was read, every claim holds, and all bytes are equal.
//!
//! A proven problem (1, 2) outranks an unproven one (3): both fail CI, and the report still
//! names every registry that could not be read.

use byteproof_hash::{ClaimCheck, Digests, check_integrity, check_shasum};
use byteproof_npm::{FetchError, Keep, NpmClient, PackageSpec, Registry, SafeUrl};

/// The outcome for the whole comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// All registries served the same bytes and every claim holds.
    Identical,
    /// More than one distinct tarball.
    Divergent,
    /// A registry's claims do not match its own bytes.
    ClaimMismatch,
    /// A registry could not be read, and nothing else is wrong.
    Incomplete,
}

impl Verdict {
    /// The stable name used in JSON and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Identical => "identical",
            Verdict::Divergent => "divergent",
            Verdict::ClaimMismatch => "claim-mismatch",
            Verdict::Incomplete => "incomplete",
        }
    }
}

/// What was read from one registry.
#[derive(Clone, Debug)]
pub struct Fetched {
    /// Digests of the served bytes.
    pub digests: Digests,
    /// `dist.shasum` as the registry wrote it.
    pub claimed_shasum: Option<String>,
    /// `dist.integrity` as the registry wrote it.
    pub claimed_integrity: Option<String>,
    /// The shasum claim against the bytes.
    pub shasum_check: ClaimCheck,
    /// The integrity claim against the bytes.
    pub integrity_check: ClaimCheck,
    /// HTTP attempts the tarball took.
    pub attempts: u32,
    /// The bytes, when small enough to keep (for `diff`).
    pub bytes: Option<Vec<u8>>,
}

impl Fetched {
    /// True when no claim is wrong or unverifiable (absent claims are fine).
    pub fn claims_ok(&self) -> bool {
        !self.shasum_check.is_problem() && !self.integrity_check.is_problem()
    }
}

/// One registry's part of the comparison.
#[derive(Debug)]
pub struct RegistryReport {
    /// The registry's name.
    pub name: String,
    /// Its base URL, safe to show.
    pub url: String,
    /// The tarball URL, once known, safe to show.
    pub tarball_url: Option<String>,
    /// True when the registry gave no `dist.tarball` and the npm-standard URL was used.
    pub tarball_url_constructed: bool,
    /// The bytes' digests and claim checks, or why it could not be read.
    pub outcome: Result<Fetched, FetchError>,
}

/// Registries that served the same bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// Hex SHA-256 of the bytes.
    pub sha256: String,
    /// Indices into [`Comparison::registries`].
    pub members: Vec<usize>,
}

/// The result of [`compare`].
#[derive(Debug)]
pub struct Comparison {
    /// What was compared.
    pub spec: PackageSpec,
    /// One entry per registry, in the order given.
    pub registries: Vec<RegistryReport>,
    /// Groups of equal bytes, largest first.
    pub groups: Vec<Group>,
    /// Index into `groups` of the strict majority, when there is one and more than one group.
    pub majority: Option<usize>,
    /// Names of registries outside the majority group.
    pub odd_ones_out: Vec<String>,
    /// The verdict.
    pub verdict: Verdict,
}

impl Comparison {
    /// True when every registry was read.
    pub fn complete(&self) -> bool {
        self.registries.iter().all(|r| r.outcome.is_ok())
    }

    /// The divergences worth explaining: the first (largest, majority when there is one)
    /// group against each other group, each side represented by one registry whose bytes were
    /// kept. Empty when all bytes agree.
    pub fn divergences(&self) -> Vec<Divergence<'_>> {
        let Some(base) = self.groups.first() else {
            return Vec::new();
        };
        self.groups[1..]
            .iter()
            .map(|other| Divergence {
                a_group: self.names(base),
                b_group: self.names(other),
                a: self.kept_bytes(base),
                b: self.kept_bytes(other),
            })
            .collect()
    }

    fn names(&self, group: &Group) -> Vec<String> {
        group
            .members
            .iter()
            .map(|&i| self.registries[i].name.clone())
            .collect()
    }

    /// One member of `group` whose bytes were kept, with its name.
    fn kept_bytes(&self, group: &Group) -> Option<(&str, &[u8])> {
        group.members.iter().find_map(|&i| {
            let fetched = self.registries[i].outcome.as_ref().ok()?;
            Some((self.registries[i].name.as_str(), fetched.bytes.as_deref()?))
        })
    }
}

/// Two groups of registries that served different bytes (see [`Comparison::divergences`]).
#[derive(Debug)]
pub struct Divergence<'a> {
    /// The registries of the first group.
    pub a_group: Vec<String>,
    /// The registries of the other group.
    pub b_group: Vec<String>,
    /// A registry of the first group and its bytes; `None` when none were kept (too large,
    /// or [`CompareOptions::keep_bytes_up_to`] was 0).
    pub a: Option<(&'a str, &'a [u8])>,
    /// The same for the other group.
    pub b: Option<(&'a str, &'a [u8])>,
}

/// Options for [`compare`].
#[derive(Clone, Debug, Default)]
pub struct CompareOptions {
    /// Keep each tarball's bytes in memory when no larger than this (0: never), so that a
    /// divergence can be explained without a second download.
    pub keep_bytes_up_to: u64,
}

/// Reads `spec` from every registry concurrently and decides the verdict. `on_done` is called
/// as each registry finishes (for progress display).
pub async fn compare(
    client: &NpmClient,
    spec: &PackageSpec,
    registries: &[Registry],
    options: &CompareOptions,
    on_done: &(dyn Fn(&RegistryReport) + Sync),
) -> Comparison {
    let reads = registries.iter().map(|registry| async move {
        let report = read_one(client, spec, registry, options).await;
        on_done(&report);
        report
    });
    let reports = futures_util::future::join_all(reads).await;
    decide(spec.clone(), reports)
}

async fn read_one(
    client: &NpmClient,
    spec: &PackageSpec,
    registry: &Registry,
    options: &CompareOptions,
) -> RegistryReport {
    let mut report = RegistryReport {
        name: registry.name.clone(),
        url: SafeUrl::new(registry.base()).to_string(),
        tarball_url: None,
        tarball_url_constructed: false,
        outcome: Err(FetchError::BadResponse {
            url: SafeUrl::new(registry.base()),
            why: "not read".into(),
        }),
    };
    let dist = match client.dist(registry, spec).await {
        Ok(dist) => dist,
        Err(err) => {
            report.outcome = Err(err);
            return report;
        }
    };
    report.tarball_url = Some(SafeUrl::new(&dist.tarball).to_string());
    report.tarball_url_constructed = dist.tarball_constructed;
    report.outcome = client
        .tarball(
            registry,
            &dist.tarball,
            Keep::Memory {
                up_to: options.keep_bytes_up_to,
            },
        )
        .await
        .map(|tarball| Fetched {
            shasum_check: check_shasum(dist.shasum.as_deref(), &tarball.digests),
            integrity_check: check_integrity(dist.integrity.as_deref(), &tarball.digests),
            claimed_shasum: dist.shasum.clone(),
            claimed_integrity: dist.integrity.clone(),
            digests: tarball.digests,
            attempts: tarball.attempts,
            bytes: tarball.kept.into_bytes(),
        });
    report
}

/// Groups the registries by bytes and applies the verdict rules (see the crate docs).
pub fn decide(spec: PackageSpec, registries: Vec<RegistryReport>) -> Comparison {
    let mut groups: Vec<Group> = Vec::new();
    for (index, report) in registries.iter().enumerate() {
        let Ok(fetched) = &report.outcome else {
            continue;
        };
        let sha256 = fetched.digests.sha256_hex();
        match groups.iter_mut().find(|g| g.sha256 == sha256) {
            Some(group) => group.members.push(index),
            None => groups.push(Group {
                sha256,
                members: vec![index],
            }),
        }
    }
    // Largest first; ties keep the order in which registries were given.
    groups.sort_by_key(|g| std::cmp::Reverse(g.members.len()));
    let majority =
        (groups.len() > 1 && groups[0].members.len() > groups[1].members.len()).then_some(0);
    let odd_ones_out = match majority {
        Some(m) => groups
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != m)
            .flat_map(|(_, g)| g.members.iter().map(|&i| registries[i].name.clone()))
            .collect(),
        None => Vec::new(),
    };
    let claims_wrong = registries
        .iter()
        .any(|r| r.outcome.as_ref().is_ok_and(|f| !f.claims_ok()));
    let any_failed = registries.iter().any(|r| r.outcome.is_err());
    let verdict = if claims_wrong {
        Verdict::ClaimMismatch
    } else if groups.len() > 1 {
        Verdict::Divergent
    } else if any_failed || groups.is_empty() {
        Verdict::Incomplete
    } else {
        Verdict::Identical
    };
    Comparison {
        spec,
        registries,
        groups,
        majority,
        odd_ones_out,
        verdict,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use byteproof_hash::hash_bytes;

    fn spec() -> PackageSpec {
        PackageSpec::parse("@bytelyst/errors@1.0.0").unwrap()
    }

    fn served(name: &str, bytes: &[u8]) -> RegistryReport {
        let digests = hash_bytes(bytes);
        served_claiming(
            name,
            bytes,
            Some(digests.sha1_hex()),
            Some(digests.integrity()),
        )
    }

    fn served_claiming(
        name: &str,
        bytes: &[u8],
        shasum: Option<String>,
        integrity: Option<String>,
    ) -> RegistryReport {
        let digests = hash_bytes(bytes);
        RegistryReport {
            name: name.into(),
            url: format!("http://{name}/"),
            tarball_url: Some(format!("http://{name}/x.tgz")),
            tarball_url_constructed: false,
            outcome: Ok(Fetched {
                shasum_check: check_shasum(shasum.as_deref(), &digests),
                integrity_check: check_integrity(integrity.as_deref(), &digests),
                claimed_shasum: shasum,
                claimed_integrity: integrity,
                digests,
                attempts: 1,
                bytes: None,
            }),
        }
    }

    fn failed(name: &str) -> RegistryReport {
        RegistryReport {
            name: name.into(),
            url: format!("http://{name}/"),
            tarball_url: None,
            tarball_url_constructed: false,
            outcome: Err(FetchError::VersionMissing {
                package: "@bytelyst/errors".into(),
                version: "1.0.0".into(),
                available: 0,
                latest: String::new(),
            }),
        }
    }

    #[test]
    fn equal_bytes_are_identical() {
        let c = decide(
            spec(),
            vec![served("a", b"x"), served("b", b"x"), served("c", b"x")],
        );
        assert_eq!(c.verdict, Verdict::Identical);
        assert_eq!(c.groups.len(), 1);
        assert!(c.odd_ones_out.is_empty());
    }

    #[test]
    fn the_odd_one_out_is_named() {
        let c = decide(
            spec(),
            vec![served("a", b"x"), served("b", b"y"), served("c", b"x")],
        );
        assert_eq!(c.verdict, Verdict::Divergent);
        assert_eq!(c.majority, Some(0));
        assert_eq!(c.groups[0].members, [0, 2]);
        assert_eq!(c.odd_ones_out, ["b"]);
    }

    #[test]
    fn divergences_pair_the_first_group_with_each_other_group() {
        let mut reports = vec![
            served("a", b"x"),
            served("b", b"y"),
            served("c", b"x"),
            served("d", b"z"),
        ];
        for r in &mut reports {
            if let Ok(f) = &mut r.outcome {
                f.bytes = (r.name != "d").then(|| vec![1, 2, 3]);
            }
        }
        let c = decide(spec(), reports);
        let d = c.divergences();
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].a_group, ["a", "c"]);
        assert_eq!(d[0].b_group, ["b"]);
        assert_eq!(d[0].a.map(|(name, _)| name), Some("a"));
        assert_eq!(d[0].b.map(|(name, _)| name), Some("b"));
        assert_eq!(d[1].b_group, ["d"]);
        assert!(d[1].b.is_none(), "d's bytes were not kept");
        assert!(
            decide(spec(), vec![served("a", b"x"), served("b", b"x")])
                .divergences()
                .is_empty()
        );
    }

    #[test]
    fn two_way_split_has_no_majority() {
        let c = decide(spec(), vec![served("a", b"x"), served("b", b"y")]);
        assert_eq!(c.verdict, Verdict::Divergent);
        assert_eq!(c.majority, None);
        assert!(c.odd_ones_out.is_empty());
    }

    #[test]
    fn a_failed_read_is_never_a_match() {
        let c = decide(spec(), vec![served("a", b"x"), failed("b")]);
        assert_eq!(c.verdict, Verdict::Incomplete);
        assert!(!c.complete());
        let c = decide(spec(), vec![failed("a"), failed("b")]);
        assert_eq!(c.verdict, Verdict::Incomplete);
    }

    #[test]
    fn proven_divergence_outranks_an_unread_registry() {
        let c = decide(
            spec(),
            vec![served("a", b"x"), served("b", b"y"), failed("c")],
        );
        assert_eq!(c.verdict, Verdict::Divergent);
        assert!(!c.complete());
    }

    #[test]
    fn a_lying_claim_is_a_claim_mismatch_even_when_bytes_agree() {
        let lie = hash_bytes(b"other");
        let liar = served_claiming("b", b"x", Some(lie.sha1_hex()), None);
        let c = decide(spec(), vec![served("a", b"x"), liar]);
        assert_eq!(c.verdict, Verdict::ClaimMismatch);
        let liar = served_claiming("b", b"x", None, Some(lie.integrity()));
        let c = decide(spec(), vec![served("a", b"x"), liar]);
        assert_eq!(c.verdict, Verdict::ClaimMismatch);
    }

    #[test]
    fn absent_claims_are_not_a_mismatch() {
        let c = decide(
            spec(),
            vec![served("a", b"x"), served_claiming("b", b"x", None, None)],
        );
        assert_eq!(c.verdict, Verdict::Identical);
    }
}
