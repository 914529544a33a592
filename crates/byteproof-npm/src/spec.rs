//! Package names and `name@version` specs, encoded the way npm encodes them in URLs.

use std::fmt;

/// Why a package spec could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// No `@version` part.
    #[error("{0:?} has no version: write it as <package>@<version>, e.g. @scope/name@1.2.3")]
    MissingVersion(String),
    /// The name part is not a valid npm package name.
    #[error("{name:?} is not a valid npm package name: {why}")]
    BadName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The version part is not an exact SemVer version (a range or a dist-tag).
    #[error(
        "{version:?} is not an exact version: compare needs one (e.g. 1.2.3), not a range or a dist-tag"
    )]
    BadVersion {
        /// The version as given.
        version: String,
    },
}

/// A validated npm package name, scoped (`@scope/name`) or not.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PackageName {
    scope: Option<String>,
    bare: String,
}

impl PackageName {
    /// Parses and validates a package name.
    ///
    /// Validation is that of names that can exist on a registry: URL-safe characters only,
    /// no path traversal, at most 214 characters. Upper case is accepted (old packages have it).
    pub fn parse(name: &str) -> Result<Self, SpecError> {
        let bad = |why| SpecError::BadName {
            name: name.to_owned(),
            why,
        };
        if name.is_empty() {
            return Err(bad("it is empty"));
        }
        if name.len() > 214 {
            return Err(bad("it is longer than 214 characters"));
        }
        let (scope, bare) = match name.strip_prefix('@') {
            Some(rest) => {
                let (scope, bare) = rest
                    .split_once('/')
                    .ok_or_else(|| bad("a scoped name needs a slash: @scope/name"))?;
                (Some(scope), bare)
            }
            None => (None, name),
        };
        for part in scope.iter().chain(std::iter::once(&bare)) {
            if part.is_empty() {
                return Err(bad("the scope and the name must not be empty"));
            }
            if part.starts_with('.') {
                return Err(bad("a name part must not start with a dot"));
            }
            if !part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
            {
                return Err(bad(
                    "only letters, digits, '-', '.', '_' and '~' are allowed (and one '/' after the scope)",
                ));
            }
        }
        if scope.is_none() && bare.starts_with('_') {
            return Err(bad("an unscoped name must not start with an underscore"));
        }
        Ok(Self {
            scope: scope.map(str::to_owned),
            bare: bare.to_owned(),
        })
    }

    /// The scope without `@`, if any.
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// The name without its scope.
    pub fn bare(&self) -> &str {
        &self.bare
    }

    /// The path segment npm requests the packument at: `@scope%2fname` or `name`.
    pub fn url_segment(&self) -> String {
        match &self.scope {
            Some(scope) => format!("@{scope}%2f{}", self.bare),
            None => self.bare.clone(),
        }
    }

    /// The conventional tarball file name: `<name without scope>-<version>.tgz`.
    pub fn tarball_file_name(&self, version: &semver::Version) -> String {
        format!("{}-{version}.tgz", self.bare)
    }
}

impl fmt::Display for PackageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.scope {
            Some(scope) => write!(f, "@{scope}/{}", self.bare),
            None => f.write_str(&self.bare),
        }
    }
}

/// `<package>@<exact version>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageSpec {
    /// The package.
    pub name: PackageName,
    /// The exact version.
    pub version: semver::Version,
}

impl PackageSpec {
    /// Parses `name@1.2.3` or `@scope/name@1.2.3` (a leading `v` on the version is dropped, as
    /// npm does).
    pub fn parse(spec: &str) -> Result<Self, SpecError> {
        let spec = spec.trim();
        let at = spec
            .rfind('@')
            .filter(|&i| i > 0)
            .ok_or_else(|| SpecError::MissingVersion(spec.to_owned()))?;
        let (name, version) = (&spec[..at], &spec[at + 1..]);
        let name = PackageName::parse(name)?;
        let trimmed = version.strip_prefix('v').unwrap_or(version);
        let version = semver::Version::parse(trimmed).map_err(|_| SpecError::BadVersion {
            version: version.to_owned(),
        })?;
        Ok(Self { name, version })
    }
}

impl fmt::Display for PackageSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.name, self.version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scoped_and_plain_specs() {
        let s = PackageSpec::parse("@bytelyst/errors@1.2.3-rc.1").unwrap();
        assert_eq!(s.name.scope(), Some("bytelyst"));
        assert_eq!(s.name.bare(), "errors");
        assert_eq!(s.name.url_segment(), "@bytelyst%2ferrors");
        assert_eq!(s.version.to_string(), "1.2.3-rc.1");
        assert_eq!(s.to_string(), "@bytelyst/errors@1.2.3-rc.1");
        assert_eq!(
            s.name.tarball_file_name(&s.version),
            "errors-1.2.3-rc.1.tgz"
        );

        let p = PackageSpec::parse("left-pad@v1.3.0").unwrap();
        assert_eq!(p.name.url_segment(), "left-pad");
        assert_eq!(p.version.to_string(), "1.3.0");
        assert!(PackageSpec::parse("@acme/_runner-e2e-test@0.0.1-e2e.3").is_ok());
    }

    #[test]
    fn bad_specs_say_why() {
        use SpecError::*;
        assert!(matches!(
            PackageSpec::parse("left-pad"),
            Err(MissingVersion(_))
        ));
        assert!(matches!(
            PackageSpec::parse("@scope/name"),
            Err(MissingVersion(_))
        ));
        assert!(matches!(
            PackageSpec::parse("x@latest"),
            Err(BadVersion { .. })
        ));
        assert!(matches!(
            PackageSpec::parse("x@^1.0.0"),
            Err(BadVersion { .. })
        ));
        for name in [
            "@scope@1.0.0",
            "../etc@1.0.0",
            "a/b@1.0.0",
            "@/x@1.0.0",
            "a b@1.0.0",
            "_x@1.0.0",
            ".x@1.0.0",
            "x%2f@1.0.0",
        ] {
            assert!(
                matches!(PackageSpec::parse(name), Err(BadName { .. })),
                "{name} should be rejected"
            );
        }
        let err = PackageSpec::parse("x@next").unwrap_err().to_string();
        assert!(err.contains("dist-tag"), "{err}");
    }
}
