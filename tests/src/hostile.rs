//! A scripted hostile TLS server (TLS 1.3, and TLS 1.2 ECDHE-ECDSA-AES128-GCM): real enough
//! to reach every client state, then it does whatever its script says.
//!
//! ```text
//!  HostileServer::start(fixture, script)
//!     │ accept one TCP connection (127.0.0.1, ephemeral port)
//!     ├─► reader thread: every byte the client sends ─► Inbox (bytes + EOF, condvar)
//!     └─► script(&mut Conn):
//!           Conn::accept()            ClientHello from the inbox (plaintext records joined)
//!           TLS 1.3:
//!           default_server_hello()    our share (any group we know) for the client's first
//!           send_hrr(hrr)             HelloRetryRequest; ClientHello2 checked (RFC 8446 §4.1.2)
//!           send_server_hello(sh)     transcript + key schedule (overture_handshake::key_schedule)
//!           send_hs(msg) / enc(..)    records sealed by hand with the provider's AEAD, so a
//!           plain(..) / send(..)      script can break any length, type, tag or fragmentation
//!           finished() → app keys     post-handshake KeyUpdate / NewSessionTicket / data;
//!           client_application_records()  what the client sent, under its rotating keys
//!           TLS 1.2:
//!           tls12_to_server_hello_done / tls12_read_client_flight (EMS, PRF, client Finished
//!           checked) / tls12_finished / enc12 (GCM records through overture_record_layer)
//!     after the script: wait for the client to hang up, then decode what it sent and report
//!     the alert it sent (plaintext, or under its handshake or application key, 1.3 or 1.2;
//!     a plaintext one after a TLS 1.3 ServerHello is flagged: a real server reads it under
//!     the client handshake key)
//! ```
//!
//! The server never trusts the script to be well-formed: it only builds bytes. Write errors
//! (the client gave up and closed) end the script early; that is normal for hostile scenarios.
//!
//! ```
//! use overture::types::AlertDescription;
//! use overture_tests::hostile::{ct, plain, Fixture, HostileServer};
//! use overture_tests::{KeyKind, Pki};
//! use std::sync::Arc;
//!
//! let pki = Pki::new(KeyKind::EcdsaP256);
//! let fixture = Arc::new(Fixture::new(pki.chain.clone(), pki.key_der.clone()));
//! // RUSTSEC-2026-0285's pattern: a plaintext EncryptedExtensions packed behind ServerHello.
//! let server = HostileServer::start(fixture, |c| {
//!     let msg = c.default_server_hello().encode();
//!     c.server_hello_keys(&msg);
//!     let ee = c.encrypted_extensions(&[]);
//!     c.send(&plain(ct::HANDSHAKE, &[msg, ee].concat()))
//! });
//! let config = overture::ClientConfig::builder().with_ca_file(&pki.ca_pem)?.build()?;
//! let mut ssl = overture::Ssl::new(&config, "localhost")?;
//! ssl.set_bio(Box::new(overture::bio::SocketBio::connect(server.addr)?));
//! let err = ssl.connect().unwrap_err();
//! assert_eq!(err.alert_sent(), Some(AlertDescription::UnexpectedMessage));
//! drop(ssl); // the server reports once the client hung up
//! let report = server.finish(std::time::Duration::from_secs(10))?;
//! assert_eq!(report.alert, Some((2, AlertDescription::UnexpectedMessage)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use overture_crypto_provider::{
    ActiveKeyExchange, BoundAead, KeyExchange, Nonce, Secret, SigningKey, Tls13CipherSuite, ring,
};
use overture_handshake::key_schedule::{self, KeySchedule, Transcript};
use overture_handshake::msgs::{ClientExtension, ClientHello, HandshakeMessage};
use overture_types::{
    AlertDescription, CertificateDer, NamedGroup, PrivateKeyDer, SignatureScheme,
};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Content types, as bytes (scripts write raw records).
pub mod ct {
    /// change_cipher_spec
    pub const CCS: u8 = 20;
    /// alert
    pub const ALERT: u8 = 21;
    /// handshake
    pub const HANDSHAKE: u8 = 22;
    /// application_data
    pub const APPDATA: u8 = 23;
}

/// Handshake types, as bytes.
pub mod hs {
    /// hello_request (TLS 1.2 only)
    pub const HELLO_REQUEST: u8 = 0;
    /// client_hello
    pub const CLIENT_HELLO: u8 = 1;
    /// server_hello
    pub const SERVER_HELLO: u8 = 2;
    /// new_session_ticket
    pub const NEW_SESSION_TICKET: u8 = 4;
    /// end_of_early_data
    pub const END_OF_EARLY_DATA: u8 = 5;
    /// encrypted_extensions
    pub const ENCRYPTED_EXTENSIONS: u8 = 8;
    /// certificate
    pub const CERTIFICATE: u8 = 11;
    /// certificate_request
    pub const CERTIFICATE_REQUEST: u8 = 13;
    /// certificate_verify
    pub const CERTIFICATE_VERIFY: u8 = 15;
    /// finished
    pub const FINISHED: u8 = 20;
    /// key_update
    pub const KEY_UPDATE: u8 = 24;
}

/// Extension types, as numbers.
pub mod ext {
    /// server_name
    pub const SERVER_NAME: u16 = 0;
    /// status_request
    pub const STATUS_REQUEST: u16 = 5;
    /// supported_groups
    pub const SUPPORTED_GROUPS: u16 = 10;
    /// signature_algorithms
    pub const SIGNATURE_ALGORITHMS: u16 = 13;
    /// application_layer_protocol_negotiation
    pub const ALPN: u16 = 16;
    /// pre_shared_key
    pub const PRE_SHARED_KEY: u16 = 41;
    /// early_data
    pub const EARLY_DATA: u16 = 42;
    /// record_size_limit (RFC 8449)
    pub const RECORD_SIZE_LIMIT: u16 = 28;
    /// supported_versions
    pub const SUPPORTED_VERSIONS: u16 = 43;
    /// cookie
    pub const COOKIE: u16 = 44;
    /// key_share
    pub const KEY_SHARE: u16 = 51;
}

/// `ServerHello.random` of a HelloRetryRequest.
pub const HRR_RANDOM: [u8; 32] = overture_handshake::msgs::HELLO_RETRY_REQUEST_RANDOM;

/// What every script shares: the server's certificates and key.
pub struct Fixture {
    /// The chain sent by default (leaf first).
    pub chain: Vec<CertificateDer<'static>>,
    /// The leaf's signing key.
    pub key: Arc<dyn SigningKey>,
    /// The scheme the server signs CertificateVerify with.
    pub scheme: SignatureScheme,
    /// Extra chains scripts may send instead (named).
    pub extra_chains: Vec<(&'static str, Vec<CertificateDer<'static>>)>,
    /// What one connection's script leaves for the next connection of the same scenario (the
    /// PSK of the ticket it issued).
    pub carry: Mutex<Option<Vec<u8>>>,
    /// The server's ECH key and config (public name `localhost`, which the chain names, so
    /// that a rejected ECH's outer handshake authenticates).
    pub ech: EchKey,
}

/// An ECH key pair (DHKEM(X25519, HKDF-SHA256)) and its ECHConfigList, for scripts that play
/// an ECH server (RFC 9849 §7).
pub struct EchKey {
    /// The HPKE private key.
    pub secret: Secret,
    /// The ECHConfig (version 0xfe0d, config_id 3, HKDF-SHA256 with AES-128-GCM).
    pub config: Vec<u8>,
    /// The ECHConfigList holding only `config`: what the client is configured with, and the
    /// server's retry_configs.
    pub list: Vec<u8>,
}

impl EchKey {
    fn generate(public_name: &str) -> Self {
        let hpke = ech_hpke(1, 1);
        let (secret, public) = hpke.generate_key_pair().unwrap();
        let mut c = vec![3u8];
        c.extend_from_slice(&0x0020u16.to_be_bytes());
        c.extend_from_slice(&u16b(public.len()));
        c.extend_from_slice(&public);
        c.extend_from_slice(&[0, 4, 0, 1, 0, 1]);
        c.push(0);
        c.push(u8::try_from(public_name.len()).unwrap());
        c.extend_from_slice(public_name.as_bytes());
        c.extend_from_slice(&[0, 0]);
        let mut config = 0xfe0du16.to_be_bytes().to_vec();
        config.extend_from_slice(&u16b(c.len()));
        config.extend_from_slice(&c);
        let mut list = u16b(config.len()).to_vec();
        list.extend_from_slice(&config);
        Self {
            secret,
            config,
            list,
        }
    }
}

fn ech_hpke(kdf: u16, aead: u16) -> overture_crypto_provider::hpke::Hpke {
    overture_crypto_provider::hpke::Hpke::from_provider(
        &ring::default_provider(),
        0x0020,
        kdf,
        aead,
    )
    .expect("an HPKE suite of the ring provider")
}

