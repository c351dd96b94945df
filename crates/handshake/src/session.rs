//! Byte serialisation of the resumption values ([`Tls13Ticket`], [`Tls12Session`]), so that a
//! session store can keep them outside the process. The format is private to this crate and
//! versioned (a tag byte and a format byte first); decoding treats its input as hostile
//! (bounded reads, no panic) and fails on anything it does not know.
//!
//! The bytes hold the resumption secret: store them as you would a private key.

use crate::config::{MAX_TICKET_LEN, Tls12Session, Tls13Ticket};
use overture_crypto_provider::Secret;
use overture_types::{
    CipherSuite, Codec, EncodeError, InvalidMessage, LengthWidth, Reader, ServerName, UnixTime,
    encode_bytes,
};
use std::time::Duration;

const TLS13_TICKET: u8 = 0x13;
const TLS12_SESSION: u8 = 0x12;
const FORMAT: u8 = 1;

fn put_opt(out: &mut Vec<u8>, width: LengthWidth, bytes: Option<&[u8]>) -> Result<(), EncodeError> {
    match bytes {
        None => out.push(0),
        Some(b) => {
            out.push(1);
            encode_bytes(out, width, b)?;
        }
    }
    Ok(())
}

fn put_name(out: &mut Vec<u8>, name: &ServerName<'_>) -> Result<(), EncodeError> {
    encode_bytes(out, LengthWidth::U16, name.to_str().as_bytes())
}

fn get_bytes<'a>(
    r: &mut Reader<'a>,
    width: LengthWidth,
    what: &'static str,
) -> Result<&'a [u8], InvalidMessage> {
    Ok(r.prefixed(width, 0, width.max_len(), what)?.rest())
}

fn get_opt<'a>(
    r: &mut Reader<'a>,
    width: LengthWidth,
    what: &'static str,
) -> Result<Option<&'a [u8]>, InvalidMessage> {
    match r.u8(what)? {
        0 => Ok(None),
        1 => Ok(Some(get_bytes(r, width, what)?)),
        _ => Err(InvalidMessage::IllegalValue(what)),
    }
}

/// A stored ticket is as bounded as one that arrives ([`MAX_TICKET_LEN`]).
fn get_ticket(ticket: &[u8]) -> Result<&[u8], InvalidMessage> {
    if ticket.len() > MAX_TICKET_LEN {
        return Err(InvalidMessage::LengthOutOfRange {
            what: "ticket",
            len: ticket.len(),
            min: 0,
            max: MAX_TICKET_LEN,
        });
    }
    Ok(ticket)
}

fn get_secret(r: &mut Reader<'_>, what: &'static str) -> Result<Secret, InvalidMessage> {
    Secret::new(get_bytes(r, LengthWidth::U8, what)?).ok_or(InvalidMessage::IllegalValue(what))
}

