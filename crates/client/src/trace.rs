//! `tracing` hooks of a [`crate::Connection`]: every place a connection reports to `tracing`
//! is a method here, so that the engine carries one field and a few one-line calls.
//!
//! ```text
//!  span "connection" (server_name)
//!   └─ span "handshake"            from start() to Complete or failure
//!       ├─ event "handshake message"  direction, msg_type, length, version, record_version
//!       ├─ event "change cipher spec" direction, version
//!       ├─ event "key change"         key (read | write), generation         (never the key)
//!       ├─ event "alert"              direction, version, level, description
//!       └─ event "failure"            reason, alert_sent, alert_received, peer_subjects
//! ```
//!
//! `version` is the protocol version as OpenSSL's message callback reports it: the negotiated
//! one once the ServerHello (or HelloRetryRequest) named it, before that the highest we offer.
//! `record_version` (messages we send) is what our record header carries: TLS 1.0 for the first
//! ClientHello, TLS 1.2 after (RFC 8446 §5.1). Everything is at `DEBUG` level with target
//! `overture`. Handshake messages are read from
//! their 4-byte header only (type and length); keys are named by direction and generation,
//! never shown: no secret, key, IV or message body reaches a subscriber. Field values are
//! formatted only when a subscriber enabled the event (`tracing`'s callsite filtering), so a
//! program without a subscriber pays one cached interest check per hook. With the `tracing`
//! feature off the struct is empty and every method is an empty inline function.

use crate::error::Error;
#[cfg(feature = "tracing")]
use overture_types::HandshakeType;
use overture_types::{AlertDescription, AlertLevel, CertificateDer, ProtocolVersion, ServerName};

/// Which way a message, alert or key goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dir {
    /// From us to the server.
    Sent,
    /// From the server to us.
    Received,
}

impl Dir {
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    fn name(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Received => "received",
        }
    }
}

/// A connection's spans and key-change counters.
#[derive(Debug)]
pub(crate) struct Trace {
    #[cfg(feature = "tracing")]
    connection: tracing::Span,
    #[cfg(feature = "tracing")]
    handshake: tracing::Span,
    /// The highest version we offer: what `version` says until one is negotiated.
    #[cfg(feature = "tracing")]
    offered: ProtocolVersion,
    /// Keys installed so far, per direction (TLS 1.3: 1 = handshake traffic, 2 = application
    /// traffic 0, then one per KeyUpdate — an early-data write key, once offered, comes before
    /// them; TLS 1.2: 1 = the key block's key).
    #[cfg(feature = "tracing")]
    read_keys: u32,
    #[cfg(feature = "tracing")]
    write_keys: u32,
}

#[cfg(feature = "tracing")]
impl Trace {
    /// The connection's span (the handshake's opens in [`Trace::handshake_started`]).
    pub(crate) fn new(server_name: &ServerName<'_>) -> Self {
        Self {
            connection: tracing::debug_span!(
                target: "overture",
                "connection",
                server_name = %ServerNameText(server_name)
            ),
            handshake: tracing::Span::none(),
            offered: ProtocolVersion::TLSv1_3,
            read_keys: 0,
            write_keys: 0,
        }
    }

    /// The handshake starts, offering `versions`.
    pub(crate) fn handshake_started(&mut self, versions: &[ProtocolVersion]) {
        self.offered = versions
            .iter()
            .copied()
            .max_by_key(|v| v.get())
            .unwrap_or(ProtocolVersion::TLSv1_3);
        self.handshake =
            tracing::debug_span!(target: "overture", parent: &self.connection, "handshake");
    }

    /// The handshake completed or failed: its span closes (later events go to the connection's).
    pub(crate) fn handshake_ended(&mut self) {
        self.handshake = tracing::Span::none();
    }

    fn parent(&self) -> &tracing::Span {
        if self.handshake.is_none() {
            &self.connection
        } else {
            &self.handshake
        }
    }

    /// The protocol version to report, given the record layer's (set once negotiated).
    fn version(&self, negotiated: Option<ProtocolVersion>) -> VersionText {
        VersionText(negotiated.unwrap_or(self.offered))
    }

    /// One event per handshake message in `bytes` (whole messages: a flight we send, or one
    /// message from the joiner), read from their headers. `negotiated`: the record layer's
    /// version.
    pub(crate) fn messages(&self, dir: Dir, negotiated: Option<ProtocolVersion>, bytes: &[u8]) {
        if !tracing::enabled!(target: "overture", tracing::Level::DEBUG) {
            return;
        }
        let version = self.version(negotiated);
        // What our record header says (the server's is not kept by the record layer).
        let record_version = (dir == Dir::Sent).then(|| {
            tracing::field::display(VersionText(match negotiated {
                None => ProtocolVersion::TLSv1_0,
                Some(_) => ProtocolVersion::TLSv1_2,
            }))
        });
        let mut rest = bytes;
        while let Some(&[typ, a, b, c]) = rest.get(..4) {
            let length = u32::from_be_bytes([0, a, b, c]);
            let typ = HandshakeType::from(typ);
            tracing::debug!(
                target: "overture",
                parent: self.parent(),
                direction = dir.name(),
                msg_type = %typ,
                length,
                version = %version,
                record_version,
                "handshake message"
            );
            let next = usize::try_from(length).map_or(usize::MAX, |l| l.saturating_add(4));
            rest = rest.get(next..).unwrap_or_default();
        }
    }

