//! Reading desired-state files from disk.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::tree::{human_size, limits};

/// One desired-state file: its name as the user wrote it, and its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceFile {
    /// The path as the user wrote it (for a file found in a directory: the directory as
    /// written, joined with the file's name). Messages name the file this way.
    pub name: String,
    /// The file's text.
    pub text: String,
}

impl SourceFile {
    /// A source from a name and a text, e.g. for tests or standard input.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        SourceFile { name: name.into(), text: text.into() }
    }
}

/// Why the desired-state files could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file or directory could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path as the user wrote it.
        path: String,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The file is larger than roster reads.
    #[error(
        "{path} is {}, larger than the {} limit; split the users across several files",
        human_size(*size),
        human_size(limits::MAX_FILE_BYTES as u64)
    )]
    TooLarge {
        /// The path as the user wrote it.
        path: String,
        /// The file's size in bytes.
        size: u64,
    },
    /// The file is not UTF-8 text. Nothing of its content is quoted: it may be a key or
    /// a token given by mistake.
    #[error("{path}:{line}:{column}: not UTF-8 text (an invalid byte here); roster reads UTF-8 YAML")]
    NotUtf8 {
        /// The path as the user wrote it.
        path: String,
        /// The offset of the first invalid byte.
        offset: usize,
        /// One-based line of the first invalid byte.
        line: usize,
        /// One-based column (in characters) of the first invalid byte.
        column: usize,
    },
    /// The path is not a regular file: a FIFO, a device, a socket, or a file of a special
    /// filesystem such as `/proc`, whose content is not a stored file.
    #[error("{path} is {what}, not a regular file; roster reads only regular files")]
    NotRegular {
        /// The path as the user wrote it.
        path: String,
        /// What it is instead.
        what: &'static str,
    },
    /// A directory holds no desired-state file.
    #[error("directory {path} holds no .yaml or .yml file")]
    EmptyDirectory {
        /// The path as the user wrote it.
        path: String,
    },
}

/// Reads desired-state files. A directory stands for the `*.yaml` and `*.yml` files
/// directly in it (any letter case: `TEAM.YAML` too), sorted by name; subdirectories are
/// not read, and a warning names each one that holds such files, since users missing
/// from the run would be planned for deactivation. A file named twice (also
/// through a directory) is read once. Files larger than 32 MiB are refused before they
/// are read.
pub fn read_sources(paths: &[PathBuf]) -> Result<Vec<SourceFile>, ReadError> {
    let mut seen = HashSet::new();
    let mut sources = Vec::new();
    for path in paths {
        let written = path.display().to_string();
        let metadata =
            std::fs::metadata(path).map_err(|source| ReadError::Io { path: written.clone(), source })?;
        if !metadata.is_dir() {
            regular(&written, &metadata)?;
        }
        if metadata.is_dir() {
            let mut files = Vec::new();
            let entries =
                std::fs::read_dir(path).map_err(|source| ReadError::Io { path: written.clone(), source })?;
            let mut skipped_dirs = Vec::new();
            for entry in entries {
                let entry = entry.map_err(|source| ReadError::Io { path: written.clone(), source })?;
                let file_path = entry.path();
                // Follows symbolic links. An entry that cannot be looked at (a broken or
                // looping link, no permission) fails the run when it could be a
                // desired-state file: skipping it would plan its users for deactivation.
                let metadata = match std::fs::metadata(&file_path) {
                    Ok(metadata) => metadata,
                    Err(source) if is_yaml(&file_path) => {
                        return Err(ReadError::Io { path: file_path.display().to_string(), source });
                    }
                    Err(_) => continue,
                };
                if metadata.is_dir() {
                    if holds_yaml(&file_path) {
                        skipped_dirs.push(file_path);
                    }
                } else if is_yaml(&file_path) {
                    regular(&file_path.display().to_string(), &metadata)?;
                    files.push(file_path);
                }
            }
            skipped_dirs.sort();
            for dir in skipped_dirs {
                tracing::warn!(
                    "not reading {}: the files of a directory are read, not those of its subdirectories; \
                     name it too if its users belong to this run",
                    dir.display()
                );
            }
            if files.is_empty() {
                return Err(ReadError::EmptyDirectory { path: written });
            }
            files.sort();
            for file in files {
                read_one(&file, &mut seen, &mut sources)?;
            }
        } else {
            read_one(path, &mut seen, &mut sources)?;
        }
    }
    Ok(sources)
}

