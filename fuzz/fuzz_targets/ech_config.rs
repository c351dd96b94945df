//! `EchConfigList::parse` (RFC 9849 §4) on arbitrary bytes, as a DNS HTTPS record or a
//! server's retry_configs (EncryptedExtensions' `encrypted_client_hello`) hand it to us, then
//! what the client does with a parsed list: `select` with ring's provider (the HPKE suite of
//! every config), `is_usable`, `valid_public_name`. Input: the bytes of the list.
//!
//! Checked: no panic; a parsed list keeps its input as it came and holds no more configs than
//! the input has room for (each takes at least 14 bytes), nothing in it is larger than the
//! input; what parses once parses again to an equal list; a selected config is usable and
//! uses DHKEM(X25519) (0x0020).
#![no_main]

use libfuzzer_sys::fuzz_target;
use overture_crypto_provider::{CryptoProvider, ring};
use overture_fuzz::debug;
use overture_handshake::EchConfigList;
use overture_handshake::ech::valid_public_name;
use std::sync::LazyLock;

/// The smallest ECHConfig: version (2), length (2), config_id (1), kem_id (2), a 1-byte
/// public key (2 + 1), one suite (2 + 4), maximum_name_length (1), a 1-byte public_name
/// (1 + 1), no extensions (2).
const MIN_CONFIG: usize = 2 + 2 + 1 + 2 + 3 + 6 + 1 + 2 + 2;

static RING: LazyLock<CryptoProvider> = LazyLock::new(ring::default_provider);

fuzz_target!(|data: &[u8]| {
    let parsed = EchConfigList::parse(data);
    if debug() {
        eprintln!("{parsed:?}");
    }
    let Ok(list) = parsed else {
        return;
    };
    assert_eq!(list.as_bytes(), data);
    assert!(list.configs().len() <= data.len() / MIN_CONFIG);
    for c in list.configs() {
        assert!(c.public_key.len() + 2 * c.cipher_suites.len() + c.public_name.len() <= data.len());
        assert!(2 * c.extension_types.len() <= data.len());
        assert_eq!(
            c.is_usable(),
            !c.extension_types.iter().any(|t| t & 0x8000 != 0) && valid_public_name(&c.public_name)
        );
        let _ = c.hpke(&RING);
    }
    assert_eq!(EchConfigList::parse(list.as_bytes()).as_ref(), Ok(&list));
    if let Some((c, _hpke)) = list.select(&RING) {
        assert!(c.is_usable());
        assert_eq!(c.kem_id, 0x0020);
        assert!(list.configs().iter().any(|x| core::ptr::eq(x, c)));
    }
});
