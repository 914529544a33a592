//! Deterministic test images built in memory: a gzip'd tar layer and a config per platform, one
//! manifest per platform, and an index (OCI) or manifest list (Docker) over them. A `salt` makes
//! a "rebuild" with different digests.

use std::io::Write as _;

use sha2::Digest as _;

/// Which family of media types to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// OCI index + OCI image manifests.
    Oci,
    /// Docker manifest list + schema 2 manifests.
    Docker,
}

/// One platform's image.
#[derive(Debug, Clone)]
pub struct PlatformImage {
    /// `linux/amd64`, `linux/arm64/v8`.
    pub platform: String,
    /// Manifest bytes exactly as pushed.
    pub manifest: Vec<u8>,
    /// The manifest's media type.
    pub media_type: &'static str,
    /// Config and layer blobs.
    pub blobs: Vec<Vec<u8>>,
}

impl PlatformImage {
    /// `sha256:<hex>` of the manifest bytes.
    pub fn digest(&self) -> String {
        sha256_digest(&self.manifest)
    }
}

/// A multi-platform image: children and the index over them.
#[derive(Debug, Clone)]
pub struct TestImage {
    /// The per-platform images (amd64, then arm64/v8).
    pub platforms: Vec<PlatformImage>,
    /// Index (or manifest list) bytes exactly as pushed.
    pub index: Vec<u8>,
    /// The index's media type.
    pub index_media_type: &'static str,
}

impl TestImage {
    /// Builds linux/amd64 and linux/arm64/v8 images; `salt` goes into the layer content.
    pub fn build(salt: &str, format: Format) -> Self {
        let (index_type, manifest_type, config_type, layer_type) = match format {
            Format::Oci => (
                "application/vnd.oci.image.index.v1+json",
                "application/vnd.oci.image.manifest.v1+json",
                "application/vnd.oci.image.config.v1+json",
                "application/vnd.oci.image.layer.v1.tar+gzip",
            ),
            Format::Docker => (
                "application/vnd.docker.distribution.manifest.list.v2+json",
                "application/vnd.docker.distribution.manifest.v2+json",
                "application/vnd.docker.container.image.v1+json",
                "application/vnd.docker.image.rootfs.diff.tar.gzip",
            ),
        };
        let mut platforms = Vec::new();
        let mut entries = Vec::new();
        for (arch, variant) in [("amd64", None), ("arm64", Some("v8"))] {
            let layer_tar = tar_with_file(
                "etc/hello",
                format!("hello from {arch} ({salt})\n").as_bytes(),
            );
            let diff_id = sha256_digest(&layer_tar);
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            gz.write_all(&layer_tar).expect("gzip in memory");
            let layer = gz.finish().expect("gzip in memory");
            let config = format!(
                r#"{{"architecture":"{arch}","os":"linux"{},"config":{{"Env":["PATH=/usr/bin:/bin"]}},"rootfs":{{"type":"layers","diff_ids":["{diff_id}"]}}}}"#,
                variant.map(|v| format!(r#","variant":"{v}""#)).unwrap_or_default()
            )
            .into_bytes();
            let manifest = format!(
                r#"{{"schemaVersion":2,"mediaType":"{manifest_type}","config":{{"mediaType":"{config_type}","digest":"{}","size":{}}},"layers":[{{"mediaType":"{layer_type}","digest":"{}","size":{}}}]}}"#,
                sha256_digest(&config),
                config.len(),
                sha256_digest(&layer),
                layer.len()
            )
            .into_bytes();
            entries.push(format!(
                r#"{{"mediaType":"{manifest_type}","digest":"{}","size":{},"platform":{{"architecture":"{arch}","os":"linux"{}}}}}"#,
                sha256_digest(&manifest),
                manifest.len(),
                variant.map(|v| format!(r#","variant":"{v}""#)).unwrap_or_default()
            ));
            platforms.push(PlatformImage {
                platform: match variant {
                    Some(v) => format!("linux/{arch}/{v}"),
                    None => format!("linux/{arch}"),
                },
                manifest,
                media_type: manifest_type,
                blobs: vec![config, layer],
            });
        }
        let index = format!(
            r#"{{"schemaVersion":2,"mediaType":"{index_type}","manifests":[{}]}}"#,
            entries.join(",")
        )
        .into_bytes();
        Self {
            platforms,
            index,
            index_media_type: index_type,
        }
    }

    /// `sha256:<hex>` of the index bytes.
    pub fn index_digest(&self) -> String {
        sha256_digest(&self.index)
    }
}

/// `sha256:<lowercase hex>` of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    let raw = sha2::Sha256::digest(bytes);
    let mut s = String::from("sha256:");
    for b in raw {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

fn tar_with_file(path: &str, content: &[u8]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_ustar();
    header.set_size(content.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(1_577_836_800);
    header.set_uid(0);
    header.set_gid(0);
    header.set_entry_type(tar::EntryType::Regular);
    builder
        .append_data(&mut header, path, content)
        .expect("tar in memory");
    builder.into_inner().expect("tar in memory")
}
