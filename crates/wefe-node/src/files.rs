//! How the node writes what it keeps: results, their companion charts,
//! commitment keys, models and the API token are private to the node's user.
//!
//! Every such file goes through [`write_private`]: mode 0600 from creation, in
//! a folder made 0700, written to a temporary file in the same folder, fsynced,
//! renamed into place, and the folder fsynced after the rename, so a crash
//! leaves either the old file or the whole new one, never a torn one, and no
//! other user of the host can read it at any point.
//!
//! ```no_run
//! # fn demo() -> anyhow::Result<()> {
//! wefe_node::files::write_private(std::path::Path::new("/var/lib/wefe/results/job-7.csv"), b"id\nc-1\n")?;
//! # Ok(()) }
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};

use alloy::primitives::{Address, B256};
use anyhow::{Context, Result};
use wefe_crypto::commitment::CommitmentKey;

use crate::runner::Artifact;

/// Creates `dir` (and missing parents) with mode 0700 and makes `dir` itself
/// 0700 if it already existed: the folders the node keeps results, keys and
/// datasets in are its own.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    create_dirs(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir)?.permissions().mode() & 0o777;
        if mode != 0o700 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
    }
    Ok(())
}

/// Creates `dir` and missing parents with mode 0700; an existing folder is
/// left as it is (e.g. a data dir the operator prepared).
pub fn create_dirs(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Writes `bytes` to `path` (replacing it) as described in the module docs.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    write(path, bytes, true)
}

/// [`write_private`] that never replaces an existing file (`AlreadyExists`).
pub fn create_private(path: &Path, bytes: &[u8]) -> Result<()> {
    write(path, bytes, false)
}

fn write(path: &Path, bytes: &[u8], replace: bool) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    // Missing folders are made 0700; an existing one is left as it is (a
    // token file may live in a folder the operator chose, such as /etc/wefe).
    create_dirs(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    // NamedTempFile creates its file with mode 0600 on unix.
    let mut tmp = tempfile::Builder::new()
        .prefix(".wefe-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    if replace {
        tmp.persist(path).map_err(|e| e.error).with_context(|| format!("cannot write {}", path.display()))?;
    } else {
        tmp.persist_noclobber(path)
            .map_err(|e| e.error)
            .with_context(|| format!("cannot create {}", path.display()))?;
    }
    // The rename is durable once the folder's entry is.
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("cannot sync {} after writing {}", dir.display(), path.display()))?;
    Ok(())
}

/// Writes `results/job-<id>.<ext>` (after its companion files `job-<id>-<name>`
/// and its commitment key `job-<id>.key`, so a result present is a result
/// complete), each with [`write_private`]; returns the artifact's path and the
/// key file's.
pub fn write_artifact(
    dir: &Path,
    id: u64,
    artifact: &Artifact,
    key: &CommitmentKey,
    me: Address,
    commitment: B256,
) -> Result<(PathBuf, PathBuf)> {
    // The node's own results folder: owner only, even when an older
    // version made it readable.
    private_dir(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for (name, bytes) in &artifact.extra {
        write_private(&dir.join(format!("job-{id}-{name}")), bytes)?;
    }
    let key_path = dir.join(format!("job-{id}.key"));
    let key_json = serde_json::json!({
        "scheme": "HMAC-SHA-256, wefe/result-commitment/v1",
        "job_id": id,
        "participant": me.to_checksum(None),
        "artifact": format!("job-{id}.{}", artifact.extension),
        "commitment": commitment.to_string(),
        "key": key.to_hex(),
        "shared": artifact.commitment_key.is_some(),
    });
    write_private(&key_path, format!("{key_json:#}\n").as_bytes())?;
    let path = dir.join(format!("job-{id}.{}", artifact.extension));
    write_private(&path, &artifact.bytes)?;
    Ok((path, key_path))
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn results_keys_and_charts_are_owner_only_in_an_owner_only_folder() {
        let root = tempfile::tempdir().unwrap();
        // A results folder left readable by an older version is tightened.
        let dir = root.path().join("results");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let artifact = Artifact {
            bytes: b"id\nc-1\n".to_vec(),
            extension: "csv",
            summary: serde_json::json!({}),
            extra: vec![("roc.png", b"png".to_vec())],
            commitment_key: None,
        };
        let key = CommitmentKey::random().unwrap();
        let (path, key_path) = write_artifact(&dir, 7, &artifact, &key, Address::ZERO, B256::ZERO).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), artifact.bytes);
        assert_eq!(mode(&dir), 0o700, "results folder");
        for file in [&path, &key_path, &dir.join("job-7-roc.png")] {
            assert_eq!(mode(file), 0o600, "{}", file.display());
        }
        // No temporary file is left behind.
        let names: Vec<String> =
            std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        assert_eq!(names.len(), 3, "{names:?}");

        // A new nested folder is created 0700 all the way.
        let nested = root.path().join("a/b/model.json");
        write_private(&nested, b"{}").unwrap();
        assert_eq!((mode(&root.path().join("a")), mode(&root.path().join("a/b"))), (0o700, 0o700));
        assert_eq!(mode(&nested), 0o600);

        // An existing folder of the operator's (where a token file was put)
        // is not changed.
        let shared = root.path().join("etc-wefe");
        std::fs::create_dir(&shared).unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o755)).unwrap();
        write_private(&shared.join("api-token"), b"t").unwrap();
        assert_eq!((mode(&shared), mode(&shared.join("api-token"))), (0o755, 0o600));
    }

    #[test]
    fn create_private_never_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("api-token");
        create_private(&path, b"first").unwrap();
        let err = create_private(&path, b"second").unwrap_err();
        assert!(
            err.chain().any(|c| c
                .downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::AlreadyExists)),
            "{err:#}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), b"first");
        write_private(&path, b"third").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"third");
        assert_eq!(mode(&path), 0o600);
    }
}
