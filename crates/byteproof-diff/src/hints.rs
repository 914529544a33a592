//! Fix hints: what usually causes each reason, and what to change so the bytes agree.

use crate::producer::Producer;
use crate::report::{Hint, ReasonFinding};
use crate::terms::Reason;

/// The hint for one reason, given both sides' producers.
pub(crate) fn hint_for(finding: &ReasonFinding, producers: [Producer; 2]) -> Option<String> {
    let pnpm = producers.contains(&Producer::Pnpm);
    let berry = producers.contains(&Producer::YarnBerry);
    let yarn1 = producers.contains(&Producer::YarnClassic);
    let only_pkg_json =
        !finding.entries.is_empty() && finding.entries.iter().all(|e| e.ends_with("package.json"));
    let text = match finding.code {
        Reason::GzipOs => {
            "The gzip OS byte comes from the compressor: npm writes 255 (portable), Node's createGzip (pnpm, yarn) writes the host's code (3 Unix, 19 macOS, 10 Windows). Pack with the same tool on the same OS family."
        }
        Reason::GzipXfl => {
            "XFL records the compression level (2 = level 9, as npm uses; 0 = default). Use the same packer, or pnpm's --pack-gzip-level to match."
        }
        Reason::GzipMtime | Reason::GzipName => {
            "A gzip MTIME or file name means the tarball was compressed by plain `gzip`; use `gzip -n`, or publish the packer's own output."
        }
        Reason::GzipExtra | Reason::GzipComment => {
            "Extra gzip fields or flags were written by a tool other than the packer; publish the packer's own .tgz unmodified."
        }
        Reason::DeflateStream => {
            "Same tar, different deflate stream: the zlib build differs (Node version, a distribution Node built with --shared-zlib, zlib-ng). Pin the Node image by digest and the packer version in the release job."
        }
        Reason::GzipMembers | Reason::TrailingData => {
            "Several gzip members or bytes after the end come from concatenation or a tool that appends; publish the packer's own .tgz unmodified."
        }
        Reason::HeaderEncoding => {
            "The same values are encoded differently in the tar headers (node-tar writes NUL-filled uid/gid, tar-stream writes `000000 \\0`): pack both sides with the same packer."
        }
        Reason::EntryOrder => {
            "Entry order is the packer's: npm and pnpm sort by extension then name, yarn berry by byte order, yarn classic by readdir. Pack with the same tool."
        }
        Reason::ExecBit if pnpm || berry => {
            "pnpm and yarn berry set 0755 only on `bin` files and ignore the disk mode: list other executables in `publishConfig.executableFiles`."
        }
        Reason::ExecBit => {
            "npm keeps disk modes except for root-level bins (npm/cli#7762): commit the executable bit (`git update-index --chmod=+x FILE`) or declare the file in `bin`; with pnpm use `publishConfig.executableFiles`."
        }
        Reason::Mode => {
            "npm and yarn classic keep file modes from disk (npm applies `(mode | 0600) & ~022`): make checkouts agree on modes (umask, core.fileMode), or pack with pnpm/yarn berry, which normalise modes."
        }
        Reason::Uid | Reason::Gid | Reason::Uname | Reason::Gname => {
            "Owner fields were written by a tar tool outside portable mode; pack with `npm pack` (which leaves them empty) instead of `tar czf`."
        }
        Reason::Mtime if yarn1 => {
            "yarn classic writes file mtimes from disk, so every checkout differs: pack with npm or pnpm, which write the fixed 1985-10-26 date."
        }
        Reason::Mtime => {
            "Entry mtimes differ: they come from the file system (yarn classic, npm <= 5.6, plain tar) or a packer constant (1985-10-26 npm/pnpm, 1984-06-22 yarn berry). Pack with npm or pnpm on both sides."
        }
        Reason::EntryType => {
            "An entry changed kind (file, directory, symlink): check for symlinks or generated folders in the source tree."
        }
        Reason::DirEntries => {
            "Directory entries are written by yarn classic and plain tar, not by npm, pnpm or yarn berry: pack with the same tool."
        }
        Reason::Pax => {
            "PAX records (atime, ctime, xattrs) come from GNU or BSD tar: pack with `npm pack`, or use `tar --format=ustar`."
        }
        Reason::Crlf => {
            "Line endings differ: a checkout with core.autocrlf=true (Windows). Add `* text=auto eol=lf` to .gitattributes."
        }
        Reason::EofNewline if only_pkg_json => {
            "pnpm and yarn berry re-serialise package.json without a final newline; npm packs it as is. Pack with the same tool."
        }
        Reason::EofNewline => {
            "The final newline differs: an editor or formatter changed it; enforce `insert_final_newline` in .editorconfig or run the same formatter before packing."
        }
        Reason::TrailingWhitespace => {
            "Trailing whitespace differs: run the same formatter (or build step) on both sides before packing."
        }
        Reason::JsonFormat if only_pkg_json => {
            "package.json was re-serialised (pnpm and yarn berry write 2-space JSON without a final newline, pnpm may move keys); npm packs it byte for byte. Pack with the same tool."
        }
        Reason::JsonFormat => {
            "A JSON file was re-serialised with the same value: a build step or formatter differs between the two builds."
        }
        Reason::Modified => {
            "File contents differ: build both sides from the same commit and lockfile; compare build outputs (dist/) first."
        }
        Reason::Added | Reason::Removed => {
            "The file lists differ: check `files`, .npmignore and build outputs; compare `npm pack --dry-run` on both sides."
        }
    };
    Some(text.to_owned())
}

/// Hints for every finding, one per reason.
pub(crate) fn hints(findings: &[ReasonFinding], producers: [Producer; 2]) -> Vec<Hint> {
    findings
        .iter()
        .filter_map(|f| {
            hint_for(f, producers).map(|text| Hint {
                reason: f.code,
                text,
            })
        })
        .collect()
}
