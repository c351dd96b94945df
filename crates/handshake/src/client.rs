//! The handshake's front: [`ClientHandshake`] holds the connection's context and the current
//! state, and dispatches each message to it. What both versions share is in `common`, the
//! states in `tls13` and `tls12`.

use crate::common::{self, Common, ExpectServerHello};
use crate::config::{Event, HandshakeConfig, StartOptions};
use crate::error::{Error, PeerMisbehaved};
use crate::msgs::HandshakeMessage;
use crate::tls12::Tls12State;
use crate::tls13::Tls13State;
use overture_types::{NamedGroup, ServerName, UnixTime};
use std::sync::Arc;

/// A TLS client handshake in progress (or finished: it then handles post-handshake messages).
pub struct ClientHandshake {
    common: Common,
    state: Option<State>,
}

impl core::fmt::Debug for ClientHandshake {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ClientHandshake")
            .field("server_name", &self.common.server_name)
            .field("state", &self.state.as_ref().map(State::name))
            .finish_non_exhaustive()
    }
}

/// Where the handshake is: before the version is known, or in one version's states.
pub(crate) enum State {
    ServerHello(ExpectServerHello),
    Tls13(Tls13State),
    Tls12(Tls12State),
}

impl State {
    fn name(&self) -> &'static str {
        match self {
            Self::ServerHello(_) => "ServerHello",
            Self::Tls13(s) => s.name(),
            Self::Tls12(s) => s.name(),
        }
    }
}

impl ClientHandshake {
    /// Starts a handshake: pushes the ClientHello onto `events` and returns the state that
    /// waits for the ServerHello. `options` are the per-connection choices (a TLS 1.3 ticket
    /// and/or a TLS 1.2 session to offer, two policy switches; `StartOptions::default()`:
    /// none). `now` dates a ticket's age (RFC 8446 §4.2.11.1) and checks its lifetime.
    ///
    /// This is the one constructor; a configuration that cannot make a ClientHello is an
    /// [`Error::Config`] and nothing is pushed.
    pub fn start(
        config: Arc<HandshakeConfig>,
        server_name: ServerName<'static>,
        now: UnixTime,
        options: StartOptions,
        events: &mut Vec<Event>,
    ) -> Result<Self, Error> {
        let (common, first) = common::start(config, server_name, now, options, events)?;
        Ok(Self {
            common,
            state: Some(State::ServerHello(first)),
        })
    }

    /// The groups our ClientHello offered in `supported_groups`, in order. In TLS 1.2 they
    /// also bound the curve of the server's ECDSA certificate (RFC 8422 §5.1.1, §5.3), which
    /// the caller, who parses certificates, checks.
    pub fn offered_groups(&self) -> &[NamedGroup] {
        &self.common.offered_groups
    }

    /// Handles one whole handshake message (4-byte header included) from the server.
    ///
    /// After an error the handshake is dead: every later call fails.
    pub fn handle(
        &mut self,
        message: &[u8],
        now: UnixTime,
        events: &mut Vec<Event>,
    ) -> Result<(), Error> {
        let state = self
            .state
            .take()
            .ok_or(Error::Usage("the handshake already failed"))?;
        let cx = &mut self.common;
        let next = match state {
            State::ServerHello(s) => {
                s.handle(cx, HandshakeMessage::decode(message)?, message, events)?
            }
            State::Tls13(s) => State::Tls13(s.handle(cx, message, now, events)?),
            State::Tls12(s) => State::Tls12(s.handle(cx, message, now, events)?),
        };
        self.state = Some(next);
        Ok(())
    }

    /// TLS 1.2: the server's ChangeCipherSpec record (body `01`) arrived. Call it only after
    /// [`Event::ExpectCcs`] and only for the first CCS record after it; it emits the
    /// [`Event::InstallReadKey`] for the records that follow (the server's Finished). A CCS at
    /// any other point is an error (`unexpected_message`); in TLS 1.3 the record layer drops
    /// the compatibility CCS itself and never calls this.
    pub fn handle_ccs(&mut self, events: &mut Vec<Event>) -> Result<(), Error> {
        let state = self
            .state
            .take()
            .ok_or(Error::Usage("the handshake already failed"))?;
        match state {
            State::Tls12(s) => {
                self.state = Some(State::Tls12(s.handle_ccs(events)?));
                Ok(())
            }
            _ => Err(PeerMisbehaved::UnexpectedChangeCipherSpec.into()),
        }
    }

    /// Sends a KeyUpdate and installs the next write key (RFC 8446 §4.6.3); with
    /// `request_peer`, asks the server to update its key too. Only once the handshake is
    /// complete, and only in TLS 1.3.
    pub fn update_write_key(
        &mut self,
        request_peer: bool,
        events: &mut Vec<Event>,
    ) -> Result<(), Error> {
        match &mut self.state {
            Some(State::Tls13(s)) => s.update_write_key(request_peer, events),
            Some(State::Tls12(_)) => Err(Error::Usage("TLS 1.2 has no key update")),
            _ => Err(Error::Usage("a key update needs a completed handshake")),
        }
    }

    /// Whether the handshake is complete.
    pub fn is_complete(&self) -> bool {
        match &self.state {
            Some(State::Tls13(s)) => s.traffic().is_some(),
            Some(State::Tls12(s)) => s.traffic().is_some(),
            _ => false,
        }
    }

    /// Whether the negotiated version is TLS 1.2 (`false` before the ServerHello).
    pub fn is_tls12(&self) -> bool {
        matches!(self.state, Some(State::Tls12(_)))
    }

    /// TLS-Exporter (RFC 8446 §7.5 / RFC 5705): fills `out` from the exporter master secret.
    /// In TLS 1.3 an absent context and an empty one are the same; in TLS 1.2 (RFC 5705)
    /// they differ, the PRF's own labels are refused, and a session without the extended
    /// master secret has no exporter (RFC 7627 §5.4).
    pub fn export_keying_material(
        &self,
        out: &mut [u8],
        label: &[u8],
        context: Option<&[u8]>,
    ) -> Result<(), Error> {
        let too_early = || Error::Usage("keying material can be exported after the handshake");
        match &self.state {
            Some(State::Tls13(s)) => s
                .traffic()
                .ok_or_else(too_early)?
                .export(out, label, context),
            Some(State::Tls12(s)) => {
                let t = s.traffic().ok_or_else(too_early)?;
                t.export(&self.common, out, label, context)
            }
            _ => Err(too_early()),
        }
    }
}