impl Fixture {
    /// A fixture serving `chain` with the PKCS#8 `key` (ECDSA P-256 or P-384, Ed25519, or RSA of
    /// 2048 bits or more, signing with RSA-PSS).
    pub fn new(chain: Vec<CertificateDer<'static>>, key_pkcs8: Vec<u8>) -> Self {
        let key = overture_crypto_provider::KeyProvider::load_private_key(
            &ring::KEY_PROVIDER,
            PrivateKeyDer::Pkcs8(key_pkcs8.into()),
        )
        .expect("load the server key");
        let scheme = key
            .choose_scheme(&[
                SignatureScheme::ECDSA_NISTP256_SHA256,
                SignatureScheme::ECDSA_NISTP384_SHA384,
                SignatureScheme::ED25519,
                SignatureScheme::RSA_PSS_SHA256,
            ])
            .expect("a TLS 1.3 signature scheme for the server key")
            .scheme();
        Self {
            chain,
            key,
            scheme,
            extra_chains: Vec::new(),
            carry: Mutex::new(None),
            ech: EchKey::generate("localhost"),
        }
    }

    /// The extra chain named `name`.
    pub fn chain_named(&self, name: &str) -> &[CertificateDer<'static>] {
        self.extra_chains
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, c)| c.as_slice())
            .unwrap_or_else(|| panic!("no chain named {name}"))
    }
}

// ---- the inbox: everything the client sends, read by a thread ------------------------------

#[derive(Default)]
struct InboxState {
    bytes: Vec<u8>,
    eof: bool,
}

/// The bytes the client sent, filled by a reader thread.
#[derive(Clone, Default)]
pub struct Inbox(Arc<(Mutex<InboxState>, Condvar)>);

impl Inbox {
    fn spawn_reader(&self, mut tcp: TcpStream) -> JoinHandle<()> {
        let me = self.clone();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 16384];
            loop {
                let n = match tcp.read(&mut buf) {
                    Ok(0) | Err(_) => 0,
                    Ok(n) => n,
                };
                let (lock, cv) = &*me.0;
                let mut st = lock.lock().unwrap();
                if n == 0 {
                    st.eof = true;
                    cv.notify_all();
                    return;
                }
                st.bytes.extend_from_slice(&buf[..n]);
                cv.notify_all();
            }
        })
    }

    /// Waits until at least `len` bytes are in (or EOF / timeout); returns a copy of all.
    fn wait_for(&self, len: usize, timeout: Duration) -> (Vec<u8>, bool) {
        let deadline = Instant::now() + timeout;
        let (lock, cv) = &*self.0;
        let mut st = lock.lock().unwrap();
        while st.bytes.len() < len && !st.eof {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            st = cv.wait_timeout(st, left).unwrap().0;
        }
        (st.bytes.clone(), st.eof)
    }

    /// Waits for EOF (the client hung up) at most `timeout`; whether it came.
    pub fn wait_eof(&self, timeout: Duration) -> bool {
        self.wait_for(usize::MAX, timeout).1
    }
}

// ---- record protection, by hand ------------------------------------------------------------

/// One direction's TLS 1.3 record protection.
pub struct Protect {
    aead: Box<dyn BoundAead>,
    iv: [u8; 12],
    /// The next sequence number.
    pub seq: u64,
}

impl Protect {
    fn new(suite: &Tls13CipherSuite, secret: &Secret) -> Self {
        let k = key_schedule::traffic_key(suite, secret).unwrap();
        Self {
            aead: suite.aead.with_key(k.key.as_bytes()).unwrap(),
            iv: k.iv,
            seq: 0,
        }
    }

    /// A protected record of outer length `body_len` (normally `inner.len() + 16`) whose
    /// plaintext is `inner` (content ‖ type ‖ padding, as the caller built it).
    pub fn seal_inner(&mut self, inner: &[u8], outer_len: Option<usize>) -> Vec<u8> {
        let len = outer_len.unwrap_or(inner.len() + 16);
        let hdr = [
            ct::APPDATA,
            3,
            3,
            u8::try_from(len >> 8).unwrap_or(0xff),
            u8::try_from(len & 0xff).unwrap(),
        ];
        let mut body = inner.to_vec();
        let tag = self
            .aead
            .seal_in_place(Nonce::xor_seq(&self.iv, self.seq), &hdr, &mut body)
            .unwrap();
        self.seq += 1;
        body.extend_from_slice(tag.as_ref());
        let mut rec = hdr.to_vec();
        rec.extend_from_slice(&body);
        rec
    }

    /// A protected record holding `payload` of inner type `typ` with `pad` zero bytes.
    pub fn seal(&mut self, typ: u8, payload: &[u8], pad: usize) -> Vec<u8> {
        let mut inner = payload.to_vec();
        inner.push(typ);
        inner.resize(inner.len() + pad, 0);
        self.seal_inner(&inner, None)
    }

    /// Opens a record (header ‖ body); the inner plaintext (type last, padding stripped).
    fn open(&mut self, record: &[u8]) -> Option<(u8, Vec<u8>)> {
        let (hdr, body) = record.split_at_checked(5)?;
        let mut body = body.to_vec();
        let n = self
            .aead
            .open_in_place(Nonce::xor_seq(&self.iv, self.seq), hdr, &mut body)
            .ok()?;
        self.seq += 1;
        body.truncate(n);
        let at = body.iter().rposition(|b| *b != 0)?;
        let typ = body[at];
        body.truncate(at);
        Some((typ, body))
    }
}

// ---- wire helpers --------------------------------------------------------------------------

/// A handshake message: type ‖ u24 length ‖ body.
pub fn hs_msg(typ: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![typ];
    m.extend_from_slice(&u24(body.len()));
    m.extend_from_slice(body);
    m
}

/// A 3-byte big-endian length.
pub fn u24(n: usize) -> [u8; 3] {
    let b = u32::try_from(n).unwrap().to_be_bytes();
    [b[1], b[2], b[3]]
}

/// A 2-byte big-endian number.
pub fn u16b(n: usize) -> [u8; 2] {
    u16::try_from(n).unwrap().to_be_bytes()
}

/// One extension: type ‖ u16 length ‖ body.
pub fn ext(typ: u16, body: &[u8]) -> Vec<u8> {
    let mut e = typ.to_be_bytes().to_vec();
    e.extend_from_slice(&u16b(body.len()));
    e.extend_from_slice(body);
    e
}

/// An extension block: u16 length ‖ extensions.
pub fn ext_block(exts: &[Vec<u8>]) -> Vec<u8> {
    let all = exts.concat();
    let mut b = u16b(all.len()).to_vec();
    b.extend_from_slice(&all);
    b
}

/// A plaintext record of type `typ` (version 0x0303).
pub fn plain(typ: u8, payload: &[u8]) -> Vec<u8> {
    plain_v(typ, 0x0303, payload)
}

/// A plaintext record with the given record version.
pub fn plain_v(typ: u8, version: u16, payload: &[u8]) -> Vec<u8> {
    let mut r = vec![typ];
    r.extend_from_slice(&version.to_be_bytes());
    r.extend_from_slice(&u16b(payload.len()));
    r.extend_from_slice(payload);
    r
}

/// A ServerHello (or HelloRetryRequest) as fields, so that a script can break any of them.
#[derive(Clone, Debug)]
pub struct ServerHelloSpec {
    /// legacy_version.
    pub legacy_version: u16,
    /// random.
    pub random: [u8; 32],
    /// legacy_session_id_echo.
    pub session_id: Vec<u8>,
    /// cipher_suite.
    pub suite: u16,
    /// legacy_compression_method.
    pub compression: u8,
    /// Each extension, encoded (type ‖ length ‖ body).
    pub extensions: Vec<Vec<u8>>,
}

impl ServerHelloSpec {
    /// The body (without the handshake header).
    pub fn body(&self) -> Vec<u8> {
        let mut b = self.legacy_version.to_be_bytes().to_vec();
        b.extend_from_slice(&self.random);
        b.push(u8::try_from(self.session_id.len()).unwrap_or(0xff));
        b.extend_from_slice(&self.session_id);
        b.extend_from_slice(&self.suite.to_be_bytes());
        b.push(self.compression);
        b.extend_from_slice(&ext_block(&self.extensions));
        b
    }

    /// The whole handshake message.
    pub fn encode(&self) -> Vec<u8> {
        hs_msg(hs::SERVER_HELLO, &self.body())
    }

    /// Removes the extensions of type `typ`.
    pub fn without(&mut self, typ: u16) {
        self.extensions
            .retain(|e| u16::from_be_bytes([e[0], e[1]]) != typ);
    }
}

/// The key_share extension body of a ServerHello.
pub fn key_share_ext(group: NamedGroup, public: &[u8]) -> Vec<u8> {
    let mut b = group.get().to_be_bytes().to_vec();
    b.extend_from_slice(&u16b(public.len()));
    b.extend_from_slice(public);
    ext(ext::KEY_SHARE, &b)
}

/// supported_versions selecting `v`.
pub fn supported_versions_ext(v: u16) -> Vec<u8> {
    ext(ext::SUPPORTED_VERSIONS, &v.to_be_bytes())
}

