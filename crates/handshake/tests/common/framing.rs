//! A minimal client record framing for the interop tests (TLS 1.3, and TLS 1.2 with its GCM
//! explicit nonce and ChaCha20-Poly1305 nonces): seals what the handshake's events say and
//! opens the server's records into handshake bytes and application data.

use overture_crypto_provider::{BoundAead, Nonce, TAG_LEN};
use overture_crypto_provider::{Tls12CipherSuite, Tls12NonceStyle};
use overture_handshake::TrafficKey;
use overture_types::ContentType;

/// One direction of record protection (TLS 1.3, or TLS 1.2 when `tls12` is set).
pub(crate) struct Dir {
    aead: Box<dyn BoundAead>,
    iv: [u8; 12],
    seq: u64,
    tls12: Option<&'static Tls12CipherSuite>,
}

impl Dir {
    pub(crate) fn new(k: &TrafficKey) -> Self {
        if let Some(s) = k.tls12 {
            assert_eq!(k.fixed_iv().len(), s.fixed_iv_len);
        }
        Self {
            aead: k.aead.with_key(k.key.as_bytes()).unwrap(),
            iv: k.iv,
            seq: 0,
            tls12: k.tls12,
        }
    }

    /// RFC 5246 §6.2.3.3: seq ‖ type ‖ version ‖ length.
    fn aad12(&self, typ: u8, len: usize) -> Vec<u8> {
        let mut aad = self.seq.to_be_bytes().to_vec();
        aad.extend_from_slice(&[typ, 3, 3]);
        aad.extend_from_slice(&(len as u16).to_be_bytes());
        aad
    }

    /// The TLS 1.2 nonce: GCM salt ‖ explicit (our explicit part is the sequence number),
    /// ChaCha20-Poly1305 IV xor seq.
    fn nonce12(&self, explicit: Option<[u8; 8]>) -> Nonce {
        match (self.tls12.unwrap().nonce, explicit) {
            (Tls12NonceStyle::ExplicitGcm, Some(e)) => {
                let mut n = [0u8; 12];
                n[..4].copy_from_slice(&self.iv[..4]);
                n[4..].copy_from_slice(&e);
                Nonce::new(n)
            }
            (Tls12NonceStyle::ExplicitGcm, None) => self.nonce12(Some(self.seq.to_be_bytes())),
            (Tls12NonceStyle::XorSequence, _) => Nonce::xor_seq(&self.iv, self.seq),
        }
    }
}

/// The client's minimal record framing.
#[derive(Default)]
pub(crate) struct Framing {
    pub(crate) read: Option<Dir>,
    pub(crate) write: Option<Dir>,
    pub(crate) sent_first: bool,
    pub(crate) handshake: Vec<u8>,
    pub(crate) app_data: Vec<u8>,
}

impl Framing {
    pub(crate) fn seal(&mut self, typ: ContentType, data: &[u8], out: &mut Vec<u8>) {
        if self.write.as_ref().is_some_and(|w| w.tls12.is_some()) {
            let w = self.write.as_mut().unwrap();
            let gcm = w.tls12.unwrap().nonce == Tls12NonceStyle::ExplicitGcm;
            let aad = w.aad12(typ.get(), data.len());
            let nonce = w.nonce12(None);
            let mut body = data.to_vec();
            let tag = w.aead.seal_in_place(nonce, &aad, &mut body).unwrap();
            let explicit: &[u8] = if gcm { &w.seq.to_be_bytes()[..] } else { &[] };
            let len = explicit.len() + body.len() + TAG_LEN;
            out.extend_from_slice(&[typ.get(), 3, 3]);
            out.extend_from_slice(&(len as u16).to_be_bytes());
            out.extend_from_slice(explicit);
            out.extend_from_slice(&body);
            out.extend_from_slice(tag.as_ref());
            w.seq += 1;
            return;
        }
        let Some(w) = self.write.as_mut() else {
            let version: u16 = if self.sent_first { 0x0303 } else { 0x0301 };
            self.sent_first = true;
            out.push(typ.get());
            out.extend_from_slice(&version.to_be_bytes());
            out.extend_from_slice(&(data.len() as u16).to_be_bytes());
            out.extend_from_slice(data);
            return;
        };
        let mut inner = data.to_vec();
        inner.push(typ.get());
        let len = (inner.len() + TAG_LEN) as u16;
        let mut header = vec![23, 3, 3];
        header.extend_from_slice(&len.to_be_bytes());
        let tag = w
            .aead
            .seal_in_place(Nonce::xor_seq(&w.iv, w.seq), &header, &mut inner)
            .unwrap();
        w.seq += 1;
        out.extend_from_slice(&header);
        out.extend_from_slice(&inner);
        out.extend_from_slice(tag.as_ref());
    }

