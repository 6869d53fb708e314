//! CSV import: validates a CSV file as it streams past, keeps a byte-for-byte
//! copy in `<data_dir>/datasets/`, and records its metadata (row count, schema
//! and content hashes) in the store. Only the hashes ever go on chain.
//!
//! What is checked, each error naming the line (and column where it applies):
//! a header line is present; its column names are valid UTF-8, non-empty and
//! distinct (after trimming); the id column is among them; every row has the
//! header's number of fields; every field is UTF-8; ids are non-empty and unique
//! (compared byte for byte, as written). Empty lines are skipped. Errors never
//! repeat the file's content (a path import may name a file that is no CSV at
//! all, say a key file, and the error goes back to the client): they say what
//! is wrong and where, by line, column number and the id column's name.
//!
//! Path imports ([`import_file`]) read only regular files under the import
//! root: the path is resolved (symlinks included) before it is opened, the
//! file opened is checked to be the one resolved, and FIFOs, devices,
//! sockets and folders are refused without being read.
//!
//! Hashes (lowercase `0x`-hex SHA-256):
//! - `content_hash`: of the stored file, i.e. of the bytes as uploaded, so
//!   `sha256sum <data_dir>/datasets/<id>.csv` gives the same value;
//! - `schema_hash`: of the *canonical header*: the column names, each trimmed of
//!   surrounding whitespace, joined by `,` with no spaces, in file order, as
//!   UTF-8 (`id, age ,city` → `id,age,city`). Quoting is not part of the
//!   canonical form, so a name that itself contains `,` is not distinguished
//!   from two names.
//!
//! The file is written to a temporary file in the same folder and renamed into
//! place only after the whole input validated; an existing dataset is never
//! overwritten. A failed import leaves neither a file nor a record behind.
//!
//! ```no_run
//! # async fn demo(store: wefe_store::Store) -> Result<(), wefe_node::datasets::ImportError> {
//! use wefe_node::datasets::{ImportRequest, import_file};
//! let request = ImportRequest::new("bank-a-customers", None)?;
//! let root = std::path::Path::new("/srv/wefe-imports");
//! let record = import_file(store, "/var/lib/wefe".into(), request, root, "customers.csv".as_ref()).await?;
//! println!("{} rows, schema {}", record.row_count, record.schema_hash);
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use wefe_core::DatasetId;
use wefe_store::{DatasetRecord, Store, StoreError};

/// The id column when none is named.
pub const DEFAULT_ID_COLUMN: &str = "id";

/// Longest id accepted (PSI, alignment and online prediction compare ids
/// byte for byte).
pub const MAX_ID_BYTES: usize = 256;

/// Why an import failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The request or the CSV content is invalid (the message names line and column).
    #[error("{0}")]
    Invalid(String),
    /// The path may not be imported (outside the import root, or path
    /// imports are disabled).
    #[error("{0}")]
    Refused(String),
    /// A dataset with this id already exists (record or file).
    #[error("{0}")]
    Exists(String),
    /// The upload exceeded the size limit.
    #[error("{0}")]
    TooLarge(String),
    /// The node could not write or record the dataset.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The I/O error.
        source: io::Error,
    },
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

type Result<T, E = ImportError> = std::result::Result<T, E>;

fn invalid(message: impl Into<String>) -> ImportError {
    ImportError::Invalid(message.into())
}

fn io_err(context: impl Into<String>) -> impl FnOnce(io::Error) -> ImportError {
    let context = context.into();
    move |source| ImportError::Io { context, source }
}

/// What to import: a dataset id (checked as a [`DatasetId`]) and the id column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRequest {
    id: DatasetId,
    id_column: String,
}