// ---- the connection a script drives --------------------------------------------------------

/// Keys of one side, once derived.
struct Secrets {
    c_hs: Secret,
    s_hs: Secret,
    c_ap: Option<Secret>,
    s_ap: Option<Secret>,
    /// The client's handshake key when the script keyed the handshake with another PSK than
    /// the one the client holds (the client's alert is under its own key).
    c_hs_client_psk: Option<Secret>,
}

/// The server side of one connection, as a script sees it.
pub struct Conn {
    tcp: TcpStream,
    inbox: Inbox,
    /// Bytes of the inbox already taken as records.
    cursor: usize,
    /// The fixture.
    pub fixture: Arc<Fixture>,
    /// The (last) ClientHello.
    pub client_hello: Option<ClientHello<'static>>,
    /// The suite the server uses.
    pub suite: &'static Tls13CipherSuite,
    transcript: Transcript,
    ks: Option<KeySchedule>,
    shared: Option<Secret>,
    secrets: Option<Secrets>,
    /// The server's current write protection (handshake, then application keys).
    pub write: Option<Protect>,
    /// Send every byte in its own `write` (a server that trickles).
    pub trickle: bool,
    hrr_done: bool,
    reset_requested: bool,
    /// The PSK the key schedule starts from (resumption), if any.
    pub psk: Option<Vec<u8>>,
    /// The last ClientHello as received (TLS 1.2's transcript starts with it).
    ch_raw: Vec<u8>,
    /// The legacy_record_version of the record that carried the last ClientHello.
    ch_record_version: u16,
    /// TLS 1.2 state, once `tls12_to_server_hello_done` ran.
    tls12: Option<Tls12Server>,
    /// How many client bytes were in when the TLS 1.3 ServerHello's keys were made: from
    /// there on a real server reads under the client handshake key (RFC 8446 §6) and a
    /// plaintext alert is a record it cannot open (bad_record_mac).
    protected_from: Option<usize>,
    /// ECH accepted (`ech_accept`): the HPKE context, ClientHelloInner1's random and the
    /// message itself.
    ech: Option<(
        overture_crypto_provider::hpke::HpkeContext,
        [u8; 32],
        Vec<u8>,
    )>,
}

/// The server side of a TLS 1.2 ECDHE-ECDSA-AES128-GCM-SHA256 handshake with the extended
/// master secret.
struct Tls12Server {
    /// Every handshake message so far, as sent or received.
    transcript: Vec<u8>,
    server_random: [u8; 32],
    kx: Option<Box<dyn ActiveKeyExchange>>,
    master: Option<Vec<u8>>,
    keys: Option<Keys12>,
    /// Our sealing record layer (after our CCS).
    tx: Option<overture_record_layer::RecordLayer>,
}

/// The AES-128-GCM key block of a TLS 1.2 connection.
#[derive(Clone, Copy)]
struct Keys12 {
    client_key: [u8; 16],
    server_key: [u8; 16],
    client_salt: [u8; 4],
    server_salt: [u8; 4],
}

/// The TLS 1.2 PRF with SHA-256 (RFC 5246 §5).
pub fn prf_sha256(secret: &[u8], label: &[u8], seed: &[u8], out: &mut [u8]) {
    let hmac = |parts: &[&[u8]]| {
        overture_crypto_provider::Hmac::with_key(&ring::HMAC_SHA256, secret)
            .sign(parts)
            .as_bytes()
            .to_vec()
    };
    let mut a = hmac(&[label, seed]);
    let mut filled = 0;
    while filled < out.len() {
        let block = hmac(&[&a, label, seed]);
        let n = block.len().min(out.len() - filled);
        out[filled..filled + n].copy_from_slice(&block[..n]);
        filled += n;
        a = hmac(&[&a]);
    }
}

fn sha256(data: &[u8]) -> Vec<u8> {
    overture_crypto_provider::Hash::hash(&ring::SHA256, data)
        .as_bytes()
        .to_vec()
}

fn kx_for(group: NamedGroup) -> Option<&'static dyn KeyExchange> {
    match group {
        NamedGroup::X25519 => Some(&ring::X25519),
        NamedGroup::secp256r1 => Some(&ring::SECP256R1),
        NamedGroup::secp384r1 => Some(&ring::SECP384R1),
        NamedGroup::X25519MLKEM768 => Some(&ring::X25519MLKEM768),
        _ => None,
    }
}

impl Conn {
    fn new(tcp: TcpStream, inbox: Inbox, fixture: Arc<Fixture>) -> Self {
        Self {
            tcp,
            inbox,
            cursor: 0,
            fixture,
            client_hello: None,
            suite: &ring::TLS13_AES_128_GCM_SHA256,
            transcript: Transcript::new(),
            ks: None,
            shared: None,
            secrets: None,
            write: None,
            trickle: false,
            hrr_done: false,
            reset_requested: false,
            psk: None,
            ch_raw: Vec::new(),
            ch_record_version: 0,
            tls12: None,
            protected_from: None,
            ech: None,
        }
    }

    /// Plays the ECH server (RFC 9849 §7.1) on the ClientHelloOuter just accepted: decrypts
    /// its `encrypted_client_hello` with the fixture's key and makes ClientHelloInner the
    /// handshake's ClientHello (transcript, key shares, session id). Call right after the
    /// first `accept()`.
    pub fn ech_accept(&mut self) -> io::Result<()> {
        let inner = self.ech_open()?;
        let msg = HandshakeMessage::ClientHello(inner.clone())
            .encode()
            .unwrap();
        self.transcript = Transcript::new();
        self.transcript.add(&msg);
        if let Some(ech) = self.ech.as_mut() {
            ech.2.clone_from(&msg);
        }
        self.client_hello = Some(inner);
        self.ch_raw = msg;
        Ok(())
    }

    /// After `hrr` (an encoded HelloRetryRequest, sent) and `accept()` of the second
    /// ClientHelloOuter: decrypts it with the first hello's HPKE context (RFC 9849 §7.1.1)
    /// and rebuilds the transcript over the inner hellos.
    pub fn ech_accept_retry(&mut self, hrr: &[u8]) -> io::Result<()> {
        let first = self.ech.as_ref().map(|e| e.2.clone()).unwrap_or_default();
        let inner = self.ech_open()?;
        let msg = HandshakeMessage::ClientHello(inner.clone())
            .encode()
            .unwrap();
        self.transcript = Transcript::new();
        self.transcript.add(&first);
        self.transcript.roll_up_for_retry(self.suite.hash);
        self.transcript.add(hrr);
        self.transcript.add(&msg);
        self.hrr_done = true;
        self.client_hello = Some(inner);
        self.ch_raw = msg;
        Ok(())
    }

