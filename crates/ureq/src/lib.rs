//! `overture-ureq`: TLS by Overture for ureq 3 (blocking HTTP/1.1).
//!
//! ureq 3 builds each connection through a chain of `Connector`s
//! (`ureq::unversioned::transport`): TCP first, then TLS for `https` URIs. [`OvertureConnector`]
//! is the TLS link: it wraps the chained transport in an [`overture::StreamOwned`] (the sans-IO
//! [`Connection`] over any blocking `Read + Write`), runs the handshake,
//! and gives ureq an [`OvertureTransport`]. [`agent`] makes a ready `ureq::Agent` with it.
//!
//! ```text
//!  ureq Agent ── ConnectionDetails ──► ConnectProxyConnector ──► TcpConnector ──► TcpTransport
//!                                                                                    │
//!   OvertureConnector (https only): StreamOwned<TransportAdapter(TcpTransport)> ◄────┘
//!        │  handshake (timeouts from ureq's config through the adapter)
//!        ▼
//!  OvertureTransport: ureq's buffers ◄── read/write plaintext ──► Connection ──► TCP
//! ```
//!
//! ```no_run
//! use overture::ClientConfig;
//!
//! let tls = ClientConfig::builder().with_system_roots()?.build()?;
//! let agent = overture_ureq::agent(ureq::Agent::config_builder().build(), tls);
//! let body = agent.get("https://example.com/").call()?.body_mut().read_to_string()?;
//! println!("{body}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ureq's own TLS settings (`TlsConfig`: roots, provider) do not apply: the
//! [`ClientConfig`] decides verification, versions and the rest.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use overture::{ClientConfig, Connection, StreamOwned};
use std::fmt;
use std::io::{Read, Write};
use ureq::Agent;
use ureq::config::Config;
use ureq::unversioned::resolver::DefaultResolver;
use ureq::unversioned::transport::{
    Buffers, ConnectProxyConnector, ConnectionDetails, Connector, Either, LazyBuffers, NextTimeout,
    TcpConnector, Transport, TransportAdapter,
};

/// An agent whose `https` connections use Overture with `tls` (proxies through CONNECT and
/// plain TCP as ureq's default connector does).
pub fn agent(config: Config, tls: ClientConfig) -> Agent {
    let connector =
        ().chain(ConnectProxyConnector::default())
            .chain(TcpConnector::default())
            .chain(OvertureConnector::new(tls));
    Agent::with_parts(config, connector, DefaultResolver::default())
}

/// The TLS link of a ureq connector chain: `https` connections get Overture, others pass.
#[derive(Clone, Debug)]
pub struct OvertureConnector {
    config: ClientConfig,
}

impl OvertureConnector {
    /// Connections made with `config`.
    pub fn new(config: ClientConfig) -> Self {
        Self { config }
    }
}

impl<In: Transport> Connector<In> for OvertureConnector {
    type Out = Either<In, OvertureTransport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        let Some(transport) = chained else {
            // Nothing before us made a connection: not ours to make one.
            return Ok(None);
        };
        if !details.needs_tls() || transport.is_tls() {
            return Ok(Some(Either::A(transport)));
        }
        let host = details
            .uri
            .host()
            .ok_or(ureq::Error::Tls("an https URI without a host"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let conn = Connection::new(&self.config, host).map_err(tls_error)?;
        let mut sock = TransportAdapter::new(transport.boxed(), details.current_time.clone());
        sock.set_timeout(details.timeout);
        let mut stream = StreamOwned::new(conn, sock);
        // An empty write runs the handshake to completion (StreamOwned connects on first use)
        // and sends our last flight; it writes no application data.
        stream.write(&[]).map_err(ureq::Error::from)?;
        let buffers = LazyBuffers::new(
            details.config.input_buffer_size(),
            details.config.output_buffer_size(),
        );
        Ok(Some(Either::B(OvertureTransport { buffers, stream })))
    }
}

fn tls_error(e: overture::Error) -> ureq::Error {
    ureq::Error::Io(e.into())
}

/// An `https` connection: ureq's buffers over an Overture stream.
pub struct OvertureTransport {
    buffers: LazyBuffers,
    stream: StreamOwned<TransportAdapter>,
}

impl OvertureTransport {
    /// The TLS connection (what was negotiated, the peer's chain).
    pub fn connection(&self) -> &Connection {
        &self.stream.conn
    }
}

impl fmt::Debug for OvertureTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OvertureTransport")
            .field("conn", &self.stream.conn)
            .field("chained", &self.stream.sock.inner())
            .finish()
    }
}

impl Transport for OvertureTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        self.stream.sock.set_timeout(timeout);
        let output = self.buffers.output();
        let output = output.get(..amount).unwrap_or(output);
        self.stream.write_all(output)?;
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.stream.sock.set_timeout(timeout);
        let input = self.buffers.input_append_buf();
        // Ok(0) only for the server's close_notify; the transport ending without it is an
        // `UnexpectedEof` error (a truncated body must not look complete).
        let amount = self.stream.read(input)?;
        self.buffers.input_appended(amount);
        Ok(amount > 0)
    }

    fn is_open(&mut self) -> bool {
        self.stream.sock.get_mut().is_open()
    }

    fn is_tls(&self) -> bool {
        true
    }
}
