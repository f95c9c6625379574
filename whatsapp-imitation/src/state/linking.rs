//! QR refs and linking: the linking keys, the refs a page shows, and the phone's scan.

use std::time::Instant;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use rand::RngExt;
use serde::Serialize;

use super::page::{PageSession, Phase, Refusal, enter_unpaired};
use super::{PLATFORM, REF_GRACE, State};
use crate::ScanRefused;

/// The public halves of one page session's linking keys, base64 (as `WABase64.encodeB64`).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct LinkKeys {
    /// `waNoiseInfo.get()).staticKeyPair.pubKey`.
    noise: String,
    /// `waSignalStore.getRegistrationInfo()).identityKeyPair.pubKey`.
    identity: String,
    /// `getADVSecretKey()`.
    adv: String,
    /// `DEVICE_PLATFORM`.
    platform: &'static str,
}

impl LinkKeys {
    pub(super) fn new() -> LinkKeys {
        let mut rng = rand::rng();
        LinkKeys {
            noise: B64.encode(rng.random::<[u8; 32]>()),
            identity: B64.encode(rng.random::<[u8; 32]>()),
            adv: B64.encode(rng.random::<[u8; 32]>()),
            platform: PLATFORM,
        }
    }

    /// The linking string whatsapp-web.js builds for `reference`.
    pub(super) fn link(&self, reference: &str) -> String {
        format!(
            "{reference},{},{},{},{}",
            self.noise, self.identity, self.adv, self.platform
        )
    }
}

/// A QR ref shaped like WhatsApp Web's (`2@` and base64, as in whatsapp-web.js#69431).
pub(super) fn new_ref() -> String {
    let bytes: [u8; 60] = rand::rng().random();
    format!("2@{}", B64.encode(bytes))
}

impl State {
    /// The latest page session that waits for a scan.
    fn latest_unpaired(&self) -> Option<&PageSession> {
        self.pages
            .iter()
            .rev()
            .find(|s| s.phase == Phase::Unpaired && s.qr.is_some())
    }

    /// The whole linking string the latest unpaired page shows now.
    pub(crate) fn current_link(&self) -> Option<String> {
        let session = self.latest_unpaired()?;
        session.qr.as_deref().map(|r| session.keys.link(r))
    }

    /// The phone scans a QR whose text is `text`.
    pub(crate) fn scan(&mut self, text: &str, now: Instant) -> Result<(), ScanRefused> {
        let text = text.trim();
        let fields: Vec<&str> = text.split(',').collect();
        if fields.len() == 1 {
            let why = if text.starts_with("2@") {
                "only a ref (Conn.ref) without the keys; the phone needs \
                 ref,noiseKey,identityKey,advSecret,platform"
                    .to_owned()
            } else {
                format!(
                    "{:?} is not ref,noiseKey,identityKey,advSecret,platform",
                    short(text)
                )
            };
            return Err(ScanRefused::NotALinkingCode(why));
        }
        if !(4..=5).contains(&fields.len()) {
            return Err(ScanRefused::NotALinkingCode(format!(
                "{} comma-separated fields; expected ref,noiseKey,identityKey,advSecret,platform",
                fields.len()
            )));
        }
        let reference = fields[0];
        if !reference.starts_with("2@") || reference.len() < 4 {
            return Err(ScanRefused::NotALinkingCode(format!(
                "the first field {:?} is not a ref (2@…)",
                short(reference)
            )));
        }
        for (field, name) in fields[1..4]
            .iter()
            .zip(["noise key", "identity key", "ADV secret"])
        {
            if B64.decode(field).map(|b| b.len()) != Ok(32) {
                return Err(ScanRefused::NotALinkingCode(format!(
                    "the {name} {:?} is not 32 bytes of base64",
                    short(field)
                )));
            }
        }

        let live = |s: &PageSession| {
            s.phase == Phase::Unpaired
                && (s.qr.as_deref() == Some(reference)
                    || s.previous_qr.as_ref().is_some_and(|(old, replaced)| {
                        old == reference && now.duration_since(*replaced) < REF_GRACE
                    }))
        };
        if let Some(session) = self.pages.iter_mut().rev().find(|s| live(s)) {
            let keys = &session.keys;
            let platform_ok = fields.get(4).is_none_or(|p| *p == keys.platform);
            if fields[1] != keys.noise
                || fields[2] != keys.identity
                || fields[3] != keys.adv
                || !platform_ok
            {
                return Err(ScanRefused::WrongKeys);
            }
            session.scanned = true;
            return Ok(());
        }
        if self.refs_seen.contains(reference) {
            return Err(ScanRefused::StaleRef);
        }
        if self.latest_unpaired().is_none() {
            return Err(ScanRefused::NoQrShown);
        }
        Err(ScanRefused::NotALinkingCode(format!(
            "no page ever showed the ref {:?}",
            short(reference)
        )))
    }

    /// `Cmd.refreshQR()`: an idle (or unpaired) page starts a new round of refs.
    pub(crate) fn refresh(&mut self, page: &str, now: Instant) -> Result<(), Refusal> {
        let index = self.index(page)?;
        self.advance(index, now);
        let session = &mut self.pages[index];
        if matches!(session.phase, Phase::Unpaired | Phase::UnpairedIdle) {
            enter_unpaired(session, now);
            self.advance(index, now);
        }
        Ok(())
    }
}

/// At most 40 characters of `text`, for messages.
fn short(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}