fn get_name(r: &mut Reader<'_>) -> Result<ServerName<'static>, InvalidMessage> {
    let raw = get_bytes(r, LengthWidth::U16, "server name")?;
    let s = core::str::from_utf8(raw).map_err(|_| InvalidMessage::IllegalValue("server name"))?;
    ServerName::try_from(s)
        .map(|n| n.to_owned())
        .map_err(|_| InvalidMessage::IllegalValue("server name"))
}

fn get_time(r: &mut Reader<'_>, what: &'static str) -> Result<UnixTime, InvalidMessage> {
    Ok(UnixTime::since_unix_epoch(Duration::from_secs(
        r.u64(what)?,
    )))
}

fn header(r: &mut Reader<'_>, tag: u8) -> Result<(), InvalidMessage> {
    if r.u8("session tag")? != tag || r.u8("session format")? != FORMAT {
        return Err(InvalidMessage::IllegalValue("session tag or format"));
    }
    Ok(())
}

impl Tls13Ticket {
    /// The ticket as bytes (secret included), for [`Tls13Ticket::from_bytes`]. Fails only for a
    /// hand-built value with a field too long for the format (a ticket over 65,535 bytes, an
    /// ALPN protocol over 255): what the handshake emits is bounded when it arrives.
    pub fn to_bytes(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = vec![TLS13_TICKET, FORMAT];
        self.suite.encode(&mut out)?;
        encode_bytes(&mut out, LengthWidth::U16, &self.ticket)?;
        encode_bytes(&mut out, LengthWidth::U8, self.psk.as_bytes())?;
        self.lifetime.encode(&mut out)?;
        self.age_add.encode(&mut out)?;
        match self.max_early_data {
            None => out.push(0),
            Some(n) => {
                out.push(1);
                n.encode(&mut out)?;
            }
        }
        self.received_at.as_secs().encode(&mut out)?;
        put_name(&mut out, &self.server_name)?;
        put_opt(&mut out, LengthWidth::U8, self.alpn.as_deref())?;
        Ok(out)
    }

    /// Reads what [`Tls13Ticket::to_bytes`] wrote; anything else is an error.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, InvalidMessage> {
        let mut r = Reader::new(bytes);
        header(&mut r, TLS13_TICKET)?;
        let suite = CipherSuite::read(&mut r)?;
        let ticket = get_ticket(get_bytes(&mut r, LengthWidth::U16, "ticket")?)?.to_vec();
        let psk = get_secret(&mut r, "psk")?;
        let lifetime = r.u32("lifetime")?;
        let age_add = r.u32("age_add")?;
        let max_early_data = match r.u8("max_early_data")? {
            0 => None,
            1 => Some(r.u32("max_early_data")?),
            _ => return Err(InvalidMessage::IllegalValue("max_early_data")),
        };
        let received_at = get_time(&mut r, "received_at")?;
        let server_name = get_name(&mut r)?;
        let alpn = get_opt(&mut r, LengthWidth::U8, "alpn")?.map(<[u8]>::to_vec);
        r.expect_empty("TLS 1.3 ticket")?;
        Ok(Self {
            suite,
            ticket,
            psk,
            lifetime,
            age_add,
            max_early_data,
            received_at,
            server_name,
            alpn,
        })
    }
}

impl Tls12Session {
    /// The session as bytes (master secret included), for [`Tls12Session::from_bytes`]. Fails
    /// only for a hand-built value with a field too long for the format.
    pub fn to_bytes(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = vec![TLS12_SESSION, FORMAT];
        self.suite.encode(&mut out)?;
        encode_bytes(&mut out, LengthWidth::U8, self.master_secret.as_bytes())?;
        encode_bytes(&mut out, LengthWidth::U8, &self.session_id)?;
        put_opt(&mut out, LengthWidth::U16, self.ticket.as_deref())?;
        self.ticket_lifetime_hint.encode(&mut out)?;
        out.push(u8::from(self.extended_master_secret));
        put_name(&mut out, &self.server_name)?;
        self.created_at.as_secs().encode(&mut out)?;
        put_opt(&mut out, LengthWidth::U8, self.alpn.as_deref())?;
        Ok(out)
    }