impl ImportRequest {
    /// Checks the id; `id_column` defaults to [`DEFAULT_ID_COLUMN`] when absent or blank.
    pub fn new(dataset_id: &str, id_column: Option<&str>) -> Result<Self> {
        let id = DatasetId::parse(dataset_id).map_err(|e| invalid(e.to_string()))?;
        let id_column = id_column.map(str::trim).filter(|c| !c.is_empty()).unwrap_or(DEFAULT_ID_COLUMN);
        Ok(Self { id, id_column: id_column.to_owned() })
    }

    /// The dataset id in canonical text form (the key in the store).
    pub fn dataset_id(&self) -> String {
        self.id.to_string()
    }

    /// The id column name.
    pub fn id_column(&self) -> &str {
        &self.id_column
    }
}

/// Where a dataset's file lives: `<data_dir>/datasets/<id>.csv`. Ids made of
/// `[A-Za-z0-9._-]` (not starting with `.`) are used as they are; any other id
/// (e.g. `a/b`, `../x`) is written as its 32 bytes in hex (`0x….csv`), so no id
/// can name a path outside the folder. Names never start with `0x`, so the two
/// forms cannot collide.
pub fn dataset_path(data_dir: &Path, id: &DatasetId) -> PathBuf {
    let text = id.to_string();
    let plain =
        !text.starts_with('.') && text.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    let name = if plain { text } else { format!("0x{}", hex::encode(id.to_bytes())) };
    datasets_dir(data_dir).join(format!("{name}.csv"))
}

fn datasets_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("datasets")
}

/// Imports the CSV file at `path` (relative paths are relative to
/// `import_root`), which must be a regular file under `import_root` once every
/// symlink is resolved (see [`open_under`]).
pub async fn import_file(
    store: Store,
    data_dir: PathBuf,
    request: ImportRequest,
    import_root: &Path,
    path: &Path,
) -> Result<DatasetRecord> {
    if store.dataset(&request.dataset_id()).await.map_err(ImportError::Store)?.is_some() {
        return Err(exists(&request));
    }
    let (root, path) = (import_root.to_owned(), path.to_owned());
    let file = tokio::task::spawn_blocking(move || open_under(&root, &path))
        .await
        .map_err(|e| ImportError::Io { context: "import task failed".into(), source: io::Error::other(e) })??;
    import(store, data_dir, request, file).await
}

/// Opens `path` for reading if it is a regular file under `root` (relative
/// paths are taken from `root`). Refused, without reading anything: a path
/// outside the root, lexically or once symlinks are resolved; a folder, FIFO,
/// device or socket. The file opened is checked to be the one that was
/// resolved, so swapping in a symlink meanwhile does not lead elsewhere.
pub fn open_under(root: &Path, path: &Path) -> Result<std::fs::File> {
    let shown = path.display();
    let outside = || ImportError::Refused(format!("{shown} is not under the import folder"));
    let canonical_root = root.canonicalize().map_err(io_err(format!("import folder {}", root.display())))?;
    let requested = lexical(&root.join(path));
    // Refused before touching the file system: no probing of files elsewhere.
    if !requested.starts_with(lexical(root)) && !requested.starts_with(&canonical_root) {
        return Err(outside());
    }
    let not_found = |e: io::Error| invalid(format!("cannot read {shown}: {}", io_reason(&e)));
    let resolved = requested.canonicalize().map_err(not_found)?;
    if !resolved.starts_with(&canonical_root) {
        return Err(outside());
    }
    let meta = std::fs::metadata(&resolved).map_err(not_found)?;
    check_regular(&meta, &shown.to_string())?;

    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // No blocking on a FIFO swapped in meanwhile; no following a symlink.
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW);
    }
    let file = options.open(&resolved).map_err(not_found)?;
    let opened = file.metadata().map_err(not_found)?;
    check_regular(&opened, &shown.to_string())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if (opened.dev(), opened.ino()) != (meta.dev(), meta.ino()) {
            return Err(invalid(format!("cannot read {shown}: it changed while being opened")));
        }
    }
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // Where the descriptor really points (a folder on the way may have
        // been swapped); without /proc that cannot be told, and the import
        // is refused rather than trusted.
        match std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())) {
            Ok(actual) if actual.starts_with(&canonical_root) => {}
            Ok(_) => return Err(outside()),
            Err(_) => {
                return Err(invalid(format!(
                    "cannot read {shown}: where the opened file lies cannot be checked (is /proc mounted?)"
                )));
            }
        }
    }
    Ok(file)
}

