//! The phone's camera: reads the text of a QR code from an SVG image (rasterised with resvg) or
//! from a QR drawn in a terminal with Unicode half blocks, decoding it with a real QR decoder
//! (rqrr), as a phone would read the screen.

use resvg::{tiny_skia, usvg};

/// The longest side an SVG is rasterised to (a QR rendered at 256 px gets ~4× the pixels).
const RASTER_SIDE: f32 = 1024.0;
/// Pixels per module when drawing a terminal QR into an image.
const MODULE_PX: usize = 4;
/// Light modules added around a terminal QR (the quiet zone a terminal may have trimmed).
const QUIET_MODULES: usize = 4;

/// Reads the QR code in an SVG document.
pub(crate) fn read_svg(svg: &str) -> Result<String, String> {
    let tree = usvg::Tree::from_str(svg, &usvg::Options::default())
        .map_err(|e| format!("not an SVG image: {e}"))?;
    let size = tree.size();
    let scale = (RASTER_SIDE / size.width().max(size.height())).clamp(0.25, 16.0);
    let width = (size.width() * scale).ceil() as u32;
    let height = (size.height() * scale).ceil() as u32;
    let mut pixmap = tiny_skia::Pixmap::new(width, height)
        .ok_or_else(|| format!("the SVG has no area ({width}×{height})"))?;
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    // Transparent parts are paper (white); a margin stands in for a missing quiet zone.
    let (w, h) = (width as usize, height as usize);
    let margin = w.max(h) / 10;
    let pixels = pixmap.pixels();
    let grey = |x: usize, y: usize| -> u8 {
        if x < margin || y < margin || x >= w + margin || y >= h + margin {
            return 255;
        }
        let p = pixels[(y - margin) * w + (x - margin)].demultiply();
        let luma =
            (u32::from(p.red()) * 299 + u32::from(p.green()) * 587 + u32::from(p.blue()) * 114)
                / 1000;
        let alpha = u32::from(p.alpha());
        ((luma * alpha + 255 * (255 - alpha)) / 255) as u8
    };
    decode_either_polarity(w + 2 * margin, h + 2 * margin, grey)
        .ok_or_else(|| "no QR code found in the SVG image".to_owned())
}

/// Reads a QR code drawn in a terminal with `█ ▀ ▄` and spaces, two modules per character cell
/// (in either polarity; lines of other text around it are skipped).
pub(crate) fn read_terminal(text: &str) -> Result<String, String> {
    let is_block = |c: char| matches!(c, '█' | '▀' | '▄');
    let is_qr_line =
        |line: &str| line.chars().any(is_block) && line.chars().all(|c| is_block(c) || c == ' ');
    let lines: Vec<&str> = text.split('\n').map(|l| l.trim_end_matches('\r')).collect();
    // The longest run of lines drawn only with blocks and spaces.
    let mut best: &[&str] = &[];
    let mut start = 0;
    for end in 0..=lines.len() {
        if end == lines.len() || !is_qr_line(lines[end]) {
            if end - start > best.len() {
                best = &lines[start..end];
            }
            start = end + 1;
        }
    }
    if best.len() < 5 {
        return Err("no QR code drawn with █ ▀ ▄ found in the text".to_owned());
    }
    // Each character is two modules stacked: (top filled, bottom filled).
    let width = best.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let mut filled = vec![vec![false; width]; best.len() * 2];
    for (row, line) in best.iter().enumerate() {
        for (column, c) in line.chars().enumerate() {
            let (top, bottom) = match c {
                '█' => (true, true),
                '▀' => (true, false),
                '▄' => (false, true),
                _ => (false, false),
            };
            filled[2 * row][column] = top;
            filled[2 * row + 1][column] = bottom;
        }
    }
    let modules_high = filled.len();
    let side = |modules: usize| (modules + 2 * QUIET_MODULES) * MODULE_PX;
    let (w, h) = (side(width), side(modules_high));
    let grey = |x: usize, y: usize| -> u8 {
        let (mx, my) = (x / MODULE_PX, y / MODULE_PX);
        let inside = (QUIET_MODULES..QUIET_MODULES + width).contains(&mx)
            && (QUIET_MODULES..QUIET_MODULES + modules_high).contains(&my);
        if inside && filled[my - QUIET_MODULES][mx - QUIET_MODULES] {
            0
        } else {
            255
        }
    };
    decode_either_polarity(w, h, grey)
        .ok_or_else(|| "the blocks in the text do not decode as a QR code".to_owned())
}

/// Decodes the first QR code in a grey image, trying the inverted image when the plain one has
/// none (a light-on-dark rendering).
fn decode_either_polarity(w: usize, h: usize, grey: impl Fn(usize, usize) -> u8) -> Option<String> {
    decode(w, h, &grey).or_else(|| decode(w, h, |x, y| 255 - grey(x, y)))
}

fn decode(w: usize, h: usize, grey: impl Fn(usize, usize) -> u8) -> Option<String> {
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(w, h, grey);
    image
        .detect_grids()
        .into_iter()
        .find_map(|grid| grid.decode().ok().map(|(_, text)| text))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use qrcode::QrCode;
    use qrcode::render::{svg, unicode};

    use super::*;

    const LINK: &str = "2@wq1v8z7buLZQlKol8OWvUQedvzfuRBvysXjyOr8nrpbsUMUgXgUIxxeCkSorQTcVlVu/ODHo3HvGnA==,\
        3kOyh0clWuMOfOzTjOEoetlZ2KonJ4IGdwa+y8G3Pj4=,jXU27U6mqIQf2HY+EYBA7of6iUjb9gMRg/uWnLHIZWc=,\
        fyF4eUbNT+OipHF+Asvmn8/kKdwGdcg5aIKvpSLg3RA=,1";

    fn code() -> QrCode {
        QrCode::new(LINK.as_bytes()).unwrap()
    }

    #[test]
    fn reads_the_svg_the_sender_renders() {
        let image = code()
            .render::<svg::Color<'_>>()
            .min_dimensions(256, 256)
            .build();
        assert_eq!(read_svg(&image).unwrap(), LINK);
    }

    #[test]
    fn reads_an_inverted_svg() {
        let image = code()
            .render::<svg::Color<'_>>()
            .dark_color(svg::Color("#ffffff"))
            .light_color(svg::Color("#000000"))
            .build();
        assert_eq!(read_svg(&image).unwrap(), LINK);
    }

    #[test]
    fn reads_the_terminal_rendering_in_both_polarities() {
        let inverted = code()
            .render::<unicode::Dense1x2>()
            .dark_color(unicode::Dense1x2::Light)
            .light_color(unicode::Dense1x2::Dark)
            .build();
        assert_eq!(read_terminal(&inverted).unwrap(), LINK);
        let plain = code().render::<unicode::Dense1x2>().build();
        assert_eq!(read_terminal(&plain).unwrap(), LINK);
    }

    #[test]
    fn tolerates_crlf_trimmed_spaces_and_text_around() {
        let plain = code().render::<unicode::Dense1x2>().build();
        let trimmed: Vec<&str> = plain.lines().map(str::trim_end).collect();
        let framed = format!(
            "Scan this QR code with WhatsApp:\r\n\r\n{}\r\nWaiting for the phone...\r\n",
            trimmed.join("\r\n")
        );
        assert_eq!(read_terminal(&framed).unwrap(), LINK);
    }

    #[test]
    fn says_why_nothing_was_read() {
        assert!(read_terminal("hello\nworld").is_err());
        assert!(read_svg("not svg").unwrap_err().contains("not an SVG"));
        let blank = r#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>"#;
        assert!(read_svg(blank).is_err());
    }
}
