//! Alert messages (RFC 8446 §6, RFC 5246 §7.2): two bytes, level and description.

use crate::Error;
use overture_types::{AlertDescription, AlertLevel, Reader};

/// One alert message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Alert {
    /// The level (ignored by TLS 1.3 receivers, RFC 8446 §6).
    pub level: AlertLevel,
    /// What happened.
    pub description: AlertDescription,
}

impl Alert {
    /// The encoded length of an alert.
    pub const LEN: usize = 2;

    /// `close_notify` at level warning, as TLS 1.2 and TLS 1.3 send it.
    pub const fn close_notify() -> Self {
        Self {
            level: AlertLevel::Warning,
            description: AlertDescription::CloseNotify,
        }
    }

    /// A fatal alert.
    pub const fn fatal(description: AlertDescription) -> Self {
        Self {
            level: AlertLevel::Fatal,
            description,
        }
    }

    /// The two bytes on the wire.
    pub fn encode(&self) -> [u8; 2] {
        [self.level.get(), self.description.get()]
    }

    /// Decodes the payload of one alert record, which must hold exactly one alert
    /// (RFC 8446 §5.1: alerts are neither fragmented nor coalesced). Unknown levels and
    /// descriptions are kept as `Unknown`; what to do with them is the caller's decision.
    pub fn decode(payload: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(payload);
        let (Ok(level), Ok(description), false) =
            (r.u8("level"), r.u8("description"), r.any_left())
        else {
            return Err(Error::BadAlertLength(payload.len()));
        };
        Ok(Self {
            level: AlertLevel::from(level),
            description: AlertDescription::from(description),
        })
    }

    /// Whether this is `close_notify`.
    pub fn is_close_notify(&self) -> bool {
        self.description == AlertDescription::CloseNotify
    }

    /// The alert we send for a record-layer error.
    pub fn for_error(error: &Error) -> Self {
        Self::fatal(error.alert())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_close_notify() {
        let a = Alert::fatal(AlertDescription::BadRecordMac);
        assert_eq!(a.encode(), [2, 20]);
        assert_eq!(Alert::decode(&a.encode()), Ok(a));
        assert_eq!(Alert::close_notify().encode(), [1, 0]);
        assert!(Alert::decode(&[1, 0]).unwrap().is_close_notify());
        assert!(!a.is_close_notify());
    }

    #[test]
    fn wrong_lengths_are_decode_errors() {
        for bad in [&[][..], &[2], &[2, 20, 2], &[1, 0, 1, 0]] {
            let e = Alert::decode(bad).unwrap_err();
            assert_eq!(e, Error::BadAlertLength(bad.len()));
            assert_eq!(e.alert(), AlertDescription::DecodeError);
        }
    }

    #[test]
    fn unknown_values_are_kept() {
        let a = Alert::decode(&[7, 200]).unwrap();
        assert_eq!(a.level, AlertLevel::Unknown(7));
        assert_eq!(a.description, AlertDescription::Unknown(200));
    }

    #[test]
    fn error_alert_is_fatal() {
        let a = Alert::for_error(&Error::EmptyHandshakeRecord);
        assert_eq!(a.encode(), [2, 10]);
    }
}