fn check_regular(meta: &std::fs::Metadata, shown: &str) -> Result<()> {
    let kind = meta.file_type();
    if kind.is_file() {
        return Ok(());
    }
    let what = if kind.is_dir() { "a folder" } else { "not a regular file (a FIFO, device or socket)" };
    Err(invalid(format!("cannot import {shown}: it is {what}")))
}

/// An I/O error's reason without the OS's decoration (`(os error 2)`).
fn io_reason(e: &io::Error) -> String {
    let text = e.to_string();
    text.split(" (os error").next().unwrap_or(&text).to_owned()
}

/// `path` with `.` and `..` resolved by name (no file-system access).
fn lexical(path: &Path) -> PathBuf {
    use std::path::Component;
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let mut out = PathBuf::new();
    for part in absolute.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Imports CSV read from `source` (run on a blocking thread: `source` may block).
/// Read errors of kind [`io::ErrorKind::FileTooLarge`] become [`ImportError::TooLarge`],
/// other read errors [`ImportError::Invalid`].
pub async fn import<R: Read + Send + 'static>(
    store: Store,
    data_dir: PathBuf,
    request: ImportRequest,
    source: R,
) -> Result<DatasetRecord> {
    let dataset_id = request.dataset_id();
    // Refuse early, before reading anything, when the id is taken.
    if store.dataset(&dataset_id).await.map_err(ImportError::Store)?.is_some() {
        return Err(exists(&request));
    }
    let dir = datasets_dir(&data_dir);
    crate::files::private_dir(&dir).map_err(io_err(format!("cannot create {}", dir.display())))?;

    let id_column = request.id_column.clone();
    let spool_dir = dir.clone();
    let spooled = tokio::task::spawn_blocking(move || spool(source, &spool_dir, &id_column))
        .await
        .map_err(|e| ImportError::Io { context: "import task failed".into(), source: io::Error::other(e) })??;

    let target = dataset_path(&data_dir, &request.id);
    let target = std::path::absolute(&target).unwrap_or(target);
    match spooled.file.persist_noclobber(&target) {
        Ok(_) => {}
        Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => {
            return Err(ImportError::Exists(format!(
                "dataset {dataset_id} already exists: {} is present (left by an interrupted import if the \
                 dataset is not listed; remove it to import again)",
                target.display()
            )));
        }
        Err(e) => return Err(io_err(format!("cannot write {}", target.display()))(e.error)),
    }
    sync_dir(&dir);

    let record = DatasetRecord {
        dataset_id,
        path: target.display().to_string(),
        id_column: request.id_column.clone(),
        columns: serde_json::to_string(&spooled.columns).expect("strings serialise"),
        row_count: spooled.rows,
        schema_hash: spooled.schema_hash,
        content_hash: spooled.content_hash,
        imported_at: now(),
    };
    if let Err(e) = store.insert_dataset(&record).await {
        // The record is the source of truth: without it, the file must not stay.
        if let Err(rm) = std::fs::remove_file(&target) {
            tracing::error!(path = %target.display(), error = %rm, "cannot remove the file of a failed import");
        }
        return Err(match e {
            StoreError::Conflict(_) => exists(&request),
            other => ImportError::Store(other),
        });
    }
    tracing::info!(dataset = %record.dataset_id, rows = record.row_count, path = %record.path, "dataset imported");
    Ok(record)
}

fn exists(request: &ImportRequest) -> ImportError {
    ImportError::Exists(format!("dataset {} already exists", request.dataset_id()))
}

