//! `--trace`: the handshake as `openssl s_client -msg` prints it, one line per message and
//! alert, from the `overture` library's `tracing` events (see its `trace` module).
//!
//! ```text
//! >>> TLS 1.3, Handshake [length 00e7], ClientHello
//! <<< TLS 1.3, Handshake [length 0041], ServerHello
//! <<< TLS 1.2, Handshake [length 018c], Certificate
//! >>> TLS 1.2, ChangeCipherSpec [length 0001]
//! >>> TLS 1.2, Alert [length 0002], fatal unknown_ca
//! ```
//!
//! The length counts the 4-byte handshake header, as OpenSSL's message callback does; the
//! version is the protocol version as OpenSSL reports it (the highest offered until the
//! ServerHello is processed, then the negotiated one). The events carry no message bytes, so
//! there is neither a hex dump nor `RecordHeader` lines. A hand-written `Subscriber` (two dozen lines;
//! `tracing-subscriber` would bring a formatting stack we do not use): it enables only the
//! library's events, so spans cost nothing.

use std::fmt::{self, Write as _};
use std::io::Write as _;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// Prints `s_client -msg` lines to stdout, or to stderr when stdout carries `--json`.
pub(crate) struct MsgPrinter {
    pub(crate) to_stderr: bool,
}

impl MsgPrinter {
    /// Installs the printer for the whole process.
    pub(crate) fn install(to_stderr: bool) -> Result<(), String> {
        tracing::subscriber::set_global_default(Self { to_stderr })
            .map_err(|e| format!("--trace: {e}"))
    }
}

/// The fields of one library event.
#[derive(Default)]
struct Fields {
    message: String,
    direction: String,
    msg_type: String,
    length: u64,
    version: String,
    level: String,
    description: String,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let slot = match field.name() {
            "message" => &mut self.message,
            "direction" => &mut self.direction,
            "msg_type" => &mut self.msg_type,
            "version" => &mut self.version,
            "level" => &mut self.level,
            "description" => &mut self.description,
            _ => return,
        };
        let _ = write!(slot, "{value:?}");
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.record_debug(field, &format_args!("{value}"));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "length" {
            self.length = value;
        }
    }
}

/// `client_hello` → `ClientHello`.
fn camel(name: &str) -> String {
    name.split('_')
        .flat_map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase())
                .into_iter()
                .chain(c)
        })
        .collect()
}

/// `TLSv1.3` → `TLS 1.3`, `TLSv1` → `TLS 1.0`.
fn version(v: &str) -> String {
    match v.strip_prefix("TLSv") {
        Some(n) if n.contains('.') => format!("TLS {n}"),
        Some(n) => format!("TLS {n}.0"),
        None => v.to_string(),
    }
}

impl Fields {
    /// The `s_client -msg` line for this event, if it is a message or an alert.
    fn line(&self) -> Option<String> {
        let arrow = match self.direction.as_str() {
            "sent" => ">>>",
            "received" => "<<<",
            _ => return None,
        };
        match self.message.as_str() {
            "handshake message" => Some(format!(
                "{arrow} {}, Handshake [length {:04x}], {}",
                version(&self.version),
                self.length.saturating_add(4),
                camel(&self.msg_type)
            )),
            "change cipher spec" => Some(format!(
                "{arrow} {}, ChangeCipherSpec [length 0001]",
                version(&self.version)
            )),
            "alert" => Some(format!(
                "{arrow} {}, Alert [length 0002], {} {}",
                version(&self.version),
                self.level,
                self.description
            )),
            _ => None,
        }
    }
}

impl Subscriber for MsgPrinter {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        !metadata.is_span() && metadata.target() == "overture"
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        // Never called: `enabled` refuses every span.
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        if let Some(line) = fields.line() {
            // A closed pipe is not an error of the connection: the line is dropped.
            let _ = if self.to_stderr {
                writeln!(std::io::stderr(), "{line}")
            } else {
                writeln!(std::io::stdout(), "{line}")
            };
        }
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_versions_read_as_openssl_prints_them() {
        assert_eq!(camel("client_hello"), "ClientHello");
        assert_eq!(camel("new_session_ticket"), "NewSessionTicket");
        assert_eq!(version("TLSv1.3"), "TLS 1.3");
        assert_eq!(version("TLSv1"), "TLS 1.0");
        assert_eq!(version("???"), "???");
    }
}
