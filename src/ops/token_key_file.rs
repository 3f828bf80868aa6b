//! The `token_key` kept in a file, so that a fresh installation sends without anyone
//! making a key by hand: the first start that needs it makes the file (a random key,
//! mode 0600, written whole or not at all, never overwritten), and every later start
//! reads it. Where it is: `Settings::token_key_path`. A `token_key` in the settings
//! wins, and then no file is read or made.

use std::io::Write;
use std::path::{Path, PathBuf};

use secrecy::SecretString;

use crate::domain::TokenKey;

/// Why the key file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error(
        "could not make the token key file {path}: {cause}; make its folder writable for \
         the user the service runs as, set token_key_file to a place it can write, or set \
         token_key"
    )]
    Make {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("could not read the token key file {path}: {cause}")]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error(
        "the token key file {path} holds no usable key ({cause}); it is never overwritten: \
         put the key back in it, or remove it to have a new one made (links in mail \
         already sent then stop working)"
    )]
    Unusable { path: PathBuf, cause: String },
}

/// A key read from its file, or just made there.
pub struct KeptKey {
    pub secret: SecretString,
    /// Made by this call (the first start).
    pub made: bool,
}

/// The key in `path`; `None` when there is no such file (yet). Reads only.
pub fn read(path: &Path) -> Result<Option<SecretString>, KeyFileError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        // No such file, or its folder is none: either way there is no key yet.
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            return Ok(None);
        }
        Err(cause) => {
            return Err(KeyFileError::Read {
                path: path.to_owned(),
                cause,
            });
        }
    };
    let secret = text.trim();
    TokenKey::parse(secret).map_err(|e| KeyFileError::Unusable {
        path: path.to_owned(),
        cause: e.to_string(),
    })?;
    Ok(Some(SecretString::from(secret.to_owned())))
}

/// The key in `path`, made there first if there is none. Two processes starting at
/// once make one key between them: each writes its own to a temporary file and links it
/// into place only if nothing is there yet; the one that finds a key there uses it.
pub fn read_or_make(path: &Path) -> Result<KeptKey, KeyFileError> {
    if let Some(secret) = read(path)? {
        return Ok(KeptKey {
            secret,
            made: false,
        });
    }
    let make_error = |cause| KeyFileError::Make {
        path: path.to_owned(),
        cause,
    };
    let secret = TokenKey::generate_secret();
    let temporary = temporary_beside(path);
    write_private(&temporary, &secret).map_err(make_error)?;
    // A hard link never replaces an existing file, unlike a rename.
    let linked = std::fs::hard_link(&temporary, path);
    let _ = std::fs::remove_file(&temporary);
    match linked {
        Ok(()) => {
            sync_folder(path);
            Ok(KeptKey {
                secret: SecretString::from(secret),
                made: true,
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let secret = read(path)?.ok_or_else(|| make_error(e))?;
            Ok(KeptKey {
                secret,
                made: false,
            })
        }
        Err(e) => Err(make_error(e)),
    }
}

/// Whether anyone but the owner may read the file (Unix; elsewhere never).
pub fn readable_by_others(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 != 0)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        false
    }
}

fn temporary_beside(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "token_key".into(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.{}.new", std::process::id()))
}

/// Writes `secret` to a new file only its owner may read, and makes it durable.
fn write_private(path: &Path, secret: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = match options.open(path) {
        Ok(file) => file,
        // Left by a process that died between writing and linking: it is ours to redo.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            std::fs::remove_file(path)?;
            options.open(path)?
        }
        Err(e) => return Err(e),
    };
    let written = file
        .write_all(format!("{secret}\n").as_bytes())
        .and_then(|()| file.sync_all());
    if written.is_err() {
        let _ = std::fs::remove_file(path);
    }
    written
}

/// Makes the new name durable too (best effort: not every system can sync a folder).
fn sync_folder(path: &Path) {
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    if let Ok(folder) = std::fs::File::open(folder) {
        let _ = folder.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn a_key_is_made_once_and_read_after() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.token_key");
        let made = read_or_make(&path).unwrap();
        assert!(made.made);
        assert!(!readable_by_others(&path));
        let again = read_or_make(&path).unwrap();
        assert!(!again.made);
        assert_eq!(made.secret.expose_secret(), again.secret.expose_secret());
        // Nothing but the key file is left in the folder.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn an_unusable_file_is_refused_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.token_key");
        std::fs::write(&path, "short\n").unwrap();
        assert!(matches!(
            read_or_make(&path),
            Err(KeyFileError::Unusable { .. })
        ));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "short\n");
    }
}