    /// A ChangeCipherSpec we send, or the server's (TLS 1.2).
    pub(crate) fn ccs(&self, dir: Dir, negotiated: Option<ProtocolVersion>) {
        tracing::debug!(
            target: "overture",
            parent: self.parent(),
            direction = dir.name(),
            version = %self.version(negotiated),
            "change cipher spec"
        );
    }

    /// A new read or write key was installed (which one, never its bytes).
    pub(crate) fn key_change(&mut self, dir: Dir) {
        let slot = match dir {
            Dir::Received => &mut self.read_keys,
            Dir::Sent => &mut self.write_keys,
        };
        *slot = slot.saturating_add(1);
        let generation = *slot;
        let key = match dir {
            Dir::Received => "read",
            Dir::Sent => "write",
        };
        tracing::debug!(
            target: "overture",
            parent: self.parent(),
            key,
            generation,
            "key change"
        );
    }

    pub(crate) fn alert(
        &self,
        dir: Dir,
        negotiated: Option<ProtocolVersion>,
        level: AlertLevel,
        description: AlertDescription,
    ) {
        tracing::debug!(
            target: "overture",
            parent: self.parent(),
            direction = dir.name(),
            version = %self.version(negotiated),
            level = %AlertLevelText(level),
            description = %description,
            "alert"
        );
    }

    /// The connection failed: why, and whose certificates the server presented.
    pub(crate) fn failure(&mut self, err: &Error, chain: &[CertificateDer<'_>]) {
        tracing::debug!(
            target: "overture",
            parent: self.parent(),
            reason = %err,
            alert_sent = err.alert_sent().map(AlertDescription::get),
            alert_received = err.alert_received().map(AlertDescription::get),
            peer_subjects = %Subjects(chain),
            "failure"
        );
        self.handshake_ended();
    }
}

#[cfg(not(feature = "tracing"))]
#[allow(clippy::unused_self)]
impl Trace {
    #[inline(always)]
    pub(crate) fn new(_: &ServerName<'_>) -> Self {
        Self {}
    }
    #[inline(always)]
    pub(crate) fn handshake_started(&mut self, _: &[ProtocolVersion]) {}
    #[inline(always)]
    pub(crate) fn handshake_ended(&mut self) {}
    #[inline(always)]
    pub(crate) fn messages(&self, _: Dir, _: Option<ProtocolVersion>, _: &[u8]) {}
    #[inline(always)]
    pub(crate) fn ccs(&self, _: Dir, _: Option<ProtocolVersion>) {}
    #[inline(always)]
    pub(crate) fn key_change(&mut self, _: Dir) {}
    #[inline(always)]
    pub(crate) fn alert(
        &self,
        _: Dir,
        _: Option<ProtocolVersion>,
        _: AlertLevel,
        _: AlertDescription,
    ) {
    }
    #[inline(always)]
    pub(crate) fn failure(&mut self, _: &Error, _: &[CertificateDer<'_>]) {}
}

// ---- lazy field values: formatted only when a subscriber asks ----------------------------------

#[cfg(feature = "tracing")]
struct ServerNameText<'a>(&'a ServerName<'a>);

#[cfg(feature = "tracing")]
impl core::fmt::Display for ServerNameText<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0 {
            ServerName::DnsName(d) => f.write_str(d.as_ref()),
            ServerName::IpAddress(ip) => write!(f, "{}", std::net::IpAddr::from(*ip)),
            other => write!(f, "{other:?}"),
        }
    }
}

/// The version as `TLSv1.3`.
#[cfg(feature = "tracing")]
struct VersionText(ProtocolVersion);

#[cfg(feature = "tracing")]
impl core::fmt::Display for VersionText {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(feature = "tracing")]
struct AlertLevelText(AlertLevel);

#[cfg(feature = "tracing")]
impl core::fmt::Display for AlertLevelText {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0 {
            AlertLevel::Warning => f.write_str("warning"),
            AlertLevel::Fatal => f.write_str("fatal"),
            other => write!(f, "{}", other.get()),
        }
    }
}

/// The chain's subjects, end entity first, `; `-separated, each as `CN=..., O=...` (the
/// attributes a reader needs to tell certificates apart; others by dotted OID).
#[cfg(feature = "tracing")]
struct Subjects<'a>(&'a [CertificateDer<'a>]);

#[cfg(feature = "tracing")]
impl core::fmt::Display for Subjects<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for (i, cert) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            match overture_x509_verify::Certificate::from_der(cert.as_ref()) {
                Ok(c) => name(f, c.subject())?,
                Err(_) => f.write_str("<unparsable certificate>")?,
            }
        }
        Ok(())
    }
}

/// Writes a DER `Name` (the content of its SEQUENCE) as `KEY=value, ...`, in encoding order.
#[cfg(feature = "tracing")]
fn name(f: &mut core::fmt::Formatter<'_>, der: &[u8]) -> core::fmt::Result {
    for (i, attr) in overture_x509_verify::name_attributes(der).enumerate() {
        let Ok(attr) = attr else {
            return f.write_str("<malformed name>");
        };
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{}={}", attr.key(), attr.value_text().escape_debug())?;
    }
    Ok(())
}