/// Makes a rename durable (best effort: not every platform can sync a folder).
fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// A validated input, written to a temporary file next to its destination.
struct Spooled {
    file: tempfile::NamedTempFile,
    columns: Vec<String>,
    rows: u64,
    schema_hash: String,
    content_hash: String,
}

/// Copies everything read into the spool file and the content hash.
struct Tee<'f, R> {
    source: R,
    out: BufWriter<&'f std::fs::File>,
    hasher: Sha256,
    /// A failure to write the copy (the node's fault, not the input's).
    write_error: Option<io::Error>,
}

impl<R: Read> Read for Tee<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.source.read(buf)?;
        self.hasher.update(&buf[..n]);
        if let Err(e) = self.out.write_all(&buf[..n]) {
            self.write_error = Some(e);
            return Err(io::Error::other("cannot write the dataset copy"));
        }
        Ok(n)
    }
}

fn hex_hash(digest: impl AsRef<[u8]>) -> String {
    format!("0x{}", hex::encode(digest))
}

/// The canonical header whose SHA-256 is the schema hash (see the module docs).
pub fn canonical_header<S: AsRef<str>>(columns: &[S]) -> String {
    columns.iter().map(|c| c.as_ref().trim()).collect::<Vec<_>>().join(",")
}

fn utf8(field: &[u8], line: u64, column: usize) -> Result<&str> {
    std::str::from_utf8(field).map_err(|_| invalid(format!("line {line}, column {column}: not valid UTF-8")))
}

fn spool<R: Read>(source: R, dir: &Path, id_column: &str) -> Result<Spooled> {
    let file = tempfile::Builder::new()
        .prefix(".import-")
        .suffix(".csv.part")
        .tempfile_in(dir)
        .map_err(io_err(format!("cannot create a temporary file in {}", dir.display())))?;
    let (columns, rows, content_hash) = check_and_copy(source, file.as_file(), id_column)?;
    file.as_file().sync_all().map_err(io_err("cannot sync the dataset copy"))?;
    let schema_hash = hex_hash(Sha256::digest(canonical_header(&columns).as_bytes()));
    Ok(Spooled { file, columns, rows, schema_hash, content_hash })
}

