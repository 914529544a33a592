//! Gitea's version and what it implies: [`ServerVersion`] reads what `GET /api/v1/version`
//! reports (`gitea-api.md` §4), tolerant of the forms Gitea builds produce; [`GiteaFeature`]
//! names each Actions API that appeared in a given release (`gitea-api.md` §5 and §8,
//! `forge-routing-api.md` §2.3–§2.4 and §3.5), so an operation the server lacks is refused
//! with the release that has it instead of failing with a bare 404.
//!
//! Releases are compared by `MAJOR.MINOR` only: a `1.24.0-rc1` or a `1.24.0+dev-…` build has the
//! 1.24 routes. Forgejo answers the same endpoint with its own version and the Gitea release its
//! API follows as build metadata (`11.0.0+gitea-1.22.0`; not in the reference, seen in Forgejo
//! clients): that Gitea release decides what the server has.

use std::fmt;

/// A Gitea version as the server reports it, e.g. `1.25.4` or `1.26.0+dev-298-ge95c30eb80`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerVersion {
    raw: String,
    version: semver::Version,
    /// `(major, minor)` of the Gitea release a Forgejo server's API follows (`+gitea-1.22.0`).
    gitea_api: Option<(u64, u64)>,
}

impl ServerVersion {
    /// Reads a version: SemVer, or what Gitea builds print (a leading `v`, a missing patch
    /// number as in `1.22`, build metadata SemVer does not allow as in `1.22.6+dev-3_x`).
    pub fn parse(raw: &str) -> Result<Self, VersionError> {
        let refuse = || VersionError {
            raw: raw.to_owned(),
        };
        let text = raw.trim();
        let text = text.strip_prefix('v').unwrap_or(text);
        let core_len = text
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(text.len());
        let (core, rest) = text.split_at(core_len);
        let numbers: Vec<&str> = core.split('.').collect();
        if !(2..=3).contains(&numbers.len()) || numbers.iter().any(|n| n.is_empty()) {
            return Err(refuse());
        }
        let mut padded = numbers.join(".");
        for _ in numbers.len()..3 {
            padded.push_str(".0");
        }
        let version = semver::Version::parse(&format!("{padded}{rest}"))
            .or_else(|_| semver::Version::parse(&padded))
            .map_err(|_| refuse())?;
        let gitea_api = version
            .build
            .as_str()
            .strip_prefix("gitea-")
            .and_then(|gitea| Self::parse(gitea).ok())
            .map(|gitea| (gitea.version.major, gitea.version.minor));
        Ok(Self {
            raw: raw.trim().to_owned(),
            version,
            gitea_api,
        })
    }

    /// The parsed version.
    pub fn semver(&self) -> &semver::Version {
        &self.version
    }

    /// Whether this release has `feature` (for Forgejo: the Gitea release its API follows).
    pub fn has(&self, feature: GiteaFeature) -> bool {
        let release = self
            .gitea_api
            .unwrap_or((self.version.major, self.version.minor));
        release >= feature.since()
    }
}

impl fmt::Display for ServerVersion {
    /// As the server reported it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// A version string that is not one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{raw:?} is not a version (MAJOR.MINOR[.PATCH], optionally -PRE and +BUILD)")]
pub struct VersionError {
    raw: String,
}

/// An Actions REST API of Gitea, by the release that added it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GiteaFeature {
    /// `GET …/actions/runners/registration-token` (and the admin form
    /// `/admin/runners/registration-token`): 1.22. Before, tokens came from the web UI or
    /// `gitea actions generate-runner-token`.
    RegistrationToken,
    /// `POST` on the registration-token paths (admin: `/admin/actions/runners/…`): 1.24.
    RegistrationTokenPost,
    /// Runner list, get and delete at every scope: 1.24 (#33873).
    RunnerApi,
    /// Ephemeral runners (one task, then deleted by the server): 1.24 (#33570).
    EphemeralRunners,
    /// Repository Actions variables (list, get, create, update, delete): 1.22.
    Variables,
    /// Variable names starting with `CI` (`CI_FOO`): refused by `(?i)^CI` up to 1.24; from 1.25
    /// (#35684) the reference says only the name `CI` itself is reserved.
    CiPrefixedVariableNames,
}