    /// Decrypts the current ClientHelloOuter's payload (the first with a new HPKE context,
    /// later ones with the same) into ClientHelloInner, legacy_session_id restored.
    fn ech_open(&mut self) -> io::Result<ClientHello<'static>> {
        let fail = |why: &str| io::Error::other(format!("ECH: {why}"));
        let mut outer = self
            .client_hello
            .clone()
            .ok_or_else(|| fail("no ClientHello"))?;
        let body = outer
            .extensions
            .0
            .to_mut()
            .iter_mut()
            .find_map(|e| match e {
                ClientExtension::Other(x) if x.typ.get() == 0xfe0d => Some(x.data.0.to_mut()),
                _ => None,
            })
            .ok_or_else(|| fail("no encrypted_client_hello"))?;
        let bad = |e: overture_types::InvalidMessage| fail(&e.to_string());
        let mut r = overture_types::Reader::new(body);
        let (kind, kdf, aead) = (
            r.u8("type").map_err(bad)?,
            r.u16("kdf").map_err(bad)?,
            r.u16("aead").map_err(bad)?,
        );
        r.u8("config_id").map_err(bad)?;
        let mut vector = || {
            r.prefixed(overture_types::LengthWidth::U16, 0, 0xffff, "vector")
                .map(|mut v| v.rest().to_vec())
                .map_err(bad)
        };
        let enc = vector()?;
        let payload = vector()?;
        if kind != 0 {
            return Err(fail("not the outer variant"));
        }
        // ClientHelloOuterAAD: the outer hello with a zero payload (RFC 9849 §5.2).
        let at = body.len() - payload.len();
        body[at..].fill(0);
        let aad = HandshakeMessage::ClientHello(outer.clone())
            .encode()
            .unwrap();
        if self.ech.is_none() {
            let info = [&b"tls ech\0"[..], &self.fixture.ech.config].concat();
            let ctx = ech_hpke(kdf, aead)
                .setup_base_receiver(&enc, self.fixture.ech.secret.as_bytes(), &info)
                .map_err(|e| fail(&e.to_string()))?;
            self.ech = Some((ctx, [0; 32], Vec::new()));
        } else if !enc.is_empty() {
            return Err(fail("enc not empty in the second ClientHelloOuter"));
        }
        let (ctx, random, _) = self.ech.as_mut().unwrap();
        let encoded = ctx
            .open(&aad[4..], &payload)
            .map_err(|e| fail(&e.to_string()))?;
        let mut r = overture_types::Reader::new(&encoded);
        let inner = <ClientHello as overture_types::Codec>::read(&mut r).map_err(bad)?;
        if r.rest().iter().any(|b| *b != 0) {
            return Err(fail("non-zero padding"));
        }
        if !inner.session_id.0.is_empty() {
            return Err(fail("EncodedClientHelloInner has a session id"));
        }
        // ech_outer_extensions: the referenced extensions from the outer hello, in order.
        let mut exts = Vec::new();
        for e in inner.extensions.0.into_owned() {
            match e {
                ClientExtension::Other(x) if x.typ.get() == 0xfd00 => {
                    let mut r = overture_types::Reader::new(&x.data.0);
                    let mut list = r
                        .prefixed(overture_types::LengthWidth::U8, 2, 254, "OuterExtensions")
                        .map_err(bad)?;
                    while list.any_left() {
                        let t = list.u16("type").map_err(bad)?;
                        let found = outer.extensions.0.iter().find(|o| o.typ().get() == t);
                        exts.push(
                            found
                                .ok_or_else(|| fail("missing outer extension"))?
                                .clone(),
                        );
                    }
                }
                other => exts.push(other.into_owned()),
            }
        }
        let mut inner = ClientHello {
            extensions: overture_handshake::msgs::ListU16::from(exts),
            ..inner
        }
        .into_owned();
        if *random == [0; 32] {
            *random = inner.random;
        }
        inner.session_id = outer.session_id;
        Ok(inner)
    }

    /// `HKDF-Expand-Label(HKDF-Extract(0, ClientHelloInner1.random), label, hash, 8)`.
    fn ech_confirmation(&self, label: &[u8], hash: &[u8]) -> [u8; 8] {
        let (_, random, _) = self.ech.as_ref().expect("ech_accept() first");
        let prk = self.suite.hkdf.extract(&[], random);
        let expander = self.suite.hkdf.expander(prk.as_bytes()).unwrap();
        let mut out = [0u8; 8];
        overture_crypto_provider::expand_label(&*expander, label, hash, &mut out).unwrap();
        out
    }

    /// Sets the last 8 bytes of `sh.random` to the ECH accept_confirmation over the
    /// transcript so far (RFC 9849 §7.2).
    pub fn ech_confirm_server_hello(&self, sh: &mut ServerHelloSpec) {
        sh.random[24..].fill(0);
        let hash = self.transcript.hash_with(self.suite.hash, &sh.encode());
        sh.random[24..]
            .copy_from_slice(&self.ech_confirmation(b"ech accept confirmation", hash.as_bytes()));
    }

    /// Adds to `hrr` the ECH extension with hrr_accept_confirmation over ClientHelloInner1
    /// (RFC 9849 §7.2.1).
    pub fn ech_confirm_hrr(&self, hrr: &mut ServerHelloSpec) {
        hrr.extensions.push(ext(0xfe0d, &[0; 8]));
        let mut t = Transcript::new();
        t.add(&self.ech.as_ref().expect("ech_accept() first").2);
        t.roll_up_for_retry(self.suite.hash);
        let hash = t.hash_with(self.suite.hash, &hrr.encode());
        let conf = self.ech_confirmation(b"hrr ech accept confirmation", hash.as_bytes());
        hrr.extensions.pop();
        hrr.extensions.push(ext(0xfe0d, &conf));
    }

    /// Sends raw bytes.
    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.trickle {
            for b in bytes {
                self.tcp.write_all(std::slice::from_ref(b))?;
                self.tcp.flush()?;
            }
            Ok(())
        } else {
            self.tcp.write_all(bytes)
        }
    }

    /// The next record from the client (header ‖ body), waiting at most 10 s.
    pub fn read_record(&mut self) -> io::Result<Vec<u8>> {
        let (bytes, _) = self
            .inbox
            .wait_for(self.cursor + 5, Duration::from_secs(10));
        let hdr = bytes
            .get(self.cursor..self.cursor + 5)
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "no record header"))?;
        let len = 5 + usize::from(u16::from_be_bytes([hdr[3], hdr[4]]));
        let (bytes, _) = self
            .inbox
            .wait_for(self.cursor + len, Duration::from_secs(10));
        let rec = bytes
            .get(self.cursor..self.cursor + len)
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "record cut short"))?
            .to_vec();
        self.cursor += len;
        Ok(rec)
    }

    /// Reads a ClientHello (plaintext handshake records, CCS skipped) and adds it to the
    /// transcript.
    pub fn accept(&mut self) -> io::Result<()> {
        let mut msg = Vec::new();
        loop {
            let rec = self.read_record()?;
            match rec[0] {
                // RFC 8446 §5.1: only the initial ClientHello's record may say 0x0301; the
                // compatibility CCS before a second ClientHello must say 0x0303 (BoGo's runner
                // refuses anything else, and so does this server).
                ct::CCS if rec[1..3] == [3, 3] => continue,
                ct::CCS => {
                    let _ = self.send(&plain(ct::ALERT, &[2, 10]));
                    return Err(io::Error::other(format!(
                        "ChangeCipherSpec in a record of version {:#06x}",
                        u16::from_be_bytes([rec[1], rec[2]])
                    )));
                }
                ct::HANDSHAKE => {
                    if msg.is_empty() {
                        self.ch_record_version = u16::from_be_bytes([rec[1], rec[2]]);
                    }
                    msg.extend_from_slice(&rec[5..]);
                }
                // After a HelloRetryRequest, a server skips the 0-RTT records of the first
                // ClientHello (RFC 8446 §4.2.10).
                ct::APPDATA
                    if msg.is_empty()
                        && self.hrr_done
                        && self.client_hello.as_ref().is_some_and(offers_early_data) =>
                {
                    continue;
                }
                other => {
                    return Err(io::Error::other(format!(
                        "client sent record type {other} instead of a ClientHello"
                    )));
                }
            }
            if msg.len() >= 4 {
                let len =
                    4 + usize::try_from(u32::from_be_bytes([0, msg[1], msg[2], msg[3]])).unwrap();
                if msg.len() >= len {
                    break;
                }
            }
        }
        let HandshakeMessage::ClientHello(ch) =
            HandshakeMessage::decode(&msg).map_err(|e| io::Error::other(e.to_string()))?
        else {
            return Err(io::Error::other("not a ClientHello"));
        };
        self.transcript.add(&msg);
        let ch = ch.into_owned();
        self.client_hello = Some(ch);
        self.ch_raw = msg;
        Ok(())
    }

    /// The client's key shares.
    pub fn client_shares(&self) -> Vec<(NamedGroup, Vec<u8>)> {
        let ch = self.client_hello.as_ref().expect("accept() first");
        ch.extensions
            .0
            .iter()
            .find_map(|e| match e {
                ClientExtension::KeyShare(v) => Some(
                    v.0.iter()
                        .map(|k| (k.group, k.key_exchange.as_slice().to_vec()))
                        .collect(),
                ),
                _ => None,
            })
            .unwrap_or_default()
    }

    /// The client's legacy_session_id.
    pub fn client_session_id(&self) -> Vec<u8> {
        self.client_hello
            .as_ref()
            .unwrap()
            .session_id
            .as_slice()
            .to_vec()
    }

    /// A correct ServerHello for the client's first key share (our share computed now).
    pub fn default_server_hello(&mut self) -> ServerHelloSpec {
        let (group, client_pub) = self
            .client_shares()
            .into_iter()
            .next()
            .expect("the client sent a key share");
        let kx = kx_for(group).expect("a group the server knows");
        // The responder's side: (EC)DH, or an encapsulation for X25519MLKEM768.
        let done = kx.start_and_complete(&client_pub).unwrap();
        let public = done.share;
        self.shared = Some(done.secret);
        let mut random = [0u8; 32];
        overture_crypto_provider::SecureRandom::fill(&ring::RANDOM, &mut random).unwrap();
        ServerHelloSpec {
            legacy_version: 0x0303,
            random,
            session_id: self.client_session_id(),
            suite: self.suite.suite.get(),
            compression: 0,
            extensions: vec![
                supported_versions_ext(0x0304),
                key_share_ext(group, &public),
            ],
        }
    }

    /// A HelloRetryRequest asking for `group` (and echoing the session id).
    pub fn default_hrr(&self, group: Option<NamedGroup>, cookie: Option<&[u8]>) -> ServerHelloSpec {
        let mut extensions = vec![supported_versions_ext(0x0304)];
        if let Some(g) = group {
            extensions.push(ext(ext::KEY_SHARE, &g.get().to_be_bytes()));
        }
        if let Some(c) = cookie {
            let mut b = u16b(c.len()).to_vec();
            b.extend_from_slice(c);
            extensions.push(ext(ext::COOKIE, &b));
        }
        ServerHelloSpec {
            legacy_version: 0x0303,
            random: HRR_RANDOM,
            session_id: self.client_session_id(),
            suite: self.suite.suite.get(),
            compression: 0,
            extensions,
        }
    }

    /// Sends a HelloRetryRequest (plaintext), rolls the transcript, and reads ClientHello2.
    pub fn send_hrr(&mut self, hrr: &ServerHelloSpec) -> io::Result<()> {
        let msg = hrr.encode();
        if !self.hrr_done {
            self.transcript.roll_up_for_retry(self.suite.hash);
            self.hrr_done = true;
        }
        self.transcript.add(&msg);
        self.send(&plain(ct::HANDSHAKE, &msg))?;
        let first = self.client_hello.clone();
        self.accept()?;
        // RFC 8446 §4.1.2: the second ClientHello is the first with only the key share (and
        // cookie) changed. A client that breaks this is refused like a real server would.
        // RFC 8446 §5.1: only the initial ClientHello may use record version 0x0301.
        let record_version = (self.ch_record_version == 0x0303)
            .then_some(())
            .ok_or_else(|| format!("record version {:#06x}", self.ch_record_version));
        if let (Some(ch1), Some(ch2)) = (&first, &self.client_hello)
            && let Err(why) = record_version.and_then(|()| check_second_client_hello(ch1, ch2, hrr))
        {
            let _ = self.send(&plain(ct::ALERT, &[2, 47]));
            return Err(io::Error::other(format!("ClientHello2 refused: {why}")));
        }
        Ok(())
    }

    /// Sends `sh` in one plaintext record, adds it to the transcript and switches to the
    /// handshake keys.
    pub fn send_server_hello(&mut self, sh: &ServerHelloSpec) -> io::Result<()> {
        let msg = sh.encode();
        self.server_hello_keys(&msg);
        self.send(&plain(ct::HANDSHAKE, &msg))
    }

    /// Adds the ServerHello message `msg` to the transcript and derives the handshake keys,
    /// without sending anything (for scripts that frame the ServerHello themselves).
    pub fn server_hello_keys(&mut self, msg: &[u8]) {
        self.transcript.start_hash(self.suite.hash);
        self.transcript.add(msg);
        let mut ks = KeySchedule::new(self.suite, self.psk.as_deref());
        let zeros = [0u8; 32];
        let shared = self.shared.as_ref().map_or(&zeros[..], |s| s.as_bytes());
        ks.advance(Some(shared)).unwrap();
        let hash = self.transcript.current_hash().unwrap();
        let c_hs = ks.derive(b"c hs traffic", hash.as_bytes()).unwrap();
        let s_hs = ks.derive(b"s hs traffic", hash.as_bytes()).unwrap();
        self.write = Some(Protect::new(self.suite, &s_hs));
        self.protected_from = Some(self.inbox.wait_for(0, Duration::ZERO).0.len());
        let c_hs_client_psk = match (self.psk.as_deref(), self.carried_psk()) {
            (Some(ours), Some(theirs)) if ours != theirs.as_slice() => {
                let mut theirs_ks = KeySchedule::new(self.suite, Some(&theirs));
                theirs_ks.advance(Some(shared)).unwrap();
                Some(theirs_ks.derive(b"c hs traffic", hash.as_bytes()).unwrap())
            }
            _ => None,
        };
        self.secrets = Some(Secrets {
            c_hs_client_psk,
            c_hs,
            s_hs,
            c_ap: None,
            s_ap: None,
        });
        self.ks = Some(ks);
    }

    /// Seals `payload` as one protected record of inner type `typ`.
    pub fn enc(&mut self, typ: u8, payload: &[u8]) -> Vec<u8> {
        self.write
            .as_mut()
            .expect("keys: send the ServerHello first")
            .seal(typ, payload, 0)
    }

    /// Adds `msg` to the transcript and sends it in protected handshake records (one, unless
    /// it is longer than 2^14 bytes).
    pub fn send_hs(&mut self, msg: &[u8]) -> io::Result<()> {
        self.transcript.add(msg);
        let mut out = Vec::new();
        for chunk in msg.chunks(1 << 14) {
            out.extend_from_slice(&self.enc(ct::HANDSHAKE, chunk));
        }
        self.send(&out)
    }

    /// Adds messages to the transcript without sending them.
    pub fn add_transcript(&mut self, msg: &[u8]) {
        self.transcript.add(msg);
    }

    /// EncryptedExtensions with these extensions.
    pub fn encrypted_extensions(&self, exts: &[Vec<u8>]) -> Vec<u8> {
        hs_msg(hs::ENCRYPTED_EXTENSIONS, &ext_block(exts))
    }

    /// A Certificate message for `chain` (empty context, no entry extensions).
    pub fn certificate_for(chain: &[CertificateDer<'_>]) -> Vec<u8> {
        let mut list = Vec::new();
        for c in chain {
            list.extend_from_slice(&u24(c.len()));
            list.extend_from_slice(c);
            list.extend_from_slice(&[0, 0]);
        }
        let mut body = vec![0u8];
        body.extend_from_slice(&u24(list.len()));
        body.extend_from_slice(&list);
        hs_msg(hs::CERTIFICATE, &body)
    }

    /// The fixture's Certificate message.
    pub fn certificate(&self) -> Vec<u8> {
        Self::certificate_for(&self.fixture.chain)
    }

    /// The content a server CertificateVerify signs, over the transcript so far.
    pub fn cv_content(&self, context: &[u8]) -> Vec<u8> {
        let hash = self.transcript.current_hash().unwrap();
        let mut m = vec![0x20u8; 64];
        m.extend_from_slice(context);
        m.push(0);
        m.extend_from_slice(hash.as_bytes());
        m
    }

    /// A correct CertificateVerify over the transcript so far.
    pub fn certificate_verify(&self) -> Vec<u8> {
        let content = self.cv_content(b"TLS 1.3, server CertificateVerify");
        let signer = self
            .fixture
            .key
            .choose_scheme(&[self.fixture.scheme])
            .unwrap();
        let sig = signer.sign(&content).unwrap();
        Self::certificate_verify_raw(self.fixture.scheme.get(), &sig)
    }

    /// A CertificateVerify with this scheme and signature.
    pub fn certificate_verify_raw(scheme: u16, sig: &[u8]) -> Vec<u8> {
        let mut body = scheme.to_be_bytes().to_vec();
        body.extend_from_slice(&u16b(sig.len()));
        body.extend_from_slice(sig);
        hs_msg(hs::CERTIFICATE_VERIFY, &body)
    }

    /// A correct server Finished over the transcript so far.
    pub fn finished(&self) -> Vec<u8> {
        let s = self.secrets.as_ref().expect("handshake keys");
        let fk = key_schedule::finished_key(self.suite, &s.s_hs).unwrap();
        let hash = self.transcript.current_hash().unwrap();
        let vd = key_schedule::verify_data(self.suite, &fk, hash.as_bytes());
        hs_msg(hs::FINISHED, vd.as_bytes())
    }

    /// After the server Finished was added to the transcript: derives the application secrets
    /// and switches the server's write protection to them.
    pub fn application_keys(&mut self) {
        let hash = self.transcript.current_hash().unwrap();
        let ks = self.ks.as_mut().expect("handshake keys");
        ks.advance(None).unwrap();
        let c_ap = ks.derive(b"c ap traffic", hash.as_bytes()).unwrap();
        let s_ap = ks.derive(b"s ap traffic", hash.as_bytes()).unwrap();
        self.write = Some(Protect::new(self.suite, &s_ap));
        if let Some(s) = self.secrets.as_mut() {
            s.c_ap = Some(c_ap);
            s.s_ap = Some(s_ap);
        }
    }

    /// After the server Finished: the client's Finished (no client certificate) as the server
    /// expects it, into the transcript; then the PSK of a ticket with `nonce` (RFC 8446 §4.6.1),
    /// also left in the fixture's `carry` for the scenario's next connection.
    pub fn ticket_psk(&mut self, nonce: &[u8]) -> Vec<u8> {
        let s = self.secrets.as_ref().expect("handshake keys");
        let fk = key_schedule::finished_key(self.suite, &s.c_hs).unwrap();
        let hash = self.transcript.current_hash().unwrap();
        let vd = key_schedule::verify_data(self.suite, &fk, hash.as_bytes());
        self.transcript.add(&hs_msg(hs::FINISHED, vd.as_bytes()));
        let hash = self.transcript.current_hash().unwrap();
        let ks = self.ks.as_ref().expect("master secret");
        let res = ks.derive(b"res master", hash.as_bytes()).unwrap();
        let psk = key_schedule::ticket_psk(self.suite, &res, nonce)
            .unwrap()
            .as_bytes()
            .to_vec();
        *self.fixture.carry.lock().unwrap() = Some(psk.clone());
        psk
    }

    /// The PSK an earlier connection of this scenario left (see [`Conn::ticket_psk`]).
    pub fn carried_psk(&self) -> Option<Vec<u8>> {
        self.fixture.carry.lock().unwrap().clone()
    }

    /// Whether the client offered a pre_shared_key.
    pub fn client_offers_psk(&self) -> bool {
        self.client_hello.as_ref().is_some_and(|ch| {
            ch.extensions
                .0
                .iter()
                .any(|e| matches!(e, ClientExtension::PreSharedKey(_)))
        })
    }

    /// Rotates the server's application write key (after sending a KeyUpdate).
    pub fn rotate_write_key(&mut self) {
        let s = self.secrets.as_mut().expect("application keys");
        let next = key_schedule::next_traffic_secret(self.suite, s.s_ap.as_ref().unwrap()).unwrap();
        self.write = Some(Protect::new(self.suite, &next));
        s.s_ap = Some(next);
    }

    /// Sends the fixture's Certificate.
    pub fn send_certificate(&mut self) -> io::Result<()> {
        let m = self.certificate();
        self.send_hs(&m)
    }

    /// Sends a correct CertificateVerify.
    pub fn send_certificate_verify(&mut self) -> io::Result<()> {
        let m = self.certificate_verify();
        self.send_hs(&m)
    }

    /// Sends a correct Finished.
    pub fn send_finished(&mut self) -> io::Result<()> {
        let m = self.finished();
        self.send_hs(&m)
    }

    /// Sends a correct Finished, switches to the application keys, sends the greeting and
    /// close_notify: the end of every script that lets the handshake complete.
    pub fn finish_and_greet(&mut self) -> io::Result<()> {
        self.send_finished()?;
        self.application_keys();
        self.hello_and_close()
    }

    /// The whole correct flight after ServerHello: EncryptedExtensions, Certificate,
    /// CertificateVerify, Finished (one record each), then the application keys.
    pub fn rest_of_flight(&mut self) -> io::Result<()> {
        let ee = self.encrypted_extensions(&[]);
        self.send_hs(&ee)?;
        self.send_certificate()?;
        self.send_certificate_verify()?;
        self.send_finished()?;
        self.application_keys();
        Ok(())
    }

    /// A complete correct handshake from the server's side (ClientHello read already).
    pub fn full_handshake(&mut self) -> io::Result<()> {
        let sh = self.default_server_hello();
        self.send_server_hello(&sh)?;
        self.rest_of_flight()
    }

    /// Sends application data and a close_notify under the application key.
    pub fn hello_and_close(&mut self) -> io::Result<()> {
        let rec = self.enc(ct::APPDATA, GREETING);
        self.send(&rec)?;
        let rec = self.enc(ct::ALERT, &[1, 0]);
        self.send(&rec)
    }

    /// Waits for the client to hang up (at most `timeout`).
    pub fn wait_for_client_close(&self, timeout: Duration) -> bool {
        self.inbox.wait_eof(timeout)
    }

    /// Closes the server's sending side (TCP FIN) without a TLS goodbye.
    pub fn hang_up(&mut self) -> io::Result<()> {
        self.tcp.shutdown(Shutdown::Write)
    }

    /// Ends the script with a TCP reset (SO_LINGER 0, then close) instead of a goodbye.
    pub fn reset(&mut self) {
        self.reset_requested = true;
    }

    /// What the client sent under its application keys (following its own KeyUpdates), as
    /// (inner content type, payload) per record.
    pub fn client_application_records(&self) -> Vec<(u8, Vec<u8>)> {
        let (bytes, _) = self.inbox.wait_for(0, Duration::ZERO);
        let Some(s) = &self.secrets else {
            return Vec::new();
        };
        let Some(mut secret) = s.c_ap.as_ref().map(|k| Secret::new(k.as_bytes()).unwrap()) else {
            return Vec::new();
        };
        let mut hs_key = Protect::new(self.suite, &s.c_hs);
        let mut app_key = Protect::new(self.suite, &secret);
        let mut out = Vec::new();
        for rec in whole_records(&bytes) {
            if rec[0] != ct::APPDATA || hs_key.open(rec).is_some() {
                continue;
            }
            if let Some((typ, body)) = app_key.open(rec) {
                let key_update = typ == ct::HANDSHAKE && body.first() == Some(&hs::KEY_UPDATE);
                out.push((typ, body));
                if key_update {
                    secret = key_schedule::next_traffic_secret(self.suite, &secret).unwrap();
                    app_key = Protect::new(self.suite, &secret);
                }
            }
        }
        out
    }

    /// Waits up to `timeout` until the client's application records satisfy `done`.
    pub fn wait_client(&self, timeout: Duration, done: impl Fn(&[(u8, Vec<u8>)]) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if done(&self.client_application_records()) {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            let (bytes, eof) = self.inbox.wait_for(0, Duration::ZERO);
            if eof {
                return done(&self.client_application_records());
            }
            let _ = self
                .inbox
                .wait_for(bytes.len() + 1, Duration::from_millis(50));
        }
    }

    // ---- TLS 1.2 ------------------------------------------------------------------------

    /// A TLS 1.2 Certificate message for the fixture's chain.
    pub fn tls12_certificate(&self) -> Vec<u8> {
        let mut list = Vec::new();
        for cert in &self.fixture.chain {
            list.extend_from_slice(&u24(cert.len()));
            list.extend_from_slice(cert);
        }
        let mut body = u24(list.len()).to_vec();
        body.extend_from_slice(&list);
        hs_msg(hs::CERTIFICATE, &body)
    }

    /// An ECDHE ServerKeyExchange for `group` with `public`, signed with the fixture key over
    /// client_random ‖ `server_random` ‖ params (RFC 8422 §5.4).
    pub fn tls12_server_key_exchange(
        &self,
        group: NamedGroup,
        public: &[u8],
        server_random: &[u8; 32],
    ) -> Vec<u8> {
        let mut params = vec![3u8];
        params.extend_from_slice(&group.get().to_be_bytes());
        params.push(u8::try_from(public.len()).unwrap());
        params.extend_from_slice(public);
        let mut signed = self.client_hello.as_ref().unwrap().random.to_vec();
        signed.extend_from_slice(server_random);
        signed.extend_from_slice(&params);
        let signer = self
            .fixture
            .key
            .choose_scheme(&[self.fixture.scheme])
            .unwrap();
        let sig = signer.sign(&signed).unwrap();
        let mut body = params;
        body.extend_from_slice(&self.fixture.scheme.get().to_be_bytes());
        body.extend_from_slice(&u16b(sig.len()));
        body.extend_from_slice(&sig);
        hs_msg(12, &body)
    }

    /// Plays a TLS 1.2-only server up to ServerHelloDone: `sh` (its random is used as the
    /// server random), the fixture's chain, an X25519 ServerKeyExchange signed with the fixture
    /// key, ServerHelloDone — one plaintext record each.
    pub fn tls12_to_server_hello_done(&mut self, sh: &ServerHelloSpec) -> io::Result<()> {
        self.tls12_to_server_hello_done_then(sh, &[])
    }

    /// [`Conn::tls12_to_server_hello_done`] with `trailing` bytes in ServerHelloDone's record
    /// after it (not in the transcript).
    pub fn tls12_to_server_hello_done_then(
        &mut self,
        sh: &ServerHelloSpec,
        trailing: &[u8],
    ) -> io::Result<()> {
        let kx = ring::X25519.start().unwrap();
        let public = kx.public_key().to_vec();
        let mut st = Tls12Server {
            transcript: self.ch_raw.clone(),
            server_random: sh.random,
            kx: Some(kx),
            master: None,
            keys: None,
            tx: None,
        };
        let msgs = [
            sh.encode(),
            self.tls12_certificate(),
            self.tls12_server_key_exchange(NamedGroup::X25519, &public, &sh.random),
            hs_msg(14, &[]),
        ];
        let mut out = Vec::new();
        for m in &msgs {
            st.transcript.extend_from_slice(m);
            if m.first() == Some(&14) {
                out.extend_from_slice(&plain(ct::HANDSHAKE, &[m.as_slice(), trailing].concat()));
            } else {
                out.extend_from_slice(&plain(ct::HANDSHAKE, m));
            }
        }
        self.tls12 = Some(st);
        self.send(&out)
    }

    /// Reads the client's ClientKeyExchange, ChangeCipherSpec and Finished; derives the
    /// extended master secret and the keys; checks the client's Finished.
    pub fn tls12_read_client_flight(&mut self) -> io::Result<()> {
        let bad = |why: &str| io::Error::other(format!("client flight: {why}"));
        let cke = self.read_record()?;
        if cke.get(5) != Some(&16) {
            return Err(bad("no ClientKeyExchange"));
        }
        let cke_msg = cke[5..].to_vec();
        let client_pub = cke_msg
            .get(5..)
            .ok_or_else(|| bad("short ClientKeyExchange"))?;
        let ccs = self.read_record()?;
        if ccs[0] != ct::CCS {
            return Err(bad("no ChangeCipherSpec"));
        }
        let mut fin = self.read_record()?;
        let client_random = self.client_hello.as_ref().unwrap().random;
        let st = self.tls12.as_mut().ok_or_else(|| bad("no TLS 1.2 state"))?;
        let pms = st
            .kx
            .take()
            .unwrap()
            .complete(client_pub)
            .map_err(|e| bad(&e.to_string()))?;
        st.transcript.extend_from_slice(&cke_msg);
        let session_hash = sha256(&st.transcript);
        let mut master = vec![0u8; 48];
        prf_sha256(
            pms.as_bytes(),
            b"extended master secret",
            &session_hash,
            &mut master,
        );
        let mut block = [0u8; 40];
        let seed = [&st.server_random[..], &client_random[..]].concat();
        prf_sha256(&master, b"key expansion", &seed, &mut block);
        let keys = Keys12 {
            client_key: block[..16].try_into().unwrap(),
            server_key: block[16..32].try_into().unwrap(),
            client_salt: block[32..36].try_into().unwrap(),
            server_salt: block[36..40].try_into().unwrap(),
        };
        let mut rx = overture_record_layer::RecordLayer::new();
        rx.set_version(overture_types::ProtocolVersion::TLSv1_2);
        rx.set_read_key(
            overture_record_layer::RecordKey::tls12_gcm(
                &ring::AES_128_GCM,
                &keys.client_key,
                &keys.client_salt,
            )
            .unwrap(),
        );
        let opened = rx
            .open_in_place(&mut fin)
            .map_err(|e| bad(&e.to_string()))?
            .ok_or_else(|| bad("no Finished"))?;
        let fin_msg = opened.payload.to_vec();
        let mut expected = [0u8; 12];
        prf_sha256(
            &master,
            b"client finished",
            &sha256(&st.transcript),
            &mut expected,
        );
        if fin_msg != hs_msg(hs::FINISHED, &expected) {
            return Err(bad("the client's Finished does not verify"));
        }
        st.transcript.extend_from_slice(&fin_msg);
        st.master = Some(master);
        st.keys = Some(keys);
        Ok(())
    }

    /// The server's Finished over the transcript so far.
    pub fn tls12_finished(&self) -> Vec<u8> {
        let st = self.tls12.as_ref().unwrap();
        let mut vd = [0u8; 12];
        prf_sha256(
            st.master.as_ref().unwrap(),
            b"server finished",
            &sha256(&st.transcript),
            &mut vd,
        );
        hs_msg(hs::FINISHED, &vd)
    }

    /// Switches our writing to the server key (after our ChangeCipherSpec).
    pub fn tls12_start_encryption(&mut self) {
        let st = self.tls12.as_mut().unwrap();
        let Keys12 {
            server_key: skey,
            server_salt: ssalt,
            ..
        } = st.keys.unwrap();
        let mut tx = overture_record_layer::RecordLayer::new();
        tx.set_version(overture_types::ProtocolVersion::TLSv1_2);
        tx.set_write_key(
            overture_record_layer::RecordKey::tls12_gcm(&ring::AES_128_GCM, &skey, &ssalt).unwrap(),
        );
        st.tx = Some(tx);
    }

    /// One TLS 1.2 protected record of `typ` holding `payload`.
    pub fn enc12(&mut self, typ: u8, payload: &[u8]) -> Vec<u8> {
        let tx = self.tls12.as_mut().unwrap().tx.as_mut().unwrap();
        let typ = overture_types::ContentType::from(typ);
        // seal_in_place, not seal: seal appends nothing for an empty payload, and empty
        // records are what some scripts send.
        let head = tx.seal_headroom(typ);
        let mut buf = vec![0u8; tx.sealed_len(typ, payload.len())];
        buf[head..head + payload.len()].copy_from_slice(payload);
        let n = tx.seal_in_place(typ, &mut buf, payload.len()).unwrap();
        buf.truncate(n);
        buf
    }

    /// A complete TLS 1.2 handshake with `sh`: up to ServerHelloDone, the client's flight,
    /// our ChangeCipherSpec and Finished.
    pub fn tls12_handshake(&mut self, sh: &ServerHelloSpec) -> io::Result<()> {
        self.tls12_to_server_hello_done(sh)?;
        self.tls12_read_client_flight()?;
        self.send(&plain(ct::CCS, &[1]))?;
        self.tls12_start_encryption();
        let fin = self.tls12_finished();
        let rec = self.enc12(ct::HANDSHAKE, &fin);
        self.send(&rec)
    }

    /// The outer content types of the records the client sent so far, in order (whatever
    /// their protection: enough to count what it sent after its Finished).
    pub fn client_record_types(&self) -> Vec<u8> {
        let (bytes, _) = self.inbox.wait_for(0, Duration::ZERO);
        let mut out = Vec::new();
        let mut at = 0;
        while let Some(hdr) = bytes.get(at..at + 5) {
            out.push(hdr[0]);
            at += 5 + usize::from(u16::from_be_bytes([hdr[3], hdr[4]]));
        }
        out
    }

    /// The greeting and close_notify under the TLS 1.2 key.
    pub fn tls12_hello_and_close(&mut self) -> io::Result<()> {
        let a = self.enc12(ct::APPDATA, GREETING);
        let b = self.enc12(ct::ALERT, &[1, 0]);
        self.send(&[a, b].concat())
    }

    /// The alert the client sent, decoded from everything it sent (plaintext, or under its
    /// handshake or application key), and whether it was a plaintext alert after a TLS 1.3
    /// ServerHello (see [`ServerReport::plaintext_after_server_hello`]).
    fn observed_alert(&self) -> (Option<(u8, AlertDescription)>, bool) {
        let (bytes, _) = self.inbox.wait_for(0, Duration::ZERO);
        let mut keys: Vec<Protect> = Vec::new();
        // Until EncryptedExtensions says what became of its 0-RTT data, a client that offered
        // it writes (an alert too) under its early key.
        if let Some(early) = self.client_early_secret() {
            keys.push(Protect::new(self.suite, &early));
        }
        if let Some(s) = &self.secrets {
            keys.push(Protect::new(self.suite, &s.c_hs));
            if let Some(c_hs) = &s.c_hs_client_psk {
                keys.push(Protect::new(self.suite, c_hs));
            }
            if let Some(c_ap) = &s.c_ap {
                keys.push(Protect::new(self.suite, c_ap));
            }
        }
        // TLS 1.2: after the client's ChangeCipherSpec, every record is under its key.
        let mut rx12 = self.tls12.as_ref().and_then(|t| t.keys).map(
            |Keys12 {
                 client_key: ckey,
                 client_salt: csalt,
                 ..
             }| {
                let mut rx = overture_record_layer::RecordLayer::new();
                rx.set_version(overture_types::ProtocolVersion::TLSv1_2);
                rx.set_read_key(
                    overture_record_layer::RecordKey::tls12_gcm(&ring::AES_128_GCM, &ckey, &csalt)
                        .unwrap(),
                );
                rx
            },
        );
        let mut after_ccs = false;
        let mut at = 0;
        while let Some(hdr) = bytes.get(at..at + 5) {
            let len = 5 + usize::from(u16::from_be_bytes([hdr[3], hdr[4]]));
            let Some(rec) = bytes.get(at..at + len) else {
                break;
            };
            let start = at;
            at += len;
            if let (true, Some(rx)) = (after_ccs, rx12.as_mut()) {
                let mut r = rec.to_vec();
                if let Ok(Some(o)) = rx.open_in_place(&mut r)
                    && o.typ == overture_types::ContentType::Alert
                    && o.payload.len() == 2
                {
                    return (
                        Some((o.payload[0], AlertDescription::from(o.payload[1]))),
                        false,
                    );
                }
                continue;
            }
            match rec[0] {
                ct::CCS => after_ccs = true,
                ct::ALERT if rec.len() == 7 => {
                    let after_hello = self.protected_from.is_some_and(|from| start >= from);
                    return (Some((rec[5], AlertDescription::from(rec[6]))), after_hello);
                }
                ct::APPDATA => {
                    for k in keys.iter_mut() {
                        if let Some((typ, body)) = k.open(rec) {
                            if typ == ct::ALERT && body.len() == 2 {
                                return (Some((body[0], AlertDescription::from(body[1]))), false);
                            }
                            break;
                        }
                    }
                }
                _ => {}
            }
        }
        (None, false)
    }
}