/// Validates `source` while copying it to `out`: the columns, the row count and the content hash.
fn check_and_copy<R: Read>(source: R, out: &std::fs::File, id_column: &str) -> Result<(Vec<String>, u64, String)> {
    let tee = Tee { source, out: BufWriter::new(out), hasher: Sha256::new(), write_error: None };
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(tee);
    let mut record = csv::ByteRecord::new();

    if !next_record(&mut reader, &mut record)? {
        return Err(invalid("line 1: no header (the file is empty)"));
    }
    let header_line = line_of(&record);
    let mut columns = Vec::with_capacity(record.len());
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, field) in record.iter().enumerate() {
        let name = utf8(field, header_line, i + 1)?.trim();
        if name.is_empty() {
            return Err(invalid(format!("line {header_line}, column {}: empty column name", i + 1)));
        }
        if let Some(first) = seen.insert(name, i + 1) {
            return Err(invalid(format!(
                "line {header_line}, column {}: duplicate column name (same as column {first})",
                i + 1
            )));
        }
        columns.push(name.to_owned());
    }
    drop(seen);
    let Some(id_index) = columns.iter().position(|c| c == id_column) else {
        // The header is not repeated: it may be the first line of a file that is no CSV.
        let noun = if columns.len() == 1 { "column" } else { "columns" };
        return Err(invalid(format!(
            "line {header_line}: no id column '{id_column}' in the header ({} {noun})",
            columns.len()
        )));
    };

    // The one thing held in memory: each id and the line it was first seen on.
    let mut ids: HashMap<Box<[u8]>, u64> = HashMap::new();
    let mut rows = 0u64;
    while next_record(&mut reader, &mut record)? {
        let line = line_of(&record);
        if record.len() != columns.len() {
            let noun = if record.len() == 1 { "field" } else { "fields" };
            return Err(invalid(format!("line {line}: {} {noun}, header has {}", record.len(), columns.len())));
        }
        for (i, field) in record.iter().enumerate() {
            utf8(field, line, i + 1)?;
        }
        let id = &record[id_index];
        if id.iter().all(u8::is_ascii_whitespace) {
            return Err(invalid(format!("line {line}, column {}: empty id in column '{id_column}'", id_index + 1)));
        }
        // Ids are matched byte for byte across institutions: " 42" would
        // silently miss "42", and a line break would split a result file.
        let column = id_index + 1;
        if id.len() > MAX_ID_BYTES {
            return Err(invalid(format!("line {line}, column {column}: id longer than {MAX_ID_BYTES} bytes")));
        }
        if id.first().is_some_and(u8::is_ascii_whitespace) || id.last().is_some_and(u8::is_ascii_whitespace) {
            return Err(invalid(format!("line {line}, column {column}: id with leading or trailing spaces")));
        }
        if id.iter().any(|b| matches!(b, b'\n' | b'\r')) {
            return Err(invalid(format!("line {line}, column {column}: id with a line break")));
        }
        match ids.entry(id.into()) {
            Entry::Occupied(first) => {
                return Err(invalid(format!(
                    "line {line}, column {column}: duplicate id (first on line {})",
                    first.get()
                )));
            }
            Entry::Vacant(slot) => {
                slot.insert(line);
            }
        }
        rows += 1;
    }
    if rows == 0 {
        return Err(invalid(format!("no data rows after the header on line {header_line}")));
    }
    drop(ids);

    let mut tee = reader.into_inner();
    // The CSV reader stops at end of input; make sure every byte is in the copy and the hash.
    io::copy(&mut tee, &mut io::sink()).map_err(|e| read_error_io(&mut tee, e))?;
    tee.out.flush().map_err(io_err("cannot write the dataset copy"))?;
    Ok((columns, rows, hex_hash(tee.hasher.finalize())))
}

fn next_record<R: Read>(reader: &mut csv::Reader<Tee<'_, R>>, record: &mut csv::ByteRecord) -> Result<bool> {
    reader.read_byte_record(record).map_err(|e| read_error(reader.get_mut(), e))
}

fn line_of(record: &csv::ByteRecord) -> u64 {
    record.position().map(|p| p.line()).unwrap_or(0)
}

fn read_error<R>(tee: &mut Tee<'_, R>, e: csv::Error) -> ImportError {
    if !e.is_io_error() {
        return invalid(format!("cannot parse the CSV: {e}"));
    }
    match e.into_kind() {
        csv::ErrorKind::Io(io) => read_error_io(tee, io),
        // Not `Debug`: a deserialisation error may carry a field's value.
        _ => invalid("cannot parse the CSV"),
    }
}

fn read_error_io<R>(tee: &mut Tee<'_, R>, e: io::Error) -> ImportError {
    if let Some(write) = tee.write_error.take() {
        return ImportError::Io { context: "cannot write the dataset copy".into(), source: write };
    }
    match e.kind() {
        io::ErrorKind::FileTooLarge => ImportError::TooLarge(e.to_string()),
        _ => invalid(format!("cannot read the CSV: {e}")),
    }
}

/// One message from an upload to the importer.
#[derive(Debug)]
pub enum Chunk {
    /// More bytes.
    Data(axum::body::Bytes),
    /// The upload ended normally.
    End,
    /// The upload failed (use [`io::ErrorKind::FileTooLarge`] for the size limit).
    Failed(io::Error),
}

/// A blocking [`Read`] over chunks sent from async code: how an HTTP upload
/// reaches [`import`] without being held in memory. The input is complete only
/// after [`Chunk::End`]; a sender dropped before that (a cancelled request) is
/// an error, so a truncated upload is never imported.
#[derive(Debug)]
pub struct ChunkReader {
    rx: mpsc::Receiver<Chunk>,
    current: axum::body::Bytes,
    done: bool,
}