impl GiteaFeature {
    /// Every feature, oldest first (for a report of what a server has).
    pub const ALL: [GiteaFeature; 6] = [
        GiteaFeature::RegistrationToken,
        GiteaFeature::Variables,
        GiteaFeature::RegistrationTokenPost,
        GiteaFeature::RunnerApi,
        GiteaFeature::EphemeralRunners,
        GiteaFeature::CiPrefixedVariableNames,
    ];

    /// The first release with it, `(major, minor)`.
    pub fn since(self) -> (u64, u64) {
        match self {
            GiteaFeature::RegistrationToken | GiteaFeature::Variables => (1, 22),
            GiteaFeature::RegistrationTokenPost
            | GiteaFeature::RunnerApi
            | GiteaFeature::EphemeralRunners => (1, 24),
            GiteaFeature::CiPrefixedVariableNames => (1, 25),
        }
    }
}

impl fmt::Display for GiteaFeature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GiteaFeature::RegistrationToken => "runner registration tokens over REST",
            GiteaFeature::RegistrationTokenPost => "POST for runner registration tokens",
            GiteaFeature::RunnerApi => "runner list, get and delete",
            GiteaFeature::EphemeralRunners => "ephemeral runners",
            GiteaFeature::Variables => "Actions variables",
            GiteaFeature::CiPrefixedVariableNames => "variable names starting with CI",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gitea_version_forms_parse() {
        for (raw, parsed) in [
            ("1.25.4", "1.25.4"),
            ("1.26.0+dev-298-ge95c30eb80", "1.26.0+dev-298-ge95c30eb80"),
            ("1.22.6+dev-12-gabc", "1.22.6+dev-12-gabc"),
            ("v1.23.1", "1.23.1"),
            ("1.22", "1.22.0"),
            ("1.24.0-rc1", "1.24.0-rc1"),
            ("1.22.6+dev_odd~build", "1.22.6"),
            (" 1.21.11\n", "1.21.11"),
        ] {
            let version = ServerVersion::parse(raw).unwrap();
            assert_eq!(version.semver().to_string(), parsed, "{raw:?}");
            assert_eq!(version.to_string(), raw.trim());
        }
        for junk in ["", "development", "1", "1..2", "1.2.3.4", "v", "x1.22"] {
            let err = ServerVersion::parse(junk).unwrap_err();
            assert!(
                err.to_string()
                    .starts_with(&format!("{junk:?} is not a version"))
            );
        }
    }

    #[test]
    fn features_follow_the_version_matrix() {
        let has = |raw: &str| -> Vec<GiteaFeature> {
            let version = ServerVersion::parse(raw).unwrap();
            GiteaFeature::ALL
                .into_iter()
                .filter(|f| version.has(*f))
                .collect()
        };
        use GiteaFeature::*;
        assert_eq!(has("1.21.11"), []);
        assert_eq!(has("1.22.6"), [RegistrationToken, Variables]);
        assert_eq!(has("1.23.8"), [RegistrationToken, Variables]);
        let from_1_24 = [
            RegistrationToken,
            Variables,
            RegistrationTokenPost,
            RunnerApi,
            EphemeralRunners,
        ];
        assert_eq!(has("1.24.0-rc1"), from_1_24);
        assert_eq!(has("1.24.2"), from_1_24);
        assert_eq!(has("1.25.4"), GiteaFeature::ALL);
        assert_eq!(has("1.26.0+dev-298-ge95c30eb80"), GiteaFeature::ALL);
        assert_eq!(has("2.0.0"), GiteaFeature::ALL);
        // Forgejo: its own version, then the Gitea release its API follows.
        assert_eq!(has("11.0.3+gitea-1.22.0"), [RegistrationToken, Variables]);
        assert_eq!(has("7.0.5+gitea-1.21.11"), []);
        assert_eq!(
            ServerVersion::parse("11.0.3+gitea-1.22.0")
                .unwrap()
                .semver()
                .major,
            11
        );
    }
}