/// Refuses anything but a regular file, and the files of special filesystems
/// (`/proc`, `/sys`, `/dev`), whose "files" are generated (`/proc/self/environ` holds the
/// process's tokens) or are devices.
fn regular(written: &str, metadata: &std::fs::Metadata) -> Result<(), ReadError> {
    use std::os::unix::fs::FileTypeExt;
    let file_type = metadata.file_type();
    let what = if file_type.is_fifo() {
        "a FIFO"
    } else if file_type.is_socket() {
        "a socket"
    } else if file_type.is_block_device() || file_type.is_char_device() {
        "a device"
    } else if !file_type.is_file() {
        "not a file"
    } else {
        let canonical = std::fs::canonicalize(written).unwrap_or_else(|_| PathBuf::from(written));
        if ["/proc", "/sys", "/dev"].iter().any(|special| canonical.starts_with(special)) {
            "a file of a special filesystem"
        } else {
            return Ok(());
        }
    };
    Err(ReadError::NotRegular { path: written.to_owned(), what })
}

/// A `*.yaml` or `*.yml` name, in any letter case.
fn is_yaml(path: &Path) -> bool {
    path.extension()
        .and_then(|ext| ext.to_str())
        .is_some_and(|ext| ext.eq_ignore_ascii_case("yaml") || ext.eq_ignore_ascii_case("yml"))
}

/// Whether a directory directly holds a `*.yaml` or `*.yml` file.
fn holds_yaml(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| entries.flatten().any(|entry| is_yaml(&entry.path())))
}