/// The whole records (header ‖ body) at the start of `bytes`, in order (a partial last one
/// left out).
fn whole_records(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut at = 0;
    std::iter::from_fn(move || {
        let hdr = bytes.get(at..at + 5)?;
        let len = 5 + usize::from(u16::from_be_bytes([hdr[3], hdr[4]]));
        let rec = bytes.get(at..at + len)?;
        at += len;
        Some(rec)
    })
}

/// Whether a ClientHello offers early_data (RFC 8446 §4.2.10).
pub fn offers_early_data(ch: &ClientHello) -> bool {
    ch.extensions
        .0
        .iter()
        .any(|e| e.typ() == overture_types::ExtensionType::EarlyData)
}

/// Which key protected a record the client sent ([`Conn::client_records`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyUsed {
    /// None: a plaintext record (the ClientHello, a ChangeCipherSpec, an early alert).
    Plain,
    /// Its 0-RTT key (`client_early_traffic_secret`).
    Early,
    /// Its handshake traffic key.
    Handshake,
    /// Its first application traffic key.
    Application,
    /// None we know opens it.
    Unknown,
}

impl Conn {
    /// The client's early traffic secret (RFC 8446 §7.1), when its first ClientHello offered
    /// early_data with the ticket this scenario's earlier connection issued
    /// ([`Conn::carried_psk`]): `client_early_traffic_secret` over that ClientHello, with the
    /// server's suite (the ticket's).
    pub fn client_early_secret(&self) -> Option<Secret> {
        let ch = self.client_hello.as_ref()?;
        if self.hrr_done || !offers_early_data(ch) {
            return None;
        }
        let psk = self.carried_psk()?;
        let ks = KeySchedule::new(self.suite, Some(&psk));
        let hash = overture_crypto_provider::Hash::hash(self.suite.hash, &self.ch_raw);
        ks.derive(b"c e traffic", hash.as_bytes()).ok()
    }

