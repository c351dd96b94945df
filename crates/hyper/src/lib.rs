//! `overture-hyper`: an HTTPS connector for hyper-util's legacy client over Overture
//! (hyper-rustls's `HttpsConnector` shape).
//!
//! [`HttpsConnector`] is a `tower::Service<Uri>`: it asks an inner connector (hyper-util's
//! `HttpConnector` by default) for a transport, and for `https` URIs runs the handshake over
//! it with an [`overture_tokio::TlsConnector`]. The connection it gives, [`MaybeHttpsStream`],
//! implements hyper's `Read + Write` and hyper-util's [`Connection`], whose `connected()`
//! reports `negotiated_h2()` when ALPN selected `h2`, so the client speaks HTTP/2 on it.
//!
//! ```text
//!  hyper_util Client ── Uri ──► HttpsConnector ── Uri ──► HttpConnector ──► TcpStream
//!                                    │                                           │
//!                                    └─ https: TlsConnector::connect(host, ─────┘
//!                                              TokioIo(tcp)) ──► TlsStream
//!  Client ◄── MaybeHttpsStream::Https(TokioIo(TlsStream)) ── connected(): ALPN h2? ──┘
//! ```
//!
//! ALPN comes from the [`ClientConfig`](overture::ClientConfig): offer `h2` and `http/1.1`
//! (`with_alpn`) for the client to use HTTP/2 where the server agrees. Plain `http` URIs go
//! through unencrypted unless [`HttpsConnector::https_only`] is set.
//!
//! ```no_run
//! use http_body_util::Empty;
//! use hyper::body::Bytes;
//! use hyper_util::client::legacy::Client;
//! use hyper_util::rt::TokioExecutor;
//! use overture::ClientConfig;
//! use overture_hyper::HttpsConnector;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = ClientConfig::builder()
//!     .with_system_roots()?
//!     .with_alpn(vec![b"h2".to_vec(), b"http/1.1".to_vec()])
//!     .build()?;
//! let client = Client::builder(TokioExecutor::new())
//!     .build::<_, Empty<Bytes>>(HttpsConnector::new(config.into()));
//! let response = client.get("https://example.com/".parse()?).await?;
//! println!("{:?} {}", response.version(), response.status());
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use http::Uri;
use http::uri::Scheme;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::rt::TokioIo;
use overture_tokio::{TlsConnector, TlsStream};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tower_service::Service;

/// What the connector's futures fail with (hyper-util's connector error type).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A connector for hyper-util's client: TLS by Overture for `https` URIs.
#[derive(Clone, Debug)]
pub struct HttpsConnector<H = HttpConnector> {
    http: H,
    tls: TlsConnector,
    https_only: bool,
}

impl HttpsConnector<HttpConnector> {
    /// Over hyper-util's `HttpConnector` (which must let `https` URIs through: this sets
    /// `enforce_http(false)` on it).
    pub fn new(tls: TlsConnector) -> Self {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        Self::with_connector(http, tls)
    }
}

impl<H> HttpsConnector<H> {
    /// Over any inner connector `http` giving transports for URIs.
    pub fn with_connector(http: H, tls: TlsConnector) -> Self {
        Self {
            http,
            tls,
            https_only: false,
        }
    }

    /// Refuses `http` URIs (hyper-rustls's `https_only`).
    pub fn https_only(mut self, on: bool) -> Self {
        self.https_only = on;
        self
    }
}

impl<H> Service<Uri> for HttpsConnector<H>
where
    H: Service<Uri>,
    H::Response: Read + Write + Connection + Unpin + Send + 'static,
    H::Future: Send + 'static,
    H::Error: Into<BoxError>,
{
    type Response = MaybeHttpsStream<H::Response>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.http.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let https = uri.scheme() == Some(&Scheme::HTTPS);
        if !https && self.https_only {
            return Box::pin(async move { Err(format!("{uri}: not an https URI").into()) });
        }
        // The name to verify: the host, without the brackets of an IPv6 literal.
        let host = uri
            .host()
            .map(|h| h.trim_start_matches('[').trim_end_matches(']').to_owned());
        let connecting = self.http.call(uri);
        let tls = self.tls.clone();
        Box::pin(async move {
            let transport = connecting.await.map_err(Into::into)?;
            if !https {
                return Ok(MaybeHttpsStream::Http(transport));
            }
            let host = host.ok_or("an https URI without a host")?;
            let stream = tls.connect(&host, TokioIo::new(transport)).await?;
            Ok(MaybeHttpsStream::Https(Box::new(TokioIo::new(stream))))
        })
    }
}

/// The connection an [`HttpsConnector`] gives: the inner transport as is (`http`) or TLS over
/// it (`https`).
#[derive(Debug)]
pub enum MaybeHttpsStream<T> {
    /// Plain HTTP.
    Http(T),
    /// HTTPS: Overture's [`TlsStream`] over the transport (boxed: a connection's state is
    /// large next to a socket).
    Https(Box<TokioIo<TlsStream<TokioIo<T>>>>),
}

impl<T> MaybeHttpsStream<T> {
    /// The TLS stream, for `https`.
    pub fn tls(&self) -> Option<&TlsStream<TokioIo<T>>> {
        match self {
            Self::Http(_) => None,
            Self::Https(s) => Some(s.inner()),
        }
    }
}

impl<T: Connection> Connection for MaybeHttpsStream<T> {
    fn connected(&self) -> Connected {
        match self {
            Self::Http(t) => t.connected(),
            Self::Https(s) => {
                let (io, conn) = s.inner().get_ref();
                let connected = io.inner().connected();
                let h2 = conn.negotiated().and_then(|n| n.alpn()) == Some(b"h2".as_slice());
                if h2 {
                    connected.negotiated_h2()
                } else {
                    connected
                }
            }
        }
    }
}

impl<T: Read + Write + Unpin> Read for MaybeHttpsStream<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Http(t) => Pin::new(t).poll_read(cx, buf),
            Self::Https(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl<T: Read + Write + Unpin> Write for MaybeHttpsStream<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Http(t) => Pin::new(t).poll_write(cx, buf),
            Self::Https(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Http(t) => Pin::new(t).poll_write_vectored(cx, bufs),
            Self::Https(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Self::Http(t) => t.is_write_vectored(),
            Self::Https(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Http(t) => Pin::new(t).poll_flush(cx),
            Self::Https(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Http(t) => Pin::new(t).poll_shutdown(cx),
            Self::Https(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
