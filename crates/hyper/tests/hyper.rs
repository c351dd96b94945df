//! hyper-util's client over `HttpsConnector` against an in-process hyper server (TLS by
//! rustls, ALPN h2 and http/1.1) on 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
#![allow(missing_docs)]

use http::{Request, Response, Version};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Bytes, Incoming};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use overture::ClientConfig;
use overture_hyper::HttpsConnector;
use overture_tests::{KeyKind, Pki};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

/// Answers every request with its HTTP version in the body.
async fn hello(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from(format!(
        "hello over {:?}",
        req.version()
    )))))
}

/// A hyper server (auto: HTTP/1.1 and h2) behind rustls offering ALPN h2 and http/1.1.
async fn server(pki: &Pki) -> SocketAddr {
    let mut config = Arc::unwrap_or_clone(overture_tests::rustls_server_config(pki, &[], &[], &[]));
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), hyper::service::service_fn(hello))
                    .await;
            });
        }
    });
    addr
}

async fn fetch(pki: &Pki, addr: SocketAddr, alpn: &[&[u8]]) -> (Version, String) {
    let config = ClientConfig::builder()
        .with_ca_file(&pki.ca_pem)
        .unwrap()
        .with_alpn(alpn.iter().map(|p| p.to_vec()).collect())
        .build()
        .unwrap();
    let client = Client::builder(TokioExecutor::new())
        .build::<_, Empty<Bytes>>(HttpsConnector::new(config.into()));
    let uri = format!("https://localhost:{}/", addr.port())
        .parse()
        .unwrap();
    let response = client.get(uri).await.unwrap();
    let version = response.version();
    assert!(response.status().is_success());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (version, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn hyper_client_speaks_h2_when_alpn_selects_it() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let addr = server(&pki).await;
    let (version, body) = fetch(&pki, addr, &[b"h2", b"http/1.1"]).await;
    assert_eq!(version, Version::HTTP_2);
    assert_eq!(body, "hello over HTTP/2.0");
}

#[tokio::test]
async fn hyper_client_speaks_http11_when_alpn_selects_it() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let addr = server(&pki).await;
    let (version, body) = fetch(&pki, addr, &[b"http/1.1"]).await;
    assert_eq!(version, Version::HTTP_11);
    assert_eq!(body, "hello over HTTP/1.1");
}

#[tokio::test]
async fn https_only_refuses_plain_http() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let config = ClientConfig::builder()
        .with_ca_file(&pki.ca_pem)
        .unwrap()
        .build()
        .unwrap();
    let client = Client::builder(TokioExecutor::new())
        .build::<_, Empty<Bytes>>(HttpsConnector::new(config.into()).https_only(true));
    let err = client
        .get("http://127.0.0.1:9/".parse().unwrap())
        .await
        .unwrap_err();
    assert!(err.is_connect(), "{err:?}");
}