fn read_one(
    path: &Path,
    seen: &mut HashSet<PathBuf>,
    sources: &mut Vec<SourceFile>,
) -> Result<(), ReadError> {
    let written = path.display().to_string();
    let io_error = |source| ReadError::Io { path: written.clone(), source };
    let identity = std::fs::canonicalize(path).map_err(io_error)?;
    if !seen.insert(identity) {
        return Ok(());
    }
    let file = std::fs::File::open(path).map_err(io_error)?;
    let size = file.metadata().map_err(io_error)?.len();
    let cap = limits::MAX_FILE_BYTES as u64;
    if size > cap {
        return Err(ReadError::TooLarge { path: written, size });
    }
    // The file may grow between the check and the read: never read more than the cap.
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(cap + 1).read_to_end(&mut bytes).map_err(io_error)?;
    if bytes.len() as u64 > cap {
        return Err(ReadError::TooLarge { path: written, size: bytes.len() as u64 });
    }
    // A file that yields more than its size said is generated, not stored.
    if bytes.len() as u64 > size && size == 0 {
        return Err(ReadError::NotRegular { path: written, what: "a file of a special filesystem" });
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let valid = std::str::from_utf8(&e.as_bytes()[..offset]).unwrap_or_default();
        let line_start = valid.rfind(['\n', '\r']).map_or(0, |i| i + 1);
        let line =
            1 + valid.matches('\n').count() + valid.matches('\r').count() - valid.matches("\r\n").count();
        let column = valid[line_start..].chars().count() + 1;
        ReadError::NotUtf8 { path: written.clone(), offset, line, column }
    })?;
    sources.push(SourceFile { name: written, text });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_expands_to_sorted_yaml_files() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.yml", "a.yaml", "notes.txt", "c.yaml.bak", "D.YAML"] {
            std::fs::write(dir.path().join(name), "version: 1\n").unwrap();
        }
        std::fs::create_dir(dir.path().join("sub.yaml")).unwrap();
        let sources = read_sources(&[dir.path().to_path_buf()]).unwrap();
        let names: Vec<_> =
            sources.iter().map(|s| Path::new(&s.name).file_name().unwrap().to_owned()).collect();
        assert_eq!(names, ["D.YAML", "a.yaml", "b.yml"]);
        assert!(sources[0].name.starts_with(&dir.path().display().to_string()));
    }

    #[test]
    fn a_file_named_twice_is_read_once() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("users.yaml");
        std::fs::write(&file, "version: 1\n").unwrap();
        let sources = read_sources(&[file.clone(), dir.path().to_path_buf(), file]).unwrap();
        assert_eq!(sources.len(), 1);
    }

    #[test]
    fn oversized_file_is_refused_without_reading_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("huge.yaml");
        // A sparse file: 50 MiB long, nothing written.
        std::fs::File::create(&file).unwrap().set_len(50 * 1024 * 1024).unwrap();
        let error = read_sources(std::slice::from_ref(&file)).unwrap_err();
        assert!(matches!(error, ReadError::TooLarge { size, .. } if size == 50 * 1024 * 1024));
        assert_eq!(
            error.to_string(),
            format!(
                "{} is 50.0 MiB, larger than the 32.0 MiB limit; split the users across several files",
                file.display()
            )
        );
    }

    #[test]
    fn missing_file_names_the_path() {
        let error = read_sources(&[PathBuf::from("no/such/users.yaml")]).unwrap_err();
        assert!(error.to_string().starts_with("cannot read no/such/users.yaml: "), "{error}");
    }

    #[test]
    fn non_utf8_file_names_the_offset() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("latin1.yaml");
        std::fs::write(&file, b"version: 1\n# caf\xe9\n").unwrap();
        let error = read_sources(&[file]).unwrap_err();
        assert!(matches!(error, ReadError::NotUtf8 { offset: 16, line: 2, column: 6, .. }), "{error}");
        assert!(
            error
                .to_string()
                .ends_with("latin1.yaml:2:6: not UTF-8 text (an invalid byte here); roster reads UTF-8 YAML"),
            "{error}"
        );
    }

    #[test]
    fn unreadable_directory_entries_fail_the_run_with_their_path() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.yaml"), "version: 1\n").unwrap();
        // A broken link and a looping one, each named like a desired-state file.
        std::os::unix::fs::symlink(dir.path().join("missing.yaml"), dir.path().join("broken.yaml")).unwrap();
        let error = read_sources(&[dir.path().to_path_buf()]).unwrap_err();
        assert!(matches!(&error, ReadError::Io { path, .. } if path.ends_with("broken.yaml")), "{error}");
        std::fs::remove_file(dir.path().join("broken.yaml")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("loop.yaml"), dir.path().join("loop.yaml")).unwrap();
        let error = read_sources(&[dir.path().to_path_buf()]).unwrap_err();
        assert!(matches!(&error, ReadError::Io { path, .. } if path.ends_with("loop.yaml")), "{error}");
        // Named directly, too.
        let error = read_sources(&[dir.path().join("loop.yaml")]).unwrap_err();
        assert!(error.to_string().contains("loop.yaml"), "{error}");
    }

    #[test]
    fn only_regular_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe.yaml");
        let status = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(status.success());
        // In a directory and named directly; neither blocks on the FIFO.
        let error = read_sources(&[dir.path().to_path_buf()]).unwrap_err();
        assert!(matches!(&error, ReadError::NotRegular { what: "a FIFO", .. }), "{error}");
        let error = read_sources(&[fifo]).unwrap_err();
        assert!(
            error
                .to_string()
                .ends_with("pipe.yaml is a FIFO, not a regular file; roster reads only regular files"),
            "{error}"
        );
        for special in ["/dev/null", "/proc/self/environ", "/proc/self/status"] {
            let error = read_sources(&[PathBuf::from(special)]).unwrap_err();
            assert!(matches!(&error, ReadError::NotRegular { .. }), "{special}: {error}");
        }
        // A link to a special file is refused like the file.
        let link = dir.path().join("env.yaml");
        std::os::unix::fs::symlink("/proc/self/environ", &link).unwrap();
        assert!(matches!(read_sources(&[link]).unwrap_err(), ReadError::NotRegular { .. }));
    }

    #[test]
    fn empty_directory_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let error = read_sources(&[dir.path().to_path_buf()]).unwrap_err();
        assert!(matches!(error, ReadError::EmptyDirectory { .. }));
    }
}
