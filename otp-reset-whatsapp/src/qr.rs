//! The QR code an operator scans with the phone. It carries key material: a secret, never
//! logged, redacted in `Debug`.

use std::fmt;

use qrcode::QrCode as Matrix;
use qrcode::render::{svg, unicode};

/// The text a QR code encodes, as WhatsApp Web shows it for pairing.
#[derive(Clone, PartialEq, Eq)]
pub struct QrCode(String);

impl QrCode {
    pub(crate) fn new(reference: String) -> Self {
        Self(reference)
    }

    /// The encoded text (a secret: show it only to the operator).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The code drawn with Unicode half blocks, for a terminal.
    pub fn to_terminal(&self) -> String {
        match Matrix::new(self.0.as_bytes()) {
            Ok(matrix) => matrix
                .render::<unicode::Dense1x2>()
                .dark_color(unicode::Dense1x2::Light)
                .light_color(unicode::Dense1x2::Dark)
                .build(),
            Err(_) => String::new(),
        }
    }

    /// The code as an SVG image.
    pub fn to_svg(&self) -> String {
        match Matrix::new(self.0.as_bytes()) {
            Ok(matrix) => matrix
                .render::<svg::Color<'_>>()
                .min_dimensions(256, 256)
                .build(),
            Err(_) => String::new(),
        }
    }
}

impl fmt::Debug for QrCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("QrCode(<secret>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_qr_code_never_shows_its_text_in_debug() {
        let code = QrCode::new("2@secret-key-material".into());
        assert_eq!(format!("{code:?}"), "QrCode(<secret>)");
        assert!(code.to_svg().starts_with("<?xml"));
        assert!(code.to_terminal().contains('█') || code.to_terminal().contains('▀'));
    }
}
