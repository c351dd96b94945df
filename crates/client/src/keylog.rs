//! NSS key log output (`SSLKEYLOGFILE`), for Wireshark and friends. Off unless the user
//! enables it.

use overture_handshake::KeyLog;
use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Appends NSS key log lines (`LABEL <client_random hex> <secret hex>`) to a file.
pub struct KeyLogFile {
    path: PathBuf,
    file: Mutex<Option<File>>,
}

impl KeyLogFile {
    /// Logs to `path` (opened for appending at the first line).
    pub fn new(path: impl AsRef<Path>) -> Self {
        Self {
            path: path.as_ref().to_path_buf(),
            file: Mutex::new(None),
        }
    }

    /// Logs to the file named by `SSLKEYLOGFILE`, if set.
    pub fn from_env() -> Option<Self> {
        std::env::var_os("SSLKEYLOGFILE").map(Self::new)
    }
}

impl core::fmt::Debug for KeyLogFile {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "KeyLogFile({})", self.path.display())
    }
}

impl KeyLog for KeyLogFile {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        let mut line =
            String::with_capacity(label.len() + 2 + 2 * (client_random.len() + secret.len()));
        line.push_str(label);
        line.push(' ');
        for b in client_random {
            let _ = write!(line, "{b:02x}");
        }
        line.push(' ');
        for b in secret {
            let _ = write!(line, "{b:02x}");
        }
        line.push('\n');
        let Ok(mut guard) = self.file.lock() else {
            return;
        };
        if guard.is_none() {
            *guard = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
                .ok();
        }
        if let Some(f) = guard.as_mut() {
            // A key log is a debugging aid: failing to write it must not fail the connection.
            let _ = f.write_all(line.as_bytes());
        }
    }
}