    /// Every record the client sent so far, in order: which key protected it, its (inner)
    /// content type and its (inner) payload. Early, handshake and application keys are
    /// tried with their own sequence numbers, as a server that skips nothing would.
    pub fn client_records(&self) -> Vec<(KeyUsed, u8, Vec<u8>)> {
        let (bytes, _) = self.inbox.wait_for(0, Duration::ZERO);
        let mut early = self
            .client_early_secret()
            .map(|s| Protect::new(self.suite, &s));
        let mut hs_key = self
            .secrets
            .as_ref()
            .map(|s| Protect::new(self.suite, &s.c_hs));
        let mut app_key = self
            .secrets
            .as_ref()
            .and_then(|s| s.c_ap.as_ref())
            .map(|k| Protect::new(self.suite, k));
        let mut out = Vec::new();
        for rec in whole_records(&bytes) {
            if rec[0] != ct::APPDATA {
                out.push((KeyUsed::Plain, rec[0], rec[5..].to_vec()));
                continue;
            }
            let mut found = (KeyUsed::Unknown, rec[0], Vec::new());
            for (used, key) in [
                (KeyUsed::Early, early.as_mut()),
                (KeyUsed::Handshake, hs_key.as_mut()),
                (KeyUsed::Application, app_key.as_mut()),
            ] {
                if let Some((typ, body)) = key.and_then(|k| k.open(rec)) {
                    found = (used, typ, body);
                    break;
                }
            }
            out.push(found);
        }
        out
    }
}

