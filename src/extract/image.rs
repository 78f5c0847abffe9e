//! Image dimensions from a response's first bytes: what makes a 1×1 GIF a beacon, whoever
//! fetched it (the `--probe` fetch and the browser's observed responses alike).

/// Width and height from the first bytes of a GIF, PNG or WebP.
pub fn image_size(b: &[u8]) -> Option<(u32, u32)> {
    if b.len() >= 10 && (b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a")) {
        return Some((
            u32::from(u16::from_le_bytes([b[6], b[7]])),
            u32::from(u16::from_le_bytes([b[8], b[9]])),
        ));
    }
    if b.len() >= 24 && b.starts_with(b"\x89PNG\r\n\x1a\n") && &b[12..16] == b"IHDR" {
        return Some((
            u32::from_be_bytes([b[16], b[17], b[18], b[19]]),
            u32::from_be_bytes([b[20], b[21], b[22], b[23]]),
        ));
    }
    if b.len() >= 30 && b.starts_with(b"RIFF") && &b[8..12] == b"WEBP" {
        match &b[12..16] {
            b"VP8X" => {
                let w = 1 + (u32::from(b[24]) | u32::from(b[25]) << 8 | u32::from(b[26]) << 16);
                let h = 1 + (u32::from(b[27]) | u32::from(b[28]) << 8 | u32::from(b[29]) << 16);
                return Some((w, h));
            }
            b"VP8 " => {
                let w = u32::from(u16::from_le_bytes([b[26], b[27]]) & 0x3fff);
                let h = u32::from(u16::from_le_bytes([b[28], b[29]]) & 0x3fff);
                return Some((w, h));
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #[test]
    fn gif_and_png_sizes() {
        let gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00";
        assert_eq!(super::image_size(gif), Some((1, 1)));
        let mut png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR".to_vec();
        png.extend_from_slice(&[0, 0, 2, 88, 0, 0, 1, 144]);
        assert_eq!(super::image_size(&png), Some((600, 400)));
        assert_eq!(super::image_size(b"nope"), None);
    }
}