/// A channel of `capacity` chunks into a [`ChunkReader`].
pub fn upload_channel(capacity: usize) -> (mpsc::Sender<Chunk>, ChunkReader) {
    let (tx, rx) = mpsc::channel(capacity);
    (tx, ChunkReader { rx, current: axum::body::Bytes::new(), done: false })
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            if self.done {
                return Ok(0);
            }
            match self.rx.blocking_recv() {
                Some(Chunk::Data(bytes)) => self.current = bytes,
                Some(Chunk::End) => self.done = true,
                Some(Chunk::Failed(e)) => return Err(e),
                None => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the upload ended early")),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_header_trims_and_joins() {
        assert_eq!(canonical_header(&[" id", "age ", " city "]), "id,age,city");
    }

    #[test]
    fn ids_that_are_not_plain_names_become_hex_file_names() {
        let dir = Path::new("/d");
        let plain = DatasetId::parse("bank-a_v1.2").unwrap();
        assert_eq!(dataset_path(dir, &plain), Path::new("/d/datasets/bank-a_v1.2.csv"));
        for odd in ["../x", "a/b", ".hidden"] {
            let path = dataset_path(dir, &DatasetId::parse(odd).unwrap());
            assert_eq!(path.parent().unwrap(), Path::new("/d/datasets"), "{odd}");
            assert!(path.file_name().unwrap().to_str().unwrap().starts_with("0x"), "{odd}");
        }
    }

    #[test]
    fn validation_names_lines_and_columns() {
        let dir = tempfile::tempdir().unwrap();
        let check = |csv: &[u8]| spool(csv, dir.path(), "id").err().map(|e| e.to_string());
        assert_eq!(check(b""), Some("line 1: no header (the file is empty)".into()));
        assert_eq!(check(b"id,a\n"), Some("no data rows after the header on line 1".into()));
        assert_eq!(check(b"id,a\n1,x\n2\n"), Some("line 3: 1 field, header has 2".into()));
        assert_eq!(check(b"id,a\n1,\xff\n"), Some("line 2, column 2: not valid UTF-8".into()));
        assert!(check(b"id,a\n1,\"x\ny\"\n2,z\n").is_none(), "quoted newlines are one field");
        // After a multi-line field, lines keep counting from the file's start.
        assert_eq!(check(b"id,a\n1,\"x\ny\"\n1,z\n"), Some("line 4, column 1: duplicate id (first on line 2)".into()));
        // Nothing is left in the folder after a failure.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn the_copy_is_byte_for_byte_and_hashed() {
        let dir = tempfile::tempdir().unwrap();
        let input = b"\xef\xbb\xbfid , age\r\nc-1,30\r\n\r\nc-2,41";
        let spooled = spool(&input[..], dir.path(), "id").unwrap();
        assert_eq!(spooled.columns, ["id", "age"]);
        assert_eq!(spooled.rows, 2);
        assert_eq!(std::fs::read(spooled.file.path()).unwrap(), input);
        assert_eq!(spooled.content_hash, hex_hash(Sha256::digest(input)));
        assert_eq!(spooled.schema_hash, hex_hash(Sha256::digest(b"id,age")));
    }

    #[test]
    fn a_chunk_reader_needs_an_end() {
        let (tx, mut reader) = upload_channel(4);
        tx.try_send(Chunk::Data(axum::body::Bytes::from_static(b"ab"))).unwrap();
        tx.try_send(Chunk::Data(axum::body::Bytes::from_static(b"c"))).unwrap();
        tx.try_send(Chunk::End).unwrap();
        let mut out = String::new();
        reader.read_to_string(&mut out).unwrap();
        assert_eq!(out, "abc");

        let (tx, mut reader) = upload_channel(4);
        tx.try_send(Chunk::Data(axum::body::Bytes::from_static(b"ab"))).unwrap();
        drop(tx);
        let err = reader.read_to_string(&mut String::new()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }
}