/// What a HelloRetryRequest asked for: the key_share group and the cookie.
fn hrr_requests(hrr: &ServerHelloSpec) -> (Option<u16>, Option<Vec<u8>>) {
    let mut group = None;
    let mut cookie = None;
    for e in &hrr.extensions {
        let (typ, body) = (u16::from_be_bytes([e[0], e[1]]), &e[4..]);
        match typ {
            ext::KEY_SHARE if body.len() == 2 => {
                group = Some(u16::from_be_bytes([body[0], body[1]]))
            }
            ext::COOKIE if body.len() >= 2 => cookie = Some(body[2..].to_vec()),
            _ => {}
        }
    }
    (group, cookie)
}

/// RFC 8446 §4.1.2: ClientHello2 = ClientHello1 with the key_share replaced by one share for
/// the requested group, the cookie added, the PSK binders recomputed, and nothing else changed.
fn check_second_client_hello(
    ch1: &ClientHello,
    ch2: &ClientHello,
    hrr: &ServerHelloSpec,
) -> Result<(), String> {
    if ch1.random != ch2.random
        || ch1.session_id != ch2.session_id
        || ch1.cipher_suites != ch2.cipher_suites
        || ch1.compression_methods != ch2.compression_methods
    {
        return Err("random, session id, suites or compression changed".into());
    }
    let (group, cookie) = hrr_requests(hrr);
    let changed = |e: &&ClientExtension| {
        // RFC 8446 §4.1.2 also lets the client recompute the PSK's age and binders, and
        // requires it to drop early_data (checked below).
        !matches!(
            e,
            ClientExtension::KeyShare(_)
                | ClientExtension::Cookie(_)
                | ClientExtension::PreSharedKey(_)
        ) && e.typ() != overture_types::ExtensionType::EarlyData
    };
    if offers_early_data(ch2) {
        return Err("the second ClientHello offers early_data (RFC 8446 §4.1.2)".into());
    }
    let rest1: Vec<_> = ch1.extensions.0.iter().filter(changed).collect();
    let rest2: Vec<_> = ch2.extensions.0.iter().filter(changed).collect();
    if rest1 != rest2 {
        return Err("extensions other than key_share and cookie changed".into());
    }
    for e in &ch2.extensions.0 {
        match e {
            ClientExtension::KeyShare(shares)
                if group.is_some_and(|g| shares.0.len() != 1 || shares.0[0].group.get() != g) =>
            {
                return Err("key_share is not one share for the requested group".into());
            }
            ClientExtension::Cookie(c) if cookie.as_deref() != Some(c.as_slice()) => {
                return Err("cookie not echoed as sent".into());
            }
            _ => {}
        }
    }
    let has_cookie = ch2
        .extensions
        .0
        .iter()
        .any(|e| matches!(e, ClientExtension::Cookie(_)));
    if cookie.is_some() && !has_cookie {
        return Err("the HelloRetryRequest's cookie is missing".into());
    }
    Ok(())
}