    /// Reads what [`Tls12Session::to_bytes`] wrote; anything else is an error.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, InvalidMessage> {
        let mut r = Reader::new(bytes);
        header(&mut r, TLS12_SESSION)?;
        let suite = CipherSuite::read(&mut r)?;
        let master_secret = get_secret(&mut r, "master secret")?;
        let session_id = get_bytes(&mut r, LengthWidth::U8, "session id")?;
        if session_id.len() > 32 {
            return Err(InvalidMessage::IllegalValue(
                "session id longer than 32 bytes",
            ));
        }
        let session_id = session_id.to_vec();
        let ticket = get_opt(&mut r, LengthWidth::U16, "ticket")?
            .map(get_ticket)
            .transpose()?
            .map(<[u8]>::to_vec);
        let ticket_lifetime_hint = r.u32("ticket lifetime hint")?;
        let extended_master_secret = match r.u8("extended_master_secret")? {
            0 => false,
            1 => true,
            _ => return Err(InvalidMessage::IllegalValue("extended_master_secret")),
        };
        let server_name = get_name(&mut r)?;
        let created_at = get_time(&mut r, "created_at")?;
        let alpn = get_opt(&mut r, LengthWidth::U8, "alpn")?.map(<[u8]>::to_vec);
        r.expect_empty("TLS 1.2 session")?;
        Ok(Self {
            suite,
            master_secret,
            session_id,
            ticket,
            ticket_lifetime_hint,
            extended_master_secret,
            server_name,
            created_at,
            alpn,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket() -> Tls13Ticket {
        Tls13Ticket {
            suite: CipherSuite::TLS13_AES_256_GCM_SHA384,
            ticket: vec![7; 300],
            psk: Secret::new(&[9; 48]).unwrap(),
            lifetime: 7200,
            age_add: 0xdead_beef,
            max_early_data: Some(16384),
            received_at: UnixTime::since_unix_epoch(Duration::from_secs(1_700_000_000)),
            server_name: ServerName::try_from("example.com").unwrap(),
            alpn: Some(b"h2".to_vec()),
        }
    }

    fn session() -> Tls12Session {
        Tls12Session {
            suite: CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            master_secret: Secret::new(&[3; 48]).unwrap(),
            session_id: vec![1; 32],
            ticket: None,
            ticket_lifetime_hint: 0,
            extended_master_secret: true,
            server_name: ServerName::try_from("192.0.2.7").unwrap(),
            created_at: UnixTime::since_unix_epoch(Duration::from_secs(1_700_000_001)),
            alpn: None,
        }
    }

    fn same13(a: &Tls13Ticket, b: &Tls13Ticket) -> bool {
        a.suite == b.suite
            && a.ticket == b.ticket
            && a.psk == b.psk
            && a.lifetime == b.lifetime
            && a.age_add == b.age_add
            && a.max_early_data == b.max_early_data
            && a.received_at == b.received_at
            && a.server_name == b.server_name
            && a.alpn == b.alpn
    }

    fn same12(a: &Tls12Session, b: &Tls12Session) -> bool {
        a.suite == b.suite
            && a.master_secret == b.master_secret
            && a.session_id == b.session_id
            && a.ticket == b.ticket
            && a.ticket_lifetime_hint == b.ticket_lifetime_hint
            && a.extended_master_secret == b.extended_master_secret
            && a.server_name == b.server_name
            && a.created_at == b.created_at
            && a.alpn == b.alpn
    }

    /// Every strict prefix fails, and every single-bit change fails or decodes to something
    /// else, never a panic.
    fn hostile(bytes: &[u8], decode: impl Fn(&[u8]) -> bool) {
        for cut in 0..bytes.len() {
            assert!(!decode(&bytes[..cut]), "prefix {cut} decoded");
        }
        let mut long = bytes.to_vec();
        long.push(0);
        assert!(!decode(&long), "trailing byte accepted");
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut b = bytes.to_vec();
                b[i] ^= 1 << bit;
                let _ = decode(&b);
            }
        }
    }

    #[test]
    fn tls13_ticket_round_trips() {
        let t = ticket();
        let bytes = t.to_bytes().unwrap();
        assert!(same13(&t, &Tls13Ticket::from_bytes(&bytes).unwrap()));
        let mut plain = ticket();
        plain.max_early_data = None;
        plain.alpn = None;
        assert!(same13(
            &plain,
            &Tls13Ticket::from_bytes(&plain.to_bytes().unwrap()).unwrap()
        ));
        hostile(&bytes, |b| Tls13Ticket::from_bytes(b).is_ok());
        // A TLS 1.2 session is not a ticket.
        assert!(Tls13Ticket::from_bytes(&session().to_bytes().unwrap()).is_err());
    }

    #[test]
    fn tls12_session_round_trips() {
        let s = session();
        let bytes = s.to_bytes().unwrap();
        assert!(same12(&s, &Tls12Session::from_bytes(&bytes).unwrap()));
        let mut with_ticket = session();
        with_ticket.ticket = Some(vec![5; 1000]);
        with_ticket.session_id.clear();
        with_ticket.alpn = Some(b"http/1.1".to_vec());
        with_ticket.extended_master_secret = false;
        assert!(same12(
            &with_ticket,
            &Tls12Session::from_bytes(&with_ticket.to_bytes().unwrap()).unwrap()
        ));
        hostile(&bytes, |b| Tls12Session::from_bytes(b).is_ok());
        assert!(Tls12Session::from_bytes(&ticket().to_bytes().unwrap()).is_err());
    }
}
