//! Manifests and indexes: the media types this resolver pins, the `Content-Type` / `mediaType`
//! agreement check, and platform selection in an index.

use byteproof_http::header::{CONTENT_TYPE, HeaderMap};

use crate::error::ResolveError;
use crate::reference::{Digest, Reference};

/// OCI image index.
pub const MEDIA_OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker manifest list.
pub const MEDIA_DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// Docker image manifest, schema 2.
pub const MEDIA_DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// OCI image manifest.
pub const MEDIA_OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// The four manifest media types this resolver accepts, list types first.
pub const MANIFEST_MEDIA_TYPES: [&str; 4] = [
    MEDIA_OCI_INDEX,
    MEDIA_DOCKER_LIST,
    MEDIA_DOCKER_MANIFEST,
    MEDIA_OCI_MANIFEST,
];

/// Manifests and indexes larger than this are refused (the distribution spec lets registries
/// refuse larger ones, and distribution's own limit is the same).
pub(crate) const MAX_MANIFEST_BYTES: u64 = 4 << 20;

/// A platform selector, `os/arch[/variant]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Platform {
    /// `linux`.
    pub os: String,
    /// `amd64`, `arm64`.
    pub architecture: String,
    /// `v8`, when given.
    pub variant: Option<String>,
}

impl std::str::FromStr for Platform {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.split('/').collect();
        match parts.as_slice() {
            [os, arch] if !os.is_empty() && !arch.is_empty() => Ok(Self {
                os: (*os).to_owned(),
                architecture: (*arch).to_owned(),
                variant: None,
            }),
            [os, arch, variant] if !os.is_empty() && !arch.is_empty() && !variant.is_empty() => {
                Ok(Self {
                    os: (*os).to_owned(),
                    architecture: (*arch).to_owned(),
                    variant: Some((*variant).to_owned()),
                })
            }
            _ => Err(format!(
                "invalid platform {s:?}: expected os/arch or os/arch/variant"
            )),
        }
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// `Content-Type` up to the first `;`, lower case.
pub(crate) fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default()
}

/// Checks `Content-Type` against the body's `mediaType`; returns the manifest's media type.
pub(crate) fn check_media_type(
    reference: &Reference,
    content_type: &str,
    body: &[u8],
) -> Result<String, ResolveError> {
    #[derive(serde::Deserialize)]
    struct Head {
        #[serde(rename = "mediaType")]
        media_type: Option<String>,
        #[serde(rename = "schemaVersion")]
        schema_version: Option<u32>,
    }
    let head: Head = serde_json::from_slice(body).map_err(|e| ResolveError::BadManifest {
        reference: reference.to_string(),
        detail: e.to_string(),
    })?;
    let unsupported = |media_type: String| ResolveError::UnsupportedMediaType {
        reference: reference.to_string(),
        media_type,
    };
    if head.schema_version == Some(1) {
        return Err(unsupported(if content_type.is_empty() {
            "schemaVersion 1".to_owned()
        } else {
            content_type.to_owned()
        }));
    }
    let content_known = MANIFEST_MEDIA_TYPES.contains(&content_type);
    match head.media_type {
        Some(media_type) => {
            if !MANIFEST_MEDIA_TYPES.contains(&media_type.as_str()) {
                return Err(unsupported(media_type));
            }
            if content_known && media_type != content_type {
                return Err(ResolveError::MediaTypeMismatch {
                    reference: reference.to_string(),
                    content_type: content_type.to_owned(),
                    media_type,
                });
            }
            Ok(media_type)
        }
        // OCI manifests may omit mediaType; trust a known Content-Type then.
        None if content_known => Ok(content_type.to_owned()),
        None => Err(unsupported(content_type.to_owned())),
    }
}

pub(crate) fn select_platform(
    reference: &Reference,
    body: &[u8],
    platform: &Platform,
) -> Result<(Digest, String), ResolveError> {
    let wanted = |p: &Platform| {
        p.os == platform.os
            && p.architecture == platform.architecture
            && platform
                .variant
                .as_ref()
                .is_none_or(|v| p.variant.as_ref() == Some(v))
    };
    index_children(reference, body)?
        .into_iter()
        .find(|child| child.platform.as_ref().is_some_and(wanted))
        .map(|child| (child.digest, child.media_type))
        .ok_or_else(|| ResolveError::PlatformNotFound {
            reference: reference.to_string(),
            platform: platform.to_string(),
        })
}

/// The entries of an index body, attestation manifests skipped.
pub(crate) fn index_children(
    reference: &Reference,
    body: &[u8],
) -> Result<Vec<IndexChild>, ResolveError> {
    let bad = |detail: String| ResolveError::BadManifest {
        reference: reference.to_string(),
        detail,
    };
    let index: serde_json::Value = serde_json::from_slice(body).map_err(|e| bad(e.to_string()))?;
    let manifests = index
        .get("manifests")
        .and_then(|m| m.as_array())
        .ok_or_else(|| bad("index without manifests".to_owned()))?;
    let mut children = Vec::new();
    for entry in manifests {
        let is_attestation = entry
            .pointer("/annotations/vnd.docker.reference.type")
            .and_then(|v| v.as_str())
            .is_some_and(|t| t == "attestation-manifest");
        if is_attestation {
            continue;
        }
        let field = |name: &str| {
            entry
                .get("platform")
                .and_then(|p| p.get(name))
                .and_then(|v| v.as_str())
        };
        let platform = match (field("os"), field("architecture")) {
            (Some(os), Some(architecture)) => Some(Platform {
                os: os.to_owned(),
                architecture: architecture.to_owned(),
                variant: field("variant").map(str::to_owned),
            }),
            _ => None,
        };
        let digest = entry
            .get("digest")
            .and_then(|d| d.as_str())
            .and_then(|d| Digest::parse(d).ok())
            .ok_or_else(|| bad("index entry without a valid digest".to_owned()))?;
        let media_type = entry
            .get("mediaType")
            .and_then(|m| m.as_str())
            .unwrap_or_default()
            .to_owned();
        children.push(IndexChild {
            platform,
            digest,
            media_type,
        });
    }
    Ok(children)
}

/// One platform entry of an image index or manifest list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexChild {
    /// The entry's platform, when it names one.
    pub platform: Option<Platform>,
    /// The child manifest's digest.
    pub digest: Digest,
    /// The child manifest's media type.
    pub media_type: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms_parse() {
        let p: Platform = "linux/arm64/v8".parse().unwrap();
        assert_eq!(p.variant.as_deref(), Some("v8"));
        assert_eq!(p.to_string(), "linux/arm64/v8");
        assert!("linux".parse::<Platform>().is_err());
        assert!("linux//".parse::<Platform>().is_err());
    }

    #[test]
    fn media_type_checks() {
        let r = Reference::parse("node").unwrap();
        let body = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#;
        assert_eq!(
            check_media_type(&r, MEDIA_OCI_INDEX, body).unwrap(),
            MEDIA_OCI_INDEX
        );
        assert!(matches!(
            check_media_type(&r, MEDIA_DOCKER_LIST, body),
            Err(ResolveError::MediaTypeMismatch { .. })
        ));
        assert!(check_media_type(&r, "", br#"{"schemaVersion":1}"#).is_err());
        let no_type = br#"{"schemaVersion":2,"config":{}}"#;
        assert_eq!(
            check_media_type(&r, MEDIA_OCI_MANIFEST, no_type).unwrap(),
            MEDIA_OCI_MANIFEST
        );
    }
}