/// The application data every completing script sends before close_notify.
pub const GREETING: &[u8] = b"hello from the hostile server";

/// What the server saw.
#[derive(Debug, Default)]
pub struct ServerReport {
    /// The alert the client sent (level, description), if any reached us.
    pub alert: Option<(u8, AlertDescription)>,
    /// `alert` came in plaintext after a TLS 1.3 ServerHello. Right only when the client
    /// refused that ServerHello: once it accepted one, a real server reads under the client
    /// handshake key (RFC 8446 §6) and a plaintext alert is a record it cannot open
    /// (bad_record_mac). The corpus fails every other scenario that sees one.
    pub plaintext_after_server_hello: bool,
    /// The script's own error, if it stopped early (usually the client hanging up).
    pub script_error: Option<String>,
    /// Whether the client hung up within the wait.
    pub client_closed: bool,
}

/// A one-connection hostile server on 127.0.0.1.
pub struct HostileServer {
    /// Where it listens.
    pub addr: SocketAddr,
    thread: Option<JoinHandle<ServerReport>>,
}

/// A script: what the server does once the ClientHello is in.
pub type Script = fn(&mut Conn) -> io::Result<()>;

impl HostileServer {
    /// Starts the server; `script` runs on the first connection after the ClientHello was read.
    pub fn start(fixture: Arc<Fixture>, script: Script) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let thread = std::thread::spawn(move || {
            let mut report = ServerReport::default();
            let Ok((tcp, _)) = listener.accept() else {
                report.script_error = Some("accept failed".into());
                return report;
            };
            let _ = tcp.set_nodelay(true);
            let _ = tcp.set_write_timeout(Some(Duration::from_secs(10)));
            let inbox = Inbox::default();
            let reader = inbox.spawn_reader(tcp.try_clone().unwrap());
            let mut conn = Conn::new(tcp, inbox, fixture);
            let r = conn.accept().and_then(|()| script(&mut conn));
            if let Err(e) = r {
                report.script_error = Some(e.to_string());
            }
            if conn.reset_requested {
                let _ = socket2::SockRef::from(&conn.tcp).set_linger(Some(Duration::ZERO));
                // Wake the reader thread (its clone of the socket goes away with it); the last
                // close, with linger 0, sends the reset.
                let _ = conn.tcp.shutdown(Shutdown::Read);
                let _ = reader.join();
                drop(conn);
                report.client_closed = true;
                return report;
            }
            report.client_closed = conn.wait_for_client_close(Duration::from_secs(10));
            (report.alert, report.plaintext_after_server_hello) = conn.observed_alert();
            drop(conn);
            let _ = reader.join();
            report
        });
        Self {
            addr,
            thread: Some(thread),
        }
    }

    /// Waits for the server to finish (the client must have closed its socket) and returns
    /// what it saw; `Err` if it did not finish within `timeout` or its script panicked.
    pub fn finish(mut self, timeout: Duration) -> Result<ServerReport, String> {
        let deadline = Instant::now() + timeout;
        let t = self.thread.take().ok_or("finished twice")?;
        while !t.is_finished() {
            if Instant::now() > deadline {
                return Err(format!(
                    "the scripted server did not finish within {timeout:?}"
                ));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        t.join()
            .map_err(|_| "the scripted server panicked (a broken script)".to_string())
    }
}

/// `ProtocolVersion` numbers used by scripts.
pub const TLS12: u16 = 0x0303;
/// TLS 1.3.
pub const TLS13: u16 = 0x0304;