    /// Opens the next whole record in `input`; handshake bytes go to `self.handshake`, data
    /// to `self.app_data`. An alert panics.
    pub(crate) fn open(&mut self, input: &mut Vec<u8>) -> Opened {
        {
            if input.len() < 5 {
                return Opened::Nothing;
            }
            let len = usize::from(u16::from_be_bytes([input[3], input[4]]));
            if input.len() < 5 + len {
                return Opened::Nothing;
            }
            let record: Vec<u8> = input.drain(..5 + len).collect();
            let (header, body) = record.split_at(5);
            let tls12 = self.read.as_ref().is_some_and(|r| r.tls12.is_some());
            let (typ, plain) = match header[0] {
                20 => {
                    assert_eq!(body, [1], "CCS body");
                    return Opened::Ccs;
                }
                t if tls12 => {
                    let r = self.read.as_mut().unwrap();
                    let gcm = r.tls12.unwrap().nonce == Tls12NonceStyle::ExplicitGcm;
                    let (nonce, ct) = if gcm {
                        let (e, ct) = body.split_at(8);
                        (r.nonce12(Some(e.try_into().unwrap())), ct)
                    } else {
                        (r.nonce12(None), body)
                    };
                    let aad = r.aad12(t, ct.len() - TAG_LEN);
                    let mut buf = ct.to_vec();
                    let n = r
                        .aead
                        .open_in_place(nonce, &aad, &mut buf)
                        .expect("TLS 1.2 record did not open");
                    r.seq += 1;
                    buf.truncate(n);
                    (t, buf)
                }
                23 => {
                    let r = self
                        .read
                        .as_mut()
                        .expect("protected record before a read key");
                    let mut buf = body.to_vec();
                    let n = r
                        .aead
                        .open_in_place(Nonce::xor_seq(&r.iv, r.seq), header, &mut buf)
                        .expect("record did not open");
                    r.seq += 1;
                    buf.truncate(n);
                    while buf.last() == Some(&0) {
                        buf.pop();
                    }
                    let typ = buf.pop().unwrap();
                    (typ, buf)
                }
                t => (t, body.to_vec()),
            };
            match typ {
                22 => self.handshake.extend_from_slice(&plain),
                23 => self.app_data.extend_from_slice(&plain),
                21 => panic!("the server sent alert {:?}", plain),
                t => panic!("unexpected content type {t}"),
            }
        }
        Opened::Record
    }

    /// The next whole handshake message, if any.
    pub(crate) fn next_message(&mut self) -> Option<Vec<u8>> {
        if self.handshake.len() < 4 {
            return None;
        }
        let h = &self.handshake;
        let len = (usize::from(h[1]) << 16) | (usize::from(h[2]) << 8) | usize::from(h[3]);
        (h.len() >= 4 + len).then(|| self.handshake.drain(..4 + len).collect())
    }
}

/// What [`Framing::open`] found.
#[derive(PartialEq)]
pub(crate) enum Opened {
    Nothing,
    Record,
    Ccs,
}
